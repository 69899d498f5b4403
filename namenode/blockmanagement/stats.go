package blockmanagement

import "time"

// Summary holds the cluster-wide figures of getFsStats and dfsadmin
// -report.
type Summary struct {
	// Capacity, DfsUsed, Remaining, NonDfsUsed and BlockPoolUsed sum the
	// live nodes' last heartbeats.
	Capacity, DfsUsed, Remaining, NonDfsUsed, BlockPoolUsed int64
	// UnderReplicated counts blocks waiting for reconstruction (the
	// missing ones excluded); Missing the blocks with no live replica;
	// MissingReplOne those of them with replication 1; Corrupt the
	// blocks with at least one corrupt replica.
	UnderReplicated, Missing, MissingReplOne, Corrupt int64
	// PendingReconstruction and PendingDeletion are scheduled work.
	PendingReconstruction, PendingDeletion int64
	// Blocks is the number of blocks in the map.
	Blocks     int64
	Live, Dead int
}

// Summary computes the cluster-wide figures.
func (m *Manager) Summary(now time.Time) Summary {
	var s Summary
	for _, n := range m.nodes {
		if !n.alive {
			s.Dead++
			continue
		}
		s.Live++
		s.Capacity += n.stats.Capacity
		s.DfsUsed += n.stats.DfsUsed
		s.Remaining += n.stats.Remaining
		s.NonDfsUsed += n.stats.NonDfsUsed
		s.BlockPoolUsed += n.stats.BlockPoolUsed
		s.PendingDeletion += int64(len(n.invalidate))
	}
	for prio := range numPriorities {
		if prio == PriorityCorrupt {
			continue
		}
		s.UnderReplicated += int64(len(m.needed[prio]))
	}
	s.Missing = int64(len(m.needed[PriorityCorrupt]))
	for id := range m.needed[PriorityCorrupt] {
		if bi := m.blocks[id]; bi != nil && bi.replication == 1 {
			s.MissingReplOne++
		}
	}
	s.Corrupt = int64(m.corruptBlocks)
	s.PendingReconstruction = int64(len(m.pending))
	s.Blocks = int64(len(m.blocks))
	return s
}
