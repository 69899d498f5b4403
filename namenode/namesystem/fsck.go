package namesystem

import (
	"github.com/hdfsha/hdfsha/namenode/blockmanagement"
	"github.com/hdfsha/hdfsha/namenode/fsck"
)

// FsckBlocks returns the block manager as fsck reads it; each call takes
// the namesystem read lock and answers a snapshot.
func (s *Namesystem) FsckBlocks() fsck.Blocks { return fsckBlocks{s} }

type fsckBlocks struct{ s *Namesystem }

var _ fsck.Blocks = fsckBlocks{}

func (f fsckBlocks) Replicas(b fsck.Block) fsck.Replicas {
	s := f.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	reps, complete, ok := s.bm.Replicas(b.ID, s.cfg.Now())
	out := fsck.Replicas{Complete: complete || !ok}
	for _, r := range reps {
		var st fsck.ReplicaState
		switch r.Kind {
		case blockmanagement.ReplicaLive:
			st = fsck.Live
		case blockmanagement.ReplicaCorrupt:
			st = fsck.Corrupt
		case blockmanagement.ReplicaExcess:
			st = fsck.Excess
		case blockmanagement.ReplicaPending:
			if complete {
				continue // a copy still being written is not in Hadoop's map
			}
			st = fsck.Live // the pipeline's expected locations
		}
		out.Nodes = append(out.Nodes, fsck.Replica{
			Node:      fsck.Datanode{IP: r.Node.IPAddr, XferPort: r.Node.XferPort, Rack: r.Node.Location},
			StorageID: r.StorageID, StorageType: "DISK", State: st,
		})
	}
	return out
}

func (f fsckBlocks) Cluster() fsck.Cluster {
	s := f.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fsck.Cluster{
		LiveDatanodes:      s.bm.NumLiveDatanodes(),
		Racks:              s.bm.NumRacks(),
		MultiRack:          s.bm.EverMultiRack(),
		DefaultReplication: int(s.cfg.Defaults.Replication),
		MinReplication:     s.bm.Config().MinReplication,
		BlockPoolID:        s.ns.Info().BlockPoolID,
	}
}

func (f fsckBlocks) CorruptBlocks() []uint64 {
	s := f.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.bm.NeededReconstruction(blockmanagement.PriorityCorrupt)
}
