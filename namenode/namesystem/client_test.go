package namesystem

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

func str(s string) *string { return proto.String(s) }

// TestClientProtocolSemantics runs each call and its error cases over RPC,
// in order, against one NameNode.
func TestClientProtocolSemantics(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := newHarness(t, nil)
	type step struct {
		name   string
		user   string
		method string
		req    proto.Message
		resp   proto.Message
		class  string // expected Java class, "" for success
		msg    string // expected message (exact, or prefix when ending in "…")
		check  func(t *testing.T, resp proto.Message)
	}
	boolResult := func(want bool) func(t *testing.T, resp proto.Message) {
		return func(t *testing.T, resp proto.Message) {
			t.Helper()
			got := resp.ProtoReflect().Get(resp.ProtoReflect().Descriptor().Fields().ByName("result")).Bool()
			if got != want {
				t.Errorf("result = %v, want %v", got, want)
			}
		}
	}
	const (
		fnf    = "java.io.FileNotFoundException"
		exists = "org.apache.hadoop.fs.FileAlreadyExistsException"
		ace    = "org.apache.hadoop.security.AccessControlException"
		pnd    = "org.apache.hadoop.fs.ParentNotDirectoryException"
		ioe    = "java.io.IOException"
		sme    = "org.apache.hadoop.hdfs.server.namenode.SafeModeException"
	)
	steps := []step{
		{name: "mkdirs /user/alice", user: superuser, method: "mkdirs", req: mkdirsReq("/user/alice", 0o755, true), resp: &hdfspb.MkdirsResponseProto{}, check: boolResult(true)},
		{name: "chown /user/alice", user: superuser, method: "setOwner", req: &hdfspb.SetOwnerRequestProto{Src: str("/user/alice"), Username: str("alice"), Groupname: str("staff")}, resp: &hdfspb.SetOwnerResponseProto{}},
		{name: "mkdirs without parent", user: "alice", method: "mkdirs", req: mkdirsReq("/user/alice/a/b", 0o755, false), resp: &hdfspb.MkdirsResponseProto{}, class: fnf, msg: "Parent directory doesn't exist: /user/alice/a"},
		{name: "mkdirs umask", user: "alice", method: "mkdirs", req: mkdirsReq("/user/alice/d", 0o777, false), resp: &hdfspb.MkdirsResponseProto{}, check: func(t *testing.T, _ proto.Message) {
			if m := h.stat("/user/alice/d").GetPermission().GetPerm(); m != 0o755 {
				t.Errorf("mode = %o, want 755 (umask 022)", m)
			}
		}},
		{name: "mkdirs denied", user: "bob", method: "mkdirs", req: mkdirsReq("/x", 0o755, true), resp: &hdfspb.MkdirsResponseProto{}, class: ace,
			msg: `Permission denied: user=bob, access=WRITE, inode="/":hdfs:supergroup:drwxr-xr-x`},
		{name: "create", user: "alice", method: "create", req: createReq("/user/alice/f", "c1", hdfspb.CreateFlagProto_CREATE, false), resp: &hdfspb.CreateResponseProto{}, check: func(t *testing.T, r proto.Message) {
			fs := r.(*hdfspb.CreateResponseProto).GetFs()
			if fs.GetFileType() != hdfspb.HdfsFileStatusProto_IS_FILE || fs.GetOwner() != "alice" || fs.GetGroup() != "staff" || fs.GetPermission().GetPerm() != 0o644 {
				t.Errorf("create status = %v", fs)
			}
		}},
		{name: "create over open file", user: "alice", method: "create", req: createReq("/user/alice/f", "c2", hdfspb.CreateFlagProto_CREATE, false), resp: &hdfspb.CreateResponseProto{},
			class: "org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException", msg: "Failed to CREATE_FILE /user/alice/f for c2 on 127.0.0.1 because this file lease is currently owned by c1 on 127.0.0.1"},
		{name: "addBlock without DataNodes", user: "alice", method: "addBlock", req: &hdfspb.AddBlockRequestProto{Src: str("/user/alice/f"), ClientName: str("c1")}, resp: &hdfspb.AddBlockResponseProto{},
			class: ioe, msg: "File /user/alice/f could only be written to 0 of the 1 minReplication nodes. There are 0 datanode(s) running and 0 node(s) are excluded in this operation."},
		{name: "addBlock wrong holder", user: "alice", method: "addBlock", req: &hdfspb.AddBlockRequestProto{Src: str("/user/alice/f"), ClientName: str("c9")}, resp: &hdfspb.AddBlockResponseProto{},
			class: "org.apache.hadoop.hdfs.server.namenode.LeaseExpiredException", msg: "Client (=c9) is not the lease owner…"},
		{name: "fsync", user: "alice", method: "fsync", req: &hdfspb.FsyncRequestProto{Src: str("/user/alice/f"), Client: str("c1")}, resp: &hdfspb.FsyncResponseProto{}},
		{name: "complete", user: "alice", method: "complete", req: &hdfspb.CompleteRequestProto{Src: str("/user/alice/f"), ClientName: str("c1")}, resp: &hdfspb.CompleteResponseProto{}, check: boolResult(true)},
		{name: "complete retried", user: "alice", method: "complete", req: &hdfspb.CompleteRequestProto{Src: str("/user/alice/f"), ClientName: str("c1")}, resp: &hdfspb.CompleteResponseProto{}, check: boolResult(true)},
		{name: "create over existing", user: "alice", method: "create", req: createReq("/user/alice/f", "c2", hdfspb.CreateFlagProto_CREATE, false), resp: &hdfspb.CreateResponseProto{},
			class: exists, msg: "/user/alice/f for client 127.0.0.1 already exists"},
		{name: "create overwrite", user: "alice", method: "create", req: createReq("/user/alice/f", "c2", hdfspb.CreateFlagProto_CREATE|hdfspb.CreateFlagProto_OVERWRITE, false), resp: &hdfspb.CreateResponseProto{}},
		{name: "complete c2", user: "alice", method: "complete", req: &hdfspb.CompleteRequestProto{Src: str("/user/alice/f"), ClientName: str("c2")}, resp: &hdfspb.CompleteResponseProto{}},
		{name: "append", user: "alice", method: "append", req: &hdfspb.AppendRequestProto{Src: str("/user/alice/f"), ClientName: str("c3")}, resp: &hdfspb.AppendResponseProto{}, check: func(t *testing.T, r proto.Message) {
			if r.(*hdfspb.AppendResponseProto).GetStat() == nil {
				t.Error("append: no status")
			}
		}},
		{name: "complete c3", user: "alice", method: "complete", req: &hdfspb.CompleteRequestProto{Src: str("/user/alice/f"), ClientName: str("c3")}, resp: &hdfspb.CompleteResponseProto{}},
		{name: "append missing", user: "alice", method: "append", req: &hdfspb.AppendRequestProto{Src: str("/user/alice/nope"), ClientName: str("c3")}, resp: &hdfspb.AppendResponseProto{}, class: fnf, msg: "Failed to append to non-existent file /user/alice/nope for client 127.0.0.1"},
		{name: "truncate to 0", user: "alice", method: "truncate", req: &hdfspb.TruncateRequestProto{Src: str("/user/alice/f"), NewLength: proto.Uint64(0), ClientName: str("c4")}, resp: &hdfspb.TruncateResponseProto{}, check: boolResult(true)},
		{name: "truncate larger", user: "alice", method: "truncate", req: &hdfspb.TruncateRequestProto{Src: str("/user/alice/f"), NewLength: proto.Uint64(10), ClientName: str("c4")}, resp: &hdfspb.TruncateResponseProto{},
			class: "org.apache.hadoop.HadoopIllegalArgumentException", msg: "Cannot truncate to a larger file size. Current size: 0, truncate size: 10."},
		{name: "mkdir under a file", user: "alice", method: "mkdirs", req: mkdirsReq("/user/alice/f/x", 0o755, true), resp: &hdfspb.MkdirsResponseProto{}, class: pnd, msg: "/user/alice/f (is not a directory)"},
		{name: "getBlockLocations", user: "alice", method: "getBlockLocations", req: &hdfspb.GetBlockLocationsRequestProto{Src: str("/user/alice/f"), Offset: proto.Uint64(0), Length: proto.Uint64(100)}, resp: &hdfspb.GetBlockLocationsResponseProto{}, check: func(t *testing.T, r proto.Message) {
			if l := r.(*hdfspb.GetBlockLocationsResponseProto).GetLocations(); l == nil || l.GetFileLength() != 0 {
				t.Errorf("locations = %v", l)
			}
		}},
		{name: "getBlockLocations missing", user: "alice", method: "getBlockLocations", req: &hdfspb.GetBlockLocationsRequestProto{Src: str("/nope"), Offset: proto.Uint64(0), Length: proto.Uint64(1)}, resp: &hdfspb.GetBlockLocationsResponseProto{}, class: fnf, msg: "File does not exist: /nope"},
		{name: "getBlockLocations dir", user: "alice", method: "getBlockLocations", req: &hdfspb.GetBlockLocationsRequestProto{Src: str("/user"), Offset: proto.Uint64(0), Length: proto.Uint64(1)}, resp: &hdfspb.GetBlockLocationsResponseProto{}, class: fnf, msg: "Path is not a file: /user"},
		{name: "getPreferredBlockSize", user: "alice", method: "getPreferredBlockSize", req: &hdfspb.GetPreferredBlockSizeRequestProto{Filename: str("/user/alice/f")}, resp: &hdfspb.GetPreferredBlockSizeResponseProto{}, check: func(t *testing.T, r proto.Message) {
			if b := r.(*hdfspb.GetPreferredBlockSizeResponseProto).GetBsize(); b != 128<<20 {
				t.Errorf("bsize = %d", b)
			}
		}},
		{name: "setReplication", user: "alice", method: "setReplication", req: &hdfspb.SetReplicationRequestProto{Src: str("/user/alice/f"), Replication: proto.Uint32(2)}, resp: &hdfspb.SetReplicationResponseProto{}, check: boolResult(true)},
		{name: "setReplication dir", user: "alice", method: "setReplication", req: &hdfspb.SetReplicationRequestProto{Src: str("/user/alice/d"), Replication: proto.Uint32(2)}, resp: &hdfspb.SetReplicationResponseProto{}, check: boolResult(false)},
		{name: "setPermission", user: "alice", method: "setPermission", req: &hdfspb.SetPermissionRequestProto{Src: str("/user/alice/f"), Permission: perm(0o600)}, resp: &hdfspb.SetPermissionResponseProto{}},
		{name: "setPermission not owner", user: "bob", method: "setPermission", req: &hdfspb.SetPermissionRequestProto{Src: str("/user/alice/f"), Permission: perm(0o777)}, resp: &hdfspb.SetPermissionResponseProto{}, class: ace, msg: "Permission denied. user=bob is not the owner of inode=/user/alice/f"},
		{name: "setTimes", user: "alice", method: "setTimes", req: &hdfspb.SetTimesRequestProto{Src: str("/user/alice/f"), Mtime: proto.Uint64(1000), Atime: proto.Uint64(2000)}, resp: &hdfspb.SetTimesResponseProto{}, check: func(t *testing.T, _ proto.Message) {
			if fs := h.stat("/user/alice/f"); fs.GetModificationTime() != 1000 || fs.GetAccessTime() != 2000 {
				t.Errorf("times = %d %d", fs.GetModificationTime(), fs.GetAccessTime())
			}
		}},
		{name: "setXAttr", user: "alice", method: "setXAttr", req: &hdfspb.SetXAttrRequestProto{Src: str("/user/alice/f"), XAttr: &hdfspb.XAttrProto{Namespace: hdfspb.XAttrProto_USER.Enum(), Name: str("k"), Value: []byte("v")}, Flag: proto.Uint32(1)}, resp: &hdfspb.SetXAttrResponseProto{}},
		{name: "getXAttrs", user: "alice", method: "getXAttrs", req: &hdfspb.GetXAttrsRequestProto{Src: str("/user/alice/f")}, resp: &hdfspb.GetXAttrsResponseProto{}, check: func(t *testing.T, r proto.Message) {
			xs := r.(*hdfspb.GetXAttrsResponseProto).GetXAttrs()
			if len(xs) != 1 || xs[0].GetName() != "k" || string(xs[0].GetValue()) != "v" {
				t.Errorf("xattrs = %v", xs)
			}
		}},
		{name: "listXAttrs", user: "alice", method: "listXAttrs", req: &hdfspb.ListXAttrsRequestProto{Src: str("/user/alice/f")}, resp: &hdfspb.ListXAttrsResponseProto{}, check: func(t *testing.T, r proto.Message) {
			if xs := r.(*hdfspb.ListXAttrsResponseProto).GetXAttrs(); len(xs) != 1 {
				t.Errorf("xattrs = %v", xs)
			}
		}},
		{name: "removeXAttr", user: "alice", method: "removeXAttr", req: &hdfspb.RemoveXAttrRequestProto{Src: str("/user/alice/f"), XAttr: &hdfspb.XAttrProto{Namespace: hdfspb.XAttrProto_USER.Enum(), Name: str("k")}}, resp: &hdfspb.RemoveXAttrResponseProto{}},
		{name: "rename into own subtree", user: "alice", method: "rename2", req: &hdfspb.Rename2RequestProto{Src: str("/user/alice/d"), Dst: str("/user/alice/d/e"), OverwriteDest: proto.Bool(false)}, resp: &hdfspb.Rename2ResponseProto{}, class: ioe, msg: "…"},
		{name: "rename", user: "alice", method: "rename", req: &hdfspb.RenameRequestProto{Src: str("/user/alice/f"), Dst: str("/user/alice/g")}, resp: &hdfspb.RenameResponseProto{}, check: boolResult(true)},
		{name: "rename missing", user: "alice", method: "rename", req: &hdfspb.RenameRequestProto{Src: str("/user/alice/f"), Dst: str("/user/alice/h")}, resp: &hdfspb.RenameResponseProto{}, check: boolResult(false)},
		{name: "rename2", user: "alice", method: "rename2", req: &hdfspb.Rename2RequestProto{Src: str("/user/alice/g"), Dst: str("/user/alice/d/g"), OverwriteDest: proto.Bool(false)}, resp: &hdfspb.Rename2ResponseProto{}},
		{name: "getListing", user: "alice", method: "getListing", req: &hdfspb.GetListingRequestProto{Src: str("/user/alice"), StartAfter: []byte{}, NeedLocation: proto.Bool(false)}, resp: &hdfspb.GetListingResponseProto{}, check: func(t *testing.T, r proto.Message) {
			dl := r.(*hdfspb.GetListingResponseProto).GetDirList()
			if len(dl.GetPartialListing()) != 1 || string(dl.GetPartialListing()[0].GetPath()) != "d" {
				t.Errorf("listing = %v", dl)
			}
		}},
		{name: "getListing startAfter", user: "alice", method: "getListing", req: &hdfspb.GetListingRequestProto{Src: str("/user/alice"), StartAfter: []byte("d"), NeedLocation: proto.Bool(false)}, resp: &hdfspb.GetListingResponseProto{}, check: func(t *testing.T, r proto.Message) {
			if dl := r.(*hdfspb.GetListingResponseProto).GetDirList(); dl == nil || len(dl.GetPartialListing()) != 0 {
				t.Errorf("listing = %v", dl)
			}
		}},
		{name: "getListing missing", user: "alice", method: "getListing", req: &hdfspb.GetListingRequestProto{Src: str("/nope"), StartAfter: []byte{}, NeedLocation: proto.Bool(false)}, resp: &hdfspb.GetListingResponseProto{}, check: func(t *testing.T, r proto.Message) {
			if r.(*hdfspb.GetListingResponseProto).DirList != nil {
				t.Error("listing of a missing path has a dirList")
			}
		}},
		{name: "getContentSummary", user: "alice", method: "getContentSummary", req: &hdfspb.GetContentSummaryRequestProto{Path: str("/user")}, resp: &hdfspb.GetContentSummaryResponseProto{}, check: func(t *testing.T, r proto.Message) {
			s := r.(*hdfspb.GetContentSummaryResponseProto).GetSummary()
			if s.GetFileCount() != 1 || s.GetDirectoryCount() != 3 {
				t.Errorf("summary = %v", s)
			}
		}},
		{name: "delete non-empty", user: "alice", method: "delete", req: &hdfspb.DeleteRequestProto{Src: str("/user/alice/d"), Recursive: proto.Bool(false)}, resp: &hdfspb.DeleteResponseProto{},
			class: "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException", msg: "`/user/alice/d is non empty': Directory is not empty"},
		{name: "delete denied", user: "bob", method: "delete", req: &hdfspb.DeleteRequestProto{Src: str("/user/alice/d"), Recursive: proto.Bool(true)}, resp: &hdfspb.DeleteResponseProto{}, class: ace,
			msg: `Permission denied: user=bob, access=WRITE, inode="/user/alice":alice:staff:drwxr-xr-x`},
		{name: "delete root", user: superuser, method: "delete", req: &hdfspb.DeleteRequestProto{Src: str("/"), Recursive: proto.Bool(true)}, resp: &hdfspb.DeleteResponseProto{}, check: boolResult(false)},
		{name: "delete", user: "alice", method: "delete", req: &hdfspb.DeleteRequestProto{Src: str("/user/alice/d"), Recursive: proto.Bool(true)}, resp: &hdfspb.DeleteResponseProto{}, check: boolResult(true)},
		{name: "delete missing", user: "alice", method: "delete", req: &hdfspb.DeleteRequestProto{Src: str("/user/alice/d"), Recursive: proto.Bool(true)}, resp: &hdfspb.DeleteResponseProto{}, check: boolResult(false)},
		{name: "getFsStats", user: "alice", method: "getFsStats", req: &hdfspb.GetFsStatusRequestProto{}, resp: &hdfspb.GetFsStatsResponseProto{}},
		{name: "getServerDefaults", user: "alice", method: "getServerDefaults", req: &hdfspb.GetServerDefaultsRequestProto{}, resp: &hdfspb.GetServerDefaultsResponseProto{}, check: func(t *testing.T, r proto.Message) {
			d := r.(*hdfspb.GetServerDefaultsResponseProto).GetServerDefaults()
			if d.GetBytesPerChecksum() != 512 || d.GetWritePacketSize() != 65536 || d.GetChecksumType() != hdfspb.ChecksumTypeProto_CHECKSUM_CRC32C {
				t.Errorf("defaults = %v", d)
			}
		}},
		{name: "renewLease", user: "alice", method: "renewLease", req: &hdfspb.RenewLeaseRequestProto{ClientName: str("c1")}, resp: &hdfspb.RenewLeaseResponseProto{}},
		{name: "saveNamespace outside safe mode", user: superuser, method: "saveNamespace", req: &hdfspb.SaveNamespaceRequestProto{}, resp: &hdfspb.SaveNamespaceResponseProto{}, class: ioe, msg: "Safe mode should be turned ON in order to create namespace image."},
		{name: "safemode enter denied", user: "alice", method: "setSafeMode", req: &hdfspb.SetSafeModeRequestProto{Action: hdfspb.SafeModeActionProto_SAFEMODE_ENTER.Enum()}, resp: &hdfspb.SetSafeModeResponseProto{}, class: ace, msg: "Access denied for user alice. Superuser privilege is required"},
		{name: "safemode enter", user: superuser, method: "setSafeMode", req: &hdfspb.SetSafeModeRequestProto{Action: hdfspb.SafeModeActionProto_SAFEMODE_ENTER.Enum()}, resp: &hdfspb.SetSafeModeResponseProto{}, check: boolResult(true)},
		{name: "mkdirs in safe mode", user: superuser, method: "mkdirs", req: mkdirsReq("/x", 0o755, true), resp: &hdfspb.MkdirsResponseProto{}, class: sme,
			msg: "Cannot create directory /x. Name node is in safe mode.\nIt was turned on manually. Use \"hdfs dfsadmin -safemode leave\" to turn safe mode off. NamenodeHostName:nn.test"},
		{name: "saveNamespace", user: superuser, method: "saveNamespace", req: &hdfspb.SaveNamespaceRequestProto{}, resp: &hdfspb.SaveNamespaceResponseProto{}},
		{name: "safemode get", user: "alice", method: "setSafeMode", req: &hdfspb.SetSafeModeRequestProto{Action: hdfspb.SafeModeActionProto_SAFEMODE_GET.Enum()}, resp: &hdfspb.SetSafeModeResponseProto{}, check: boolResult(true)},
		{name: "safemode leave", user: superuser, method: "setSafeMode", req: &hdfspb.SetSafeModeRequestProto{Action: hdfspb.SafeModeActionProto_SAFEMODE_LEAVE.Enum()}, resp: &hdfspb.SetSafeModeResponseProto{}, check: boolResult(false)},
		{name: "rollEdits", user: superuser, method: "rollEdits", req: &hdfspb.RollEditsRequestProto{}, resp: &hdfspb.RollEditsResponseProto{}},
		{name: "rollEdits denied", user: "bob", method: "rollEdits", req: &hdfspb.RollEditsRequestProto{}, resp: &hdfspb.RollEditsResponseProto{}, class: ace, msg: "Access denied for user bob. Superuser privilege is required"},
		{name: "msync", user: "bob", method: "msync", req: &hdfspb.MsyncRequestProto{}, resp: &hdfspb.MsyncResponseProto{}},
	}
	for _, st := range steps {
		err := h.call(st.user, st.method, st.req, st.resp)
		if st.class == "" {
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if st.check != nil {
				st.check(t, st.resp)
			}
			continue
		}
		var re *rpc.RemoteError
		if !errors.As(err, &re) {
			t.Fatalf("%s: err = %v, want %s", st.name, err, st.class)
		}
		if re.Class != st.class {
			t.Errorf("%s: class = %s, want %s (%s)", st.name, re.Class, st.class, re.Message)
		}
		if p, ok := strings.CutSuffix(st.msg, "…"); ok {
			if !strings.HasPrefix(re.Message, p) {
				t.Errorf("%s: message = %q, want prefix %q", st.name, re.Message, p)
			}
		} else if re.Message != st.msg {
			t.Errorf("%s: message = %q, want %q", st.name, re.Message, st.msg)
		}
	}
}
