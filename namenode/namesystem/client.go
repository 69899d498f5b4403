package namesystem

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/namenode/blockmanagement"
	"github.com/hdfsha/hdfsha/namenode/ha"
	"github.com/hdfsha/hdfsha/namenode/namespace"
	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/editpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// ClientProtocol is the protocol name ClientNamenodeProtocol is served under.
const ClientProtocol = "org.apache.hadoop.hdfs.protocol.ClientProtocol"

// lsLimit is dfs.ls.limit.
const lsLimit = 1000

// Register registers ClientNamenodeProtocol on srv.
func (s *Namesystem) Register(srv *rpc.Server) {
	srv.Register(ClientProtocol,
		rpc.Unary("getFileInfo", s.getFileInfo),
		rpc.Unary("getFileLinkInfo", s.getFileLinkInfo),
		rpc.Unary("getListing", s.getListing),
		rpc.Unary("mkdirs", s.mkdirs),
		rpc.Unary("create", s.create),
		rpc.Unary("append", s.appendFile),
		rpc.Unary("truncate", s.truncate),
		rpc.Unary("addBlock", s.addBlock),
		rpc.Unary("getAdditionalDatanode", s.getAdditionalDatanode),
		rpc.Unary("abandonBlock", s.abandonBlock),
		rpc.Unary("complete", s.complete),
		rpc.Unary("fsync", s.fsync),
		rpc.Unary("updateBlockForPipeline", s.updateBlockForPipeline),
		rpc.Unary("updatePipeline", s.updatePipeline),
		rpc.Unary("getBlockLocations", s.getBlockLocations),
		rpc.Unary("delete", s.delete),
		rpc.Unary("rename", s.rename),
		rpc.Unary("rename2", s.rename2),
		rpc.Unary("setPermission", s.setPermission),
		rpc.Unary("setOwner", s.setOwner),
		rpc.Unary("setTimes", s.setTimes),
		rpc.Unary("setReplication", s.setReplication),
		rpc.Unary("getContentSummary", s.getContentSummary),
		rpc.Unary("getFsStats", s.getFsStats),
		rpc.Unary("getServerDefaults", s.getServerDefaults),
		rpc.Unary("renewLease", s.renewLease),
		rpc.Unary("recoverLease", s.recoverLease),
		rpc.Unary("setXAttr", s.setXAttr),
		rpc.Unary("getXAttrs", s.getXAttrs),
		rpc.Unary("listXAttrs", s.listXAttrs),
		rpc.Unary("removeXAttr", s.removeXAttr),
		rpc.Unary("setSafeMode", s.setSafeMode),
		rpc.Unary("getPreferredBlockSize", s.getPreferredBlockSize),
		rpc.Unary("saveNamespace", s.saveNamespace),
		rpc.Unary("rollEdits", s.rollEdits),
		rpc.Unary("msync", s.msync),
		rpc.Unary("getHAServiceState", s.getHAServiceState),
		rpc.Unary("getDatanodeReport", s.getDatanodeReport),
		rpc.Unary("reportBadBlocks", s.clientReportBadBlocks),
	)
}

func (s *Namesystem) user(ctx context.Context) string { return s.call(ctx, false).User }

func clientMachine(ctx context.Context) string {
	if c, ok := rpc.CallerFromContext(ctx); ok && c.RemoteAddr != nil {
		if h, _, err := net.SplitHostPort(c.RemoteAddr.String()); err == nil {
			return h
		}
		return c.RemoteAddr.String()
	}
	return ""
}

func (s *Namesystem) blockPoolID() string { return s.ns.Info().BlockPoolID }

// fileStatus converts a namespace status; name is the path bytes sent
// (empty for getFileInfo, the local name in listings).
func fileStatus(st *namespace.FileStatus, name string) *hdfspb.HdfsFileStatusProto {
	p := &hdfspb.HdfsFileStatusProto{
		Path:             []byte(name),
		Length:           proto.Uint64(st.Length),
		Permission:       &hdfspb.FsPermissionProto{Perm: proto.Uint32(st.Mode)},
		Owner:            proto.String(st.Owner),
		Group:            proto.String(st.Group),
		ModificationTime: proto.Uint64(uint64(st.Mtime)),
		AccessTime:       proto.Uint64(uint64(st.Atime)),
		FileId:           proto.Uint64(st.ID),
		StoragePolicy:    proto.Uint32(st.StoragePolicy),
	}
	if st.Dir {
		p.FileType = hdfspb.HdfsFileStatusProto_IS_DIR.Enum()
		p.Length = proto.Uint64(0)
		p.BlockReplication = proto.Uint32(0)
		p.Blocksize = proto.Uint64(0)
		p.ChildrenNum = proto.Int32(int32(st.Children))
	} else {
		p.FileType = hdfspb.HdfsFileStatusProto_IS_FILE.Enum()
		p.BlockReplication = proto.Uint32(st.Replication)
		p.Blocksize = proto.Uint64(st.BlockSize)
		p.ChildrenNum = proto.Int32(0)
	}
	return p
}

func (s *Namesystem) extBlock(b *editpb.Block) *hdfspb.ExtendedBlockProto {
	return &hdfspb.ExtendedBlockProto{PoolId: proto.String(s.blockPoolID()), BlockId: proto.Uint64(b.BlockId), GenerationStamp: proto.Uint64(b.GenStamp), NumBytes: proto.Uint64(b.NumBytes)}
}

func fromExtBlock(b *hdfspb.ExtendedBlockProto) *editpb.Block {
	if b == nil {
		return nil
	}
	return &editpb.Block{BlockId: b.GetBlockId(), GenStamp: b.GetGenerationStamp(), NumBytes: b.GetNumBytes()}
}

func emptyToken() *commonpb.TokenProto {
	return &commonpb.TokenProto{Identifier: []byte{}, Password: []byte{}, Kind: proto.String(""), Service: proto.String("")}
}

func (s *Namesystem) locatedBlock(b *editpb.Block, offset int64) *hdfspb.LocatedBlockProto {
	return &hdfspb.LocatedBlockProto{B: s.extBlock(b), Offset: proto.Uint64(uint64(offset)), Corrupt: proto.Bool(false), BlockToken: emptyToken()}
}

// locatedBlockFor adds the block manager's locations for a reader at
// the address reader (its own DataNode first). The caller holds the lock.
func (s *Namesystem) locatedBlockFor(b *editpb.Block, offset int64, reader string) *hdfspb.LocatedBlockProto {
	lb := s.locatedBlock(b, offset)
	locs, corrupt := s.bm.Locations(b.BlockId, reader, s.cfg.Now())
	setLocations(lb, locs)
	lb.Corrupt = proto.Bool(corrupt)
	return lb
}

// locatedBlocks builds LocatedBlocks with the locations the block map knows.
func (s *Namesystem) locatedBlocks(st *namespace.FileStatus, offset, length uint64) *hdfspb.LocatedBlocksProto {
	return s.locatedBlocksFor(st, offset, length, "")
}

func (s *Namesystem) locatedBlocksFor(st *namespace.FileStatus, offset, length uint64, reader string) *hdfspb.LocatedBlocksProto {
	lbs := &hdfspb.LocatedBlocksProto{FileLength: proto.Uint64(st.Length), UnderConstruction: proto.Bool(st.UnderConstruction()), IsLastBlockComplete: proto.Bool(!st.UnderConstruction())}
	var pos uint64
	for i, b := range st.Blocks {
		end := pos + b.NumBytes
		if end > offset && (pos < offset+length || length == 0) || (b.NumBytes == 0 && pos >= offset) {
			lbs.Blocks = append(lbs.Blocks, s.locatedBlockFor(b, int64(pos), reader))
		}
		if i == len(st.Blocks)-1 {
			lbs.LastBlock = s.locatedBlockFor(b, int64(pos), reader)
		}
		pos = end
	}
	return lbs
}

// ---- reads ----

func (s *Namesystem) getFileInfo(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
	resp := &hdfspb.GetFileInfoResponseProto{}
	err := s.read(ctx, func() error {
		st, err := s.ns.GetFileInfo(s.user(ctx), req.GetSrc())
		if err != nil {
			return err
		}
		if st != nil {
			resp.Fs = fileStatus(st, "")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (s *Namesystem) getFileLinkInfo(ctx context.Context, req *hdfspb.GetFileLinkInfoRequestProto) (*hdfspb.GetFileLinkInfoResponseProto, error) {
	r, err := s.getFileInfo(ctx, &hdfspb.GetFileInfoRequestProto{Src: req.Src})
	if err != nil {
		return nil, err
	}
	return &hdfspb.GetFileLinkInfoResponseProto{Fs: r.Fs}, nil
}

func (s *Namesystem) getListing(ctx context.Context, req *hdfspb.GetListingRequestProto) (*hdfspb.GetListingResponseProto, error) {
	resp := &hdfspb.GetListingResponseProto{}
	err := s.read(ctx, func() error {
		l, err := s.ns.List(s.user(ctx), req.GetSrc(), string(req.GetStartAfter()), lsLimit)
		if err != nil || l == nil {
			return err
		}
		dl := &hdfspb.DirectoryListingProto{RemainingEntries: proto.Uint32(uint32(l.Remaining))}
		for _, e := range l.Entries {
			name := e.Name
			dl.PartialListing = append(dl.PartialListing, fileStatus(e, name))
		}
		if len(l.Entries) == 1 && !l.Entries[0].Dir {
			// A listing of a file holds the file with an empty local name.
			if st, _ := s.ns.ResolvePath(req.GetSrc()); st != nil && !st.Dir {
				dl.PartialListing[0].Path = []byte{}
			}
		}
		resp.DirList = dl
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (s *Namesystem) getBlockLocations(ctx context.Context, req *hdfspb.GetBlockLocationsRequestProto) (*hdfspb.GetBlockLocationsResponseProto, error) {
	resp := &hdfspb.GetBlockLocationsResponseProto{}
	err := s.read(ctx, func() error {
		st, err := s.ns.GetFileInfo(s.user(ctx), req.GetSrc())
		if err != nil {
			return err
		}
		if st == nil {
			return rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", req.GetSrc())
		}
		if st.Dir {
			return rpc.Errorf(rpc.ErrFileNotFound, "Path is not a file: %s", req.GetSrc())
		}
		resp.Locations = s.locatedBlocksFor(st, req.GetOffset(), req.GetLength(), clientMachine(ctx))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (s *Namesystem) getContentSummary(ctx context.Context, req *hdfspb.GetContentSummaryRequestProto) (*hdfspb.GetContentSummaryResponseProto, error) {
	resp := &hdfspb.GetContentSummaryResponseProto{}
	err := s.read(ctx, func() error {
		cs, err := s.ns.ContentSummary(s.user(ctx), req.GetPath())
		if err != nil {
			return err
		}
		if cs == nil {
			return rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", req.GetPath())
		}
		resp.Summary = &hdfspb.ContentSummaryProto{
			Length: proto.Uint64(cs.Length), FileCount: proto.Uint64(uint64(cs.FileCount)), DirectoryCount: proto.Uint64(uint64(cs.DirectoryCount)),
			Quota: proto.Uint64(uint64(cs.Quota)), SpaceConsumed: proto.Uint64(cs.SpaceConsumed), SpaceQuota: proto.Uint64(uint64(cs.SpaceQuota)),
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (s *Namesystem) getFsStats(ctx context.Context, _ *hdfspb.GetFsStatusRequestProto) (*hdfspb.GetFsStatsResponseProto, error) {
	if err := s.checkFailed(); err != nil {
		return nil, err
	}
	if err := s.checkOperation(ha.Read); err != nil {
		return nil, err
	}
	s.mu.RLock()
	sum := s.bm.Summary(s.cfg.Now())
	s.mu.RUnlock()
	u := func(v int64) *uint64 { return proto.Uint64(uint64(max(v, 0))) }
	return &hdfspb.GetFsStatsResponseProto{Capacity: u(sum.Capacity), Used: u(sum.DfsUsed), Remaining: u(sum.Remaining),
		UnderReplicated: u(sum.UnderReplicated), CorruptBlocks: u(sum.Corrupt), MissingBlocks: u(sum.Missing),
		MissingReplOneBlocks: u(sum.MissingReplOne), BlocksInFuture: u(0), PendingDeletionBlocks: u(sum.PendingDeletion)}, nil
}

func (s *Namesystem) getServerDefaults(ctx context.Context, _ *hdfspb.GetServerDefaultsRequestProto) (*hdfspb.GetServerDefaultsResponseProto, error) {
	if err := s.checkFailed(); err != nil {
		return nil, err
	}
	if err := s.checkOperation(ha.Read); err != nil {
		return nil, err
	}
	d := s.cfg.Defaults
	return &hdfspb.GetServerDefaultsResponseProto{ServerDefaults: &hdfspb.FsServerDefaultsProto{
		BlockSize: proto.Uint64(d.BlockSize), BytesPerChecksum: proto.Uint32(d.BytesPerChecksum), WritePacketSize: proto.Uint32(d.WritePacketSize),
		Replication: proto.Uint32(d.Replication), FileBufferSize: proto.Uint32(d.FileBufferSize), EncryptDataTransfer: proto.Bool(false),
		TrashInterval: proto.Uint64(d.TrashInterval), ChecksumType: hdfspb.ChecksumTypeProto_CHECKSUM_CRC32C.Enum(),
	}}, nil
}

func (s *Namesystem) getPreferredBlockSize(ctx context.Context, req *hdfspb.GetPreferredBlockSizeRequestProto) (*hdfspb.GetPreferredBlockSizeResponseProto, error) {
	var size uint64
	err := s.read(ctx, func() error {
		st, err := s.ns.GetFileInfo(s.user(ctx), req.GetFilename())
		if err != nil {
			return err
		}
		if st == nil {
			return rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", req.GetFilename())
		}
		if st.Dir {
			return rpc.Errorf(rpc.ErrFileNotFound, "Path is not a file: %s", req.GetFilename())
		}
		size = st.BlockSize
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &hdfspb.GetPreferredBlockSizeResponseProto{Bsize: proto.Uint64(size)}, nil
}

func xattrFromProto(x *hdfspb.XAttrProto) *editpb.XAttr {
	if x == nil {
		return nil
	}
	return &editpb.XAttr{Namespace: editpb.XAttrNamespace(x.GetNamespace()), Name: x.GetName(), Value: x.GetValue()}
}

func xattrToProto(x *editpb.XAttr, withValue bool) *hdfspb.XAttrProto {
	p := &hdfspb.XAttrProto{Namespace: hdfspb.XAttrProto_XAttrNamespaceProto(x.Namespace).Enum(), Name: proto.String(x.Name)}
	if withValue {
		p.Value = x.Value
		if p.Value == nil {
			p.Value = []byte{}
		}
	}
	return p
}

func (s *Namesystem) getXAttrs(ctx context.Context, req *hdfspb.GetXAttrsRequestProto) (*hdfspb.GetXAttrsResponseProto, error) {
	resp := &hdfspb.GetXAttrsResponseProto{}
	err := s.read(ctx, func() error {
		var names []*editpb.XAttr
		for _, x := range req.GetXAttrs() {
			names = append(names, xattrFromProto(x))
		}
		xs, err := s.ns.GetXAttrs(s.user(ctx), req.GetSrc(), names)
		if err != nil {
			return err
		}
		for _, x := range xs {
			resp.XAttrs = append(resp.XAttrs, xattrToProto(x, true))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (s *Namesystem) listXAttrs(ctx context.Context, req *hdfspb.ListXAttrsRequestProto) (*hdfspb.ListXAttrsResponseProto, error) {
	resp := &hdfspb.ListXAttrsResponseProto{}
	err := s.read(ctx, func() error {
		xs, err := s.ns.ListXAttrs(s.user(ctx), req.GetSrc())
		if err != nil {
			return err
		}
		for _, x := range xs {
			resp.XAttrs = append(resp.XAttrs, xattrToProto(x, false))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// ---- namespace mutations ----

func (s *Namesystem) applyUmask(perm *hdfspb.FsPermissionProto) uint32 {
	mode := perm.GetPerm()
	return mode&0o1000 | mode&0o777&^s.cfg.Umask
}

func (s *Namesystem) mkdirs(ctx context.Context, req *hdfspb.MkdirsRequestProto) (*hdfspb.MkdirsResponseProto, error) {
	c := s.call(ctx, false)
	_, err := s.mutate(ctx, "Cannot create directory "+req.GetSrc(), func() (*editpb.Op, error) {
		return s.ns.PrepareMkdirs(c, req.GetSrc(), s.applyUmask(req.GetMasked()), req.GetCreateParent())
	}, nil)
	if err != nil {
		return nil, err
	}
	return &hdfspb.MkdirsResponseProto{Result: proto.Bool(true)}, nil
}

func (s *Namesystem) create(ctx context.Context, req *hdfspb.CreateRequestProto) (*hdfspb.CreateResponseProto, error) {
	src := req.GetSrc()
	return atMostOnce(s, ctx, func() (*hdfspb.CreateResponseProto, error) {
		c := s.call(ctx, true)
		flag := req.GetCreateFlag()
		machine := clientMachine(ctx)
		var st *namespace.FileStatus
		_, err := s.mutate(ctx, "Cannot create file"+src, func() (*editpb.Op, error) {
			s.recoverSoftLocked(src, req.GetClientName())
			overwrite := flag&uint32(hdfspb.CreateFlagProto_OVERWRITE) != 0
			if flag&uint32(hdfspb.CreateFlagProto_APPEND) != 0 && !overwrite {
				if cur, _ := s.ns.ResolvePath(src); cur != nil && !cur.Dir {
					return s.ns.PrepareAppend(c, src, req.GetClientName(), machine)
				}
			}
			if flag&uint32(hdfspb.CreateFlagProto_CREATE) == 0 {
				if cur, _ := s.ns.ResolvePath(src); cur == nil {
					return nil, rpc.Errorf(rpc.ErrFileNotFound, "Can't overwrite non-existent %s for client %s", src, machine)
				}
			}
			return s.ns.PrepareCreate(c, namespace.CreateRequest{
				Path: src, Mode: s.applyUmask(req.GetMasked()), ClientName: req.GetClientName(), ClientMachine: machine,
				Overwrite: overwrite, CreateParent: req.GetCreateParent(), Replication: req.GetReplication(), BlockSize: req.GetBlockSize(),
			})
		}, func(op *editpb.Op, _ mutateResult) {
			if a := op.GetAdd(); a != nil {
				st = statusFromAdd(a)
			} else {
				st, _ = s.ns.ResolvePath(src)
			}
		})
		if err != nil {
			return nil, err
		}
		resp := &hdfspb.CreateResponseProto{}
		if st != nil {
			resp.Fs = fileStatus(st, "")
		}
		return resp, nil
	}, func() (*hdfspb.CreateResponseProto, error) {
		r, err := s.getFileInfo(ctx, &hdfspb.GetFileInfoRequestProto{Src: proto.String(src)})
		if err != nil {
			return nil, err
		}
		return &hdfspb.CreateResponseProto{Fs: r.Fs}, nil
	})
}

func (s *Namesystem) appendFile(ctx context.Context, req *hdfspb.AppendRequestProto) (*hdfspb.AppendResponseProto, error) {
	src := req.GetSrc()
	reader := clientMachine(ctx)
	// answer runs under the lock: the last block's locations come from the
	// block manager (the replicas the appender's pipeline starts from).
	answer := func(st *namespace.FileStatus) *hdfspb.AppendResponseProto {
		resp := &hdfspb.AppendResponseProto{}
		if st == nil {
			return resp
		}
		resp.Stat = fileStatus(st, "")
		if n := len(st.Blocks); n > 0 {
			last := st.Blocks[n-1]
			if last.NumBytes < st.BlockSize {
				resp.Block = s.locatedBlockFor(last, int64(st.Length-last.NumBytes), reader)
			}
		}
		return resp
	}
	return atMostOnce(s, ctx, func() (*hdfspb.AppendResponseProto, error) {
		c := s.call(ctx, true)
		var resp *hdfspb.AppendResponseProto
		_, err := s.mutate(ctx, "Cannot append to file"+src, func() (*editpb.Op, error) {
			s.recoverSoftLocked(src, req.GetClientName())
			return s.ns.PrepareAppend(c, src, req.GetClientName(), clientMachine(ctx))
		}, func(*editpb.Op, mutateResult) {
			st, _ := s.ns.ResolvePath(src)
			resp = answer(st)
		})
		if err != nil {
			return nil, err
		}
		if resp == nil {
			resp = &hdfspb.AppendResponseProto{}
		}
		return resp, nil
	}, func() (*hdfspb.AppendResponseProto, error) {
		var resp *hdfspb.AppendResponseProto
		err := s.read(ctx, func() error {
			st, err := s.ns.ResolvePath(src)
			if err != nil {
				return err
			}
			resp = answer(st)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return resp, nil
	})
}

func (s *Namesystem) truncate(ctx context.Context, req *hdfspb.TruncateRequestProto) (*hdfspb.TruncateResponseProto, error) {
	return atMostOnce(s, ctx, func() (*hdfspb.TruncateResponseProto, error) {
		c := s.call(ctx, true)
		result := true
		var recover func()
		_, err := s.mutate(ctx, "Cannot truncate for "+req.GetSrc(), func() (*editpb.Op, error) {
			op, ok, err := s.ns.PrepareTruncate(c, req.GetSrc(), req.GetNewLength(), req.GetClientName(), clientMachine(ctx))
			if errors.Is(err, rpc.ErrUnsupportedOperation) {
				// A cut inside a block: every check passed; the block
				// manager recovers the block to the new length.
				op, recover, err = s.prepareTruncateInBlockLocked(c, req.GetSrc(), req.GetNewLength(), req.GetClientName(), clientMachine(ctx))
				ok = false
			}
			result = ok
			return op, err
		}, func(*editpb.Op, mutateResult) {
			if recover != nil {
				recover()
			}
		})
		if err != nil {
			return nil, err
		}
		return &hdfspb.TruncateResponseProto{Result: proto.Bool(result)}, nil
	}, func() (*hdfspb.TruncateResponseProto, error) {
		return &hdfspb.TruncateResponseProto{Result: proto.Bool(true)}, nil
	})
}

func (s *Namesystem) delete(ctx context.Context, req *hdfspb.DeleteRequestProto) (*hdfspb.DeleteResponseProto, error) {
	return atMostOnce(s, ctx, func() (*hdfspb.DeleteResponseProto, error) {
		c := s.call(ctx, true)
		r, err := s.mutate(ctx, "Cannot delete "+req.GetSrc(), func() (*editpb.Op, error) {
			return s.ns.PrepareDelete(c, req.GetSrc(), req.GetRecursive())
		}, nil)
		if err != nil {
			return nil, err
		}
		return &hdfspb.DeleteResponseProto{Result: proto.Bool(r.txid > 0)}, nil
	}, func() (*hdfspb.DeleteResponseProto, error) {
		return &hdfspb.DeleteResponseProto{Result: proto.Bool(true)}, nil
	})
}

func (s *Namesystem) rename(ctx context.Context, req *hdfspb.RenameRequestProto) (*hdfspb.RenameResponseProto, error) {
	return atMostOnce(s, ctx, func() (*hdfspb.RenameResponseProto, error) {
		c := s.call(ctx, true)
		result := false
		_, err := s.mutate(ctx, "Cannot rename "+req.GetSrc(), func() (*editpb.Op, error) {
			op, ok, err := s.ns.PrepareRenameOld(c, req.GetSrc(), req.GetDst())
			result = ok
			return op, err
		}, nil)
		if err != nil {
			return nil, err
		}
		return &hdfspb.RenameResponseProto{Result: proto.Bool(result)}, nil
	}, func() (*hdfspb.RenameResponseProto, error) {
		return &hdfspb.RenameResponseProto{Result: proto.Bool(true)}, nil
	})
}

func (s *Namesystem) rename2(ctx context.Context, req *hdfspb.Rename2RequestProto) (*hdfspb.Rename2ResponseProto, error) {
	return atMostOnce(s, ctx, func() (*hdfspb.Rename2ResponseProto, error) {
		c := s.call(ctx, true)
		_, err := s.mutate(ctx, "Cannot rename "+req.GetSrc(), func() (*editpb.Op, error) {
			return s.ns.PrepareRename(c, req.GetSrc(), req.GetDst(), req.GetOverwriteDest())
		}, nil)
		if err != nil {
			return nil, err
		}
		return &hdfspb.Rename2ResponseProto{}, nil
	}, func() (*hdfspb.Rename2ResponseProto, error) { return &hdfspb.Rename2ResponseProto{}, nil })
}

func (s *Namesystem) setPermission(ctx context.Context, req *hdfspb.SetPermissionRequestProto) (*hdfspb.SetPermissionResponseProto, error) {
	c := s.call(ctx, false)
	_, err := s.mutate(ctx, "Cannot set permission for "+req.GetSrc(), func() (*editpb.Op, error) {
		return s.ns.PrepareSetPermission(c, req.GetSrc(), req.GetPermission().GetPerm())
	}, nil)
	if err != nil {
		return nil, err
	}
	return &hdfspb.SetPermissionResponseProto{}, nil
}

func (s *Namesystem) setOwner(ctx context.Context, req *hdfspb.SetOwnerRequestProto) (*hdfspb.SetOwnerResponseProto, error) {
	c := s.call(ctx, false)
	_, err := s.mutate(ctx, "Cannot set owner for "+req.GetSrc(), func() (*editpb.Op, error) {
		return s.ns.PrepareSetOwner(c, req.GetSrc(), req.GetUsername(), req.GetGroupname())
	}, nil)
	if err != nil {
		return nil, err
	}
	return &hdfspb.SetOwnerResponseProto{}, nil
}

func (s *Namesystem) setTimes(ctx context.Context, req *hdfspb.SetTimesRequestProto) (*hdfspb.SetTimesResponseProto, error) {
	c := s.call(ctx, false)
	_, err := s.mutate(ctx, "Cannot set times "+req.GetSrc(), func() (*editpb.Op, error) {
		return s.ns.PrepareSetTimes(c, req.GetSrc(), int64(req.GetMtime()), int64(req.GetAtime()))
	}, nil)
	if err != nil {
		return nil, err
	}
	return &hdfspb.SetTimesResponseProto{}, nil
}

func (s *Namesystem) setReplication(ctx context.Context, req *hdfspb.SetReplicationRequestProto) (*hdfspb.SetReplicationResponseProto, error) {
	c := s.call(ctx, false)
	result := false
	_, err := s.mutate(ctx, "Cannot set replication for "+req.GetSrc(), func() (*editpb.Op, error) {
		op, ok, err := s.ns.PrepareSetReplication(c, req.GetSrc(), req.GetReplication())
		result = ok
		return op, err
	}, nil)
	if err != nil {
		return nil, err
	}
	return &hdfspb.SetReplicationResponseProto{Result: proto.Bool(result)}, nil
}

func (s *Namesystem) setXAttr(ctx context.Context, req *hdfspb.SetXAttrRequestProto) (*hdfspb.SetXAttrResponseProto, error) {
	return atMostOnce(s, ctx, func() (*hdfspb.SetXAttrResponseProto, error) {
		c := s.call(ctx, true)
		_, err := s.mutate(ctx, "Cannot set XAttr on "+req.GetSrc(), func() (*editpb.Op, error) {
			return s.ns.PrepareSetXAttr(c, req.GetSrc(), xattrFromProto(req.GetXAttr()), namespace.XAttrSetFlag(req.GetFlag()))
		}, nil)
		if err != nil {
			return nil, err
		}
		return &hdfspb.SetXAttrResponseProto{}, nil
	}, func() (*hdfspb.SetXAttrResponseProto, error) { return &hdfspb.SetXAttrResponseProto{}, nil })
}

func (s *Namesystem) removeXAttr(ctx context.Context, req *hdfspb.RemoveXAttrRequestProto) (*hdfspb.RemoveXAttrResponseProto, error) {
	return atMostOnce(s, ctx, func() (*hdfspb.RemoveXAttrResponseProto, error) {
		c := s.call(ctx, true)
		_, err := s.mutate(ctx, "Cannot remove XAttr entry on "+req.GetSrc(), func() (*editpb.Op, error) {
			return s.ns.PrepareRemoveXAttr(c, req.GetSrc(), xattrFromProto(req.GetXAttr()))
		}, nil)
		if err != nil {
			return nil, err
		}
		return &hdfspb.RemoveXAttrResponseProto{}, nil
	}, func() (*hdfspb.RemoveXAttrResponseProto, error) { return &hdfspb.RemoveXAttrResponseProto{}, nil })
}

// ---- writing files ----

func (s *Namesystem) addBlock(ctx context.Context, req *hdfspb.AddBlockRequestProto) (*hdfspb.AddBlockResponseProto, error) {
	c := s.call(ctx, false)
	src := req.GetSrc()
	writer := clientMachine(ctx)
	var lb *hdfspb.LocatedBlockProto
	_, err := s.mutate(ctx, "Cannot add block to "+src, func() (*editpb.Op, error) {
		prev := fromExtBlock(req.GetPrevious())
		if lb = s.retriedAddBlockLocked(src, req.GetClientName(), prev, writer); lb != nil {
			return nil, nil
		}
		op, nb, err := s.ns.PrepareAddBlock(c, src, req.GetClientName(), prev)
		if err != nil {
			return nil, err
		}
		st, err := s.ns.ResolvePath(src)
		if err != nil || st == nil {
			return nil, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", src)
		}
		// FSNamesystem.checkFileProgress(checkall=false): the block before
		// the previous one must have reached minimal replication.
		if k := len(st.Blocks); prev != nil && k >= 2 && !s.bm.HasMinReplicas(toBlock(st.Blocks[k-2])) {
			return nil, rpc.Errorf(rpc.ErrNotReplicatedYet, "Not replicated yet: %s", src)
		}
		now := s.cfg.Now()
		excluded := s.datanodeUUIDsLocked(now, req.GetExcludeNodes())
		targets, err := s.bm.ChooseTargets(blockmanagement.ChooseRequest{
			Path: src, Replicas: int(st.Replication), Writer: writer, Excluded: excluded,
			Favored: req.GetFavoredNodes(), BlockSize: int64(st.BlockSize),
		}, now)
		if err != nil {
			return nil, err
		}
		var offset uint64
		for i, b := range st.Blocks {
			if i == len(st.Blocks)-1 && prev != nil {
				offset += prev.NumBytes
			} else {
				offset += b.NumBytes
			}
		}
		lb = s.locatedBlock(nb, int64(offset))
		setLocations(lb, targets)
		return op, nil
	}, func(op *editpb.Op, r mutateResult) {
		nb := op.GetAddBlock().GetLastBlock()
		st, err := s.ns.ResolvePath(src)
		if err != nil || st == nil {
			return
		}
		var expected []string
		for _, d := range lb.GetLocs() {
			expected = append(expected, d.GetId().GetDatanodeUuid())
		}
		s.bm.PutBlock(blockmanagement.BlockSpec{Block: toBlock(nb), Inode: st.ID, Replication: int(st.Replication), Expected: expected}, s.cfg.Now())
	})
	if err != nil {
		return nil, err
	}
	return &hdfspb.AddBlockResponseProto{Block: lb}, nil
}

func (s *Namesystem) abandonBlock(ctx context.Context, req *hdfspb.AbandonBlockRequestProto) (*hdfspb.AbandonBlockResponseProto, error) {
	c := s.call(ctx, false)
	_, err := s.mutate(ctx, fmt.Sprintf("Cannot abandon block %d for file%s", req.GetB().GetBlockId(), req.GetSrc()), func() (*editpb.Op, error) {
		return s.ns.PrepareAbandonBlock(c, req.GetSrc(), req.GetHolder(), fromExtBlock(req.GetB()))
	}, nil)
	if err != nil {
		return nil, err
	}
	return &hdfspb.AbandonBlockResponseProto{}, nil
}

func sameBlock(a, b *editpb.Block) bool {
	if a == nil || a.BlockId == 0 {
		return b == nil
	}
	return b != nil && a.BlockId == b.BlockId && a.GenStamp == b.GenStamp
}

// completeWait bounds how long complete waits, without the lock, for the
// DataNodes' reports of the last block before it answers false. The client's
// ack of the last packet and the DataNodes' RECEIVED reports race; without the
// wait the report usually loses and the client sleeps 400 ms before it asks
// again (Hadoop's dfs.client.block.write.locateFollowingBlock.initial.delay.ms),
// for every file it closes.
const completeWait = 200 * time.Millisecond

func (s *Namesystem) complete(ctx context.Context, req *hdfspb.CompleteRequestProto) (*hdfspb.CompleteResponseProto, error) {
	deadline := time.Now().Add(completeWait)
	for {
		s.mu.RLock()
		changed := s.replicasChanged
		s.mu.RUnlock()
		resp, err := s.completeOnce(ctx, req)
		if err != nil || resp.GetResult() {
			return resp, err
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return resp, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-changed:
			t.Stop()
		case <-t.C:
			return resp, nil
		case <-ctx.Done():
			t.Stop()
			return resp, nil
		}
	}
}

func (s *Namesystem) completeOnce(ctx context.Context, req *hdfspb.CompleteRequestProto) (*hdfspb.CompleteResponseProto, error) {
	c := s.call(ctx, false)
	src := req.GetSrc()
	last := fromExtBlock(req.GetLast())
	done := true
	_, err := s.mutate(ctx, "Cannot complete file "+src, func() (*editpb.Op, error) {
		op, err := s.ns.PrepareComplete(c, src, req.GetClientName(), last)
		if err == nil && !s.minimallyReplicatedLocked(src, last) {
			// completeFileInternal: not yet; the client retries.
			done = false
			return nil, nil
		}
		if errors.Is(err, rpc.ErrLeaseExpired) {
			// A retry of a complete that succeeded (completeFileInternal).
			if st, _ := s.ns.ResolvePath(src); st != nil && !st.Dir && !st.UnderConstruction() {
				var real *editpb.Block
				if n := len(st.Blocks); n > 0 {
					real = st.Blocks[n-1]
				}
				if sameBlock(last, real) {
					return nil, nil
				}
			}
		}
		return op, err
	}, nil)
	if err != nil {
		return nil, err
	}
	return &hdfspb.CompleteResponseProto{Result: proto.Bool(done)}, nil
}

// checkLeaseLocked is FSNamesystem.checkLease for calls that log nothing.
func (s *Namesystem) checkLeaseLocked(src, holder string) (*namespace.FileStatus, error) {
	return s.ns.CheckLease(src, holder)
}

func (s *Namesystem) fsync(ctx context.Context, req *hdfspb.FsyncRequestProto) (*hdfspb.FsyncResponseProto, error) {
	_, err := s.mutate(ctx, "Cannot fsync file "+req.GetSrc(), func() (*editpb.Op, error) {
		_, err := s.checkLeaseLocked(req.GetSrc(), req.GetClient())
		return nil, err
	}, nil)
	if err != nil {
		return nil, err
	}
	return &hdfspb.FsyncResponseProto{}, nil
}

// blockFileLocked finds the path of the file holding block b.
func (s *Namesystem) blockFileLocked(b *editpb.Block) (string, error) {
	id, err := s.ns.BlockOwner(b.GetBlockId())
	if err != nil {
		return "", err
	}
	if id == 0 {
		return "", rpc.Errorf(rpc.ErrIO, "Block %d does not exist.", b.GetBlockId())
	}
	return s.ns.FullPath(id)
}

func (s *Namesystem) updateBlockForPipeline(ctx context.Context, req *hdfspb.UpdateBlockForPipelineRequestProto) (*hdfspb.UpdateBlockForPipelineResponseProto, error) {
	c := s.call(ctx, false)
	b := fromExtBlock(req.GetBlock())
	var lb *hdfspb.LocatedBlockProto
	_, err := s.mutate(ctx, fmt.Sprintf("Cannot get a new generation stamp and an access token for block %d", b.GetBlockId()), func() (*editpb.Op, error) {
		path, err := s.blockFileLocked(b)
		if err != nil {
			return nil, err
		}
		if _, err := s.checkLeaseLocked(path, req.GetClientName()); err != nil {
			return nil, err
		}
		op, gs := s.ns.PrepareNextGenStamp(c)
		nb := &editpb.Block{BlockId: b.BlockId, GenStamp: gs, NumBytes: b.NumBytes}
		lb = &hdfspb.LocatedBlockProto{B: s.extBlock(nb), Offset: proto.Uint64(^uint64(0)), Corrupt: proto.Bool(false), BlockToken: emptyToken()}
		return op, nil
	}, nil)
	if err != nil {
		return nil, err
	}
	return &hdfspb.UpdateBlockForPipelineResponseProto{Block: lb}, nil
}

func (s *Namesystem) updatePipeline(ctx context.Context, req *hdfspb.UpdatePipelineRequestProto) (*hdfspb.UpdatePipelineResponseProto, error) {
	c := s.call(ctx, false)
	_, err := s.mutate(ctx, "Pipeline not updated", func() (*editpb.Op, error) {
		old := fromExtBlock(req.GetOldBlock())
		path, err := s.blockFileLocked(old)
		if err != nil {
			return nil, err
		}
		return s.ns.PrepareUpdatePipeline(c, path, req.GetClientName(), old, fromExtBlock(req.GetNewBlock()))
	}, func(op *editpb.Op, r mutateResult) {
		// The new pipeline is where the block under construction lives now.
		nb := fromExtBlock(req.GetNewBlock())
		owner, err := s.ns.BlockOwner(nb.BlockId)
		if err != nil || owner == 0 {
			return
		}
		st, err := s.ns.GetINode(owner)
		if err != nil || st == nil {
			return
		}
		var expected []string
		for _, d := range req.GetNewNodes() {
			expected = append(expected, d.GetDatanodeUuid())
		}
		s.bm.PutBlock(blockmanagement.BlockSpec{Block: toBlock(nb), Inode: st.ID, Replication: int(st.Replication), Expected: expected}, s.cfg.Now())
	})
	if err != nil {
		return nil, err
	}
	return &hdfspb.UpdatePipelineResponseProto{}, nil
}

// ---- leases ----

func (s *Namesystem) renewLease(ctx context.Context, req *hdfspb.RenewLeaseRequestProto) (*hdfspb.RenewLeaseResponseProto, error) {
	if err := s.checkFailed(); err != nil {
		return nil, err
	}
	if err := s.checkOperation(ha.Write); err != nil {
		return nil, err
	}
	if err := s.checkSafeMode("Cannot renew lease for " + req.GetClientName()); err != nil {
		return nil, err
	}
	s.leases.renew(req.GetClientName(), s.cfg.Now())
	return &hdfspb.RenewLeaseResponseProto{}, nil
}

func (s *Namesystem) recoverLease(ctx context.Context, req *hdfspb.RecoverLeaseRequestProto) (*hdfspb.RecoverLeaseResponseProto, error) {
	src := req.GetSrc()
	user := s.user(ctx)
	closed := true
	_, err := s.mutate(ctx, "Cannot recover the lease of "+src, func() (*editpb.Op, error) {
		st, err := s.ns.GetFileInfo(user, src)
		if err != nil {
			return nil, err
		}
		if st == nil {
			return nil, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", src)
		}
		if st.Dir {
			return nil, rpc.Errorf(rpc.ErrFileNotFound, "Path is not a file: %s", src)
		}
		if !st.UnderConstruction() {
			return nil, nil
		}
		// Forced recovery (internalReleaseLease): close now when the last
		// block allows it, else start block recovery and answer false.
		// The ops are logged inside; mutate syncs the last applied txid.
		_, closed, err = s.releaseLeaseLocked(st.ClientName, src)
		return nil, err
	}, nil)
	if err != nil {
		return nil, err
	}
	return &hdfspb.RecoverLeaseResponseProto{Result: proto.Bool(closed)}, nil
}

func (s *Namesystem) setSafeMode(ctx context.Context, req *hdfspb.SetSafeModeRequestProto) (*hdfspb.SetSafeModeResponseProto, error) {
	if err := s.checkFailed(); err != nil {
		return nil, err
	}
	// Unchecked unless the client asks for a check (dfsadmin -safemode
	// on an HA nameservice does): then GET is a read, the rest writes.
	if req.GetChecked() {
		c := ha.Write
		if req.GetAction() == hdfspb.SafeModeActionProto_SAFEMODE_GET {
			c = ha.Read
		}
		// Safe mode logs no edit: a read-only active serves it too.
		if err := s.checkActive(c); err != nil {
			return nil, err
		}
	}
	switch req.GetAction() {
	case hdfspb.SafeModeActionProto_SAFEMODE_GET:
	case hdfspb.SafeModeActionProto_SAFEMODE_ENTER:
		if err := s.checkSuperuser(ctx); err != nil {
			return nil, err
		}
		s.SetSafeMode(true)
	case hdfspb.SafeModeActionProto_SAFEMODE_LEAVE, hdfspb.SafeModeActionProto_SAFEMODE_FORCE_EXIT:
		if err := s.checkSuperuser(ctx); err != nil {
			return nil, err
		}
		s.SetSafeMode(false)
	default:
		return nil, rpc.Errorf(rpc.ErrIllegalArgument, "Unexpected safe mode action %v", req.GetAction())
	}
	return &hdfspb.SetSafeModeResponseProto{Result: proto.Bool(s.InSafeMode())}, nil
}

func (s *Namesystem) saveNamespace(ctx context.Context, _ *hdfspb.SaveNamespaceRequestProto) (*hdfspb.SaveNamespaceResponseProto, error) {
	if err := s.checkSuperuser(ctx); err != nil {
		return nil, err
	}
	if err := s.SaveNamespace(ctx); err != nil {
		return nil, err
	}
	return &hdfspb.SaveNamespaceResponseProto{Saved: proto.Bool(true)}, nil
}

func (s *Namesystem) rollEdits(ctx context.Context, _ *hdfspb.RollEditsRequestProto) (*hdfspb.RollEditsResponseProto, error) {
	if err := s.checkSuperuser(ctx); err != nil {
		return nil, err
	}
	txid, err := s.RollEdits(ctx)
	if err != nil {
		return nil, err
	}
	return &hdfspb.RollEditsResponseProto{NewSegmentTxId: proto.Uint64(uint64(txid))}, nil
}

func (s *Namesystem) msync(ctx context.Context, _ *hdfspb.MsyncRequestProto) (*hdfspb.MsyncResponseProto, error) {
	if err := s.checkFailed(); err != nil {
		return nil, err
	}
	// msync succeeds only on the active (Hadoop checks WRITE), read-only
	// or not: it changes nothing.
	if err := s.checkActive(ha.Write); err != nil {
		return nil, err
	}
	return &hdfspb.MsyncResponseProto{}, nil
}

func (s *Namesystem) getHAServiceState(ctx context.Context, _ *hdfspb.HAServiceStateRequestProto) (*hdfspb.HAServiceStateResponseProto, error) {
	st := s.haState()
	if st == ha.Active && !s.active.Load() {
		st = ha.Standby
	}
	return &hdfspb.HAServiceStateResponseProto{State: st.Proto().Enum()}, nil
}

func (s *Namesystem) getDatanodeReport(ctx context.Context, req *hdfspb.GetDatanodeReportRequestProto) (*hdfspb.GetDatanodeReportResponseProto, error) {
	if err := s.checkFailed(); err != nil {
		return nil, err
	}
	if err := s.checkSuperuser(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	nodes := s.bm.Datanodes(s.cfg.Now())
	s.mu.RUnlock()
	resp := &hdfspb.GetDatanodeReportResponseProto{}
	for _, d := range nodes {
		switch req.GetType() {
		case hdfspb.DatanodeReportTypeProto_LIVE:
			if !d.Alive {
				continue
			}
		case hdfspb.DatanodeReportTypeProto_DEAD:
			if d.Alive {
				continue
			}
		case hdfspb.DatanodeReportTypeProto_ALL:
		default:
			continue // no decommissioning or maintenance states
		}
		resp.Di = append(resp.Di, datanodeInfoProto(d))
	}
	return resp, nil
}

// statusFromAdd is the status of the file an OP_ADD just created, built
// from the op instead of a second path resolution under the lock.
func statusFromAdd(a *editpb.Add) *namespace.FileStatus {
	name := a.Path[strings.LastIndexByte(a.Path, '/')+1:]
	return &namespace.FileStatus{
		ID: a.InodeId, Name: name, Mode: a.GetPerm().GetMode(), Owner: a.GetPerm().GetOwner(), Group: a.GetPerm().GetGroup(),
		Mtime: a.Mtime, Atime: a.Atime, Replication: a.Replication, BlockSize: a.PreferredBlockSize,
		ClientName: a.ClientName, ClientMachine: a.ClientMachine, StoragePolicy: a.StoragePolicyId,
	}
}

// clientReportBadBlocks is ClientProtocol.reportBadBlocks: a reader found
// bad copies. Unlike DataNodes, clients must reach the active (WRITE
// category), so a standby answers StandbyException and they fail over.
func (s *Namesystem) clientReportBadBlocks(ctx context.Context, req *hdfspb.ReportBadBlocksRequestProto) (*hdfspb.ReportBadBlocksResponseProto, error) {
	// No edit: a read-only active takes reports too.
	if err := s.checkActive(ha.Write); err != nil {
		return nil, err
	}
	return s.reportBadBlocks(ctx, req)
}
