package blockmanagement

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
)

// ErrUnregistered is returned for a call from a DataNode the manager does
// not know (or has declared dead): the node must register again. The
// driver answers with Hadoop's UnregisteredNodeException or a re-register
// command.
var ErrUnregistered = errors.New("blockmanagement: datanode is not registered")

// Manager is the block manager: the DataNode manager, the block map and
// everything computed from them. It has no lock, no goroutine and no clock:
// the driver serialises calls (under the namesystem lock) and passes the
// time in.
type Manager struct {
	cfg Config

	// active is true while the NameNode is active: only then does the
	// manager schedule work (transfers, deletions, recoveries) or hand out
	// commands. A standby keeps its map current and queues reports about
	// blocks it has not read in the edits yet.
	active bool

	nodes map[string]*node // by uuid
	// byAddr maps "ip:xferPort" to the uuid registered there.
	byAddr map[string]string

	blocks map[uint64]*blockInfo

	// pendingMsgs are reports the standby could not apply yet, per block
	// id (Hadoop's PendingDataNodeMessages). Invariant: empty while active.
	pendingMsgs  map[uint64][]pendingMsg
	pendingCount int

	// needed are the under-replicated queues, by priority (Hadoop's
	// LowRedundancyBlocks). Invariant: a block is in at most one queue,
	// the one bi.queue names.
	needed [numPriorities]map[uint64]struct{}
	// pending are scheduled reconstructions (PendingReconstructionBlocks).
	pending map[uint64]*pendingRecon

	// corruptBlocks is the number of blocks with a corrupt replica.
	// Invariant: it counts the blocks whose hasCorrupt is set.
	corruptBlocks int
	// everMultiRack: live nodes were once on more than one rack.
	everMultiRack bool

	safe safeMode
}

// node is one DataNode.
type node struct {
	id         DatanodeID
	location   string
	stats      Stats
	lastUpdate time.Time
	alive      bool
	storages   map[string]struct{}
	// blocks are the ids of blocks with a replica of this node in the map.
	blocks map[uint64]struct{}

	// Commands waiting for the next heartbeat.
	transfers  []TransferCommand
	invalidate []Block
	invSet     map[uint64]struct{}
	recover    []RecoverCommand
	reregister bool
}

func (n *node) info(now time.Time, stale time.Duration) DatanodeInfo {
	ids := make([]string, 0, len(n.storages))
	for s := range n.storages {
		ids = append(ids, s)
	}
	sort.Strings(ids)
	return DatanodeInfo{
		DatanodeID: n.id,
		Stats:      n.stats,
		Location:   n.location,
		LastUpdate: n.lastUpdate,
		Alive:      n.alive,
		Stale:      n.alive && stale > 0 && now.Sub(n.lastUpdate) > stale,
		NumBlocks:  len(n.blocks),
		StorageIDs: ids,
	}
}

// storageID names the storage new replicas go to: the first reported one.
func (n *node) storageID() string {
	best := ""
	for s := range n.storages {
		if best == "" || s < best {
			best = s
		}
	}
	return best
}

// New returns a standby manager with no DataNodes and no blocks, out of
// safe mode: the driver loads the namespace's blocks with PutBlock, then
// calls StartSafeMode.
func New(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:         cfg,
		nodes:       make(map[string]*node),
		byAddr:      make(map[string]string),
		blocks:      make(map[uint64]*blockInfo),
		pendingMsgs: make(map[uint64][]pendingMsg),
		pending:     make(map[uint64]*pendingRecon),
	}
	for i := range m.needed {
		m.needed[i] = make(map[uint64]struct{})
	}
	return m, nil
}

// Config returns the manager's configuration.
func (m *Manager) Config() Config { return m.cfg }

// Active reports whether the manager schedules work.
func (m *Manager) Active() bool { return m.active }

// SetActive switches between standby (keep the map, queue reports from
// the future, issue nothing) and active. Becoming active applies every
// queued report (what is still unknown is now invalid), drops commands a
// standby never had, and re-examines every block so that the replication
// monitor's queues and excess replicas are current (Hadoop's
// processAllPendingDNMessages and processMisReplicatedBlocks); safe mode
// is left at once if the thresholds are met.
func (m *Manager) SetActive(active bool, now time.Time) {
	if m.active == active {
		return
	}
	m.active = active
	if !active {
		// A standby issues nothing: queued commands, scheduled copies and
		// chosen deletions are forgotten; becoming active again decides
		// anew from the replicas reported.
		for _, n := range m.nodes {
			n.clearCommands()
		}
		m.pending = make(map[uint64]*pendingRecon)
		for _, bi := range m.blocks {
			for _, r := range bi.replicas {
				r.excess = false
			}
			m.refresh(bi)
		}
		return
	}
	for _, id := range sortedKeys(m.pendingMsgs) {
		m.replayMsgs(id)
	}
	for _, id := range sortedKeys(m.blocks) {
		m.refresh(m.blocks[id])
	}
	m.safe.becomeActive(m, now)
}

func (n *node) clearCommands() {
	n.transfers = nil
	n.invalidate = nil
	n.invSet = nil
	n.recover = nil
}

// Register records a DataNode registration at now. A node that registers
// again with the same uuid replaces its old address; another uuid already
// registered at the same transfer address is removed first (the host was
// reformatted); a dead node that registers comes back alive with no
// replicas until its block report. Registration asks for nothing else: the
// node follows with a full block report.
func (m *Manager) Register(id DatanodeID, now time.Time) (DatanodeInfo, error) {
	if id.UUID == "" {
		return DatanodeInfo{}, fmt.Errorf("blockmanagement: register %s: empty datanode uuid", id.XferAddr())
	}
	addr := id.XferAddr()
	if other, ok := m.byAddr[addr]; ok && other != id.UUID {
		m.removeNode(m.nodes[other])
	}
	n, ok := m.nodes[id.UUID]
	if ok {
		if old := n.id.XferAddr(); old != addr && m.byAddr[old] == id.UUID {
			delete(m.byAddr, old)
		}
		if !n.alive {
			m.dropReplicas(n) // none, unless a report raced the death
		}
	} else {
		n = &node{blocks: make(map[uint64]struct{}), storages: make(map[string]struct{})}
		m.nodes[id.UUID] = n
	}
	n.id = id
	n.location = m.resolve(id)
	n.lastUpdate = now
	n.alive = true
	n.reregister = false
	m.byAddr[addr] = id.UUID
	if !m.everMultiRack && m.NumRacks() > 1 {
		m.everMultiRack = true
	}
	m.safe.check(m, now)
	return n.info(now, m.cfg.StaleInterval), nil
}

func (m *Manager) resolve(id DatanodeID) string {
	if m.cfg.ResolveRack != nil {
		if loc := m.cfg.ResolveRack(id.IPAddr, id.Hostname); loc != "" {
			return loc
		}
	}
	return DefaultRack
}

// removeNode forgets a node entirely (its replicas leave the map).
func (m *Manager) removeNode(n *node) {
	if n == nil {
		return
	}
	m.dropReplicas(n)
	if m.byAddr[n.id.XferAddr()] == n.id.UUID {
		delete(m.byAddr, n.id.XferAddr())
	}
	delete(m.nodes, n.id.UUID)
}

// dropReplicas removes every replica of n from the map, as when the node
// dies: its blocks become under-replicated.
func (m *Manager) dropReplicas(n *node) {
	for _, id := range sortedKeys(n.blocks) {
		if bi := m.blocks[id]; bi != nil {
			m.removeReplica(bi, n)
			m.refresh(bi)
		}
	}
	n.blocks = make(map[uint64]struct{})
	n.clearCommands()
	for id, p := range m.pending {
		p.remove(n.id.UUID)
		if bi := m.blocks[id]; bi != nil {
			m.refresh(bi)
		}
	}
}

// Heartbeat records a heartbeat with its stats and returns the commands
// for the node: none on a standby; every recovery; and, out of safe mode,
// at most MaxReplicationStreams minus the transfers already in progress
// and one invalidate command of at most the invalidate limit. An unknown or dead node gets
// ErrUnregistered and must register again.
func (m *Manager) Heartbeat(uuid string, st Stats, storageIDs []string, now time.Time) ([]Command, error) {
	n, err := m.liveNode(uuid)
	if err != nil {
		return nil, err
	}
	n.stats = st
	n.lastUpdate = now
	if len(storageIDs) > 0 {
		// The heartbeat lists the node's storages: a storage it no
		// longer has is no target.
		n.storages = make(map[string]struct{}, len(storageIDs))
		for _, s := range storageIDs {
			n.storages[s] = struct{}{}
		}
	}
	if !m.active {
		return nil, nil
	}
	var cmds []Command
	if n.reregister {
		n.reregister = false
		cmds = append(cmds, ReRegisterCommand{})
	}
	for _, r := range n.recover {
		cmds = append(cmds, r)
	}
	n.recover = nil
	if m.InSafeMode() {
		// Hadoop computes no replication or deletion work in safe mode:
		// what is queued waits (nothing is deleted on partial reports).
		return cmds, nil
	}
	k := min(len(n.transfers), max(0, m.cfg.MaxReplicationStreams-st.XmitsInProgress))
	for _, t := range n.transfers[:k] {
		cmds = append(cmds, t)
	}
	n.transfers = slices.Clone(n.transfers[k:])
	if len(n.invalidate) > 0 {
		k := min(len(n.invalidate), m.cfg.invalidateLimit())
		blocks := slices.Clone(n.invalidate[:k])
		n.invalidate = slices.Clone(n.invalidate[k:])
		for _, b := range blocks {
			delete(n.invSet, b.ID)
		}
		cmds = append(cmds, InvalidateCommand{Blocks: blocks})
	}
	return cmds, nil
}

// CheckHeartbeats declares dead every live node silent for longer than
// DeadInterval at now (Hadoop's HeartbeatManager.heartbeatCheck). A dead
// node's replicas leave the map; its blocks become under-replicated. It
// returns the uuids it declared dead.
func (m *Manager) CheckHeartbeats(now time.Time) []string {
	var dead []string
	for _, n := range m.sortedNodes() {
		if n.alive && now.Sub(n.lastUpdate) > m.cfg.DeadInterval() {
			n.alive = false
			m.dropReplicas(n)
			dead = append(dead, n.id.UUID)
		}
	}
	if len(dead) > 0 {
		m.safe.check(m, now)
	}
	return dead
}

func (m *Manager) sortedNodes() []*node {
	out := make([]*node, 0, len(m.nodes))
	for _, n := range m.nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id.UUID < out[j].id.UUID })
	return out
}

// Datanode returns a snapshot of the node with uuid.
func (m *Manager) Datanode(uuid string, now time.Time) (DatanodeInfo, bool) {
	n := m.nodes[uuid]
	if n == nil {
		return DatanodeInfo{}, false
	}
	return n.info(now, m.cfg.StaleInterval), true
}

// DatanodeByAddr returns the node registered at "ip:xferPort".
func (m *Manager) DatanodeByAddr(addr string, now time.Time) (DatanodeInfo, bool) {
	u, ok := m.byAddr[addr]
	if !ok {
		return DatanodeInfo{}, false
	}
	return m.Datanode(u, now)
}

// Datanodes returns every known node, live and dead, sorted by uuid.
func (m *Manager) Datanodes(now time.Time) []DatanodeInfo {
	var out []DatanodeInfo
	for _, n := range m.sortedNodes() {
		out = append(out, n.info(now, m.cfg.StaleInterval))
	}
	return out
}

// NumLiveDatanodes is the number of live nodes.
func (m *Manager) NumLiveDatanodes() int {
	k := 0
	for _, n := range m.nodes {
		if n.alive {
			k++
		}
	}
	return k
}

func (m *Manager) racks() map[string]struct{} {
	r := make(map[string]struct{})
	for _, n := range m.nodes {
		if n.alive {
			r[n.location] = struct{}{}
		}
	}
	return r
}

// NumRacks is the number of racks with a live node.
func (m *Manager) NumRacks() int { return len(m.racks()) }
