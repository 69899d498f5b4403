package datanode

import (
	"context"
	"errors"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/datanode/storage"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// Protocols served at dfs.datanode.ipc.address.
const (
	InterDatanodeProtocol  = "org.apache.hadoop.hdfs.server.protocol.InterDatanodeProtocol"
	ClientDatanodeProtocol = "org.apache.hadoop.hdfs.protocol.ClientDatanodeProtocol"
)

// registerIPC serves InterDatanodeProtocol (block recovery's
// initReplicaRecovery and updateReplicaUnderRecovery) and
// ClientDatanodeProtocol.getReplicaVisibleLength.
func (dn *DataNode) registerIPC(srv *rpc.Server) {
	srv.Register(InterDatanodeProtocol,
		rpc.Unary("initReplicaRecovery", func(ctx context.Context, req *hdfspb.InitReplicaRecoveryRequestProto) (*hdfspb.InitReplicaRecoveryResponseProto, error) {
			return dn.initReplicaRecovery(req.GetBlock())
		}),
		rpc.Unary("updateReplicaUnderRecovery", func(ctx context.Context, req *hdfspb.UpdateReplicaUnderRecoveryRequestProto) (*hdfspb.UpdateReplicaUnderRecoveryResponseProto, error) {
			return dn.updateReplicaUnderRecovery(req)
		}),
	)
	srv.Register(ClientDatanodeProtocol,
		rpc.Unary("getReplicaVisibleLength", func(ctx context.Context, req *hdfspb.GetReplicaVisibleLengthRequestProto) (*hdfspb.GetReplicaVisibleLengthResponseProto, error) {
			b := req.GetBlock()
			r, ok := dn.store.Get(b.GetPoolId(), b.GetBlockId())
			if !ok {
				return nil, rpc.Errorf(rpc.ErrIO, "Replica not found for %s", blockOf(b))
			}
			if r.GenStamp < b.GetGenerationStamp() {
				return nil, rpc.Errorf(rpc.ErrIO, "replica.getGenerationStamp() < block.getGenerationStamp(), block=%s, replica=%s", blockOf(b), r)
			}
			n := r.NumBytes
			if r.State == storage.StateRBW {
				n = r.BytesAcked
			}
			return &hdfspb.GetReplicaVisibleLengthResponseProto{Length: proto.Uint64(uint64(n))}, nil
		}),
	)
}

// initReplicaRecovery is InterDatanodeProtocol.initReplicaRecovery on this
// node's storage. A missing replica is answered replicaFound=false, as
// Hadoop does; the other refusals travel as IOExceptions with storage's
// (Hadoop's) message.
func (dn *DataNode) initReplicaRecovery(rb *hdfspb.RecoveringBlockProto) (*hdfspb.InitReplicaRecoveryResponseProto, error) {
	b := rb.GetBlock().GetB()
	info, err := dn.store.InitReplicaRecovery(b.GetPoolId(), b.GetBlockId(), b.GetGenerationStamp(), rb.GetNewGenStamp())
	if errors.Is(err, storage.ErrReplicaNotFound) {
		return &hdfspb.InitReplicaRecoveryResponseProto{ReplicaFound: proto.Bool(false)}, nil
	}
	if err != nil {
		dn.log.Info("initReplicaRecovery refused", zap.String("block", blockOf(b)), zap.Error(err))
		return nil, rpc.Errorf(rpc.ErrIO, "%s", err.Error())
	}
	return &hdfspb.InitReplicaRecoveryResponseProto{
		ReplicaFound: proto.Bool(true),
		State:        hdfspb.ReplicaStateProto(info.OriginalState).Enum(),
		Block:        &hdfspb.BlockProto{BlockId: proto.Uint64(info.BlockID), GenStamp: proto.Uint64(info.GenStamp), NumBytes: proto.Uint64(uint64(info.NumBytes))},
	}, nil
}

// updateReplicaUnderRecovery is InterDatanodeProtocol's second step; the
// finalized result is reported RECEIVED to every NameNode.
func (dn *DataNode) updateReplicaUnderRecovery(req *hdfspb.UpdateReplicaUnderRecoveryRequestProto) (*hdfspb.UpdateReplicaUnderRecoveryResponseProto, error) {
	b := req.GetBlock()
	r, err := dn.store.UpdateReplicaUnderRecovery(b.GetPoolId(), b.GetBlockId(), req.GetRecoveryId(), req.GetNewBlockId(), int64(req.GetNewLength()))
	if err != nil {
		dn.log.Info("updateReplicaUnderRecovery refused", zap.String("block", blockOf(b)), zap.Error(err))
		return nil, rpc.Errorf(rpc.ErrIO, "%s", err.Error())
	}
	dn.log.Info("replica recovered", zap.String("block", r.Name()), zap.Int64("length", r.NumBytes))
	dn.blockReceived(r)
	return &hdfspb.UpdateReplicaUnderRecoveryResponseProto{StorageUuid: proto.String(r.StorageID)}, nil
}
