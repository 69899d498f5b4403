package client

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
)

// Failover keys and their Hadoop defaults (HdfsClientConfigKeys.Failover and .Retry).
const (
	KeyFailoverMaxAttempts  = "dfs.client.failover.max.attempts"
	KeyFailoverSleepBase    = "dfs.client.failover.sleep.base.millis"
	KeyFailoverSleepMax     = "dfs.client.failover.sleep.max.millis"
	KeyRetryMaxAttempts     = "dfs.client.retry.max.attempts"
	KeyConnectTimeout       = "ipc.client.connect.timeout"
	KeyConnectMaxRetries    = "ipc.client.connect.max.retries"
	KeyConnectRetryInterval = "ipc.client.connect.retry.interval"

	DefaultFailoverMaxAttempts  = 15
	DefaultFailoverSleepBase    = 500 * time.Millisecond
	DefaultFailoverSleepMax     = 15 * time.Second
	DefaultRetryMaxAttempts     = 10
	DefaultConnectMaxRetries    = 10
	DefaultConnectRetryInterval = time.Second
)

// Policy decides what a failed call does next. It is pure: no clock, no I/O; the jitter
// factor comes in as an argument.
type Policy struct {
	// MaxFailovers is dfs.client.failover.max.attempts: a call gives up once it has failed
	// over this many times (so it is tried at most MaxFailovers+1 times).
	MaxFailovers int
	// MaxRetries is dfs.client.retry.max.attempts: how often a call is retried on the same
	// NameNode after a RetriableException.
	MaxRetries int
	// SleepBase and SleepMax are dfs.client.failover.sleep.base.millis and .max.millis.
	SleepBase, SleepMax time.Duration
	// ConnectRetries and ConnectRetryInterval are ipc.client.connect.max.retries and
	// ipc.client.connect.retry.interval: how a URI with a single NameNode retries a
	// connection that could not be made (it has no other NameNode to fail over to).
	ConnectRetries       int
	ConnectRetryInterval time.Duration
}

// DefaultPolicy returns Hadoop's defaults.
func DefaultPolicy() Policy {
	return Policy{
		MaxFailovers: DefaultFailoverMaxAttempts,
		MaxRetries:   DefaultRetryMaxAttempts,
		SleepBase:    DefaultFailoverSleepBase,
		SleepMax:     DefaultFailoverSleepMax,

		ConnectRetries:       DefaultConnectMaxRetries,
		ConnectRetryInterval: DefaultConnectRetryInterval,
	}
}

// PolicyFromConf reads the failover keys of c; unset keys keep Hadoop's defaults.
func PolicyFromConf(c *conf.Conf) (Policy, error) {
	p := DefaultPolicy()
	n, err := c.GetInt(KeyFailoverMaxAttempts, int64(p.MaxFailovers))
	if err != nil {
		return p, err
	}
	p.MaxFailovers = int(n)
	if n, err = c.GetInt(KeyRetryMaxAttempts, int64(p.MaxRetries)); err != nil {
		return p, err
	}
	p.MaxRetries = int(n)
	if p.SleepBase, err = c.GetDuration(KeyFailoverSleepBase, time.Millisecond, p.SleepBase); err != nil {
		return p, err
	}
	if p.SleepMax, err = c.GetDuration(KeyFailoverSleepMax, time.Millisecond, p.SleepMax); err != nil {
		return p, err
	}
	if n, err = c.GetInt(KeyConnectMaxRetries, int64(p.ConnectRetries)); err != nil {
		return p, err
	}
	p.ConnectRetries = int(n)
	if p.ConnectRetryInterval, err = c.GetDuration(KeyConnectRetryInterval, time.Millisecond, p.ConnectRetryInterval); err != nil {
		return p, err
	}
	return p, p.Validate()
}

// Validate reports the first setting that cannot work.
func (p Policy) Validate() error {
	switch {
	case p.MaxFailovers < 0:
		return errors.New("client: " + KeyFailoverMaxAttempts + " must not be negative")
	case p.MaxRetries < 0:
		return errors.New("client: " + KeyRetryMaxAttempts + " must not be negative")
	case p.ConnectRetries < 0:
		return errors.New("client: " + KeyConnectMaxRetries + " must not be negative")
	case p.SleepBase < 0 || p.SleepMax < 0 || p.ConnectRetryInterval < 0:
		return errors.New("client: failover and retry sleeps must not be negative")
	}
	return nil
}

// Decision is what to do after a failed attempt.
type Decision int

const (
	// Fail returns the error to the caller.
	Fail Decision = iota
	// FailoverAndRetry moves to the next NameNode, sleeps, and retries the same call.
	FailoverAndRetry
	// RetrySame sleeps and retries the same call on the same NameNode.
	RetrySame
)

func (d Decision) String() string {
	switch d {
	case FailoverAndRetry:
		return "failover"
	case RetrySame:
		return "retry"
	}
	return "fail"
}

// Kind is how a call failed, as far as failover cares.
type Kind int

const (
	// Permanent errors go back to the caller: the NameNode answered.
	Permanent Kind = iota
	// Standby: the NameNode is not active (StandbyException).
	Standby
	// Unreachable: no connection could be made (refused, no route, unknown host, dial
	// timeout). The call was never sent.
	Unreachable
	// Lost: the connection broke or timed out with the call sent; it may have run. Retrying
	// with the same call id lets the NameNode's retry cache answer it.
	Lost
	// Retriable: the NameNode asks to be asked again later (RetriableException).
	Retriable
)

// Classify maps an error from rpc.Client.Call to a Kind. Errors of ctx itself are
// Permanent; the caller checks ctx first.
func Classify(err error) Kind {
	switch {
	case err == nil:
		return Permanent
	case errors.Is(err, rpc.ErrStandby):
		return Standby
	case errors.Is(err, rpc.ErrRetriable):
		return Retriable
	case errors.Is(err, rpc.ErrClientClosed):
		return Permanent
	case errors.Is(err, rpc.ErrConnectionLost):
		return Lost
	}
	var re *rpc.RemoteError
	if errors.As(err, &re) {
		return Permanent
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return Unreachable
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return Unreachable
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// The rpc client's own dial or call timeout (the caller's ctx is checked before).
		return Lost
	}
	return Permanent
}

// Decide returns what to do after an attempt failed with kind, given how many failovers
// and same-NameNode retries the call has made so far, and how long to sleep first.
// jitter is a number in [0, 1) (Hadoop multiplies its backoff by 0.5+jitter).
func (p Policy) Decide(kind Kind, failovers, retries int, jitter float64) (Decision, time.Duration) {
	switch kind {
	case Standby, Unreachable, Lost:
		if failovers >= p.MaxFailovers {
			return Fail, 0
		}
		return FailoverAndRetry, p.backoff(failovers, jitter)
	case Retriable:
		if retries >= p.MaxRetries {
			return Fail, 0
		}
		return RetrySame, p.backoff(retries, jitter)
	}
	return Fail, 0
}

// DecideSingle is Decide for a URI with one NameNode, which has nothing to fail over to
// (Hadoop's non-HA proxy): a connection that could not be made is retried after
// ConnectRetryInterval, at most ConnectRetries times; a RetriableException as in Decide;
// anything else, a StandbyException or a lost call included, is returned.
func (p Policy) DecideSingle(kind Kind, retries int, jitter float64) (Decision, time.Duration) {
	switch kind {
	case Unreachable:
		if retries >= p.ConnectRetries {
			return Fail, 0
		}
		return RetrySame, p.ConnectRetryInterval
	case Retriable:
		return p.Decide(kind, 0, retries, jitter)
	}
	return Fail, 0
}

// backoff is Hadoop's RetryPolicies.getFailoverOrRetrySleepTime: nothing before the first
// failover (the other NameNode is likely the active), then base·2^n capped at max, times a
// jitter between 0.5 and 1.5.
func (p Policy) backoff(n int, jitter float64) time.Duration {
	if n == 0 {
		return 0
	}
	d := p.SleepMax
	if n < 62 {
		if b := p.SleepBase * time.Duration(int64(1)<<n); b/time.Duration(int64(1)<<n) == p.SleepBase && b < d {
			d = b
		}
	}
	return time.Duration(float64(d) * (0.5 + jitter))
}
