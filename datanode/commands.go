package datanode

import (
	"context"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/datanode/storage"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// processCommand carries out one command a NameNode sent (Hadoop's
// BPOfferService.processCommandFromActor): from the NameNode the fence
// obeys, every command; from any other, only RegisterCommand (a standby may
// ask for a registration too), the rest is logged and ignored.
func (dn *DataNode) processCommand(ctx context.Context, a *actor, cmd *hdfspb.DatanodeCommandProto) {
	typ := cmd.GetCmdType()
	if typ == hdfspb.DatanodeCommandProto_RegisterCommand {
		a.log.Info("NameNode asks to register again")
		a.reregister()
		return
	}
	if typ == hdfspb.DatanodeCommandProto_NullDatanodeCommand {
		return
	}
	if !dn.obeys(a) {
		a.log.Warn("ignoring command from a NameNode that is not the active one", zap.Stringer("cmd", typ), zap.String("detail", commandDetail(cmd)))
		return
	}
	switch typ {
	case hdfspb.DatanodeCommandProto_BlockCommand:
		bc := cmd.GetBlkCmd()
		switch bc.GetAction() {
		case hdfspb.BlockCommandProto_TRANSFER:
			dn.transferBlocks(ctx, bc)
		case hdfspb.BlockCommandProto_INVALIDATE:
			// Off the actor's goroutine (Hadoop's asynchronous disk
			// service): deleting many replicas must not delay heartbeats.
			dn.wg.Add(1)
			go func() {
				defer dn.wg.Done()
				dn.invalidate(a, bc)
			}()
		default:
			a.log.Warn("ignoring unsupported block command", zap.Stringer("action", bc.GetAction()))
		}
	case hdfspb.DatanodeCommandProto_BlockRecoveryCommand:
		dn.recoverBlocks(ctx, a, cmd.GetRecoveryCmd().GetBlocks())
	case hdfspb.DatanodeCommandProto_FinalizeCommand:
		// No upgrades exist yet: every block pool is final.
		a.log.Info("FinalizeCommand received; nothing to finalize", zap.String("bpid", cmd.GetFinalizeCmd().GetBlockPoolId()))
	default:
		a.log.Warn("ignoring unsupported command", zap.Stringer("cmd", typ))
	}
}

func commandDetail(cmd *hdfspb.DatanodeCommandProto) string {
	if bc := cmd.GetBlkCmd(); bc != nil {
		return bc.GetAction().String()
	}
	return ""
}

// invalidate deletes replicas the NameNode says are obsolete and reports
// each deletion (DELETED) to every NameNode.
func (dn *DataNode) invalidate(a *actor, bc *hdfspb.BlockCommandProto) {
	bpid := bc.GetBlockPoolId()
	for _, b := range bc.GetBlocks() {
		r, err := dn.store.Invalidate(bpid, b.GetBlockId(), b.GetGenStamp())
		if err != nil {
			a.log.Warn("could not delete replica", zap.String("block", storage.BlockName(b.GetBlockId(), b.GetGenStamp())), zap.Error(err))
			continue
		}
		dn.metrics.blocksRemoved.Add(1)
		a.log.Info("deleted replica", zap.String("bpid", bpid), zap.String("block", r.Name()), zap.String("file", r.BlockFile))
		dn.notifyNameNodes(r, ibrDeleted)
	}
}
