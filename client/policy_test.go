package client

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
)

func TestPolicyDecide(t *testing.T) {
	p := Policy{MaxFailovers: 3, MaxRetries: 2, SleepBase: 500 * time.Millisecond, SleepMax: 15 * time.Second}
	steps := []struct {
		kind               Kind
		failovers, retries int
		jitter             float64
		want               Decision
		wantSleep          time.Duration
	}{
		{Standby, 0, 0, 0.5, FailoverAndRetry, 0},
		{Standby, 1, 0, 0.5, FailoverAndRetry, time.Second},
		{Unreachable, 2, 0, 0.5, FailoverAndRetry, 2 * time.Second},
		{Lost, 2, 0, 0, FailoverAndRetry, time.Second}, // jitter 0 halves it
		{Standby, 3, 0, 0.5, Fail, 0},
		{Retriable, 3, 0, 0.5, RetrySame, 0},
		{Retriable, 0, 1, 0.5, RetrySame, time.Second},
		{Retriable, 0, 2, 0.5, Fail, 0},
		{Permanent, 0, 0, 0.5, Fail, 0},
	}
	for i, s := range steps {
		d, sleep := p.Decide(s.kind, s.failovers, s.retries, s.jitter)
		if d != s.want || sleep != s.wantSleep {
			t.Errorf("step %d: Decide(%v, %d, %d) = %v %v, want %v %v", i, s.kind, s.failovers, s.retries, d, sleep, s.want, s.wantSleep)
		}
	}
	// The cap holds, also where base·2^n would overflow.
	for _, n := range []int{5, 6, 40, 63, 100} {
		if _, sleep := p.Decide(Standby, n, 0, 0.5); sleep != 0 && sleep != p.SleepMax {
			t.Errorf("failover %d sleeps %v, want the cap %v", n, sleep, p.SleepMax)
		}
	}
	p.MaxFailovers = 1000
	if _, sleep := p.Decide(Standby, 63, 0, 0.5); sleep != p.SleepMax {
		t.Errorf("failover 63 sleeps %v", sleep)
	}
}

func TestPolicyDecideSingle(t *testing.T) {
	p := DefaultPolicy()
	p.ConnectRetries = 2
	for i, s := range []struct {
		kind      Kind
		retries   int
		want      Decision
		wantSleep time.Duration
	}{
		{Unreachable, 0, RetrySame, time.Second},
		{Unreachable, 1, RetrySame, time.Second},
		{Unreachable, 2, Fail, 0},
		{Standby, 0, Fail, 0},
		{Lost, 0, Fail, 0},
		{Retriable, 1, RetrySame, 500 * time.Millisecond},
		{Permanent, 0, Fail, 0},
	} {
		d, sleep := p.DecideSingle(s.kind, s.retries, 0)
		if d != s.want || sleep != s.wantSleep {
			t.Errorf("step %d: DecideSingle(%v, %d) = %v %v, want %v %v", i, s.kind, s.retries, d, sleep, s.want, s.wantSleep)
		}
	}
}

func TestClassify(t *testing.T) {
	refused := fmt.Errorf("rpc: x: connecting: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	for _, tc := range []struct {
		err  error
		want Kind
	}{
		{rpc.Errorf(rpc.ErrStandby, "Operation category READ is not supported in state standby"), Standby},
		{rpc.Errorf(rpc.ErrRetriable, "later"), Retriable},
		{rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: /x"), Permanent},
		{refused, Unreachable},
		{fmt.Errorf("x: %w", &net.DNSError{Err: "no such host", Name: "nn9"}), Unreachable},
		{fmt.Errorf("rpc: %w: %w", rpc.ErrConnectionLost, errors.New("EOF")), Lost},
		{rpc.ErrClientClosed, Permanent},
		{errors.New("something"), Permanent},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestPolicyFromConf(t *testing.T) {
	p, err := PolicyFromConf(conf.New())
	if err != nil || p != DefaultPolicy() {
		t.Fatalf("defaults: %+v, %v", p, err)
	}
	if p.MaxFailovers != 15 || p.SleepBase != 500*time.Millisecond || p.SleepMax != 15*time.Second {
		t.Fatalf("Hadoop's defaults differ: %+v", p)
	}
	c := conf.New()
	c.Set(KeyFailoverMaxAttempts, "-1")
	if _, err := PolicyFromConf(c); err == nil {
		t.Fatal("negative max attempts accepted")
	}
	c.Set(KeyFailoverMaxAttempts, "x")
	if _, err := PolicyFromConf(c); !errors.Is(err, conf.ErrBadValue) {
		t.Fatalf("err = %v", err)
	}
}

// Calls that fail on the same NameNode at once move the client on once, not once each.
func TestFailoverAdvancesOncePerNameNode(t *testing.T) {
	c := &Client{addrs: []string{"a:1", "b:1", "c:1"}}
	c.markActive(0)
	if next := c.failover(0); next != 1 {
		t.Fatalf("first failover from a: %d", next)
	}
	if next := c.failover(0); next != 1 { // a second call that also failed on a
		t.Fatalf("second failover from a: %d, want to stay on b", next)
	}
	if c.Active() != "" {
		t.Fatalf("Active = %q after failing over", c.Active())
	}
	if next := c.failover(1); next != 2 {
		t.Fatalf("failover from b: %d", next)
	}
	if next := c.failover(2); next != 0 {
		t.Fatalf("failover from c: %d, want a (wrap around)", next)
	}
	c.markActive(2)
	if c.Active() != "c:1" {
		t.Fatalf("Active = %q", c.Active())
	}
}
