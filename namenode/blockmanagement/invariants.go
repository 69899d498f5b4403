package blockmanagement

import "fmt"

// checkInvariants recomputes every derived count from the block map and
// the nodes and reports the first disagreement. It walks everything, so
// tests call it, not the daemon.
func (m *Manager) checkInvariants() error {
	total, safe, corruptBlocks := 0, 0, 0
	for id, bi := range m.blocks {
		if bi.ID != id {
			return fmt.Errorf("block %d stored under id %d", bi.ID, id)
		}
		live := len(bi.liveReplicas())
		if bi.complete {
			total++
			if live >= m.cfg.MinReplication {
				safe++
			}
		}
		c := 0
		for u, r := range bi.replicas {
			if r.node.id.UUID != u {
				return fmt.Errorf("block %d: replica keyed %s is on %s", id, u, r.node.id.UUID)
			}
			if _, ok := r.node.blocks[id]; !ok {
				return fmt.Errorf("block %d: node %s does not list it", id, u)
			}
			if r.corrupt {
				c++
			}
		}
		if (c > 0) != bi.hasCorrupt {
			return fmt.Errorf("block %d: %d corrupt replicas, hasCorrupt %v", id, c, bi.hasCorrupt)
		}
		if bi.hasCorrupt {
			corruptBlocks++
		}
		want := -1
		if bi.complete && live < bi.replication {
			p := 0
			if pr := m.pending[id]; pr != nil {
				p = len(pr.targets)
			}
			if live+p < bi.replication {
				want = priority(live, bi.replication)
			}
		}
		if bi.queue != want {
			return fmt.Errorf("block %d: live %d of %d in queue %d, want %d", id, live, bi.replication, bi.queue, want)
		}
		if m.active && bi.complete && live > bi.replication {
			return fmt.Errorf("block %d: %d live replicas of %d and no excess chosen", id, live, bi.replication)
		}
		for _, r := range bi.replicas {
			if r.excess && !m.active {
				return fmt.Errorf("block %d: a standby chose an excess replica on %s", id, r.node.id.UUID)
			}
		}
		for q := range m.needed {
			_, in := m.needed[q][id]
			if in != (bi.queue == q) {
				return fmt.Errorf("block %d: queue %d membership %v, bi.queue %d", id, q, in, bi.queue)
			}
		}
	}
	for u, n := range m.nodes {
		for id := range n.blocks {
			bi := m.blocks[id]
			if bi == nil || bi.replicas[u] == nil {
				return fmt.Errorf("node %s lists block %d the map does not give it", u, id)
			}
		}
		if !m.active && (len(n.invalidate) > 0 || len(n.transfers) > 0 || len(n.recover) > 0) {
			return fmt.Errorf("standby holds commands for %s", u)
		}
		if len(n.invSet) != len(n.invalidate) {
			return fmt.Errorf("node %s: %d invalidations, set of %d", u, len(n.invalidate), len(n.invSet))
		}
	}
	for q := range m.needed {
		for id := range m.needed[q] {
			if m.blocks[id] == nil {
				return fmt.Errorf("queue %d holds unknown block %d", q, id)
			}
		}
	}
	if !m.active && len(m.pending) > 0 {
		return fmt.Errorf("standby with %d scheduled copies", len(m.pending))
	}
	if total != m.safe.total || safe != m.safe.safeBlocks {
		return fmt.Errorf("safe mode counts %d/%d, recomputed %d/%d", m.safe.safeBlocks, m.safe.total, safe, total)
	}
	if corruptBlocks != m.corruptBlocks {
		return fmt.Errorf("corrupt blocks %d, recomputed %d", m.corruptBlocks, corruptBlocks)
	}
	n := 0
	for _, msgs := range m.pendingMsgs {
		n += len(msgs)
	}
	if n != m.pendingCount {
		return fmt.Errorf("pending messages %d, counted %d", n, m.pendingCount)
	}
	if m.active && m.pendingCount != 0 {
		return fmt.Errorf("active with %d queued reports", m.pendingCount)
	}
	return nil
}
