package namesystem

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/namenode/blockmanagement"
	"github.com/hdfsha/hdfsha/namenode/namespace"
	"github.com/hdfsha/hdfsha/proto/editpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// DatanodeProtocol is the protocol name DatanodeProtocol is served under
// (Hadoop's DatanodeProtocolPB).
const DatanodeProtocol = "org.apache.hadoop.hdfs.server.protocol.DatanodeProtocol"

// RegisterDatanodeProtocol serves DatanodeProtocol on srv. Every call is
// answered in any HA state: DataNodes report to every NameNode, and the
// heartbeat answer says whether this one is active (the DataNode fence).
func (s *Namesystem) RegisterDatanodeProtocol(srv *rpc.Server) {
	srv.Register(DatanodeProtocol,
		rpc.Unary("versionRequest", s.dnVersionRequest),
		rpc.Unary("registerDatanode", s.registerDatanode),
		rpc.Unary("sendHeartbeat", s.sendHeartbeat),
		rpc.Unary("blockReport", s.blockReport),
		rpc.Unary("blockReceivedAndDeleted", s.blockReceivedAndDeleted),
		rpc.Unary("reportBadBlocks", s.reportBadBlocks),
		rpc.Unary("commitBlockSynchronization", s.commitBlockSynchronization),
		rpc.Unary("errorReport", s.errorReport),
	)
}

func (s *Namesystem) dnVersionRequest(ctx context.Context, _ *hdfspb.VersionRequestProto) (*hdfspb.VersionResponseProto, error) {
	if err := s.checkFailed(); err != nil {
		return nil, err
	}
	if s.cfg.VersionInfo == nil {
		return nil, rpc.Errorf(rpc.ErrIO, "versionRequest is not served by this NameNode")
	}
	return &hdfspb.VersionResponseProto{Info: s.cfg.VersionInfo()}, nil
}

// Hadoop's BlockManager texts for reports from a node it does not know
// (never registered, or declared dead): the DataNode's next heartbeat gets
// a register command.
func unregisteredReport(id *hdfspb.DatanodeIDProto) error {
	return rpc.Errorf(rpc.ErrIO, "ProcessReport from dead or unregistered node: %s:%d", id.GetIpAddr(), id.GetXferPort())
}

func unregisteredIBR() error {
	return rpc.Errorf(rpc.ErrIO, "Got incremental block report from unregistered or dead node")
}

func (s *Namesystem) registerDatanode(ctx context.Context, req *hdfspb.RegisterDatanodeRequestProto) (*hdfspb.RegisterDatanodeResponseProto, error) {
	if err := s.checkFailed(); err != nil {
		return nil, err
	}
	reg := req.GetRegistration()
	id := fromDatanodeIDProto(reg.GetDatanodeID())
	if ip := net.ParseIP(id.IPAddr); id.IPAddr == "" || (ip != nil && ip.IsUnspecified()) {
		// Hadoop takes the address the registration came from; a DataNode
		// that names its own (127.0.0.2 in tests) keeps it.
		if h := clientMachine(ctx); h != "" {
			id.IPAddr = h
			reg = proto.Clone(reg).(*hdfspb.DatanodeRegistrationProto)
			reg.DatanodeID.IpAddr = proto.String(h)
		}
	}
	info := s.ns.Info()
	if c := reg.GetStorageInfo().GetClusterID(); c != "" && c != info.ClusterID {
		return nil, rpc.Errorf(rpc.ErrIO, "Inconsistent cluster id: the datanode %s has cluster id %s, the namenode %s", id.XferAddr(), c, info.ClusterID)
	}
	s.mu.Lock()
	_, err := s.bm.Register(id, s.cfg.Now())
	s.mu.Unlock()
	if err != nil {
		return nil, rpc.Errorf(rpc.ErrIO, "%v", err)
	}
	s.log.Info("registered datanode", zap.String("addr", id.XferAddr()), zap.String("uuid", id.UUID))
	return &hdfspb.RegisterDatanodeResponseProto{Registration: reg}, nil
}

// haStatus is the heartbeat's NNHAStatusHeartbeatProto, the DataNode
// fence: the state and a txid. A standby reports its last applied txid.
// The active reports at least the first txid of its open segment: in
// Hadoop that segment's OP_START_LOG_SEGMENT takes a txid, so a new
// active claims more than anything its predecessor made durable even
// before its first write; here a segment start takes no txid, and the
// segment's first txid stands in for it. The caller holds the lock.
func (s *Namesystem) haStatus() *hdfspb.NNHAStatusHeartbeatProto {
	st := hdfspb.NNHAStatusHeartbeatProto_STANDBY
	txid := s.ns.LastAppliedTxID()
	if s.active.Load() {
		st = hdfspb.NNHAStatusHeartbeatProto_ACTIVE
		if s.el != nil {
			txid = max(txid, s.el.SegmentTxID())
		}
	}
	return &hdfspb.NNHAStatusHeartbeatProto{State: st.Enum(), Txid: proto.Uint64(uint64(max(txid, 0)))}
}

func (s *Namesystem) sendHeartbeat(ctx context.Context, req *hdfspb.HeartbeatRequestProto) (*hdfspb.HeartbeatResponseProto, error) {
	if err := s.checkFailed(); err != nil {
		return nil, err
	}
	st := blockmanagement.Stats{
		XceiverCount:    int(req.GetXceiverCount()),
		XmitsInProgress: int(req.GetXmitsInProgress()),
		FailedVolumes:   int(req.GetFailedVolumes()),
	}
	var storages []string
	for _, r := range req.GetReports() {
		if r.GetFailed() {
			continue
		}
		st.Capacity += int64(r.GetCapacity())
		st.DfsUsed += int64(r.GetDfsUsed())
		st.Remaining += int64(r.GetRemaining())
		st.BlockPoolUsed += int64(r.GetBlockPoolUsed())
		st.NonDfsUsed += int64(r.GetNonDfsUsed())
		sid := r.GetStorage().GetStorageUuid()
		if sid == "" {
			sid = r.GetStorageUuid()
		}
		storages = append(storages, sid)
	}
	id := req.GetRegistration().GetDatanodeID()
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &hdfspb.HeartbeatResponseProto{HaStatus: s.haStatus()}
	cmds, err := s.bm.Heartbeat(id.GetDatanodeUuid(), st, storages, s.cfg.Now())
	if errors.Is(err, blockmanagement.ErrUnregistered) {
		resp.Cmds = append(resp.Cmds, &hdfspb.DatanodeCommandProto{CmdType: hdfspb.DatanodeCommandProto_RegisterCommand.Enum(), RegisterCmd: &hdfspb.RegisterCommandProto{}})
		return resp, nil
	}
	if err != nil {
		return nil, rpc.Errorf(rpc.ErrIO, "%v", err)
	}
	if s.cfg.ReadOnly {
		cmds = s.holdBackLocked(id.GetDatanodeUuid(), cmds)
	}
	resp.Cmds = s.commandProtos(cmds)
	return resp, nil
}

// commandProtos turns block manager commands into DatanodeCommandProtos:
// all transfers in one BlockCommand, deletions in another, recoveries in
// one BlockRecoveryCommand.
func (s *Namesystem) commandProtos(cmds []blockmanagement.Command) []*hdfspb.DatanodeCommandProto {
	pool := proto.String(s.blockPoolID())
	var out []*hdfspb.DatanodeCommandProto
	var transfer, inval *hdfspb.BlockCommandProto
	var recov *hdfspb.BlockRecoveryCommandProto
	for _, c := range cmds {
		switch c := c.(type) {
		case blockmanagement.TransferCommand:
			if transfer == nil {
				transfer = &hdfspb.BlockCommandProto{Action: hdfspb.BlockCommandProto_TRANSFER.Enum(), BlockPoolId: pool}
			}
			transfer.Blocks = append(transfer.Blocks, blockProto(c.Block))
			infos := &hdfspb.DatanodeInfosProto{}
			uuids := &hdfspb.StorageUuidsProto{}
			types := &hdfspb.StorageTypesProto{}
			for _, t := range c.Targets {
				infos.Datanodes = append(infos.Datanodes, datanodeInfoProto(t.Node))
				uuids.StorageUuids = append(uuids.StorageUuids, t.StorageID)
				types.StorageTypes = append(types.StorageTypes, hdfspb.StorageTypeProto_DISK)
			}
			transfer.Targets = append(transfer.Targets, infos)
			transfer.TargetStorageUuids = append(transfer.TargetStorageUuids, uuids)
			transfer.TargetStorageTypes = append(transfer.TargetStorageTypes, types)
		case blockmanagement.InvalidateCommand:
			if inval == nil {
				inval = &hdfspb.BlockCommandProto{Action: hdfspb.BlockCommandProto_INVALIDATE.Enum(), BlockPoolId: pool}
			}
			for _, b := range c.Blocks {
				inval.Blocks = append(inval.Blocks, blockProto(b))
			}
		case blockmanagement.RecoverCommand:
			if recov == nil {
				recov = &hdfspb.BlockRecoveryCommandProto{}
			}
			lb := s.locatedBlock(&editpb.Block{BlockId: c.Block.ID, GenStamp: c.Block.GenStamp, NumBytes: uint64(max(c.Block.NumBytes, 0))}, 0)
			setLocations(lb, c.Locations)
			rb := &hdfspb.RecoveringBlockProto{NewGenStamp: proto.Uint64(c.RecoveryID), Block: lb}
			if c.Truncate {
				rb.TruncateBlock = &hdfspb.BlockProto{BlockId: proto.Uint64(c.Block.ID), GenStamp: proto.Uint64(c.RecoveryID), NumBytes: proto.Uint64(uint64(c.TruncateLength))}
			}
			recov.Blocks = append(recov.Blocks, rb)
		case blockmanagement.ReRegisterCommand:
			out = append(out, &hdfspb.DatanodeCommandProto{CmdType: hdfspb.DatanodeCommandProto_RegisterCommand.Enum(), RegisterCmd: &hdfspb.RegisterCommandProto{}})
		}
	}
	if transfer != nil {
		out = append(out, &hdfspb.DatanodeCommandProto{CmdType: hdfspb.DatanodeCommandProto_BlockCommand.Enum(), BlkCmd: transfer})
	}
	if inval != nil {
		out = append(out, &hdfspb.DatanodeCommandProto{CmdType: hdfspb.DatanodeCommandProto_BlockCommand.Enum(), BlkCmd: inval})
	}
	if recov != nil {
		out = append(out, &hdfspb.DatanodeCommandProto{CmdType: hdfspb.DatanodeCommandProto_BlockRecoveryCommand.Enum(), RecoveryCmd: recov})
	}
	return out
}

func blockProto(b blockmanagement.Block) *hdfspb.BlockProto {
	return &hdfspb.BlockProto{BlockId: proto.Uint64(b.ID), GenStamp: proto.Uint64(b.GenStamp), NumBytes: proto.Uint64(uint64(max(b.NumBytes, 0)))}
}

// decodeLongs reads Hadoop's BlockListAsLongs long-array encoding.
func decodeLongs(v []uint64) ([]blockmanagement.Replica, error) {
	if len(v) == 0 {
		return nil, nil
	}
	if len(v) < 2 {
		return nil, fmt.Errorf("block report of %d longs has no header", len(v))
	}
	nf, nu := v[0], v[1]
	need := 2 + 3*nf + 3 + 4*nu
	if nu == 0 && uint64(len(v)) == 2+3*nf {
		need = 2 + 3*nf // no delimiter when nothing is under construction
	}
	if nf > uint64(len(v)) || nu > uint64(len(v)) || uint64(len(v)) < need {
		return nil, fmt.Errorf("block report says %d finalized and %d under construction replicas in %d longs", nf, nu, len(v))
	}
	out := make([]blockmanagement.Replica, 0, nf+nu)
	p := v[2:]
	for i := uint64(0); i < nf; i++ {
		out = append(out, blockmanagement.Replica{Block: blockmanagement.Block{ID: p[0], NumBytes: int64(p[1]), GenStamp: p[2]}, State: blockmanagement.Finalized})
		p = p[3:]
	}
	if len(p) >= 3 {
		p = p[3:]
	}
	for i := uint64(0); i < nu; i++ {
		out = append(out, blockmanagement.Replica{Block: blockmanagement.Block{ID: p[0], NumBytes: int64(p[1]), GenStamp: p[2]}, State: blockmanagement.ReplicaState(p[3])})
		p = p[4:]
	}
	return out, nil
}

func (s *Namesystem) blockReport(ctx context.Context, req *hdfspb.BlockReportRequestProto) (*hdfspb.BlockReportResponseProto, error) {
	if err := s.checkFailed(); err != nil {
		return nil, err
	}
	id := req.GetRegistration().GetDatanodeID()
	type storageReport struct {
		id       string
		replicas []blockmanagement.Replica
	}
	var reports []storageReport
	for _, r := range req.GetReports() {
		reps, err := decodeLongs(r.GetBlocks())
		if err != nil {
			return nil, rpc.Errorf(rpc.ErrIO, "Invalid block report from %s:%d: %v", id.GetIpAddr(), id.GetXferPort(), err)
		}
		reports = append(reports, storageReport{id: r.GetStorage().GetStorageUuid(), replicas: reps})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	for _, r := range reports {
		if err := s.bm.BlockReport(id.GetDatanodeUuid(), r.id, r.replicas, now); err != nil {
			return nil, unregisteredReport(id)
		}
	}
	return &hdfspb.BlockReportResponseProto{}, nil
}

func (s *Namesystem) blockReceivedAndDeleted(ctx context.Context, req *hdfspb.BlockReceivedAndDeletedRequestProto) (*hdfspb.BlockReceivedAndDeletedResponseProto, error) {
	if err := s.checkFailed(); err != nil {
		return nil, err
	}
	id := req.GetRegistration().GetDatanodeID()
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.replicasChangedLocked()
	now := s.cfg.Now()
	for _, sb := range req.GetBlocks() {
		sid := sb.GetStorage().GetStorageUuid()
		if sid == "" {
			sid = sb.GetStorageUuid()
		}
		entries := make([]blockmanagement.ReceivedDeleted, 0, len(sb.GetBlocks()))
		for _, e := range sb.GetBlocks() {
			b := e.GetBlock()
			entries = append(entries, blockmanagement.ReceivedDeleted{
				Block:  blockmanagement.Block{ID: b.GetBlockId(), GenStamp: b.GetGenStamp(), NumBytes: int64(b.GetNumBytes())},
				Status: blockmanagement.ReceivedStatus(e.GetStatus()),
			})
		}
		if err := s.bm.IncrementalReport(id.GetDatanodeUuid(), sid, entries, now); err != nil {
			if errors.Is(err, blockmanagement.ErrUnregistered) {
				return nil, unregisteredIBR()
			}
			return nil, rpc.Errorf(rpc.ErrIO, "%v", err)
		}
	}
	return &hdfspb.BlockReceivedAndDeletedResponseProto{}, nil
}

// reportBadBlocks serves DataNodes and clients alike: each located
// block's locations hold a bad copy.
func (s *Namesystem) reportBadBlocks(ctx context.Context, req *hdfspb.ReportBadBlocksRequestProto) (*hdfspb.ReportBadBlocksResponseProto, error) {
	if err := s.checkFailed(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	for _, lb := range req.GetBlocks() {
		b := lb.GetB()
		blk := blockmanagement.Block{ID: b.GetBlockId(), GenStamp: b.GetGenerationStamp(), NumBytes: int64(b.GetNumBytes())}
		for i, loc := range lb.GetLocs() {
			sid := ""
			if i < len(lb.GetStorageIDs()) {
				sid = lb.GetStorageIDs()[i]
			}
			uuid := s.datanodeUUIDLocked(loc.GetId(), now)
			s.log.Info("reportBadBlocks", zap.Stringer("block", blk), zap.String("datanode", uuid))
			s.bm.ReportBadBlock(uuid, sid, blk, now)
		}
	}
	return &hdfspb.ReportBadBlocksResponseProto{}, nil
}

// datanodeUUIDLocked is the uuid of the DataNode id names: its own, else
// the one registered at its transfer address, else "". The caller holds
// the lock.
func (s *Namesystem) datanodeUUIDLocked(id *hdfspb.DatanodeIDProto, now time.Time) string {
	if u := id.GetDatanodeUuid(); u != "" {
		return u
	}
	if d, ok := s.bm.DatanodeByAddr(fromDatanodeIDProto(id).XferAddr(), now); ok {
		return d.UUID
	}
	return ""
}

// datanodeUUIDsLocked is datanodeUUIDLocked of every node listed, leaving
// out those it cannot name (a client's excluded or existing nodes).
func (s *Namesystem) datanodeUUIDsLocked(now time.Time, lists ...[]*hdfspb.DatanodeInfoProto) []string {
	var out []string
	for _, l := range lists {
		for _, d := range l {
			if u := s.datanodeUUIDLocked(d.GetId(), now); u != "" {
				out = append(out, u)
			}
		}
	}
	return out
}

func (s *Namesystem) errorReport(ctx context.Context, req *hdfspb.ErrorReportRequestProto) (*hdfspb.ErrorReportResponseProto, error) {
	id := req.GetRegistartion().GetDatanodeID()
	s.log.Warn("datanode error report", zap.String("datanode", fmt.Sprintf("%s:%d", id.GetIpAddr(), id.GetXferPort())), zap.Uint32("code", req.GetErrorCode()), zap.String("msg", req.GetMsg()))
	return &hdfspb.ErrorReportResponseProto{}, nil
}

// commitBlockSynchronization ends a block recovery: the block manager
// checks the recovery id and takes the new stamp, length and replicas;
// the file gets OP_CLOSE (closeFile) or OP_UPDATE_BLOCKS, logged here.
func (s *Namesystem) commitBlockSynchronization(ctx context.Context, req *hdfspb.CommitBlockSynchronizationRequestProto) (*hdfspb.CommitBlockSynchronizationResponseProto, error) {
	old := fromExtBlock(req.GetBlock())
	var targets []blockmanagement.SyncTarget
	for i, t := range req.GetNewTaragets() {
		st := blockmanagement.SyncTarget{UUID: t.GetDatanodeUuid()}
		if i < len(req.GetNewTargetStorages()) {
			st.StorageID = req.GetNewTargetStorages()[i]
		}
		targets = append(targets, st)
	}
	_, err := s.mutate(ctx, "Cannot commitBlockSynchronization while in safe mode", func() (*editpb.Op, error) {
		path, err := s.blockFileLocked(old)
		if err != nil {
			return nil, err
		}
		st, err := s.ns.ResolvePath(path)
		if err != nil || st == nil {
			return nil, rpc.Errorf(rpc.ErrIO, "Block (=%s) not found", toBlock(old))
		}
		if !st.UnderConstruction() {
			// Hadoop: the file was closed meanwhile; nothing to do.
			return nil, nil
		}
		now := s.cfg.Now()
		if err := s.bm.CommitBlockSynchronization(toBlock(old), req.GetNewGenStamp(), int64(req.GetNewLength()), targets, req.GetCloseFile(), req.GetDeleteBlock(), now); err != nil {
			return nil, err
		}
		c := namespace.Call{User: s.cfg.Superuser, Now: s.nowMillis()}
		if req.GetDeleteBlock() {
			op, err := s.ns.PrepareAbandonBlock(c, path, st.ClientName, old)
			if err != nil || !req.GetCloseFile() {
				return op, err
			}
			// Abandon, then close: two ops; log the abandon here and the
			// close after it.
			if _, err := s.logAndApplyLocked(op); err != nil {
				return nil, err
			}
			st, _ = s.ns.ResolvePath(path)
			var last *editpb.Block
			if n := len(st.Blocks); n > 0 {
				last = st.Blocks[n-1]
			}
			return s.ns.PrepareComplete(c, path, st.ClientName, last)
		}
		nb := &editpb.Block{BlockId: old.BlockId, GenStamp: req.GetNewGenStamp(), NumBytes: req.GetNewLength()}
		if req.GetCloseFile() {
			return s.ns.PrepareComplete(c, path, st.ClientName, nb)
		}
		return s.ns.PrepareUpdatePipeline(c, path, st.ClientName, old, nb)
	}, func(op *editpb.Op, r mutateResult) {
		s.log.Info("commitBlockSynchronization", zap.Stringer("block", toBlock(old)), zap.Uint64("newGenStamp", req.GetNewGenStamp()),
			zap.Uint64("newLength", req.GetNewLength()), zap.Bool("closeFile", req.GetCloseFile()), zap.Int64("txid", r.txid))
	})
	if err != nil {
		return nil, err
	}
	return &hdfspb.CommitBlockSynchronizationResponseProto{}, nil
}
