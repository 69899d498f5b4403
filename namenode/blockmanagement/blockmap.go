package blockmanagement

import (
	"slices"
	"time"
)

// blockInfo is one block of the namespace and its replicas.
type blockInfo struct {
	Block
	inode       uint64
	replication int
	complete    bool
	// expected are the pipeline's node uuids while under construction.
	expected []string
	replicas map[string]*replica // by node uuid

	// Derived by refresh. Invariant: queue is the index of the needed
	// queue holding the block, or -1; countedTotal/countedSafe say what
	// the safe-mode counters include.
	queue        int
	countedTotal bool
	countedSafe  bool
	hasCorrupt   bool

	recovery *recovery
}

// replica is one DataNode's copy as last reported.
type replica struct {
	node      *node
	storageID string
	genStamp  uint64
	numBytes  int64
	state     ReplicaState
	// corrupt: a bad copy (Hadoop's CorruptReplicasMap); excess: chosen
	// for deletion (excessRedundancyMap). Neither counts as live.
	corrupt bool
	excess  bool
}

// usable: a finalized replica of the current generation on a live node.
func (bi *blockInfo) usable(r *replica) bool {
	return r.node.alive && !r.corrupt && !r.excess && r.state == Finalized && r.genStamp == bi.GenStamp
}

func (bi *blockInfo) liveCount() int {
	k := 0
	for _, r := range bi.replicas {
		if bi.usable(r) {
			k++
		}
	}
	return k
}

func (bi *blockInfo) liveReplicas() []*replica {
	var out []*replica
	for _, u := range bi.sortedHolders() {
		if r := bi.replicas[u]; bi.usable(r) {
			out = append(out, r)
		}
	}
	return out
}

func (bi *blockInfo) sortedHolders() []string {
	out := make([]string, 0, len(bi.replicas))
	for u := range bi.replicas {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// PutBlock records what the namespace says about a block: a new block, a
// new generation stamp or length, completion, a replication change. The
// driver calls it after each applied op for every block of the file the op
// touched, and for every block at startup. Replicas that no longer match
// (an older generation, a wrong length of a complete block) stop counting;
// reports the standby queued for this block are replayed.
func (m *Manager) PutBlock(s BlockSpec, now time.Time) {
	bi := m.blocks[s.ID]
	if bi == nil {
		bi = &blockInfo{replicas: make(map[string]*replica), queue: -1}
		m.blocks[s.ID] = bi
	}
	bi.Block = s.Block
	bi.inode = s.Inode
	bi.replication = max(s.Replication, 1)
	bi.complete = s.Complete
	if s.Expected != nil {
		bi.expected = slices.Clone(s.Expected)
	}
	if bi.complete {
		bi.expected = nil
	}
	for _, u := range bi.sortedHolders() {
		r := bi.replicas[u]
		if r.corrupt {
			continue
		}
		if !bi.complete && r.genStamp < bi.GenStamp {
			// A replica of an older pipeline: forget it; if the node still
			// has it, its next report marks it corrupt.
			m.removeReplica(bi, r.node)
			continue
		}
		if bi.corruptReason(Replica{Block: Block{ID: bi.ID, GenStamp: r.genStamp, NumBytes: r.numBytes}, State: r.state}) != "" {
			m.setCorrupt(bi, r)
		}
	}
	m.replayMsgs(s.ID)
	m.refresh(bi)
	m.safe.check(m, now)
}

// RemoveBlock forgets a block that left the namespace
// (Applied.RemovedBlocks); an active asks every holder to delete it.
func (m *Manager) RemoveBlock(id uint64, now time.Time) {
	bi := m.blocks[id]
	m.takeMsgs(id)
	if bi == nil {
		return
	}
	for _, u := range bi.sortedHolders() {
		r := bi.replicas[u]
		if r.node.alive {
			m.invalidate(r.node, Block{ID: id, GenStamp: r.genStamp, NumBytes: r.numBytes})
		}
		m.removeReplica(bi, r.node)
	}
	m.setQueue(bi, -1)
	m.countSafe(bi, false, false)
	m.setHasCorrupt(bi, false)
	delete(m.pending, id)
	delete(m.blocks, id)
	m.safe.check(m, now)
}

// NumBlocks is the number of blocks in the map.
func (m *Manager) NumBlocks() int { return len(m.blocks) }

func (m *Manager) addReplica(bi *blockInfo, n *node, storageID string, r Replica) *replica {
	rep := bi.replicas[n.id.UUID]
	if rep == nil {
		rep = &replica{node: n}
		bi.replicas[n.id.UUID] = rep
		n.blocks[bi.ID] = struct{}{}
	}
	if rep.corrupt && rep.genStamp != r.GenStamp {
		// A new generation replaces the corrupt copy; the same one stays
		// corrupt (the node cannot know it was reported bad).
		rep.corrupt = false
	}
	if storageID != "" {
		rep.storageID = storageID
		n.storages[storageID] = struct{}{}
	}
	rep.genStamp, rep.numBytes, rep.state = r.GenStamp, r.NumBytes, r.State
	return rep
}

func (m *Manager) removeReplica(bi *blockInfo, n *node) {
	r := bi.replicas[n.id.UUID]
	if r == nil {
		return
	}
	delete(bi.replicas, n.id.UUID)
	delete(n.blocks, bi.ID)
}

func (m *Manager) setCorrupt(bi *blockInfo, r *replica) {
	r.corrupt = true
	r.excess = false
}

// invalidate queues b for deletion on n; a standby issues nothing.
func (m *Manager) invalidate(n *node, b Block) {
	if !m.active {
		return
	}
	if n.invSet == nil {
		n.invSet = make(map[uint64]struct{})
	}
	if _, ok := n.invSet[b.ID]; ok {
		return
	}
	n.invSet[b.ID] = struct{}{}
	n.invalidate = append(n.invalidate, b)
}

// refresh recomputes everything derived from one block: the safe-mode
// counters, its needed-reconstruction queue, and (active only) which
// excess and corrupt replicas to delete.
func (m *Manager) refresh(bi *blockInfo) {
	nLive := bi.liveCount()
	m.countSafe(bi, bi.complete, bi.complete && nLive >= m.cfg.MinReplication)
	corrupt := 0
	for _, r := range bi.replicas {
		if r.corrupt {
			corrupt++
		}
	}
	m.setHasCorrupt(bi, corrupt > 0)

	q := -1
	if bi.complete && nLive < bi.replication {
		pendingN := 0
		if p := m.pending[bi.ID]; p != nil {
			pendingN = len(p.targets)
		}
		if nLive+pendingN < bi.replication {
			q = priority(nLive, bi.replication)
		}
	}
	m.setQueue(bi, q)

	if !m.active || !bi.complete {
		return
	}
	if nLive > bi.replication {
		live := bi.liveReplicas()
		for _, r := range m.chooseExcess(live, nLive-bi.replication) {
			r.excess = true
			m.invalidate(r.node, Block{ID: bi.ID, GenStamp: r.genStamp, NumBytes: r.numBytes})
		}
	}
	// Hadoop's markBlockAsCorrupt cases: enough live replicas; more
	// replicas than expected counting the corrupt ones; a replica of an
	// older generation (a failed write). Otherwise a good copy is made
	// first.
	if corrupt > 0 && nLive >= m.cfg.MinReplication {
		enough := nLive >= bi.replication || nLive+corrupt > bi.replication
		for _, u := range bi.sortedHolders() {
			r := bi.replicas[u]
			if r.corrupt && (enough || r.genStamp < bi.GenStamp) {
				if r.node.alive {
					m.invalidate(r.node, Block{ID: bi.ID, GenStamp: r.genStamp, NumBytes: r.numBytes})
				}
				m.removeReplica(bi, r.node)
				corrupt--
			}
		}
		m.setHasCorrupt(bi, corrupt > 0)
	}
}

// setHasCorrupt keeps corruptBlocks, the number of blocks with a
// corrupt replica (Hadoop's CorruptReplicasMap size).
func (m *Manager) setHasCorrupt(bi *blockInfo, v bool) {
	if bi.hasCorrupt == v {
		return
	}
	bi.hasCorrupt = v
	if v {
		m.corruptBlocks++
	} else {
		m.corruptBlocks--
	}
}

func (m *Manager) countSafe(bi *blockInfo, total, safe bool) {
	if bi.countedTotal != total {
		bi.countedTotal = total
		if total {
			m.safe.total++
		} else {
			m.safe.total--
		}
	}
	if bi.countedSafe != safe {
		bi.countedSafe = safe
		if safe {
			m.safe.safeBlocks++
		} else {
			m.safe.safeBlocks--
		}
	}
}

// Block status and locations.

// BlockStatus is what fsck and the client protocol need to know of one
// block.
type BlockStatus struct {
	Block
	Inode       uint64
	Replication int
	Complete    bool
	// Live counts usable replicas; Corrupt and Excess the others.
	Live, Corrupt, Excess int
	// Locations are the usable replicas, then (when none is usable) the
	// corrupt ones.
	Locations []Target
	// AllCorrupt: replicas exist and all are corrupt.
	AllCorrupt bool
	// RecoveryID is the running block recovery's id, or 0.
	RecoveryID uint64
}

// Status returns a block's status.
func (m *Manager) Status(id uint64, now time.Time) (BlockStatus, bool) {
	bi := m.blocks[id]
	if bi == nil {
		return BlockStatus{}, false
	}
	st := BlockStatus{Block: bi.Block, Inode: bi.inode, Replication: bi.replication, Complete: bi.complete}
	if bi.recovery != nil {
		st.RecoveryID = bi.recovery.id
	}
	var corrupt []Target
	for _, u := range bi.sortedHolders() {
		r := bi.replicas[u]
		t := Target{Node: r.node.info(now, m.cfg.StaleInterval), StorageID: r.storageID}
		switch {
		case r.corrupt:
			st.Corrupt++
			corrupt = append(corrupt, t)
		case r.excess:
			st.Excess++
		case bi.usable(r):
			st.Live++
			st.Locations = append(st.Locations, t)
		}
	}
	if st.Live == 0 && st.Corrupt > 0 {
		st.AllCorrupt = true
		st.Locations = corrupt
	}
	return st, true
}

// Locations returns where a reader finds the block, the reader's own node
// first, then nodes on its rack, then the rest, stale nodes last (Hadoop's
// sortLocatedBlocks). Corrupt replicas are left out unless every replica is
// corrupt (then corrupt is true). A block under construction lists its
// pipeline.
func (m *Manager) Locations(id uint64, reader string, now time.Time) (locs []Target, corrupt bool) {
	bi := m.blocks[id]
	if bi == nil {
		return nil, false
	}
	seen := make(map[string]bool)
	add := func(n *node, storageID string) {
		if seen[n.id.UUID] || !n.alive {
			return
		}
		seen[n.id.UUID] = true
		if storageID == "" {
			storageID = n.storageID()
		}
		locs = append(locs, Target{Node: n.info(now, m.cfg.StaleInterval), StorageID: storageID})
	}
	if !bi.complete {
		for _, u := range bi.expected {
			if n := m.nodes[u]; n != nil {
				sid := ""
				if r := bi.replicas[u]; r != nil {
					sid = r.storageID
				}
				add(n, sid)
			}
		}
		for _, u := range bi.sortedHolders() {
			if r := bi.replicas[u]; !r.corrupt && r.genStamp >= bi.GenStamp {
				add(r.node, r.storageID)
			}
		}
	} else {
		for _, r := range bi.liveReplicas() {
			add(r.node, r.storageID)
		}
		if len(locs) == 0 {
			for _, u := range bi.sortedHolders() {
				if r := bi.replicas[u]; r.corrupt {
					add(r.node, r.storageID)
					corrupt = true
				}
			}
		}
	}
	m.sortForReader(locs, reader)
	return locs, corrupt
}

func (m *Manager) sortForReader(locs []Target, reader string) {
	var readerRack string
	for _, n := range m.nodes {
		if n.alive && reader != "" && (n.id.IPAddr == reader || n.id.Hostname == reader) {
			readerRack = n.location
		}
	}
	rank := func(t Target) int {
		switch {
		case reader != "" && (t.Node.IPAddr == reader || t.Node.Hostname == reader):
			return 0
		case t.Node.Stale:
			return 3
		case readerRack != "" && t.Node.Location == readerRack:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(locs, func(a, b Target) int { return rank(a) - rank(b) })
}

// HasMinReplicas reports whether b (its current generation) has at least
// MinReplication finalized replicas on live nodes: complete() and the
// next addBlock wait for it.
func (m *Manager) HasMinReplicas(b Block) bool {
	bi := m.blocks[b.ID]
	if bi == nil {
		return false
	}
	k := 0
	for _, r := range bi.replicas {
		if r.node.alive && !r.corrupt && r.state == Finalized && r.genStamp == b.GenStamp {
			k++
		}
	}
	return k >= m.cfg.MinReplication
}

// ReplicaKind says how a replica counts.
type ReplicaKind int

const (
	// ReplicaLive: a usable copy.
	ReplicaLive ReplicaKind = iota
	// ReplicaCorrupt: marked corrupt.
	ReplicaCorrupt
	// ReplicaExcess: chosen for deletion.
	ReplicaExcess
	// ReplicaPending: a copy not finalized at the block's generation stamp
	// yet (being written, or of a block under construction).
	ReplicaPending
)

// ReplicaInfo is one replica of a block as fsck lists it.
type ReplicaInfo struct {
	Target
	Kind ReplicaKind
}

// Replicas lists every replica of a block on a live node, in uuid order;
// for a block under construction the pipeline's nodes come first (as
// pending unless already usable). ok is false for a block not in the map.
func (m *Manager) Replicas(id uint64, now time.Time) (reps []ReplicaInfo, complete, ok bool) {
	bi := m.blocks[id]
	if bi == nil {
		return nil, false, false
	}
	seen := make(map[string]bool)
	add := func(n *node, r *replica) {
		if !n.alive || seen[n.id.UUID] {
			return
		}
		seen[n.id.UUID] = true
		ri := ReplicaInfo{Target: Target{Node: n.info(now, m.cfg.StaleInterval), StorageID: n.storageID()}, Kind: ReplicaPending}
		if r != nil {
			if r.storageID != "" {
				ri.StorageID = r.storageID
			}
			switch {
			case r.corrupt:
				ri.Kind = ReplicaCorrupt
			case r.excess:
				ri.Kind = ReplicaExcess
			case bi.usable(r):
				ri.Kind = ReplicaLive
			}
		}
		reps = append(reps, ri)
	}
	if !bi.complete {
		for _, u := range bi.expected {
			if n := m.nodes[u]; n != nil {
				add(n, bi.replicas[u])
			}
		}
	}
	for _, u := range bi.sortedHolders() {
		r := bi.replicas[u]
		add(r.node, r)
	}
	return reps, bi.complete, true
}

// EverMultiRack reports whether live DataNodes have ever been on more
// than one rack (Hadoop's hasClusterEverBeenMultiRack).
func (m *Manager) EverMultiRack() bool { return m.everMultiRack }
