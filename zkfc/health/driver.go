package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// Configuration keys (Hadoop's CommonConfigurationKeys) and defaults.
const (
	KeyCheckInterval            = "ha.health-monitor.check-interval.ms"
	KeyConnectRetryInterval     = "ha.health-monitor.connect-retry-interval.ms"
	KeySleepAfterDisconnect     = "ha.health-monitor.sleep-after-disconnect.ms"
	KeyRPCTimeout               = "ha.health-monitor.rpc-timeout.ms"
	DefaultCheckInterval        = time.Second
	DefaultConnectRetryInterval = time.Second
	DefaultSleepAfterDisconnect = time.Second
	DefaultRPCTimeout           = 45 * time.Second
	// DefaultTickInterval is the driver's tick when no interval is shorter.
	DefaultTickInterval = 100 * time.Millisecond
)

// Config is the health monitor's timing.
type Config struct {
	// CheckInterval separates rounds of checks of an answering service.
	CheckInterval time.Duration
	// ConnectRetryInterval separates attempts to reach a service that
	// refused the connection.
	ConnectRetryInterval time.Duration
	// SleepAfterDisconnect is the pause after any other transport failure.
	SleepAfterDisconnect time.Duration
	// RPCTimeout bounds each call (getServiceStatus, monitorHealth).
	RPCTimeout time.Duration
	// TickInterval is the driver's clock resolution.
	TickInterval time.Duration
}

// DefaultConfig is Hadoop's defaults.
func DefaultConfig() Config {
	return Config{
		CheckInterval:        DefaultCheckInterval,
		ConnectRetryInterval: DefaultConnectRetryInterval,
		SleepAfterDisconnect: DefaultSleepAfterDisconnect,
		RPCTimeout:           DefaultRPCTimeout,
		TickInterval:         DefaultTickInterval,
	}
}

// ConfigFromConf reads the ha.health-monitor.* keys. The tick is the
// default one, or the shortest interval when that is shorter.
func ConfigFromConf(c *conf.Conf) (Config, error) {
	cfg := DefaultConfig()
	for _, k := range []struct {
		key string
		v   *time.Duration
	}{
		{KeyCheckInterval, &cfg.CheckInterval},
		{KeyConnectRetryInterval, &cfg.ConnectRetryInterval},
		{KeySleepAfterDisconnect, &cfg.SleepAfterDisconnect},
		{KeyRPCTimeout, &cfg.RPCTimeout},
	} {
		d, err := c.GetDuration(k.key, time.Millisecond, *k.v)
		if err != nil {
			return Config{}, err
		}
		*k.v = d
	}
	for _, d := range []time.Duration{cfg.CheckInterval, cfg.ConnectRetryInterval, cfg.SleepAfterDisconnect} {
		if d > 0 && d < cfg.TickInterval {
			cfg.TickInterval = d
		}
	}
	return cfg, cfg.Validate()
}

// Validate checks c.
func (c Config) Validate() error {
	if c.CheckInterval <= 0 || c.ConnectRetryInterval <= 0 || c.SleepAfterDisconnect <= 0 ||
		c.RPCTimeout <= 0 || c.TickInterval <= 0 {
		return fmt.Errorf("health: every interval must be positive: %+v", c)
	}
	return nil
}

// Intervals converts c into ticks of c.TickInterval.
func (c Config) Intervals() Intervals {
	return Intervals{
		Check:                TicksFor(c.CheckInterval, c.TickInterval),
		ConnectRetry:         TicksFor(c.ConnectRetryInterval, c.TickInterval),
		SleepAfterDisconnect: TicksFor(c.SleepAfterDisconnect, c.TickInterval),
	}
}

// Ticker is the part of time.Ticker the driver uses.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Clock makes tickers; tests pass one they drive by hand.
type Clock interface {
	NewTicker(d time.Duration) Ticker
}

// RealClock is the system clock.
type RealClock struct{}

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }

// NewTicker returns a time.Ticker.
func (RealClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

// Classify maps the error of a health call to an Outcome: nil is Healthy,
// HealthCheckFailedException is Unhealthy, a refused or failed dial is
// ConnectFailed, anything else (timeouts included) TransportFailed.
func Classify(err error) Outcome {
	var op *net.OpError
	switch {
	case err == nil:
		return Healthy
	case errors.Is(err, rpc.ErrHealthCheckFailed):
		return Unhealthy
	case errors.Is(err, syscall.ECONNREFUSED), errors.As(err, &op) && op.Op == "dial":
		return ConnectFailed
	}
	return TransportFailed
}

// Runner is the health monitor's driver: one goroutine that checks a
// service on the Monitor's schedule and reports changes. Start it, Stop it.
type Runner struct {
	cfg    Config
	svc    hasvc.Service
	name   string
	log    *zap.Logger
	notify func(Update)

	cancel context.CancelFunc
	done   chan struct{}

	mu struct {
		sync.Mutex
		state  State
		status hasvc.Status
	}
}

// Start checks svc (named name in the logs, "NameNode at host:port") at
// once and then on cfg's schedule, with ticks from clk. notify receives
// every Update with a state change or a reported status, on the monitor's
// goroutine, in order: it must not block for long (checks wait for it) and
// must not call Stop.
func Start(cfg Config, svc hasvc.Service, name string, clk Clock, log *zap.Logger, notify func(Update)) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if clk == nil {
		clk = RealClock{}
	}
	if log == nil {
		log = zap.NewNop()
	}
	if notify == nil {
		notify = func(Update) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{cfg: cfg, svc: svc, name: name, log: log, notify: notify, cancel: cancel, done: make(chan struct{})}
	t := clk.NewTicker(cfg.TickInterval)
	go r.run(ctx, t)
	return r, nil
}

// Stop ends the monitor, cancelling a check in flight, and waits for its
// goroutine. It is idempotent.
func (r *Runner) Stop() {
	r.cancel()
	<-r.done
}

// State is the current health state.
func (r *Runner) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.state
}

// Status is the last status the service reported.
func (r *Runner) Status() hasvc.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.status
}

func (r *Runner) run(ctx context.Context, t Ticker) {
	defer close(r.done)
	defer t.Stop()
	r.log.Info("Starting health monitor", zap.String("target", r.name))
	defer r.log.Info("Stopping HealthMonitor thread", zap.String("target", r.name))
	m := NewMonitor(r.cfg.Intervals())
	for {
		if m.Tick() {
			res, ok := r.check(ctx)
			if !ok {
				if ctx.Err() != nil {
					return
				}
				r.publish(m.Fail())
				return
			}
			r.publish(m.Observe(res))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

func (r *Runner) publish(u Update) {
	if !u.Entered && !u.Reported {
		return
	}
	r.mu.Lock()
	if u.Reported {
		r.mu.status = u.Status
	}
	if u.Entered {
		r.mu.state = u.State
	}
	r.mu.Unlock()
	if u.Entered {
		r.log.Info("Entering state "+u.State.String(), zap.String("target", r.name))
	}
	r.notify(u)
}

// check runs one round: getServiceStatus, then monitorHealth, each within
// RPCTimeout. ok is false when the monitor was stopped meanwhile or the
// service implementation panicked (the monitor then fails, as Hadoop's
// does on an unexpected exception).
func (r *Runner) check(ctx context.Context) (res Result, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("Health monitor failed", zap.Any("panic", p))
			ok = false
		}
	}()
	call := func(f func(context.Context) error) error {
		cctx, cancel := context.WithTimeout(ctx, r.cfg.RPCTimeout)
		defer cancel()
		return f(cctx)
	}
	var st hasvc.Status
	err := call(func(c context.Context) (err error) {
		st, err = r.svc.GetServiceStatus(c)
		return err
	})
	if err == nil {
		res.Status, res.HaveStatus = st, true
		err = call(r.svc.MonitorHealth)
	}
	if ctx.Err() != nil {
		return Result{}, false
	}
	res.Outcome, res.Err = Classify(err), err
	switch res.Outcome {
	case Unhealthy:
		r.log.Warn("Service health check failed for "+r.name, zap.Error(err))
	case ConnectFailed:
		r.log.Warn("Could not connect to local service at "+r.name, zap.Error(err))
	case TransportFailed:
		r.log.Warn("Transport-level exception trying to monitor health of "+r.name, zap.Error(err))
	}
	return res, true
}
