package namenode

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// NamenodeProtocol is the protocol name NamenodeProtocol is served under
// (Hadoop's NamenodeProtocolPB).
const NamenodeProtocol = "org.apache.hadoop.hdfs.server.protocol.NamenodeProtocol"

// registerNamenodeProtocol serves NamenodeProtocol on srv: the calls
// `hdfs namenode -bootstrapStandby` makes to the other NameNode
// (versionRequest, isUpgradeFinalized, getMostRecentCheckpointTxId,
// getTransactionId) and isRollingUpgrade. As in Hadoop they are
// superuser-only and answered in any HA state (OperationCategory
// UNCHECKED): a freshly formatted cluster bootstraps from a standby.
func (n *NameNode) registerNamenodeProtocol(srv *rpc.Server) {
	si := n.si
	srv.Register(NamenodeProtocol,
		rpc.Unary("versionRequest", func(ctx context.Context, _ *hdfspb.VersionRequestProto) (*hdfspb.VersionResponseProto, error) {
			if err := n.checkSuperuser(ctx); err != nil {
				return nil, err
			}
			return &hdfspb.VersionResponseProto{Info: nsInfoProto(si)}, nil
		}),
		rpc.Unary("isUpgradeFinalized", func(ctx context.Context, _ *hdfspb.IsUpgradeFinalizedRequestProto) (*hdfspb.IsUpgradeFinalizedResponseProto, error) {
			if err := n.checkSuperuser(ctx); err != nil {
				return nil, err
			}
			// There are no upgrades yet: every layout is final.
			return &hdfspb.IsUpgradeFinalizedResponseProto{IsUpgradeFinalized: proto.Bool(true)}, nil
		}),
		rpc.Unary("isRollingUpgrade", func(ctx context.Context, _ *hdfspb.IsRollingUpgradeRequestProto) (*hdfspb.IsRollingUpgradeResponseProto, error) {
			if err := n.checkSuperuser(ctx); err != nil {
				return nil, err
			}
			return &hdfspb.IsRollingUpgradeResponseProto{IsRollingUpgrade: proto.Bool(false)}, nil
		}),
		rpc.Unary("getMostRecentCheckpointTxId", func(ctx context.Context, _ *hdfspb.GetMostRecentCheckpointTxIdRequestProto) (*hdfspb.GetMostRecentCheckpointTxIdResponseProto, error) {
			if err := n.checkSuperuser(ctx); err != nil {
				return nil, err
			}
			// Unverified, like imageStore.Newest: the transfer checks every byte.
			all, err := image.List(n.cfg.NameDir)
			if err != nil {
				return nil, rpc.Errorf(rpc.ErrIO, "%v", err)
			}
			if len(all) == 0 {
				return nil, rpc.Errorf(rpc.ErrIO, "No image in %s", image.CurrentDir(n.cfg.NameDir))
			}
			return &hdfspb.GetMostRecentCheckpointTxIdResponseProto{TxId: proto.Uint64(uint64(all[len(all)-1].TxID))}, nil
		}),
		rpc.Unary("getTransactionId", func(ctx context.Context, _ *hdfspb.GetTransactionIdRequestProto) (*hdfspb.GetTransactionIdResponseProto, error) {
			if err := n.checkSuperuser(ctx); err != nil {
				return nil, err
			}
			return &hdfspb.GetTransactionIdResponseProto{TxId: proto.Uint64(uint64(n.durableTxID()))}, nil
		}),
	)
}

// durableTxID is Hadoop's FSImage.getCorrectLastAppliedOrWrittenTxId with
// one difference: the active answers its last synced txid, not its last
// written one, so a caller that then checks the journal for every txid up
// to it (bootstrapStandby) never asks for an edit not yet durable. A standby
// answers its last applied txid: it applies only durable edits.
func (n *NameNode) durableTxID() int64 {
	sys := n.namesystem()
	if sys == nil {
		return 0
	}
	if el := sys.EditLog(); el != nil {
		return el.SyncedTxID()
	}
	return sys.AppliedTxID()
}
