package failover

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// Configuration keys and Hadoop's defaults.
const (
	KeyGracefulFenceTimeout     = "ha.failover-controller.graceful-fence.rpc-timeout.ms"
	KeyNewActiveTimeout         = "ha.failover-controller.new-active.rpc-timeout.ms"
	KeyCLICheckTimeout          = "ha.failover-controller.cli-check.rpc-timeout.ms"
	DefaultGracefulFenceTimeout = 5 * time.Second
	DefaultNewActiveTimeout     = 60 * time.Second
	DefaultCLICheckTimeout      = 20 * time.Second
)

// ErrFailoverFailed is Hadoop's FailoverFailedException. Errors wrapping it
// are *FailedError.
var ErrFailoverFailed = errors.New("failover failed")

// ErrNoFencer: the old active has no fencer configured
// (dfs.ha.fencing.methods), which a manual failover requires. Its text is
// Hadoop's.
var ErrNoFencer = errors.New("failover requires a fencer")

// FailedError says why a failover did not happen. Error is Hadoop's message
// alone (what haadmin prints after "Failover failed: "); Cause, when set, is
// the error behind it.
type FailedError struct {
	Msg   string
	Cause error
}

func (e *FailedError) Error() string { return e.Msg }

// Unwrap gives both ErrFailoverFailed and the cause to errors.Is/As.
func (e *FailedError) Unwrap() []error {
	if e.Cause == nil {
		return []error{ErrFailoverFailed}
	}
	return []error{ErrFailoverFailed, e.Cause}
}

func failed(cause error, format string, a ...any) error {
	return &FailedError{Msg: fmt.Sprintf(format, a...), Cause: cause}
}

// Fencer fences a node that may still act as active (zkfc/fence.Fencer).
type Fencer interface {
	Fence(ctx context.Context, target hasvc.Target) bool
}

// Node is one side of a failover: the NameNode as configured, its HA
// service, and the fencer configured for it (nil when none is).
type Node struct {
	Target  hasvc.Target
	Service hasvc.Service
	Fencer  Fencer
}

func (n Node) String() string { return n.Target.String() }

// Config configures a Controller. Start from DefaultConfig or ConfigFromConf.
type Config struct {
	// GracefulFenceTimeout bounds asking the old active to become standby
	// (ha.failover-controller.graceful-fence.rpc-timeout.ms).
	GracefulFenceTimeout time.Duration
	// NewActiveTimeout bounds each call to the new active: the checks before
	// the failover and the transition itself
	// (ha.failover-controller.new-active.rpc-timeout.ms).
	NewActiveTimeout time.Duration
	// RequestSource goes with every transition: REQUEST_BY_USER for
	// haadmin, REQUEST_BY_USER_FORCED with --forcemanual, REQUEST_BY_ZKFC
	// for the ZKFC.
	RequestSource hasvc.RequestSource
	// Logger receives the steps; nil logs nothing.
	Logger *zap.Logger
}

// DefaultConfig has Hadoop's default timeouts and REQUEST_BY_USER.
func DefaultConfig() Config {
	return Config{
		GracefulFenceTimeout: DefaultGracefulFenceTimeout,
		NewActiveTimeout:     DefaultNewActiveTimeout,
		RequestSource:        hasvc.RequestByUser,
	}
}

// ConfigFromConf reads the timeouts from c.
func ConfigFromConf(c *conf.Conf) (Config, error) {
	cfg := DefaultConfig()
	var err error
	if cfg.GracefulFenceTimeout, err = c.GetDuration(KeyGracefulFenceTimeout, time.Millisecond, DefaultGracefulFenceTimeout); err != nil {
		return cfg, err
	}
	if cfg.NewActiveTimeout, err = c.GetDuration(KeyNewActiveTimeout, time.Millisecond, DefaultNewActiveTimeout); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// Controller performs manual failovers, as Hadoop's FailoverController.
// It holds no state between calls; its only I/O is through the Nodes'
// Service and Fencer.
type Controller struct {
	cfg Config
	log *zap.Logger
}

// New returns a Controller; zero timeouts take Hadoop's defaults.
func New(cfg Config) *Controller {
	d := DefaultConfig()
	if cfg.GracefulFenceTimeout <= 0 {
		cfg.GracefulFenceTimeout = d.GracefulFenceTimeout
	}
	if cfg.NewActiveTimeout <= 0 {
		cfg.NewActiveTimeout = d.NewActiveTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &Controller{cfg: cfg, log: log}
}

// preFailoverChecks refuses a failover to a node that is not a healthy,
// ready standby (readiness is waived with forceActive).
func (c *Controller) preFailoverChecks(ctx context.Context, from, to Node, forceActive bool) error {
	if from.Target.Address == to.Target.Address {
		return failed(nil, "Can't failover a service to itself")
	}
	cctx, cancel := context.WithTimeout(ctx, c.cfg.NewActiveTimeout)
	st, err := to.Service.GetServiceStatus(cctx)
	cancel()
	if err != nil {
		msg := "Unable to get service state for " + to.String()
		c.log.Error(msg, zap.Error(err))
		return failed(err, "%s", msg)
	}
	if st.State != hasvc.StateStandby {
		return failed(nil, "Can't failover to an %s service", hasvc.StateName(st.State))
	}
	if !st.ReadyToBecomeActive {
		if !forceActive {
			return failed(nil, "%s is not ready to become active: %s", to, st.NotReadyReason)
		}
		c.log.Warn("Service is not ready to become active, but forcing: " + st.NotReadyReason)
	}
	cctx, cancel = context.WithTimeout(ctx, c.cfg.NewActiveTimeout)
	err = to.Service.MonitorHealth(cctx)
	cancel()
	switch {
	case errors.Is(err, rpc.ErrHealthCheckFailed):
		return failed(err, "Can't failover to an unhealthy service")
	case err != nil:
		return failed(err, "Got an IO exception")
	}
	return nil
}

// tryGracefulFence asks n to become standby within GracefulFenceTimeout.
func (c *Controller) tryGracefulFence(ctx context.Context, n Node) bool {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.GracefulFenceTimeout)
	defer cancel()
	err := n.Service.TransitionToStandby(ctx, c.cfg.RequestSource)
	switch {
	case err == nil:
		return true
	case errors.Is(err, rpc.ErrServiceFailed):
		c.log.Warn(fmt.Sprintf("Unable to gracefully make %s standby (%s)", n, err.Error()))
	default:
		c.log.Warn(fmt.Sprintf("Unable to gracefully make %s standby (unable to connect)", n), zap.Error(err))
	}
	return false
}

// Failover makes to active in place of from:
//
//  1. to must be a standby, ready to become active (unless forceActive) and
//     healthy;
//  2. from is asked to become standby (bounded by GracefulFenceTimeout);
//  3. if that failed, or forceFence, from's fencer runs; if it cannot fence,
//     the failover stops there and to stays standby;
//  4. to is made active (bounded by NewActiveTimeout). If that fails and
//     from was not fenced, the controller fails back: from is made active
//     again, to fenced first.
//
// The error is a *FailedError (ErrFailoverFailed) with Hadoop's message, or
// ErrNoFencer when from has no fencer.
func (c *Controller) Failover(ctx context.Context, from, to Node, forceFence, forceActive bool) error {
	if from.Fencer == nil {
		return ErrNoFencer
	}
	if err := c.preFailoverChecks(ctx, from, to, forceActive); err != nil {
		return err
	}

	tryFence := true
	if c.tryGracefulFence(ctx, from) {
		tryFence = forceFence
	}
	if tryFence && !from.Fencer.Fence(ctx, from.Target) {
		return failed(nil, "Unable to fence %s. Fencing failed.", from)
	}

	cctx, cancel := context.WithTimeout(ctx, c.cfg.NewActiveTimeout)
	err := to.Service.TransitionToActive(cctx, c.cfg.RequestSource)
	cancel()
	if err == nil {
		return nil
	}
	if errors.Is(err, rpc.ErrServiceFailed) {
		c.log.Error(fmt.Sprintf("Unable to make %s active (%s). Failing back.", to, err.Error()))
	} else {
		c.log.Error(fmt.Sprintf("Unable to make %s active (unable to connect). Failing back.", to), zap.Error(err))
	}
	msg := "Unable to failover to " + to.String()
	// Fail back only when from was not fenced: fence to (it may still be
	// becoming active, e.g. the call timed out) and force from active.
	if !tryFence {
		if ferr := c.Failover(ctx, to, from, true, true); ferr != nil {
			msg += ". Failback to " + from.String() + " failed (" + ferr.Error() + ")"
			c.log.Error(msg)
		}
	}
	return failed(err, "%s", msg)
}
