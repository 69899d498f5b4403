package health

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
	"github.com/hdfsha/hdfsha/zkfc/hasvc/hasvctest"
)

// handClock's ticker ticks when the test says so.
type handClock struct{ ch chan time.Time }

func (h *handClock) NewTicker(time.Duration) Ticker { return h }
func (h *handClock) C() <-chan time.Time            { return h.ch }
func (h *handClock) Stop()                          {}

// tick hands one tick to the monitor, which takes it only once it is done
// with the previous one.
func (h *handClock) tick(t *testing.T) {
	t.Helper()
	select {
	case h.ch <- time.Time{}:
	case <-time.After(10 * time.Second):
		t.Fatal("monitor does not take ticks")
	}
}

// everyTick checks at every tick, whatever the outcome.
func everyTick() Config {
	return Config{CheckInterval: time.Millisecond, ConnectRetryInterval: time.Millisecond,
		SleepAfterDisconnect: time.Millisecond, RPCTimeout: 5 * time.Second, TickInterval: time.Millisecond}
}

type harness struct {
	t       *testing.T
	clock   *handClock
	r       *Runner
	updates chan Update
}

func startHarness(t *testing.T, cfg Config, svc hasvc.Service) *harness {
	h := &harness{t: t, clock: &handClock{ch: make(chan time.Time)}, updates: make(chan Update, 100)}
	r, err := Start(cfg, svc, "NameNode at test", h.clock, testcluster.Logger(t), func(u Update) { h.updates <- u })
	if err != nil {
		t.Fatal(err)
	}
	h.r = r
	t.Cleanup(r.Stop)
	return h
}

// waitState waits for an update entering s.
func (h *harness) waitState(s State) Update {
	h.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case u := <-h.updates:
			if u.Entered && u.State == s {
				return u
			}
		case <-deadline:
			h.t.Fatalf("never entered %s (now %s)", s, h.r.State())
		}
	}
}

func newRPC(t *testing.T) *rpc.Client {
	c, err := rpc.NewClient(rpc.DefaultClientConfig("tester"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRunnerAgainstFakeService(t *testing.T) {
	testcluster.CheckLeaks(t)
	srv := hasvctest.Start(t, hasvctest.Behaviour{State: hasvc.StateStandby})
	h := startHarness(t, everyTick(), hasvc.NewClient(newRPC(t), srv.Addr()))

	// The first check runs without waiting for a tick.
	u := h.waitState(ServiceHealthy)
	if !u.Reported || u.Status.State != hasvc.StateStandby || !u.Status.ReadyToBecomeActive {
		t.Fatalf("%+v", u)
	}
	srv.Set(func(b *hasvctest.Behaviour) {
		b.HealthErr = rpc.Errorf(rpc.ErrHealthCheckFailed, "The NameNode has no resources available")
	})
	h.clock.tick(t)
	h.waitState(ServiceUnhealthy)
	if h.r.State() != ServiceUnhealthy {
		t.Fatal(h.r.State())
	}
	srv.Set(func(b *hasvctest.Behaviour) { b.HealthErr = nil; b.State = hasvc.StateActive })
	h.clock.tick(t)
	h.waitState(ServiceHealthy)
	if h.r.Status().State != hasvc.StateActive {
		t.Fatalf("%+v", h.r.Status())
	}
	calls := srv.Calls()
	if len(calls) < 2 || calls[0] != "getServiceStatus" || calls[1] != "monitorHealth" {
		t.Fatalf("calls %v, want getServiceStatus then monitorHealth", calls)
	}
}

func TestRunnerConnectionRefused(t *testing.T) {
	testcluster.CheckLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	svc := hasvc.NewClient(newRPC(t), addr)
	if err := svc.MonitorHealth(context.Background()); Classify(err) != ConnectFailed {
		t.Fatalf("refused connection classified %d: %v", Classify(err), err)
	}
	h := startHarness(t, everyTick(), svc)
	h.waitState(ServiceNotResponding)
}

// hangingService never answers monitorHealth until its ctx ends, as a
// SIGSTOPped NameNode.
type hangingService struct{ hasvc.Service }

func (hangingService) GetServiceStatus(context.Context) (hasvc.Status, error) {
	return hasvc.Status{State: hasvc.StateActive}, nil
}

func (hangingService) MonitorHealth(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestRunnerTimeoutIsNotResponding(t *testing.T) {
	testcluster.CheckLeaks(t)
	cfg := everyTick()
	cfg.RPCTimeout = 20 * time.Millisecond
	h := startHarness(t, cfg, hangingService{})
	h.waitState(ServiceNotResponding)
	if h.r.Status().State != hasvc.StateActive {
		t.Fatalf("status of the answered getServiceStatus lost: %+v", h.r.Status())
	}
}

func TestRunnerStopDuringHangingCall(t *testing.T) {
	testcluster.CheckLeaks(t)
	cfg := everyTick()
	cfg.RPCTimeout = time.Hour
	h := startHarness(t, cfg, hangingService{})
	done := make(chan struct{})
	go func() { h.r.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not interrupt the call in flight")
	}
	h.r.Stop() // idempotent
}

type panickingService struct{ hasvc.Service }

func (panickingService) GetServiceStatus(context.Context) (hasvc.Status, error) { panic("bug") }

func TestRunnerPanicFailsMonitor(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := startHarness(t, everyTick(), panickingService{})
	h.waitState(HealthMonitorFailed)
}

func TestConfigFromConf(t *testing.T) {
	c := conf.New()
	cfg, err := ConfigFromConf(c)
	if err != nil {
		t.Fatal(err)
	}
	if cfg != DefaultConfig() {
		t.Fatalf("%+v", cfg)
	}
	if iv := cfg.Intervals(); iv.Check != 10 || iv.ConnectRetry != 10 || iv.SleepAfterDisconnect != 10 {
		t.Fatalf("%+v", iv)
	}
	c.Set(KeyCheckInterval, "20")
	c.Set(KeyRPCTimeout, "300")
	cfg, err = ConfigFromConf(c)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CheckInterval != 20*time.Millisecond || cfg.RPCTimeout != 300*time.Millisecond || cfg.TickInterval != 20*time.Millisecond {
		t.Fatalf("%+v", cfg)
	}
	c.Set(KeyRPCTimeout, "0")
	if _, err := ConfigFromConf(c); err == nil {
		t.Fatal("zero timeout accepted")
	}
}
