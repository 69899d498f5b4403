package namesystem

import (
	"context"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/namenode/blockmanagement"
	"github.com/hdfsha/hdfsha/proto/editpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// getAdditionalDatanode is what a writer asks when its pipeline lost a
// DataNode and its replace-datanode-on-failure policy wants a replacement
// (dfs.client.block.write.replace-datanode-on-failure.*, on by default for
// replication 3 and more in Hadoop's client): numAdditionalNodes new targets
// besides the pipeline's existing nodes and the excluded ones. The answer
// lists the existing nodes, in the order given, then the new ones; the client
// copies the replica to the new node (TRANSFER_BLOCK) and resumes. Nothing is
// logged. The new targets are chosen as for a new block, with the existing
// nodes excluded (the rack of the existing replicas is not weighed).
func (s *Namesystem) getAdditionalDatanode(ctx context.Context, req *hdfspb.GetAdditionalDatanodeRequestProto) (*hdfspb.GetAdditionalDatanodeResponseProto, error) {
	src := req.GetSrc()
	var lb *hdfspb.LocatedBlockProto
	_, err := s.mutate(ctx, "Cannot get an additional datanode for "+src, func() (*editpb.Op, error) {
		st, err := s.checkLeaseLocked(src, req.GetClientName())
		if err != nil {
			return nil, err
		}
		b := fromExtBlock(req.GetBlk())
		if n := len(st.Blocks); n == 0 || st.Blocks[n-1].BlockId != b.GetBlockId() {
			return nil, rpc.Errorf(rpc.ErrIO, "Block %d is not the last block of %s", b.GetBlockId(), src)
		}
		now := s.cfg.Now()
		excluded := s.datanodeUUIDsLocked(now, req.GetExistings(), req.GetExcludes())
		targets, err := s.bm.ChooseTargets(blockmanagement.ChooseRequest{
			Path: src, Replicas: int(req.GetNumAdditionalNodes()), Excluded: excluded, BlockSize: int64(st.BlockSize),
		}, now)
		if err != nil {
			return nil, err
		}
		lb = s.locatedBlock(b, -1) // Hadoop's offset -1: not known here
		for i, d := range req.GetExistings() {
			lb.Locs = append(lb.Locs, d)
			sid := ""
			if i < len(req.GetExistingStorageUuids()) {
				sid = req.GetExistingStorageUuids()[i]
			}
			lb.StorageIDs = append(lb.StorageIDs, sid)
			lb.StorageTypes = append(lb.StorageTypes, hdfspb.StorageTypeProto_DISK)
			lb.IsCached = append(lb.IsCached, false)
		}
		setLocations(lb, targets)
		return nil, nil
	}, nil)
	if err != nil {
		return nil, err
	}
	return &hdfspb.GetAdditionalDatanodeResponseProto{Block: lb}, nil
}
