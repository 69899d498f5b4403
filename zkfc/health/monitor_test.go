package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

func ticksUntilCheck(t *testing.T, m *Monitor, max int) int {
	t.Helper()
	for i := 1; i <= max; i++ {
		if m.Tick() {
			return i
		}
	}
	t.Fatalf("no check within %d ticks", max)
	return 0
}

func TestMonitorSchedule(t *testing.T) {
	m := NewMonitor(Intervals{Check: 10, ConnectRetry: 3, SleepAfterDisconnect: 5})
	if m.State() != Initializing {
		t.Fatal(m.State())
	}
	// The first check runs at once, and no second one while it is in flight.
	if !m.Tick() {
		t.Fatal("first tick did not check")
	}
	for i := 0; i < 50; i++ {
		if m.Tick() {
			t.Fatal("second check while one is in flight")
		}
	}
	standby := hasvc.Status{State: hasvc.StateStandby, ReadyToBecomeActive: true}
	u := m.Observe(Result{Outcome: Healthy, Status: standby, HaveStatus: true})
	if !u.Entered || u.State != ServiceHealthy || !u.Reported || u.Status != standby {
		t.Fatalf("%+v", u)
	}
	if n := ticksUntilCheck(t, m, 100); n != 10 {
		t.Fatalf("next check after %d ticks, want the check interval 10", n)
	}
	// Same state again: status reported, no state change.
	u = m.Observe(Result{Outcome: Healthy, Status: standby, HaveStatus: true})
	if u.Entered || !u.Reported {
		t.Fatalf("%+v", u)
	}
	ticksUntilCheck(t, m, 10)
	u = m.Observe(Result{Outcome: Unhealthy, Status: standby, HaveStatus: true, Err: errors.New("bad")})
	if !u.Entered || u.State != ServiceUnhealthy {
		t.Fatalf("%+v", u)
	}
	if n := ticksUntilCheck(t, m, 100); n != 10 {
		t.Fatalf("unhealthy service rechecked after %d ticks", n)
	}
	u = m.Observe(Result{Outcome: ConnectFailed})
	if !u.Entered || u.State != ServiceNotResponding || u.Reported {
		t.Fatalf("%+v", u)
	}
	if n := ticksUntilCheck(t, m, 100); n != 3 {
		t.Fatalf("refused connection retried after %d ticks, want 3", n)
	}
	u = m.Observe(Result{Outcome: TransportFailed})
	if u.Entered {
		t.Fatalf("%+v", u)
	}
	if n := ticksUntilCheck(t, m, 100); n != 5 {
		t.Fatalf("transport failure retried after %d ticks, want 5", n)
	}
	u = m.Observe(Result{Outcome: Healthy, HaveStatus: true, Status: hasvc.Status{State: hasvc.StateActive}})
	if u.State != ServiceHealthy || m.Status().State != hasvc.StateActive {
		t.Fatalf("%+v %+v", u, m.Status())
	}
}

func TestMonitorFail(t *testing.T) {
	m := NewMonitor(Intervals{Check: 1})
	m.Tick()
	u := m.Fail()
	if !u.Entered || u.State != HealthMonitorFailed || m.State() != HealthMonitorFailed {
		t.Fatalf("%+v", u)
	}
	if m.Tick() {
		t.Fatal("a failed monitor still checks")
	}
	if u := m.Fail(); u.Entered {
		t.Fatal("failed twice")
	}
}

func TestObserveWithoutCheckPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	NewMonitor(Intervals{}).Observe(Result{})
}

func TestStateNames(t *testing.T) {
	want := []string{"INITIALIZING", "SERVICE_NOT_RESPONDING", "SERVICE_HEALTHY", "SERVICE_UNHEALTHY", "HEALTH_MONITOR_FAILED"}
	for i, w := range want {
		if got := State(i).String(); got != w {
			t.Errorf("%d: %s, want %s", i, got, w)
		}
	}
}

func TestTicksFor(t *testing.T) {
	for _, c := range []struct {
		d, tick time.Duration
		want    int
	}{{time.Second, 100 * time.Millisecond, 10}, {1050 * time.Millisecond, 100 * time.Millisecond, 11}, {0, time.Second, 1}, {time.Second, 0, 1}} {
		if got := TicksFor(c.d, c.tick); got != c.want {
			t.Errorf("TicksFor(%s, %s) = %d, want %d", c.d, c.tick, got, c.want)
		}
	}
}

func TestClassify(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, c := range []struct {
		err  error
		want Outcome
	}{
		{nil, Healthy},
		{rpc.Errorf(rpc.ErrHealthCheckFailed, "The NameNode has no resources available"), Unhealthy},
		{fmt.Errorf("call: %w", refused), ConnectFailed},
		{context.DeadlineExceeded, TransportFailed},
		{errors.New("connection reset"), TransportFailed},
		{rpc.Errorf(rpc.ErrServiceFailed, "boom"), TransportFailed},
	} {
		if got := Classify(c.err); got != c.want {
			t.Errorf("Classify(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
