package blockmanagement

import (
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/hdfsha/hdfsha/internal/rpc"
)

// ChooseRequest asks for targets of a new block.
type ChooseRequest struct {
	// Path names the file in the error text.
	Path string
	// Replicas is how many targets are wanted.
	Replicas int
	// Writer is the client's IP address or hostname: its node goes first
	// when it is a live DataNode.
	Writer string
	// Excluded are DataNode uuids the client could not use.
	Excluded []string
	// Favored are "host:port" transfer addresses the client prefers.
	Favored []string
	// BlockSize is the file's block size: a target needs that much space.
	BlockSize int64
}

// ChooseTargets places a new block (Hadoop's BlockPlacementPolicyDefault):
// favoured nodes that are good, then the writer's node, a node on another
// rack, a node on the second's rack, then any; random among good nodes
// (Config.Intn). A good node is alive, not stale, not excluded, has room
// for a block and is not busier than the load factor allows. Fewer than
// Replicas targets is fine; fewer than MinReplication fails with Hadoop's
// IOException text.
func (m *Manager) ChooseTargets(req ChooseRequest, now time.Time) ([]Target, error) {
	excluded := make(map[string]bool)
	for _, u := range req.Excluded {
		excluded[u] = true
	}
	var favored []*node
	for _, a := range req.Favored {
		if u, ok := m.byAddr[a]; ok {
			favored = append(favored, m.nodes[u])
			continue
		}
		for _, n := range m.sortedNodes() {
			if n.id.Hostname != "" && net.JoinHostPort(n.id.Hostname, strconv.Itoa(n.id.XferPort)) == a {
				favored = append(favored, n)
				break
			}
		}
	}
	var writer *node
	if req.Writer != "" {
		for _, n := range m.sortedNodes() {
			if n.id.IPAddr == req.Writer || n.id.Hostname == req.Writer {
				writer = n
				break
			}
		}
	}
	chosen := m.chooseTargets(req.Replicas, nil, excluded, writer, favored, req.BlockSize, now)
	if len(chosen) < min(m.cfg.MinReplication, max(req.Replicas, 1)) || len(chosen) == 0 {
		return nil, rpc.Errorf(rpc.ErrIO, "File %s could only be written to %d of the %d minReplication nodes. There are %d datanode(s) running and %d node(s) are excluded in this operation.",
			req.Path, len(chosen), m.cfg.MinReplication, m.NumLiveDatanodes(), len(req.Excluded))
	}
	out := make([]Target, len(chosen))
	for i, n := range chosen {
		out[i] = Target{Node: n.info(now, m.cfg.StaleInterval), StorageID: n.storageID()}
	}
	return out, nil
}

// chooseTargets picks up to want more nodes for a block whose replicas are
// already on existing (they count for rack spreading and are never picked
// again, nor is any node in excluded).
func (m *Manager) chooseTargets(want int, existing []*node, excluded map[string]bool, writer *node, favored []*node, blockSize int64, now time.Time) []*node {
	if want <= 0 {
		return nil
	}
	used := make(map[string]bool)
	for u, ok := range excluded {
		used[u] = ok
	}
	results := slices.Clone(existing)
	for _, n := range existing {
		used[n.id.UUID] = true
	}
	numRacks := m.NumRacks()
	total := len(existing) + want
	maxPerRack := total
	if numRacks > 1 {
		maxPerRack = (total-1)/numRacks + 2
	}
	perRack := make(map[string]int)
	for _, n := range results {
		perRack[n.location]++
	}
	avgLoad := m.avgLoad()
	good := func(n *node) bool {
		if n == nil || used[n.id.UUID] || !n.alive {
			return false
		}
		if m.cfg.StaleInterval > 0 && now.Sub(n.lastUpdate) > m.cfg.StaleInterval {
			return false
		}
		if n.stats.Remaining < blockSize {
			return false
		}
		if m.cfg.ConsiderLoad && avgLoad > 0 && float64(n.stats.XceiverCount) > m.cfg.ConsiderLoadFactor*avgLoad {
			return false
		}
		return perRack[n.location] < maxPerRack
	}
	var added []*node
	take := func(n *node) {
		used[n.id.UUID] = true
		perRack[n.location]++
		results = append(results, n)
		added = append(added, n)
	}
	for _, n := range favored {
		if len(added) < want && good(n) {
			take(n)
		}
	}
	all := m.sortedNodes()
	pick := func(ok func(*node) bool) *node {
		var cands []*node
		for _, n := range all {
			if good(n) && (ok == nil || ok(n)) {
				cands = append(cands, n)
			}
		}
		if len(cands) == 0 {
			return nil
		}
		i := 0
		if m.cfg.Intn != nil {
			i = m.cfg.Intn(len(cands))
		}
		return cands[i]
	}
	onRack := func(rack string) func(*node) bool { return func(n *node) bool { return n.location == rack } }
	offRack := func(rack string) func(*node) bool { return func(n *node) bool { return n.location != rack } }
	for len(added) < want {
		var n *node
		switch len(results) {
		case 0:
			if good(writer) {
				n = writer
			} else {
				n = pick(nil)
			}
		case 1:
			n = pick(offRack(results[0].location))
		case 2:
			if results[0].location == results[1].location {
				n = pick(offRack(results[0].location))
			} else {
				n = pick(onRack(results[1].location))
			}
		}
		if n == nil {
			n = pick(nil)
		}
		if n == nil {
			break
		}
		take(n)
	}
	return added
}

func (m *Manager) avgLoad() float64 {
	sum, k := 0, 0
	for _, n := range m.nodes {
		if n.alive {
			sum += n.stats.XceiverCount
			k++
		}
	}
	if k == 0 {
		return 0
	}
	return float64(sum) / float64(k)
}

// chooseExcess picks k of the live replicas to delete (Hadoop's
// chooseReplicasToDelete): from racks holding more than one replica
// first, and there the node silent longest if it is stale, else the one
// with the least remaining space.
func (m *Manager) chooseExcess(live []*replica, k int) []*replica {
	rest := slices.Clone(live)
	var out []*replica
	for range k {
		perRack := make(map[string]int)
		for _, r := range rest {
			perRack[r.node.location]++
		}
		var cands []*replica
		for _, r := range rest {
			if perRack[r.node.location] > 1 {
				cands = append(cands, r)
			}
		}
		if len(cands) == 0 {
			cands = rest
		}
		var best *replica
		for _, r := range cands {
			if best == nil || worse(r, best, m.cfg.StaleInterval) {
				best = r
			}
		}
		out = append(out, best)
		rest = slices.DeleteFunc(rest, func(r *replica) bool { return r == best })
	}
	return out
}

// worse reports whether a is a better deletion choice than b.
func worse(a, b *replica, stale time.Duration) bool {
	la, lb := a.node.lastUpdate, b.node.lastUpdate
	// Stale is relative: the older heartbeat by more than the stale
	// interval goes first.
	if stale > 0 && lb.Sub(la) > stale {
		return true
	}
	if stale > 0 && la.Sub(lb) > stale {
		return false
	}
	if a.node.stats.Remaining != b.node.stats.Remaining {
		return a.node.stats.Remaining < b.node.stats.Remaining
	}
	return a.node.id.UUID < b.node.id.UUID
}
