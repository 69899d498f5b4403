package elector

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/zkfc/hasvc"
	"github.com/hdfsha/hdfsha/zkfc/health"
)

// fakeZK is a tiny in-memory ZooKeeper: znodes with ephemeral owners,
// versions and one-shot exists watches.
type fakeZK struct {
	nodes    map[string]*znode
	alive    map[uint64]bool // global session id -> alive
	watches  map[string][]watchReg
	nextSess uint64
}

type znode struct {
	data    []byte
	version int32
	owner   uint64 // 0: persistent
}

type watchReg struct {
	node    int
	session uint64 // the node's local session number
	global  uint64
}

func newFakeZK() *fakeZK {
	return &fakeZK{nodes: map[string]*znode{}, alive: map[uint64]bool{}, watches: map[string][]watchReg{}}
}

// model drives several electors against one fakeZK and fake NameNodes,
// executing each action as it is returned and queueing the answers, which
// a seeded random schedule then delivers in random interleavings.
type model struct {
	t   *testing.T
	rnd *rand.Rand
	zk  *fakeZK
	ns  []*mnode
	// failure knobs, changed by the schedule
	gracefulOK, methodsOK, activeOK float64
	trace                           []string
}

type mnode struct {
	id       int
	info     NodeInfo
	e        *Elector
	sessions map[uint64]uint64 // local session -> global
	conn     bool
	zkQ, nnQ []Event
	nnActive bool
}

func newModel(t *testing.T, seed int64, n int) *model {
	m := &model{t: t, rnd: rand.New(rand.NewSource(seed)), zk: newFakeZK(), gracefulOK: 1, methodsOK: 1, activeOK: 1}
	for i := 0; i < n; i++ {
		info := NodeInfo{Nameservice: "mycluster", NameNode: fmt.Sprintf("nn%d", i+1), Host: fmt.Sprintf("127.0.0.%d", i+1), Port: 8020, ZKFCPort: 8019}
		cfg := DefaultConfig(info)
		cfg.TickInterval = 100 * time.Millisecond
		e, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m.ns = append(m.ns, &mnode{id: i, info: info, e: e, sessions: map[uint64]uint64{}, conn: true})
	}
	return m
}

func (m *model) fail(format string, args ...any) {
	m.t.Helper()
	tail := m.trace
	if len(tail) > 60 {
		tail = tail[len(tail)-60:]
	}
	m.t.Fatalf("%s\nlast steps:\n%s", fmt.Sprintf(format, args...), strings.Join(tail, "\n"))
}

func (m *model) chance(p float64) bool { return m.rnd.Float64() < p }

// step delivers ev to node n and executes the actions at once.
func (m *model) step(n *mnode, ev Event) {
	m.trace = append(m.trace, fmt.Sprintf("nn%d <- %T%+v", n.id+1, ev, ev))
	if len(m.trace) > 200000 {
		m.fail("runaway schedule")
	}
	for _, a := range n.e.Step(ev) {
		if a.Kind != Log {
			m.trace = append(m.trace, fmt.Sprintf("   nn%d: %s", n.id+1, a))
		}
		m.exec(n, a)
	}
	m.check()
}

func (m *model) global(n *mnode, local uint64) (uint64, bool) {
	g, ok := n.sessions[local]
	return g, ok && m.zk.alive[g]
}

// zkCode is what an operation in session local meets before it runs.
func (m *model) zkCode(n *mnode, local uint64) (uint64, Code) {
	g, alive := m.global(n, local)
	switch {
	case !alive:
		return g, CodeSessionExpired
	case !n.conn:
		return g, CodeConnectionLoss
	}
	return g, CodeOK
}

func (m *model) fire(path string, deleted bool) {
	regs := m.zk.watches[path]
	delete(m.zk.watches, path)
	for _, w := range regs {
		if m.zk.alive[w.global] {
			n := m.ns[w.node]
			n.zkQ = append(n.zkQ, LockChanged{Session: w.session, Deleted: deleted})
		}
	}
}

func (m *model) killSession(g uint64) {
	if !m.zk.alive[g] {
		return
	}
	m.zk.alive[g] = false
	for p, z := range m.zk.nodes {
		if z.owner == g {
			delete(m.zk.nodes, p)
			m.fire(p, true)
		}
	}
}

func (m *model) byNode(info NodeInfo) *mnode {
	for _, n := range m.ns {
		if n.info.SameNode(info) {
			return n
		}
	}
	m.fail("fencing unknown node %v", info)
	return nil
}

func (m *model) exec(n *mnode, a Action) {
	zk := m.zk
	switch a.Kind {
	case OpenSession:
		zk.nextSess++
		n.sessions[a.Session] = zk.nextSess
		zk.alive[zk.nextSess] = true
		if n.conn {
			n.zkQ = append(n.zkQ, SessionConnected{a.Session})
		}
	case CloseSession:
		if g, ok := n.sessions[a.Session]; ok {
			m.killSession(g)
		}
	case CreateLock:
		g, c := m.zkCode(n, a.Session)
		if c == CodeOK {
			if _, ok := zk.nodes[a.Path]; ok {
				c = CodeNodeExists
			} else {
				zk.nodes[a.Path] = &znode{data: a.Data, owner: g}
				m.fire(a.Path, false)
			}
		}
		n.zkQ = append(n.zkQ, CreateLockResult{Seq: a.Seq, Code: c})
	case WatchLock:
		g, c := m.zkCode(n, a.Session)
		mine := false
		if c == CodeOK {
			zk.watches[a.Path] = append(zk.watches[a.Path], watchReg{node: n.id, session: a.Session, global: g})
			if z, ok := zk.nodes[a.Path]; ok {
				mine = z.owner == g
			} else {
				c = CodeNoNode
			}
		}
		n.zkQ = append(n.zkQ, WatchLockResult{Seq: a.Seq, Code: c, Mine: mine})
	case GetBreadcrumb:
		_, c := m.zkCode(n, a.Session)
		r := BreadcrumbResult{Seq: a.Seq, Code: c}
		if c == CodeOK {
			if z, ok := zk.nodes[a.Path]; ok {
				r.Data, r.Version = z.data, z.version
			} else {
				r.Code = CodeNoNode
			}
		}
		n.zkQ = append(n.zkQ, r)
	case WriteBreadcrumb:
		_, c := m.zkCode(n, a.Session)
		if c == CodeOK {
			z, ok := zk.nodes[a.Path]
			switch {
			case a.Version < 0 && ok:
				c = CodeNodeExists
			case a.Version < 0:
				zk.nodes[a.Path] = &znode{data: a.Data}
			case !ok:
				c = CodeNoNode
			case z.version != a.Version:
				c = CodeBadVersion
			default:
				z.data, z.version = a.Data, z.version+1
			}
		}
		n.zkQ = append(n.zkQ, WriteBreadcrumbResult{Seq: a.Seq, Code: c})
	case DeleteBreadcrumb:
		if _, c := m.zkCode(n, a.Session); c == CodeOK {
			if z, ok := zk.nodes[a.Path]; ok && bytes.Equal(z.data, a.Data) {
				delete(zk.nodes, a.Path)
			}
		}
	case GracefulFence, RunFencingMethods:
		var err error
		p := m.gracefulOK
		if a.Kind == RunFencingMethods {
			p = m.methodsOK
		}
		if m.chance(p) {
			m.byNode(a.Node).nnActive = false
		} else {
			err = errors.New("fencing failed")
		}
		n.nnQ = append(n.nnQ, FenceResult{Seq: a.Seq, Err: err})
	case BecomeActive:
		// The elector asks for this only while it holds the lock and the
		// breadcrumb names it.
		lock, ok := zk.nodes[n.e.cfg.LockPath()]
		g, alive := m.global(n, n.e.session)
		if !ok || !alive || lock.owner != g {
			m.fail("nn%d made active without holding the lock", n.id+1)
		}
		if crumb, ok := zk.nodes[n.e.cfg.BreadcrumbPath()]; !ok || !bytes.Equal(crumb.data, n.info.Marshal()) {
			m.fail("nn%d made active before its breadcrumb was written", n.id+1)
		}
		var err error
		if m.chance(m.activeOK) {
			n.nnActive = true
		} else {
			err = errors.New("transition failed")
		}
		n.nnQ = append(n.nnQ, TransitionResult{Seq: a.Seq, Err: err})
	case BecomeStandby:
		n.nnActive = false
		n.nnQ = append(n.nnQ, TransitionResult{Seq: a.Seq})
	case Fatal:
		m.fail("nn%d: fatal: %s", n.id+1, a.Msg)
	}
}

// check holds after every step: never two active NameNodes, at most one
// elector that believes it is active, and that one holds the lock.
func (m *model) check() {
	m.t.Helper()
	active, believers := 0, 0
	for _, n := range m.ns {
		if n.nnActive {
			active++
		}
		if n.e.Status().Role == RoleActive {
			believers++
			lock, ok := m.zk.nodes[n.e.cfg.LockPath()]
			g, alive := m.global(n, n.e.session)
			if !ok || !alive || lock.owner != g {
				m.fail("nn%d believes it is active without holding the lock", n.id+1)
			}
		}
	}
	if active > 1 {
		m.fail("%d NameNodes active at once", active)
	}
	if believers > 1 {
		m.fail("%d electors believe they are active", believers)
	}
}

var healths = []health.State{health.ServiceHealthy, health.ServiceHealthy, health.ServiceHealthy,
	health.ServiceUnhealthy, health.ServiceNotResponding}

// randomStep takes one random step of the schedule.
func (m *model) randomStep() {
	n := m.ns[m.rnd.Intn(len(m.ns))]
	switch r := m.rnd.Intn(100); {
	case r < 35 && len(n.zkQ) > 0:
		ev := n.zkQ[0]
		n.zkQ = n.zkQ[1:]
		m.step(n, ev)
	case r < 55 && len(n.nnQ) > 0:
		ev := n.nnQ[0]
		n.nnQ = n.nnQ[1:]
		m.step(n, ev)
	case r < 75:
		m.step(n, Tick{})
	case r < 80:
		m.step(n, HealthChanged{healths[m.rnd.Intn(len(healths))]})
	case r < 83:
		// The servers expire the session; the client learns it at once.
		if g, alive := m.global(n, n.e.session); alive {
			m.trace = append(m.trace, fmt.Sprintf("expire nn%d session %d", n.id+1, n.e.session))
			m.killSession(g)
			n.zkQ = nil
			m.step(n, SessionExpired{n.e.session})
		}
	case r < 85:
		// The ZKFC dies (kill -9) and restarts; its NameNode keeps running
		// in whatever state it was: only fencing protects the next active.
		m.trace = append(m.trace, fmt.Sprintf("crash ZKFC nn%d", n.id+1))
		for _, g := range n.sessions {
			m.killSession(g)
		}
		e, err := New(n.e.cfg)
		if err != nil {
			m.t.Fatal(err)
		}
		n.e, n.sessions, n.zkQ, n.nnQ, n.conn = e, map[uint64]uint64{}, nil, nil, true
	case r < 87:
		n.conn = !n.conn
		if s := n.e.session; s != 0 {
			if n.conn {
				n.zkQ = append(n.zkQ, SessionConnected{s})
			} else {
				n.zkQ = append(n.zkQ, SessionDisconnected{s})
			}
		}
	case r < 88:
		m.step(n, CedeActive{Millis: int64(m.rnd.Intn(3000) - 500)})
	case r < 90:
		st := hasvc.StateStandby
		if n.nnActive {
			st = hasvc.StateActive
		}
		m.step(n, ServiceStatus{st})
	case r < 93:
		probs := []float64{0, 0.5, 1}
		m.gracefulOK = probs[m.rnd.Intn(3)]
		m.methodsOK = probs[m.rnd.Intn(3)]
		m.activeOK = []float64{0.7, 1}[m.rnd.Intn(2)]
	}
}

// settle heals everything and runs until some node is active.
func (m *model) settle() {
	m.gracefulOK, m.methodsOK, m.activeOK = 1, 1, 1
	for _, n := range m.ns {
		if !n.conn {
			n.conn = true
			if s := n.e.session; s != 0 {
				n.zkQ = append(n.zkQ, SessionConnected{s})
			}
		}
		m.step(n, HealthChanged{health.ServiceHealthy})
	}
	for round := 0; round < 2000; round++ {
		for _, n := range m.ns {
			for len(n.zkQ) > 0 || len(n.nnQ) > 0 {
				if len(n.zkQ) > 0 && (len(n.nnQ) == 0 || m.rnd.Intn(2) == 0) {
					ev := n.zkQ[0]
					n.zkQ = n.zkQ[1:]
					m.step(n, ev)
				} else {
					ev := n.nnQ[0]
					n.nnQ = n.nnQ[1:]
					m.step(n, ev)
				}
			}
			m.step(n, Tick{})
		}
		active := 0
		var holder *mnode
		for _, n := range m.ns {
			if n.nnActive && n.e.Status().Role == RoleActive {
				active++
				holder = n
			}
		}
		if active == 1 {
			for _, n := range m.ns {
				if n != holder && n.e.Status().Role == RoleActive {
					m.fail("two electors active")
				}
			}
			return
		}
	}
	m.fail("no NameNode became active after healing")
}

func TestModelRandomSchedules(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 50
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		m := newModel(t, seed, 2+int(seed%2))
		for i := 0; i < 400; i++ {
			m.randomStep()
		}
		m.settle()
	}
}
