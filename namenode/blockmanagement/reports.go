package blockmanagement

import (
	"fmt"
	"time"
)

// pendingMsg is a report a standby received before the edit that makes it
// meaningful.
type pendingMsg struct {
	uuid      string
	storageID string
	replica   Replica
	deleted   bool
}

// PendingMessages is the number of queued reports (Hadoop's
// PendingDataNodeMessageCount).
func (m *Manager) PendingMessages() int { return m.pendingCount }

func (m *Manager) queueMsg(msg pendingMsg) {
	m.pendingMsgs[msg.replica.ID] = append(m.pendingMsgs[msg.replica.ID], msg)
	m.pendingCount++
}

// takeMsgs removes and returns the reports queued for block id.
func (m *Manager) takeMsgs(id uint64) []pendingMsg {
	msgs := m.pendingMsgs[id]
	if len(msgs) > 0 {
		delete(m.pendingMsgs, id)
		m.pendingCount -= len(msgs)
	}
	return msgs
}

// replayMsgs applies the reports queued for block id.
func (m *Manager) replayMsgs(id uint64) {
	for _, msg := range m.takeMsgs(id) {
		m.applyMsg(msg)
	}
}

func (m *Manager) applyMsg(msg pendingMsg) {
	n := m.nodes[msg.uuid]
	if n == nil || !n.alive {
		return
	}
	if msg.deleted {
		m.processDeleted(n, msg.replica.Block)
		return
	}
	m.processReported(n, msg.storageID, msg.replica)
}

// corruptReason says why a reported replica cannot be a good copy of the
// block as the namespace knows it, or "" (Hadoop's checkReplicaCorrupt,
// smaller).
func (bi *blockInfo) corruptReason(r Replica) string {
	if bi.complete {
		switch r.State {
		case Finalized:
			if r.GenStamp != bi.GenStamp {
				return fmt.Sprintf("block is COMPLETE and reported genstamp %d does not match genstamp in block map %d", r.GenStamp, bi.GenStamp)
			}
			if r.NumBytes != bi.NumBytes {
				return fmt.Sprintf("block is COMPLETE and reported length %d does not match length in block map %d", r.NumBytes, bi.NumBytes)
			}
		case RBW:
			if r.GenStamp != bi.GenStamp {
				return fmt.Sprintf("block is COMPLETE and reported RBW replica with genstamp %d does not match genstamp in block map %d", r.GenStamp, bi.GenStamp)
			}
		default:
			return fmt.Sprintf("reported replica has invalid state %d", r.State)
		}
		return ""
	}
	if r.GenStamp < bi.GenStamp {
		return fmt.Sprintf("block is UNDER_CONSTRUCTION and reported genstamp %d is older than genstamp in block map %d", r.GenStamp, bi.GenStamp)
	}
	return ""
}

// processReported applies one reported replica of n.
func (m *Manager) processReported(n *node, storageID string, r Replica) {
	bi := m.blocks[r.ID]
	if !m.active && (bi == nil || r.GenStamp > bi.GenStamp) {
		// The edit that explains this replica has not been read yet.
		m.queueMsg(pendingMsg{uuid: n.id.UUID, storageID: storageID, replica: r})
		return
	}
	if bi == nil {
		// Not in the namespace: the file was deleted. Delete the replica.
		m.invalidate(n, r.Block)
		return
	}
	if _, ok := n.invSet[r.ID]; ok {
		// Already being deleted there (excess or corrupt): the node does
		// not know yet.
		return
	}
	if reason := bi.corruptReason(r); reason != "" {
		rep := m.addReplica(bi, n, storageID, r)
		m.setCorrupt(bi, rep)
		m.refresh(bi)
		return
	}
	if bi.complete && r.State != Finalized {
		// A same-generation replica still being written: it will report
		// again when finalized.
		return
	}
	if old := bi.replicas[n.id.UUID]; old != nil && !old.corrupt && old.genStamp == r.GenStamp && old.numBytes == r.NumBytes &&
		old.state == r.State && (storageID == "" || old.storageID == storageID) && m.pending[bi.ID] == nil {
		// Nothing new (the steady state of a full report).
		return
	}
	rep := m.addReplica(bi, n, storageID, r)
	if r.State == Finalized {
		rep.excess = rep.excess && bi.complete
		if p := m.pending[bi.ID]; p != nil {
			p.remove(n.id.UUID)
			if len(p.targets) == 0 {
				delete(m.pending, bi.ID)
			}
		}
	}
	m.refresh(bi)
}

func (m *Manager) processDeleted(n *node, b Block) {
	if n.invSet != nil {
		if _, ok := n.invSet[b.ID]; ok {
			delete(n.invSet, b.ID)
			for i, x := range n.invalidate {
				if x.ID == b.ID {
					n.invalidate = append(n.invalidate[:i:i], n.invalidate[i+1:]...)
					break
				}
			}
		}
	}
	bi := m.blocks[b.ID]
	if bi == nil {
		return
	}
	m.removeReplica(bi, n)
	m.refresh(bi)
}

func (m *Manager) liveNode(uuid string) (*node, error) {
	n := m.nodes[uuid]
	if n == nil || !n.alive {
		return nil, ErrUnregistered
	}
	return n, nil
}

// BlockReport applies a full block report of one storage of a node: every
// listed replica is recorded (or marked corrupt, or, for a block the
// namespace does not have, scheduled for deletion), and replicas the map
// had for that storage but the report leaves out are forgotten.
func (m *Manager) BlockReport(uuid, storageID string, replicas []Replica, now time.Time) error {
	n, err := m.liveNode(uuid)
	if err != nil {
		return err
	}
	n.storages[storageID] = struct{}{}
	listed := make(map[uint64]struct{}, len(replicas))
	for _, r := range replicas {
		listed[r.ID] = struct{}{}
		m.processReported(n, storageID, r)
	}
	for id := range n.blocks {
		bi := m.blocks[id]
		if bi == nil {
			continue
		}
		rep := bi.replicas[uuid]
		if rep == nil || (rep.storageID != storageID && rep.storageID != "") {
			continue
		}
		if _, ok := listed[id]; !ok {
			m.removeReplica(bi, n)
			m.refresh(bi)
		}
	}
	m.safe.check(m, now)
	return nil
}

// IncrementalReport applies an incremental block report (blocks being
// received, received, deleted) of one storage.
func (m *Manager) IncrementalReport(uuid, storageID string, entries []ReceivedDeleted, now time.Time) error {
	n, err := m.liveNode(uuid)
	if err != nil {
		return err
	}
	if storageID != "" {
		n.storages[storageID] = struct{}{}
	}
	for _, e := range entries {
		switch e.Status {
		case Receiving:
			m.processReported(n, storageID, Replica{Block: e.Block, State: RBW})
		case Received:
			m.processReported(n, storageID, Replica{Block: e.Block, State: Finalized})
		case Deleted:
			if bi := m.blocks[e.ID]; bi == nil && !m.active {
				m.queueMsg(pendingMsg{uuid: uuid, storageID: storageID, replica: Replica{Block: e.Block}, deleted: true})
				continue
			}
			m.processDeleted(n, e.Block)
		default:
			return fmt.Errorf("blockmanagement: incremental report from %s: unknown status %d for %s", n.id.XferAddr(), e.Status, e.Block)
		}
	}
	m.safe.check(m, now)
	return nil
}

// ReportBadBlock marks the replica of b on the node uuid corrupt
// (reportBadBlocks from a DataNode or a client). It is ignored for a block
// the namespace does not have or a node the manager does not know.
func (m *Manager) ReportBadBlock(uuid, storageID string, b Block, now time.Time) {
	n := m.nodes[uuid]
	bi := m.blocks[b.ID]
	if n == nil || !n.alive || bi == nil {
		return
	}
	rep := bi.replicas[uuid]
	if rep == nil {
		rep = m.addReplica(bi, n, storageID, Replica{Block: b, State: Finalized})
	}
	m.setCorrupt(bi, rep)
	m.refresh(bi)
	m.safe.check(m, now)
}
