package zkfcrpc

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

func target(id, addr string) hasvc.Target {
	return hasvc.Target{Nameservice: "mycluster", NameNodeID: id, Address: addr, ZKFCAddress: addr + "9"}
}

var (
	nn1 = target("nn1", "10.0.0.1:8020")
	nn2 = target("nn2", "10.0.0.2:8020")
	nn3 = target("nn3", "10.0.0.3:8020")
)

// fakeLocal scripts the local ZKFC and records, with the peers, every call
// in order.
type fakeLocal struct {
	self      hasvc.Target
	others    []hasvc.Target
	healthy   []bool // successive Healthy answers; the last one repeats
	observer  bool
	active    *hasvc.Target
	activeErr error
	attempt   *ActiveAttempt
	waitErr   error
	peerErr   map[string]error // by ZKFC address, for cedeActive(>0)
	rejoinErr error

	calls []string
}

func (f *fakeLocal) Target() hasvc.Target { return f.self }
func (f *fakeLocal) Healthy() bool {
	f.calls = append(f.calls, "healthy")
	h := f.healthy[0]
	if len(f.healthy) > 1 {
		f.healthy = f.healthy[1:]
	}
	return h
}
func (f *fakeLocal) Observer() bool { return f.observer }
func (f *fakeLocal) CurrentActive(context.Context) (hasvc.Target, bool, error) {
	f.calls = append(f.calls, "currentActive")
	if f.active == nil {
		return hasvc.Target{}, false, f.activeErr
	}
	return *f.active, true, f.activeErr
}
func (f *fakeLocal) Others() []hasvc.Target { return f.others }
func (f *fakeLocal) AttemptMark() uint64    { f.calls = append(f.calls, "mark"); return 7 }
func (f *fakeLocal) WaitForActiveAttempt(_ context.Context, mark uint64, d time.Duration) (*ActiveAttempt, error) {
	f.calls = append(f.calls, "wait "+d.String())
	if mark != 7 {
		return nil, errors.New("wrong mark")
	}
	return f.attempt, f.waitErr
}

type fakePeer struct {
	f    *fakeLocal
	addr string
}

func (p fakePeer) CedeActive(ctx context.Context, millis int) error {
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("cedeActive without a deadline")
	}
	p.f.calls = append(p.f.calls, "cede "+p.addr+" "+itoa(millis))
	if millis > 0 {
		return p.f.peerErr[p.addr]
	}
	return p.f.rejoinErr
}

func itoa(n int) string { return strconv.Itoa(n) }

func (f *fakeLocal) run() error {
	g := &Graceful{
		Local:                f,
		Peer:                 func(t hasvc.Target) Peer { return fakePeer{f, t.ZKFCAddress} },
		GracefulFenceTimeout: 5 * time.Second,
	}
	return g.Run(context.Background())
}

func newFake() *fakeLocal {
	active := nn1
	return &fakeLocal{
		self: nn2, others: []hasvc.Target{nn1}, healthy: []bool{true}, active: &active,
		attempt: &ActiveAttempt{Succeeded: true, Status: "Successfully transitioned NameNode at /10.0.0.2:8020 to active state"},
	}
}

func wantServiceFailed(t *testing.T, err error, msg string) {
	t.Helper()
	var re *rpc.RemoteError
	if !errors.As(err, &re) || !errors.Is(err, rpc.ErrServiceFailed) || re.Message != msg {
		t.Fatalf("err %v, want ServiceFailedException %q", err, msg)
	}
}

func (f *fakeLocal) wantCalls(t *testing.T, want ...string) {
	t.Helper()
	if !reflect.DeepEqual(f.calls, want) {
		t.Fatalf("calls %q\nwant  %q", f.calls, want)
	}
}

func TestGracefulSuccess(t *testing.T) {
	f := newFake()
	if err := f.run(); err != nil {
		t.Fatal(err)
	}
	// The active cedes for twice the graceful-fence timeout; the wait adds
	// Hadoop's minute; the active then may rejoin.
	f.wantCalls(t, "healthy", "currentActive", "mark", "cede 10.0.0.1:80209 10000", "wait 1m10s", "cede 10.0.0.1:80209 -1")
}

func TestGracefulThreeNodesActiveCedesLast(t *testing.T) {
	f := newFake()
	f.others = []hasvc.Target{nn1, nn3}
	if err := f.run(); err != nil {
		t.Fatal(err)
	}
	f.wantCalls(t, "healthy", "currentActive", "mark",
		"cede 10.0.0.3:80209 10000", "cede 10.0.0.1:80209 10000", "wait 1m10s",
		"cede 10.0.0.3:80209 -1", "cede 10.0.0.1:80209 -1")
}

func TestGracefulNotHealthy(t *testing.T) {
	f := newFake()
	f.healthy = []bool{false}
	wantServiceFailed(t, f.run(), "NameNode at /10.0.0.2:8020 is not currently healthy. Cannot be failover target")
	f.wantCalls(t, "healthy")
}

func TestGracefulObserver(t *testing.T) {
	f := newFake()
	f.observer = true
	wantServiceFailed(t, f.run(), "NameNode at /10.0.0.2:8020 is in observer state. Cannot be failover target")
	f.wantCalls(t, "healthy")
}

func TestGracefulNoActive(t *testing.T) {
	f := newFake()
	f.active = nil
	wantServiceFailed(t, f.run(), "No other node is currently active.")
	f.wantCalls(t, "healthy", "currentActive")
}

func TestGracefulZooKeeperError(t *testing.T) {
	f := newFake()
	zkErr := errors.New("zk: connection closed")
	f.active, f.activeErr = nil, zkErr
	err := f.run()
	if !errors.Is(err, zkErr) || !strings.HasPrefix(err.Error(), "Unexpected ZooKeeper issue fetching active node info") {
		t.Fatalf("err %v", err)
	}
	if rpc.ClassOf(err) != "java.io.IOException" {
		t.Fatalf("class %s", rpc.ClassOf(err))
	}
}

func TestGracefulAlreadyActive(t *testing.T) {
	f := newFake()
	self := nn2
	f.active = &self
	if err := f.run(); err != nil {
		t.Fatal(err)
	}
	f.wantCalls(t, "healthy", "currentActive")
}

func TestGracefulSameNodeByIP(t *testing.T) {
	a := hasvc.Target{Address: "nn2.example.com:8020", IP: "10.0.0.2"}
	b := hasvc.Target{Address: "10.0.0.2:8020", IP: "10.0.0.2"}
	if !sameNode(a, b) || sameNode(a, hasvc.Target{Address: "10.0.0.2:8021", IP: "10.0.0.2"}) || sameNode(a, nn1) {
		t.Fatal("sameNode")
	}
}

func TestGracefulUnknownActive(t *testing.T) {
	f := newFake()
	f.active = &nn3 // not among Others
	if err := f.run(); !errors.Is(err, ErrUnknownActive) {
		t.Fatalf("err %v", err)
	}
	// Checked before any ZKFC is asked to cede.
	f.wantCalls(t, "healthy", "currentActive")
}

func TestGracefulCedeFails(t *testing.T) {
	f := newFake()
	denied := rpc.Errorf(rpc.ErrAccessControl, "Disallowed RPC access from bob (auth:SIMPLE) at 10.0.0.2. Not listed in dfs.cluster.administrators")
	f.peerErr = map[string]error{"10.0.0.1:80209": denied}
	if err := f.run(); err != denied {
		t.Fatalf("err %v", err)
	}
	// Nothing waits for an election the active never left.
	f.wantCalls(t, "healthy", "currentActive", "mark", "cede 10.0.0.1:80209 10000")
}

func TestGracefulNoAttemptUnhealthy(t *testing.T) {
	f := newFake()
	f.attempt = nil
	f.healthy = []bool{true, false}
	wantServiceFailed(t, f.run(), "Unable to become active. Service became unhealthy while trying to failover.")
	// The ceded ZKFC is not told to rejoin: it does so when its period ends.
	f.wantCalls(t, "healthy", "currentActive", "mark", "cede 10.0.0.1:80209 10000", "wait 1m10s", "healthy")
}

func TestGracefulNoAttemptTimeout(t *testing.T) {
	f := newFake()
	f.attempt = nil
	wantServiceFailed(t, f.run(), "Unable to become active. Local node did not get an opportunity to do so from ZooKeeper, "+
		"or the local node took too long to transition to active.")
}

func TestGracefulAttemptFailed(t *testing.T) {
	f := newFake()
	f.attempt = &ActiveAttempt{Status: "Couldn't make NameNode at /10.0.0.2:8020 active\ninjected failure"}
	wantServiceFailed(t, f.run(), "Failed to become active. Couldn't make NameNode at /10.0.0.2:8020 active\ninjected failure")
	// The old active may rejoin even so: it is the one to fail back to.
	f.wantCalls(t, "healthy", "currentActive", "mark", "cede 10.0.0.1:80209 10000", "wait 1m10s", "cede 10.0.0.1:80209 -1")
}

func TestGracefulRejoinFails(t *testing.T) {
	f := newFake()
	f.rejoinErr = errors.New("connection refused")
	if err := f.run(); err == nil || err.Error() != "connection refused" {
		t.Fatalf("err %v", err)
	}
}

func TestGracefulWaitCancelled(t *testing.T) {
	f := newFake()
	f.attempt, f.waitErr = nil, context.Canceled
	if err := f.run(); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}
