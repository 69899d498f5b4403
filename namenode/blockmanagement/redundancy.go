package blockmanagement

import (
	"slices"
	"time"
)

// The needed-reconstruction priorities (Hadoop's LowRedundancyBlocks).
const (
	// PriorityHighest: one live replica left.
	PriorityHighest = 0
	// PriorityVeryLow: fewer than a third of the expected replicas.
	PriorityVeryLow = 1
	// PriorityLow: the other under-replicated blocks.
	PriorityLow = 2
	// PriorityBadlyDistributed: enough replicas on too few racks (not
	// computed: placement is rack-aware from the start).
	PriorityBadlyDistributed = 3
	// PriorityCorrupt: no live replica (all corrupt, or none at all):
	// the missing blocks. Nothing can be copied.
	PriorityCorrupt = 4

	numPriorities = 5
)

func priority(live, expected int) int {
	switch {
	case live >= expected:
		return PriorityBadlyDistributed
	case live == 0:
		return PriorityCorrupt
	case live == 1:
		return PriorityHighest
	case live*3 < expected:
		return PriorityVeryLow
	}
	return PriorityLow
}

func (m *Manager) setQueue(bi *blockInfo, q int) {
	if bi.queue == q {
		return
	}
	if bi.queue >= 0 {
		delete(m.needed[bi.queue], bi.ID)
	}
	if q >= 0 {
		m.needed[q][bi.ID] = struct{}{}
	}
	bi.queue = q
}

// pendingRecon is a scheduled reconstruction: the targets not yet
// reported back, and when it was scheduled.
type pendingRecon struct {
	targets []string
	at      time.Time
}

func (p *pendingRecon) remove(uuid string) {
	p.targets = slices.DeleteFunc(p.targets, func(u string) bool { return u == uuid })
}

// Work says what one replication monitor step did.
type Work struct {
	// Scheduled counts blocks given a transfer command.
	Scheduled int
	// TimedOut counts pending reconstructions that expired and were
	// queued again.
	TimedOut int
}

// ComputeWork is one replication monitor step at now (Hadoop's
// RedundancyMonitor: every dfs.namenode.redundancy.interval.seconds):
// expired pending reconstructions are queued again, then blocks are taken
// from the needed queues, highest priority first, at most WorkMultiplier ×
// live nodes of them; each gets a source (a live holder with spare
// streams, the least busy) and targets, and the source a transfer command.
// A standby, or a NameNode in safe mode, does nothing.
func (m *Manager) ComputeWork(now time.Time) Work {
	var w Work
	if !m.active || m.InSafeMode() {
		return w
	}
	for _, id := range sortedKeys(m.pending) {
		p := m.pending[id]
		if now.Sub(p.at) >= m.cfg.PendingReconstructionTimeout {
			delete(m.pending, id)
			w.TimedOut++
			if bi := m.blocks[id]; bi != nil {
				m.refresh(bi)
			}
		}
	}
	budget := m.cfg.WorkMultiplier * m.NumLiveDatanodes()
	for prio := PriorityHighest; prio < PriorityCorrupt && budget > 0; prio++ {
		for _, id := range sortedKeys(m.needed[prio]) {
			if budget == 0 {
				break
			}
			if bi := m.blocks[id]; bi != nil && m.scheduleReconstruction(bi, prio, now) {
				w.Scheduled++
				budget--
			}
		}
	}
	return w
}

func sortedKeys[V any](mp map[uint64]V) []uint64 {
	out := make([]uint64, 0, len(mp))
	for k := range mp {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (m *Manager) scheduleReconstruction(bi *blockInfo, prio int, now time.Time) bool {
	live := bi.liveReplicas()
	limit := m.cfg.MaxReplicationStreams
	if prio == PriorityHighest {
		limit = m.cfg.ReplicationStreamsHardLimit
	}
	var src *node
	busy := func(n *node) int { return len(n.transfers) + n.stats.XmitsInProgress }
	for _, r := range live {
		if busy(r.node) >= limit {
			continue
		}
		if src == nil || busy(r.node) < busy(src) {
			src = r.node
		}
	}
	if src == nil {
		return false
	}
	p := m.pending[bi.ID]
	want := bi.replication - len(live)
	if p != nil {
		want -= len(p.targets)
	}
	if want <= 0 {
		return false
	}
	existing := make([]*node, 0, len(live))
	for _, r := range live {
		existing = append(existing, r.node)
	}
	excluded := make(map[string]bool)
	for u := range bi.replicas {
		excluded[u] = true
	}
	if p != nil {
		for _, u := range p.targets {
			excluded[u] = true
		}
	}
	chosen := m.chooseTargets(want, existing, excluded, nil, nil, bi.NumBytes, now)
	if len(chosen) == 0 {
		return false
	}
	cmd := TransferCommand{Block: bi.Block}
	if p == nil {
		p = &pendingRecon{}
		m.pending[bi.ID] = p
	}
	p.at = now
	for _, n := range chosen {
		cmd.Targets = append(cmd.Targets, Target{Node: n.info(now, m.cfg.StaleInterval), StorageID: n.storageID()})
		p.targets = append(p.targets, n.id.UUID)
	}
	src.transfers = append(src.transfers, cmd)
	m.refresh(bi)
	return true
}

// PendingReconstructions is the number of blocks with a scheduled
// reconstruction.
func (m *Manager) PendingReconstructions() int { return len(m.pending) }

// NeededReconstruction returns the block ids queued at a priority, sorted.
func (m *Manager) NeededReconstruction(prio int) []uint64 {
	if prio < 0 || prio >= numPriorities {
		return nil
	}
	return sortedKeys(m.needed[prio])
}
