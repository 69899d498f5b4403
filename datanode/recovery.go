package datanode

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/datanode/storage"
	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// recoveryReplica is one replica's answer to initReplicaRecovery.
type recoveryReplica struct {
	State    hdfspb.ReplicaStateProto // the state before recovery
	NumBytes int64
	GenStamp uint64
}

// chooseRecovery is block recovery's decision (Hadoop's
// BlockRecoveryWorker.syncBlock), pure: the replicas in the best original
// state take part: FINALIZED (with the RBW replicas of the same length),
// else RBW, else RWR; the new length is the finalized length, or the
// minimum length of the participants. Finalized replicas of different
// lengths are an inconsistency and fail the recovery. It returns the new
// length and the indexes of the participants.
func chooseRecovery(reps []recoveryReplica) (int64, []int, error) {
	if len(reps) == 0 {
		return 0, nil, errors.New("no replicas to recover")
	}
	best := hdfspb.ReplicaStateProto_RWR
	finLen := int64(-1)
	for _, r := range reps {
		switch r.State {
		case hdfspb.ReplicaStateProto_FINALIZED:
			if finLen >= 0 && r.NumBytes != finLen {
				return 0, nil, fmt.Errorf("Inconsistent size of finalized replicas. Replica lengths %d and %d", finLen, r.NumBytes)
			}
			finLen = r.NumBytes
			best = hdfspb.ReplicaStateProto_FINALIZED
		case hdfspb.ReplicaStateProto_RBW:
			if best != hdfspb.ReplicaStateProto_FINALIZED {
				best = hdfspb.ReplicaStateProto_RBW
			}
		}
	}
	var parts []int
	if best == hdfspb.ReplicaStateProto_FINALIZED {
		for i, r := range reps {
			if r.State == hdfspb.ReplicaStateProto_FINALIZED ||
				r.State == hdfspb.ReplicaStateProto_RBW && r.NumBytes == finLen {
				parts = append(parts, i)
			}
		}
		return finLen, parts, nil
	}
	length := int64(-1)
	for i, r := range reps {
		if r.State != best {
			continue
		}
		parts = append(parts, i)
		if length < 0 || r.NumBytes < length {
			length = r.NumBytes
		}
	}
	return length, parts, nil
}

// recoverBlocks carries out a BlockRecoveryCommand: this DataNode is the
// primary of each block; each recovery runs in a goroutine of its own.
func (dn *DataNode) recoverBlocks(ctx context.Context, a *actor, blocks []*hdfspb.RecoveringBlockProto) {
	for _, rb := range blocks {
		dn.wg.Add(1)
		go func() {
			defer dn.wg.Done()
			b := rb.GetBlock().GetB()
			dn.log.Info("starting block recovery", zap.String("block", blockOf(b)), zap.Uint64("recoveryId", rb.GetNewGenStamp()),
				zap.String("from", a.nn.Addr))
			if err := dn.recoverBlock(ctx, rb); err != nil {
				dn.log.Warn("block recovery failed", zap.String("block", blockOf(b)), zap.Error(err))
			}
		}()
	}
}

// recoverBlock is Hadoop's BlockRecoveryWorker.RecoveryTaskContiguous:
// initReplicaRecovery at every replica holder, the choice, then
// updateReplicaUnderRecovery at each participant and
// commitBlockSynchronization to the active NameNode.
func (dn *DataNode) recoverBlock(ctx context.Context, rb *hdfspb.RecoveringBlockProto) error {
	b := rb.GetBlock().GetB()
	recoveryID := rb.GetNewGenStamp()
	type holder struct {
		loc *hdfspb.DatanodeInfoProto
		rep recoveryReplica
	}
	var holders []holder
	failed := 0
	for _, loc := range rb.GetBlock().GetLocs() {
		resp, err := dn.callInitReplicaRecovery(ctx, loc, rb)
		if err != nil {
			failed++
			dn.log.Warn("initReplicaRecovery failed", zap.String("block", blockOf(b)), zap.String("datanode", dn.ipcAddr(loc)), zap.Error(err))
			continue
		}
		if !resp.GetReplicaFound() {
			continue
		}
		rep := recoveryReplica{State: resp.GetState(), NumBytes: int64(resp.GetBlock().GetNumBytes()), GenStamp: resp.GetBlock().GetGenStamp()}
		// Hadoop skips stale and empty replicas.
		if rep.GenStamp >= b.GetGenerationStamp() && rep.NumBytes > 0 {
			holders = append(holders, holder{loc, rep})
		}
	}
	if failed == len(rb.GetBlock().GetLocs()) && failed > 0 {
		return fmt.Errorf("All datanodes failed: block=%s, datanodeids=%d", blockOf(b), failed)
	}
	req := &hdfspb.CommitBlockSynchronizationRequestProto{
		Block:       b,
		NewGenStamp: proto.Uint64(recoveryID),
		CloseFile:   proto.Bool(true),
		DeleteBlock: proto.Bool(false),
	}
	if len(holders) == 0 {
		// Nothing to keep: the NameNode removes the block.
		req.NewLength = proto.Uint64(0)
		req.DeleteBlock = proto.Bool(true)
		return dn.commitBlockSynchronization(ctx, req)
	}
	reps := make([]recoveryReplica, len(holders))
	for i, h := range holders {
		reps[i] = h.rep
	}
	newLength, parts, err := chooseRecovery(reps)
	if err != nil {
		return err
	}
	newBlockID := uint64(0)
	if tb := rb.GetTruncateBlock(); tb != nil {
		newLength = int64(tb.GetNumBytes())
		if tb.GetBlockId() != b.GetBlockId() {
			newBlockID = tb.GetBlockId()
		}
	}
	for _, i := range parts {
		h := holders[i]
		ub := &hdfspb.ExtendedBlockProto{PoolId: proto.String(b.GetPoolId()), BlockId: proto.Uint64(b.GetBlockId()),
			GenerationStamp: proto.Uint64(h.rep.GenStamp), NumBytes: proto.Uint64(uint64(h.rep.NumBytes))}
		ureq := &hdfspb.UpdateReplicaUnderRecoveryRequestProto{Block: ub, RecoveryId: proto.Uint64(recoveryID),
			NewLength: proto.Uint64(uint64(newLength)), NewBlockId: proto.Uint64(newBlockID)}
		resp, err := dn.callUpdateReplicaUnderRecovery(ctx, h.loc, ureq)
		if err != nil {
			dn.log.Warn("updateReplicaUnderRecovery failed", zap.String("block", blockOf(b)), zap.String("datanode", dn.ipcAddr(h.loc)), zap.Error(err))
			continue
		}
		req.NewTaragets = append(req.NewTaragets, h.loc.GetId())
		req.NewTargetStorages = append(req.NewTargetStorages, resp.GetStorageUuid())
	}
	if len(req.NewTaragets) == 0 {
		return fmt.Errorf("Cannot recover %s, the following datanodes failed: every participant", blockOf(b))
	}
	req.NewLength = proto.Uint64(uint64(newLength))
	if newBlockID != 0 {
		req.Block = &hdfspb.ExtendedBlockProto{PoolId: b.PoolId, BlockId: b.BlockId, GenerationStamp: b.GenerationStamp, NumBytes: b.NumBytes}
	}
	if err := dn.commitBlockSynchronization(ctx, req); err != nil {
		return err
	}
	dn.metrics.blocksRecovered.Add(1)
	dn.log.Info("block recovered", zap.String("block", blockOf(b)), zap.Uint64("newGenStamp", recoveryID), zap.Int64("newLength", newLength),
		zap.Int("replicas", len(req.NewTaragets)))
	return nil
}

func (dn *DataNode) isSelf(loc *hdfspb.DatanodeInfoProto) bool {
	return loc.GetId().GetDatanodeUuid() == dn.store.DatanodeUUID()
}

func (dn *DataNode) ipcCall(ctx context.Context, loc *hdfspb.DatanodeInfoProto, method string, req, resp proto.Message) error {
	ctx, cancel := context.WithTimeout(ctx, dn.cfg.SocketTimeout)
	defer cancel()
	return dn.client.Call(ctx, dn.ipcAddr(loc), InterDatanodeProtocol, method, req, resp)
}

func (dn *DataNode) callInitReplicaRecovery(ctx context.Context, loc *hdfspb.DatanodeInfoProto, rb *hdfspb.RecoveringBlockProto) (*hdfspb.InitReplicaRecoveryResponseProto, error) {
	if dn.isSelf(loc) {
		return dn.initReplicaRecovery(rb)
	}
	var resp hdfspb.InitReplicaRecoveryResponseProto
	if err := dn.ipcCall(ctx, loc, "initReplicaRecovery", &hdfspb.InitReplicaRecoveryRequestProto{Block: rb}, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

func (dn *DataNode) callUpdateReplicaUnderRecovery(ctx context.Context, loc *hdfspb.DatanodeInfoProto, req *hdfspb.UpdateReplicaUnderRecoveryRequestProto) (*hdfspb.UpdateReplicaUnderRecoveryResponseProto, error) {
	if dn.isSelf(loc) {
		return dn.updateReplicaUnderRecovery(req)
	}
	var resp hdfspb.UpdateReplicaUnderRecoveryResponseProto
	if err := dn.ipcCall(ctx, loc, "updateReplicaUnderRecovery", req, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// activeActor is the actor of the NameNode the fence obeys, or nil.
func (dn *DataNode) activeActor() *actor {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	if dn.mu.fence.active < 0 {
		return nil
	}
	return dn.actors[dn.mu.fence.active]
}

// commitBlockSynchronization sends a recovery's result to the active
// NameNode.
func (dn *DataNode) commitBlockSynchronization(ctx context.Context, req *hdfspb.CommitBlockSynchronizationRequestProto) error {
	a := dn.activeActor()
	if a == nil {
		return errors.New("no active NameNode to commit the block recovery to")
	}
	if err := a.call(ctx, "commitBlockSynchronization", req, &hdfspb.CommitBlockSynchronizationResponseProto{}); err != nil {
		return fmt.Errorf("commitBlockSynchronization to %s: %w", a.nn.Addr, err)
	}
	return nil
}

// reportBadReplica tells every NameNode that this node's replica is
// corrupt (DatanodeProtocol.reportBadBlocks, which takes
// ClientNamenodeProtocol's message), in the background: the NameNode marks
// it corrupt and re-replicates from a good copy.
func (dn *DataNode) reportBadReplica(bpid string, r storage.Replica) {
	dn.metrics.badBlk.Add(1)
	dn.log.Warn("reporting bad replica to the NameNodes", zap.String("bpid", bpid), zap.String("block", r.Name()), zap.String("file", r.BlockFile))
	self := dn.selfInfo()
	req := &hdfspb.ReportBadBlocksRequestProto{Blocks: []*hdfspb.LocatedBlockProto{{
		B:            &hdfspb.ExtendedBlockProto{PoolId: proto.String(bpid), BlockId: proto.Uint64(r.BlockID), GenerationStamp: proto.Uint64(r.GenStamp), NumBytes: proto.Uint64(uint64(r.NumBytes))},
		Offset:       proto.Uint64(0),
		Locs:         []*hdfspb.DatanodeInfoProto{self},
		Corrupt:      proto.Bool(false),
		BlockToken:   emptyToken(),
		StorageIDs:   []string{r.StorageID},
		StorageTypes: []hdfspb.StorageTypeProto{hdfspb.StorageTypeProto_DISK},
	}}}
	for _, a := range dn.actors {
		dn.wg.Add(1)
		go func() {
			defer dn.wg.Done()
			if err := a.call(dn.runCtx, "reportBadBlocks", req, &hdfspb.ReportBadBlocksResponseProto{}); err != nil {
				a.log.Warn("reportBadBlocks failed", zap.String("block", r.Name()), zap.Error(err))
			}
		}()
	}
}

func emptyToken() *commonpb.TokenProto {
	return &commonpb.TokenProto{Identifier: []byte{}, Password: []byte{}, Kind: proto.String(""), Service: proto.String("")}
}
