package namesystem

import (
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/namenode/blockmanagement"
	"github.com/hdfsha/hdfsha/namenode/namespace"
	"github.com/hdfsha/hdfsha/proto/editpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// newBlockManager builds the block manager and loads every block of the
// namespace into it. Called from New (no lock needed yet) and after
// ReloadNamespace (under the write lock).
func (s *Namesystem) newBlockManager(ns *namespace.Namespace) (*blockmanagement.Manager, error) {
	bm, err := blockmanagement.New(s.cfg.Blocks)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	err = ns.ForEachFileWithBlocks(func(st *namespace.FileStatus) error {
		putFileBlocks(bm, st, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return bm, nil
}

func toBlock(b *editpb.Block) blockmanagement.Block {
	return blockmanagement.Block{ID: b.BlockId, GenStamp: b.GenStamp, NumBytes: int64(b.NumBytes)}
}

// putFileBlocks tells bm about every block of a file: complete but for
// the last block of a file under construction.
func putFileBlocks(bm *blockmanagement.Manager, st *namespace.FileStatus, now time.Time) {
	for i, b := range st.Blocks {
		bm.PutBlock(blockmanagement.BlockSpec{
			Block:       toBlock(b),
			Inode:       st.ID,
			Replication: int(st.Replication),
			Complete:    !st.UnderConstruction() || i < len(st.Blocks)-1,
		}, now)
	}
}

// feedBlocksLocked tells the block manager what an applied op changed:
// removed blocks leave the map, and the blocks of the file the op touched
// are put again. Every apply path (live, replay, tail) calls it.
func (s *Namesystem) feedBlocksLocked(op *editpb.Op, applied namespace.Applied) {
	now := s.cfg.Now()
	for _, b := range applied.RemovedBlocks {
		s.bm.RemoveBlock(b.BlockId, now)
	}
	var path string
	switch body := op.GetBody().(type) {
	case *editpb.Op_Close:
		path = body.Close.Path
	case *editpb.Op_AddBlock:
		path = body.AddBlock.Path
	case *editpb.Op_UpdateBlocks:
		path = body.UpdateBlocks.Path
	case *editpb.Op_SetReplication:
		path = body.SetReplication.Path
	case *editpb.Op_Truncate:
		path = body.Truncate.Path
	case *editpb.Op_Append:
		path = body.Append.Path
	default:
		return
	}
	st, err := s.ns.ResolvePath(path)
	if err != nil || st == nil || st.Dir {
		s.log.Warn("block manager: cannot read the file an edit changed", zap.String("path", path), zap.Error(err))
		return
	}
	putFileBlocks(s.bm, st, now)
}

// startBlockManagementLocked enters the startup safe mode once the edits
// read at startup are applied (BlockManagerSafeMode.activate).
func (s *Namesystem) startBlockManagementLocked() {
	if s.bmStarted.Load() {
		return
	}
	s.bmStarted.Store(true)
	s.bm.StartSafeMode(s.cfg.Now())
	if s.bm.InSafeMode() {
		s.log.Info("STATE* Safe mode ON. " + s.bm.SafeModeTip(s.cfg.Now()))
	}
}

// blockMonitor is the heartbeat check, the redundancy monitor and the safe
// mode monitor in one goroutine, owned by the Namesystem (Close stops it).
func (s *Namesystem) blockMonitor() {
	defer s.wg.Done()
	tick := min(time.Second, s.cfg.RedundancyInterval)
	t := time.NewTicker(tick)
	defer t.Stop()
	var lastWork time.Time
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if s.Failed() != nil {
			continue
		}
		now := s.cfg.Now()
		s.mu.Lock()
		for _, u := range s.bm.CheckHeartbeats(now) {
			s.log.Warn("datanode is dead: no heartbeat within the expiry interval", zap.String("uuid", u), zap.Duration("interval", s.cfg.Blocks.DeadInterval()))
		}
		if now.Sub(lastWork) >= s.cfg.RedundancyInterval {
			lastWork = now
			if w := s.bm.ComputeWork(now); w.Scheduled > 0 || w.TimedOut > 0 {
				s.log.Info("redundancy monitor", zap.Int("scheduled", w.Scheduled), zap.Int("timedOut", w.TimedOut))
			}
		}
		if st, changed := s.bm.CheckSafeMode(now); changed {
			switch st {
			case blockmanagement.SafeModeExtension:
				s.log.Info("STATE* Safe mode extension entered. " + s.bm.SafeModeTip(now))
			case blockmanagement.SafeModeOff:
				s.log.Info("STATE* Safe mode is OFF")
			}
		}
		s.mu.Unlock()
	}
}

// BlockManager runs fn with the block manager under the write lock (fsck,
// tests).
func (s *Namesystem) BlockManager(fn func(bm *blockmanagement.Manager)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.bm)
}

// datanodeIDProto converts a DataNode id.
func datanodeIDProto(d blockmanagement.DatanodeID) *hdfspb.DatanodeIDProto {
	return &hdfspb.DatanodeIDProto{
		IpAddr: proto.String(d.IPAddr), HostName: proto.String(d.Hostname), DatanodeUuid: proto.String(d.UUID),
		XferPort: proto.Uint32(uint32(d.XferPort)), InfoPort: proto.Uint32(uint32(d.InfoPort)), IpcPort: proto.Uint32(uint32(d.IPCPort)),
		InfoSecurePort: proto.Uint32(uint32(d.InfoSecurePort)),
	}
}

func fromDatanodeIDProto(p *hdfspb.DatanodeIDProto) blockmanagement.DatanodeID {
	return blockmanagement.DatanodeID{
		IPAddr: p.GetIpAddr(), Hostname: p.GetHostName(), UUID: p.GetDatanodeUuid(),
		XferPort: int(p.GetXferPort()), InfoPort: int(p.GetInfoPort()), IPCPort: int(p.GetIpcPort()), InfoSecurePort: int(p.GetInfoSecurePort()),
	}
}

// datanodeInfoProto converts a DataNode snapshot.
func datanodeInfoProto(d blockmanagement.DatanodeInfo) *hdfspb.DatanodeInfoProto {
	return &hdfspb.DatanodeInfoProto{
		Id:            datanodeIDProto(d.DatanodeID),
		Capacity:      proto.Uint64(uint64(max(d.Capacity, 0))),
		DfsUsed:       proto.Uint64(uint64(max(d.DfsUsed, 0))),
		Remaining:     proto.Uint64(uint64(max(d.Remaining, 0))),
		BlockPoolUsed: proto.Uint64(uint64(max(d.BlockPoolUsed, 0))),
		NonDfsUsed:    proto.Uint64(uint64(max(d.NonDfsUsed, 0))),
		LastUpdate:    proto.Uint64(uint64(max(d.LastUpdate.UnixMilli(), 0))),
		XceiverCount:  proto.Uint32(uint32(d.XceiverCount)),
		Location:      proto.String(d.Location),
		AdminState:    hdfspb.DatanodeInfoProto_NORMAL.Enum(),
	}
}

// targetsProto fills a LocatedBlockProto's locations.
func setLocations(lb *hdfspb.LocatedBlockProto, ts []blockmanagement.Target) {
	for _, t := range ts {
		lb.Locs = append(lb.Locs, datanodeInfoProto(t.Node))
		lb.StorageIDs = append(lb.StorageIDs, t.StorageID)
		lb.StorageTypes = append(lb.StorageTypes, hdfspb.StorageTypeProto_DISK)
		lb.IsCached = append(lb.IsCached, false)
	}
}

// minimallyReplicatedLocked is checkFileProgress for complete: the last
// block (as the client ends it) and the one before must each have
// MinReplication finalized replicas.
func (s *Namesystem) minimallyReplicatedLocked(path string, last *editpb.Block) bool {
	st, err := s.ns.ResolvePath(path)
	if err != nil || st == nil {
		return true // PrepareComplete already answered
	}
	if last != nil && last.BlockId != 0 && !s.bm.HasMinReplicas(toBlock(last)) {
		return false
	}
	if k := len(st.Blocks); k >= 2 && !s.bm.HasMinReplicas(toBlock(st.Blocks[k-2])) {
		return false
	}
	return true
}

// prepareTruncateInBlockLocked is the truncate Hadoop does in place
// (prepareFileForTruncate without copy): it logs a new generation stamp
// (the recovery id) and returns OP_TRUNCATE keeping the blocks before the
// cut and the cut block with its new length, the file reopened by holder;
// recover, run after the op applied, sends the block to recovery with the
// new length. The file closes when the primary DataNode commits
// (commitBlockSynchronization); truncate answers false meanwhile. The
// caller already ran namespace.PrepareTruncate's checks.
func (s *Namesystem) prepareTruncateInBlockLocked(c namespace.Call, path string, newLength uint64, holder, machine string) (*editpb.Op, func(), error) {
	st, err := s.ns.ResolvePath(path)
	if err != nil {
		return nil, nil, err
	}
	if st == nil || st.Dir {
		return nil, nil, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", path)
	}
	var kept []*editpb.Block
	var cut *editpb.Block
	var sum uint64
	for _, b := range st.Blocks {
		if sum+b.NumBytes > newLength {
			cut = &editpb.Block{BlockId: b.BlockId, GenStamp: b.GenStamp, NumBytes: newLength - sum}
			break
		}
		kept = append(kept, &editpb.Block{BlockId: b.BlockId, GenStamp: b.GenStamp, NumBytes: b.NumBytes})
		sum += b.NumBytes
	}
	if cut == nil {
		return nil, nil, rpc.Errorf(rpc.ErrIO, "Truncate of %s to %d: no block holds the cut", path, newLength)
	}
	gsOp, gs := s.ns.PrepareNextGenStamp(c)
	if _, err := s.logAndApplyLocked(gsOp); err != nil {
		return nil, nil, err
	}
	op := &editpb.Op{RpcClientId: c.ClientID, RpcCallId: c.CallID, Body: &editpb.Op_Truncate{Truncate: &editpb.Truncate{
		Path: path, NewLength: newLength, Timestamp: c.Now, Blocks: append(kept, cut),
		ClientName: holder, ClientMachine: machine, UnderConstruction: true,
	}}}
	recover := func() {
		if _, err := s.bm.StartTruncateRecovery(cut.BlockId, gs, int64(cut.NumBytes), s.cfg.Now()); err != nil {
			s.log.Warn("truncate: block recovery not started; lease recovery will retry", zap.String("path", path), zap.Uint64("block", cut.BlockId), zap.Error(err))
		}
	}
	return op, recover, nil
}

// retriedAddBlockLocked is Hadoop's onRetryBlock (FSDirWriteFileOp
// analyzeFileState): an addBlock whose previous block is the file's
// penultimate one, while the last block is still empty, is a retry of the
// call that allocated that last block; it gets the same block and
// pipeline again instead of an error. nil when it is no retry.
func (s *Namesystem) retriedAddBlockLocked(path, holder string, prev *editpb.Block, writer string) *hdfspb.LocatedBlockProto {
	st, err := s.checkLeaseLocked(path, holder)
	if err != nil || st == nil || len(st.Blocks) == 0 {
		return nil
	}
	k := len(st.Blocks)
	last := st.Blocks[k-1]
	if last.NumBytes != 0 {
		return nil
	}
	switch {
	case k == 1 && (prev == nil || prev.BlockId == 0):
	case k >= 2 && prev != nil && prev.BlockId == st.Blocks[k-2].BlockId:
	default:
		return nil
	}
	if rs, ok := s.bm.Status(last.BlockId, s.cfg.Now()); ok && rs.Complete {
		return nil
	}
	var offset uint64
	for _, b := range st.Blocks[:k-1] {
		offset += b.NumBytes
	}
	return s.locatedBlockFor(last, int64(offset), writer)
}
