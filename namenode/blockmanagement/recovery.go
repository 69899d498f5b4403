package blockmanagement

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hdfsha/hdfsha/internal/rpc"
)

// ErrNoReplicas is returned by StartRecovery when no live DataNode holds
// the block: the namesystem closes the file without it (an empty last
// block, as Hadoop does) or keeps waiting.
var ErrNoReplicas = errors.New("blockmanagement: no live replica to recover")

// recovery is a running block recovery.
type recovery struct {
	id      uint64
	primary string
	started time.Time
	// tried are the nodes already chosen as primary, so a retry asks
	// another one first.
	tried map[string]bool
}

// RecoveryInProgress reports whether the block has a recovery younger
// than Config.RecoveryTimeout at now, and its id.
func (m *Manager) RecoveryInProgress(id uint64, now time.Time) (uint64, bool) {
	bi := m.blocks[id]
	if bi == nil || bi.recovery == nil {
		return 0, false
	}
	return bi.recovery.id, now.Sub(bi.recovery.started) < m.cfg.RecoveryTimeout
}

// StartRecovery starts recovering a file's last block whose writer is gone
// (lease recovery): it picks a primary among the live nodes of the
// pipeline and the nodes holding a replica (the most recent heartbeat,
// preferring one not tried before), and queues a recover command with
// recoveryID (a new generation stamp the caller has logged) for it. Only
// an active starts recoveries.
func (m *Manager) StartRecovery(id, recoveryID uint64, now time.Time) (RecoverCommand, error) {
	return m.startRecovery(id, recoveryID, -1, now)
}

// StartTruncateRecovery is StartRecovery for a truncate inside the block:
// the replicas are cut to newLength and take recoveryID as their stamp.
func (m *Manager) StartTruncateRecovery(id, recoveryID uint64, newLength int64, now time.Time) (RecoverCommand, error) {
	if newLength < 0 {
		return RecoverCommand{}, fmt.Errorf("blockmanagement: truncate block %d to negative length %d", id, newLength)
	}
	return m.startRecovery(id, recoveryID, newLength, now)
}

func (m *Manager) startRecovery(id, recoveryID uint64, truncateTo int64, now time.Time) (RecoverCommand, error) {
	if !m.active {
		return RecoverCommand{}, errors.New("blockmanagement: a standby does not recover blocks")
	}
	bi := m.blocks[id]
	if bi == nil {
		return RecoverCommand{}, fmt.Errorf("blockmanagement: recover block %d: not in the block map", id)
	}
	var nodes []*node
	seen := make(map[string]bool)
	addNode := func(n *node) {
		if n != nil && n.alive && !seen[n.id.UUID] {
			seen[n.id.UUID] = true
			nodes = append(nodes, n)
		}
	}
	for _, u := range bi.expected {
		addNode(m.nodes[u])
	}
	for _, u := range bi.sortedHolders() {
		if r := bi.replicas[u]; !r.corrupt {
			addNode(r.node)
		}
	}
	if len(nodes) == 0 {
		return RecoverCommand{}, ErrNoReplicas
	}
	tried := map[string]bool{}
	if bi.recovery != nil {
		tried = bi.recovery.tried
	}
	var primary *node
	for _, fresh := range []bool{true, false} {
		for _, n := range nodes {
			if fresh && tried[n.id.UUID] {
				continue
			}
			if primary == nil || n.lastUpdate.After(primary.lastUpdate) {
				primary = n
			}
		}
		if primary != nil {
			break
		}
	}
	tried[primary.id.UUID] = true
	bi.recovery = &recovery{id: recoveryID, primary: primary.id.UUID, started: now, tried: tried}
	cmd := RecoverCommand{Block: bi.Block, RecoveryID: recoveryID, Truncate: truncateTo >= 0, TruncateLength: max(truncateTo, 0)}
	for _, n := range nodes {
		sid := n.storageID()
		if r := bi.replicas[n.id.UUID]; r != nil && r.storageID != "" {
			sid = r.storageID
		}
		cmd.Locations = append(cmd.Locations, Target{Node: n.info(now, m.cfg.StaleInterval), StorageID: sid})
	}
	primary.recover = append(primary.recover, cmd)
	return cmd, nil
}

// SyncTarget is one node a recovered replica lives on.
type SyncTarget struct {
	UUID      string
	StorageID string
}

// CommitBlockSynchronization checks and applies the primary's answer to a
// recovery: the block must be recovering with recoveryID (the new
// generation stamp). Unless deleteBlock, the block takes the new
// generation stamp and length and its replicas are the targets; closeFile
// completes it. The namesystem logs the matching op and then calls
// PutBlock (or RemoveBlock).
func (m *Manager) CommitBlockSynchronization(old Block, recoveryID uint64, newLength int64, targets []SyncTarget, closeFile, deleteBlock bool, now time.Time) error {
	bi := m.blocks[old.ID]
	if bi == nil {
		return rpc.Errorf(rpc.ErrIO, "Block (=%s) not found", old)
	}
	if bi.recovery == nil || bi.recovery.id != recoveryID {
		cur := uint64(0)
		if bi.recovery != nil {
			cur = bi.recovery.id
		}
		return rpc.Errorf(rpc.ErrIO, "The recovery id %d does not match current recovery id %d for block %s", recoveryID, cur, old)
	}
	bi.recovery = nil
	if deleteBlock {
		return nil
	}
	bi.GenStamp = recoveryID
	bi.NumBytes = newLength
	bi.expected = bi.expected[:0]
	for _, u := range bi.sortedHolders() {
		if r := bi.replicas[u]; r.genStamp < recoveryID && !slices.ContainsFunc(targets, func(t SyncTarget) bool { return t.UUID == u }) {
			m.removeReplica(bi, r.node)
		}
	}
	for _, t := range targets {
		n := m.nodes[t.UUID]
		if n == nil || !n.alive {
			continue
		}
		bi.expected = append(bi.expected, t.UUID)
		m.addReplica(bi, n, t.StorageID, Replica{Block: Block{ID: bi.ID, GenStamp: recoveryID, NumBytes: newLength}, State: Finalized})
	}
	if closeFile {
		bi.complete = true
		bi.expected = nil
	}
	m.refresh(bi)
	m.safe.check(m, now)
	return nil
}
