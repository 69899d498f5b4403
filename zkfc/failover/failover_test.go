package failover

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// fakeService is an in-memory HA service that records the calls it gets
// into a shared journal.
type fakeService struct {
	name    string
	journal *[]string

	state       hasvc.State
	notReady    string // non-empty: not ready, with this reason
	statusErr   error
	healthErr   error
	toActiveErr error
	toStdbyErr  error
}

func (f *fakeService) log(format string, a ...any) {
	*f.journal = append(*f.journal, f.name+" "+fmt.Sprintf(format, a...))
}

func (f *fakeService) MonitorHealth(context.Context) error {
	f.log("monitorHealth")
	return f.healthErr
}

func (f *fakeService) GetServiceStatus(context.Context) (hasvc.Status, error) {
	f.log("getServiceStatus")
	if f.statusErr != nil {
		return hasvc.Status{}, f.statusErr
	}
	return hasvc.Status{State: f.state, ReadyToBecomeActive: f.notReady == "", NotReadyReason: f.notReady}, nil
}

func (f *fakeService) TransitionToActive(_ context.Context, src hasvc.RequestSource) error {
	f.log("transitionToActive %s", src)
	if f.toActiveErr != nil {
		return f.toActiveErr
	}
	f.state = hasvc.StateActive
	return nil
}

func (f *fakeService) TransitionToStandby(_ context.Context, src hasvc.RequestSource) error {
	f.log("transitionToStandby %s", src)
	if f.toStdbyErr != nil {
		return f.toStdbyErr
	}
	f.state = hasvc.StateStandby
	return nil
}

type fakeFencer struct {
	name    string
	journal *[]string
	ok      bool
}

func (f *fakeFencer) Fence(_ context.Context, t hasvc.Target) bool {
	*f.journal = append(*f.journal, f.name+" fence "+t.NameNodeID)
	return f.ok
}

type pair struct {
	journal  []string
	nn1, nn2 *fakeService
	f1, f2   *fakeFencer
}

func newPair() *pair {
	p := &pair{}
	p.nn1 = &fakeService{name: "nn1", journal: &p.journal, state: hasvc.StateActive}
	p.nn2 = &fakeService{name: "nn2", journal: &p.journal, state: hasvc.StateStandby}
	p.f1 = &fakeFencer{name: "fencer1", journal: &p.journal, ok: true}
	p.f2 = &fakeFencer{name: "fencer2", journal: &p.journal, ok: true}
	return p
}

func target(id, addr string) hasvc.Target {
	return hasvc.Target{Nameservice: "ns", NameNodeID: id, Address: addr, IP: "127.0.0.1"}
}

func (p *pair) nodes() (Node, Node) {
	return Node{Target: target("nn1", "127.0.0.1:8020"), Service: p.nn1, Fencer: p.f1},
		Node{Target: target("nn2", "127.0.0.1:8021"), Service: p.nn2, Fencer: p.f2}
}

func (p *pair) failover(t *testing.T, forceFence, forceActive bool) error {
	t.Helper()
	from, to := p.nodes()
	return New(DefaultConfig()).Failover(t.Context(), from, to, forceFence, forceActive)
}

func wantJournal(t *testing.T, p *pair, want ...string) {
	t.Helper()
	if !reflect.DeepEqual(p.journal, want) {
		t.Fatalf("calls:\n%q\nwant\n%q", p.journal, want)
	}
}

func wantFailed(t *testing.T, err error, msg string) {
	t.Helper()
	var fe *FailedError
	if !errors.As(err, &fe) || !errors.Is(err, ErrFailoverFailed) || err.Error() != msg {
		t.Fatalf("error %v (%T), want FailedError %q", err, err, msg)
	}
}

var checks = []string{"nn2 getServiceStatus", "nn2 monitorHealth"}

func TestGracefulFailover(t *testing.T) {
	p := newPair()
	if err := p.failover(t, false, false); err != nil {
		t.Fatal(err)
	}
	wantJournal(t, p, append(checks, "nn1 transitionToStandby REQUEST_BY_USER", "nn2 transitionToActive REQUEST_BY_USER")...)
	if p.nn1.state != hasvc.StateStandby || p.nn2.state != hasvc.StateActive {
		t.Fatalf("states %v %v", p.nn1.state, p.nn2.state)
	}
}

func TestRequestSourceIsPassed(t *testing.T) {
	p := newPair()
	from, to := p.nodes()
	cfg := DefaultConfig()
	cfg.RequestSource = hasvc.RequestByUserForced
	if err := New(cfg).Failover(t.Context(), from, to, false, false); err != nil {
		t.Fatal(err)
	}
	wantJournal(t, p, append(checks, "nn1 transitionToStandby REQUEST_BY_USER_FORCED", "nn2 transitionToActive REQUEST_BY_USER_FORCED")...)
}

func TestForceFenceFencesAfterGracefulStandby(t *testing.T) {
	p := newPair()
	if err := p.failover(t, true, false); err != nil {
		t.Fatal(err)
	}
	wantJournal(t, p, append(checks, "nn1 transitionToStandby REQUEST_BY_USER", "fencer1 fence nn1", "nn2 transitionToActive REQUEST_BY_USER")...)
}

func TestGracefulFenceFailsThenFencing(t *testing.T) {
	for _, gerr := range []error{
		rpc.Errorf(rpc.ErrServiceFailed, "cannot go standby"),
		fmt.Errorf("dial: %w", errors.New("connection refused")),
	} {
		p := newPair()
		p.nn1.toStdbyErr = gerr
		if err := p.failover(t, false, false); err != nil {
			t.Fatal(err)
		}
		wantJournal(t, p, append(checks, "nn1 transitionToStandby REQUEST_BY_USER", "fencer1 fence nn1", "nn2 transitionToActive REQUEST_BY_USER")...)
	}
}

func TestAllFencingFailsAborts(t *testing.T) {
	p := newPair()
	p.nn1.toStdbyErr = errors.New("connection refused")
	p.f1.ok = false
	err := p.failover(t, false, false)
	wantFailed(t, err, "Unable to fence NameNode at /127.0.0.1:8020. Fencing failed.")
	wantJournal(t, p, append(checks, "nn1 transitionToStandby REQUEST_BY_USER", "fencer1 fence nn1")...)
	if p.nn2.state != hasvc.StateStandby {
		t.Fatalf("target is %v, want standby", p.nn2.state)
	}
}

func TestForceFenceFailsAborts(t *testing.T) {
	p := newPair()
	p.f1.ok = false
	err := p.failover(t, true, false)
	wantFailed(t, err, "Unable to fence NameNode at /127.0.0.1:8020. Fencing failed.")
	if p.nn2.state != hasvc.StateStandby {
		t.Fatalf("target is %v, want standby", p.nn2.state)
	}
}

func TestTargetUnhealthy(t *testing.T) {
	p := newPair()
	p.nn2.healthErr = rpc.Errorf(rpc.ErrHealthCheckFailed, "The NameNode has no resources available")
	err := p.failover(t, false, false)
	wantFailed(t, err, "Can't failover to an unhealthy service")
	if !errors.Is(err, rpc.ErrHealthCheckFailed) {
		t.Fatalf("cause lost: %v", err)
	}
	wantJournal(t, p, checks...)
}

func TestTargetHealthIOError(t *testing.T) {
	p := newPair()
	p.nn2.healthErr = errors.New("connection reset")
	wantFailed(t, p.failover(t, false, false), "Got an IO exception")
}

func TestTargetNotReady(t *testing.T) {
	p := newPair()
	p.nn2.notReady = "The NameNode is still in safe mode"
	err := p.failover(t, false, false)
	wantFailed(t, err, "NameNode at /127.0.0.1:8021 is not ready to become active: The NameNode is still in safe mode")
	wantJournal(t, p, "nn2 getServiceStatus")
}

func TestForceActiveSkipsReadiness(t *testing.T) {
	p := newPair()
	p.nn2.notReady = "not caught up"
	if err := p.failover(t, false, true); err != nil {
		t.Fatal(err)
	}
	wantJournal(t, p, append(checks, "nn1 transitionToStandby REQUEST_BY_USER", "nn2 transitionToActive REQUEST_BY_USER")...)
}

func TestForceActiveStillNeedsHealth(t *testing.T) {
	p := newPair()
	p.nn2.notReady = "not caught up"
	p.nn2.healthErr = rpc.Errorf(rpc.ErrHealthCheckFailed, "sick")
	wantFailed(t, p.failover(t, false, true), "Can't failover to an unhealthy service")
}

func TestTargetNotStandby(t *testing.T) {
	for state, msg := range map[hasvc.State]string{
		hasvc.StateActive:       "Can't failover to an active service",
		hasvc.StateInitializing: "Can't failover to an initializing service",
	} {
		p := newPair()
		p.nn2.state = state
		wantFailed(t, p.failover(t, false, false), msg)
	}
}

func TestTargetUnreachable(t *testing.T) {
	p := newPair()
	p.nn2.statusErr = errors.New("connection refused")
	err := p.failover(t, false, false)
	wantFailed(t, err, "Unable to get service state for NameNode at /127.0.0.1:8021")
	if !errors.Is(err, p.nn2.statusErr) {
		t.Fatal("cause lost")
	}
}

func TestFailoverToItself(t *testing.T) {
	p := newPair()
	from, _ := p.nodes()
	err := New(DefaultConfig()).Failover(t.Context(), from, from, false, false)
	wantFailed(t, err, "Can't failover a service to itself")
	wantJournal(t, p)
}

func TestNoFencer(t *testing.T) {
	p := newPair()
	from, to := p.nodes()
	from.Fencer = nil
	if err := New(DefaultConfig()).Failover(t.Context(), from, to, false, false); !errors.Is(err, ErrNoFencer) {
		t.Fatalf("got %v", err)
	}
	wantJournal(t, p)
}

// A target that cannot become active after a graceful standby makes the
// controller fail back: the target is fenced and the old active made active
// again.
func TestTargetTransitionFailsFailsBack(t *testing.T) {
	p := newPair()
	p.nn2.toActiveErr = rpc.Errorf(rpc.ErrServiceFailed, "could not recover the journal")
	err := p.failover(t, false, false)
	wantFailed(t, err, "Unable to failover to NameNode at /127.0.0.1:8021")
	if !errors.Is(err, rpc.ErrServiceFailed) {
		t.Fatal("cause lost")
	}
	wantJournal(t, p,
		"nn2 getServiceStatus", "nn2 monitorHealth",
		"nn1 transitionToStandby REQUEST_BY_USER",
		"nn2 transitionToActive REQUEST_BY_USER",
		// failback: nn1 is the target now, forced active; nn2 fenced.
		"nn1 getServiceStatus", "nn1 monitorHealth",
		"nn2 transitionToStandby REQUEST_BY_USER",
		"fencer2 fence nn2",
		"nn1 transitionToActive REQUEST_BY_USER",
	)
	if p.nn1.state != hasvc.StateActive {
		t.Fatalf("nn1 is %v after failback", p.nn1.state)
	}
}

func TestTargetTransitionFailsFailbackFails(t *testing.T) {
	p := newPair()
	p.nn2.toActiveErr = errors.New("connection reset")
	p.f2.ok = false
	err := p.failover(t, false, false)
	wantFailed(t, err, "Unable to failover to NameNode at /127.0.0.1:8021. "+
		"Failback to NameNode at /127.0.0.1:8020 failed (Unable to fence NameNode at /127.0.0.1:8021. Fencing failed.)")
}

// After fencing, no failback: the old active may be dead.
func TestTargetTransitionFailsAfterFencingNoFailback(t *testing.T) {
	p := newPair()
	p.nn1.toStdbyErr = errors.New("connection refused")
	p.nn2.toActiveErr = rpc.Errorf(rpc.ErrServiceFailed, "no")
	wantFailed(t, p.failover(t, false, false), "Unable to failover to NameNode at /127.0.0.1:8021")
	wantJournal(t, p, append(checks, "nn1 transitionToStandby REQUEST_BY_USER", "fencer1 fence nn1", "nn2 transitionToActive REQUEST_BY_USER")...)
}
