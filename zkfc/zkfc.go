package zkfc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/zkfc/elector"
	"github.com/hdfsha/hdfsha/zkfc/fence"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
	"github.com/hdfsha/hdfsha/zkfc/health"
	"github.com/hdfsha/hdfsha/zkfc/zkfcrpc"
)

// ErrStopped: the ZKFC was stopped while a call waited on it.
var ErrStopped = errors.New("zkfc: stopped")

// ZKFC is the ZooKeeper failover controller of one NameNode. New, Start,
// Stop.
type ZKFC struct {
	cfg Config
	log *zap.Logger

	ctx    context.Context // cancelled by Stop: bounds every call the ZKFC makes
	cancel context.CancelFunc
	quit   chan struct{}
	wg     sync.WaitGroup

	inbox    chan any
	attempts *zkfcrpc.Attempts
	rpc      *rpc.Client
	local    *hasvc.Client
	server   *zkfcrpc.Server
	monitor  *health.Runner
	graceful *zkfcrpc.Graceful

	// Owned by the driver goroutine.
	el      *elector.Elector
	nn      *queue // NameNode actions, one at a time
	cur     *session
	pending []chan error // cedeActive calls waiting for CedeDone, in order

	mu struct {
		sync.Mutex
		conn    *session // the newest session, for CurrentActive
		started bool
		stopped bool
	}
	done     chan struct{}
	doneOnce sync.Once
	err      error
}

// cedeReq is a cedeActive call handed to the driver.
type cedeReq struct {
	millis int64
	reply  chan error
}

// New returns a ZKFC for cfg; Start runs it.
func New(cfg Config) (*ZKFC, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &ZKFC{
		cfg:      cfg,
		log:      cfg.Logger,
		ctx:      ctx,
		cancel:   cancel,
		quit:     make(chan struct{}),
		inbox:    make(chan any, 256),
		attempts: &zkfcrpc.Attempts{},
		done:     make(chan struct{}),
	}, nil
}

// Start listens for ZKFCProtocol, starts the health monitor of the local
// NameNode and the driver of the election. It returns once the RPC server
// listens. ctx bounds the start-up only.
func (z *ZKFC) Start(ctx context.Context) error {
	z.mu.Lock()
	if z.mu.started {
		z.mu.Unlock()
		return errors.New("zkfc: already started")
	}
	z.mu.started = true
	z.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	rc := rpc.DefaultClientConfig(z.cfg.LoginUser)
	if z.rpc, err = rpc.NewClient(rc); err != nil {
		return err
	}
	z.local = hasvc.NewClient(z.rpc, z.cfg.Target.Address)

	z.graceful = &zkfcrpc.Graceful{
		Local:                (*localSide)(z),
		Peer:                 func(t hasvc.Target) zkfcrpc.Peer { return zkfcrpc.NewPeer(z.rpc, t.ZKFCAddress) },
		GracefulFenceTimeout: z.cfg.GracefulFenceTimeout,
		Logger:               z.log,
	}
	scfg := z.cfg.RPC
	scfg.Controller = (*controller)(z)
	scfg.LoginUser = z.cfg.LoginUser
	if scfg.Logger == nil {
		scfg.Logger = z.log.Named("rpc")
	}
	if z.server, err = zkfcrpc.NewServer(scfg); err != nil {
		return fmt.Errorf("zkfc: ZKFCProtocol server: %w", err)
	}

	// The lock's data: the local NameNode and the port this ZKFC serves on.
	zkfcPort := 0
	if ta, ok := z.server.Addr().(*net.TCPAddr); ok {
		zkfcPort = ta.Port
	}
	port, _ := strconv.Atoi(portOf(z.cfg.Target.Address))
	ecfg := elector.Config{
		Self: elector.NodeInfo{
			Nameservice: z.cfg.Target.Nameservice,
			NameNode:    z.cfg.Target.NameNodeID,
			Host:        z.cfg.Target.Host(),
			Port:        int32(port),
			ZKFCPort:    int32(zkfcPort),
		},
		WorkingZNode:      z.cfg.ZK.WorkingZNode,
		SessionTimeout:    z.cfg.ZK.SessionTimeout,
		MaxRetries:        z.cfg.ZK.OpRetries,
		SleepAfterFailure: z.cfg.SleepAfterFailure,
		TickInterval:      z.cfg.TickInterval,
	}
	if z.el, err = elector.New(ecfg); err != nil {
		return err
	}
	z.nn = newQueue()
	z.wg.Add(2)
	go z.runNameNodeActions()
	go z.loop()

	z.monitor, err = health.Start(z.cfg.Health, z.local, z.cfg.Target.String(), health.RealClock{}, z.log.Named("health"), z.healthUpdate)
	if err != nil {
		return fmt.Errorf("zkfc: health monitor: %w", err)
	}
	// Served last: the calls read what Start set up.
	z.wg.Add(1)
	go func() {
		defer z.wg.Done()
		_ = z.server.Serve()
	}()
	z.log.Info("ZKFC started", zap.String("nameNode", z.cfg.Target.String()), zap.Stringer("zkfcAddress", z.server.Addr()),
		zap.String("quorum", fmt.Sprint(z.cfg.ZK.Quorum)), zap.String("znode", z.cfg.ZK.WorkingZNode))
	return nil
}

// Addr is the address ZKFCProtocol is served on (after Start).
func (z *ZKFC) Addr() net.Addr { return z.server.Addr() }

// Done is closed when the ZKFC stopped by itself (a fatal error, Err says
// which) or was stopped.
func (z *ZKFC) Done() <-chan struct{} { return z.done }

// Err is why the ZKFC stopped by itself, nil otherwise.
func (z *ZKFC) Err() error {
	select {
	case <-z.done:
		return z.err
	default:
		return nil
	}
}

// Status is the elector's view, for tests and reports.
func (z *ZKFC) Status() (elector.Status, error) {
	reply := make(chan elector.Status, 1)
	select {
	case z.inbox <- statusReq(reply):
	case <-z.quit:
		return elector.Status{}, ErrStopped
	}
	select {
	case s := <-reply:
		return s, nil
	case <-z.quit:
		return elector.Status{}, ErrStopped
	}
}

type statusReq chan elector.Status

// Stop shuts the ZKFC down: the RPC server, the health monitor, the election
// (closing the ZooKeeper session releases the lock and keeps the breadcrumb,
// so the next active fences this NameNode, as Hadoop's quitElection(true)
// does) and every goroutine. The NameNode's state is left alone.
func (z *ZKFC) Stop() error {
	z.mu.Lock()
	if z.mu.stopped {
		z.mu.Unlock()
		return nil
	}
	z.mu.stopped = true
	z.mu.Unlock()
	close(z.quit)
	z.cancel()
	if z.server != nil {
		_ = z.server.Close()
	}
	if z.monitor != nil {
		z.monitor.Stop()
	}
	z.wg.Wait()
	if z.rpc != nil {
		_ = z.rpc.Close()
	}
	z.finish(nil)
	return nil
}

func (z *ZKFC) finish(err error) {
	z.doneOnce.Do(func() {
		z.err = err
		close(z.done)
	})
}

// post hands an event to the driver; it gives up when the ZKFC stops.
func (z *ZKFC) post(ev any) {
	select {
	case z.inbox <- ev:
	case <-z.quit:
	}
}

func (z *ZKFC) healthUpdate(u health.Update) {
	if u.Entered {
		z.attempts.SetHealthy(u.State == health.ServiceHealthy)
	}
	for _, ev := range elector.FromHealth(u) {
		z.post(ev)
	}
}

// loop is the driver: it alone steps the elector and dispatches its
// actions.
func (z *ZKFC) loop() {
	defer z.wg.Done()
	t := time.NewTicker(z.cfg.TickInterval)
	defer t.Stop()
	defer func() {
		if z.cur != nil {
			z.cur.close()
		}
		for _, p := range z.pending {
			p <- ErrStopped
		}
		z.pending = nil
	}()
	for {
		var ev elector.Event
		select {
		case <-z.quit:
			return
		case <-t.C:
			ev = elector.Tick{}
		case m := <-z.inbox:
			switch m := m.(type) {
			case cedeReq:
				z.pending = append(z.pending, m.reply)
				ev = elector.CedeActive{Millis: m.millis}
			case statusReq:
				m <- z.el.Status()
				continue
			case elector.Event:
				ev = m
			default:
				panic(fmt.Sprintf("zkfc: unknown driver input %T", m))
			}
		}
		if !z.dispatch(z.el.Step(ev)) {
			return
		}
	}
}

// dispatch does actions in order; false after a Fatal.
func (z *ZKFC) dispatch(actions []elector.Action) bool {
	for _, a := range actions {
		switch a.Kind {
		case elector.OpenSession:
			if z.cur != nil {
				z.cur.close()
			}
			z.cur = z.openSession(a, z.cur)
			z.mu.Lock()
			z.mu.conn = z.cur
			z.mu.Unlock()
		case elector.CloseSession, elector.CreateLock, elector.WatchLock, elector.GetBreadcrumb,
			elector.WriteBreadcrumb, elector.DeleteBreadcrumb:
			if z.cur == nil || z.cur.id != a.Session {
				// A session the driver no longer has: its results would be
				// stale anyway.
				z.log.Debug("ZooKeeper action for an old session dropped", zap.Stringer("action", a))
				continue
			}
			if a.Kind == elector.CloseSession {
				z.cur.close()
				continue
			}
			z.cur.ops.push(a)
		case elector.GracefulFence, elector.RunFencingMethods, elector.BecomeActive, elector.BecomeStandby:
			z.nn.push(a)
		case elector.ActiveAttempt:
			z.attempts.Record(a.OK, a.Msg)
		case elector.CedeDone:
			if len(z.pending) > 0 {
				z.pending[0] <- a.Err
				z.pending = z.pending[1:]
			}
		case elector.Log:
			z.logAt(a.Level, a.Msg)
		case elector.Fatal:
			z.log.Error(a.Msg)
			z.finish(fmt.Errorf("zkfc: fatal: %s", a.Msg))
			return false
		default:
			panic(fmt.Sprintf("zkfc: unknown action %v", a.Kind))
		}
	}
	return true
}

func (z *ZKFC) logAt(l elector.Level, msg string) {
	switch l {
	case elector.Debug:
		z.log.Debug(msg)
	case elector.Info:
		z.log.Info(msg)
	case elector.Warn:
		z.log.Warn(msg)
	default:
		z.log.Error(msg)
	}
}

// runNameNodeActions does the NameNode actions one at a time, in order.
func (z *ZKFC) runNameNodeActions() {
	defer z.wg.Done()
	for {
		a, ok := z.nn.pop(z.quit)
		if !ok {
			return
		}
		switch a.Kind {
		case elector.GracefulFence:
			z.post(elector.FenceResult{Seq: a.Seq, Err: z.gracefulFence(a.Node)})
		case elector.RunFencingMethods:
			z.post(elector.FenceResult{Seq: a.Seq, Err: z.runFencer(a.Node)})
		case elector.BecomeActive:
			ctx, cancel := context.WithTimeout(z.ctx, z.cfg.NewActiveTimeout)
			err := z.local.TransitionToActive(ctx, hasvc.RequestByZKFC)
			cancel()
			z.post(elector.TransitionResult{Seq: a.Seq, Err: err})
		case elector.BecomeStandby:
			ctx, cancel := context.WithTimeout(z.ctx, z.cfg.GracefulFenceTimeout)
			err := z.local.TransitionToStandby(ctx, hasvc.RequestByZKFC)
			cancel()
			z.post(elector.TransitionResult{Seq: a.Seq, Err: err})
		}
	}
}

// targetOf is the configured NameNode a lock or breadcrumb names, or a
// target made from its data when the configuration does not know it.
func (z *ZKFC) targetOf(n elector.NodeInfo) hasvc.Target {
	for _, o := range append([]hasvc.Target{z.cfg.Target}, z.cfg.Others...) {
		if o.NameNodeID == n.NameNode && o.Nameservice == n.Nameservice {
			return o
		}
	}
	return hasvc.Target{Nameservice: n.Nameservice, NameNodeID: n.NameNode, Address: n.Addr(), Conf: z.cfg.Target.Conf,
		FencingMethods: z.cfg.Target.FencingMethods}
}

// gracefulFence asks the old active to become standby, as Hadoop's
// ZKFailoverController.tryGracefulFence does (the elector logs the
// outcome).
func (z *ZKFC) gracefulFence(n elector.NodeInfo) error {
	ctx, cancel := context.WithTimeout(z.ctx, z.cfg.GracefulFenceTimeout)
	defer cancel()
	return hasvc.NewClient(z.rpc, n.Addr()).TransitionToStandby(ctx, hasvc.RequestByZKFC)
}

// runFencer runs the old active's dfs.ha.fencing.methods.
func (z *ZKFC) runFencer(n elector.NodeInfo) error {
	t := z.targetOf(n)
	f, err := fence.Parse(t.FencingMethods, nil, z.log.Named("fence"))
	if err != nil {
		return err
	}
	if !f.Fence(z.ctx, t) {
		return fmt.Errorf("unable to fence %s", t)
	}
	return nil
}

// controller is the ZKFCProtocol side of the ZKFC.
type controller ZKFC

var _ zkfcrpc.Controller = (*controller)(nil)

func (c *controller) CedeActive(ctx context.Context, millis int) error {
	z := (*ZKFC)(c)
	reply := make(chan error, 1)
	select {
	case z.inbox <- cedeReq{millis: int64(millis), reply: reply}:
	case <-z.quit:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		if err != nil {
			return rpc.Errorf(rpc.ErrServiceFailed, "%v", err)
		}
		return nil
	case <-z.quit:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *controller) GracefulFailover(ctx context.Context) error {
	return c.graceful.Run(ctx)
}

// localSide is the ZKFC as its own graceful failover reads it.
type localSide ZKFC

var _ zkfcrpc.Local = (*localSide)(nil)

func (l *localSide) Target() hasvc.Target   { return l.cfg.Target }
func (l *localSide) Healthy() bool          { return l.attempts.Healthy() }
func (l *localSide) Others() []hasvc.Target { return l.cfg.Others }
func (l *localSide) AttemptMark() uint64    { return l.attempts.Mark() }
func (l *localSide) Observer() bool {
	return l.monitor != nil && l.monitor.Status().State == hasvc.StateObserver
}

func (l *localSide) WaitForActiveAttempt(ctx context.Context, mark uint64, d time.Duration) (*zkfcrpc.ActiveAttempt, error) {
	return l.attempts.Wait(ctx, mark, d)
}

// CurrentActive reads the lock through the ZKFC's newest session.
func (l *localSide) CurrentActive(ctx context.Context) (hasvc.Target, bool, error) {
	l.mu.Lock()
	s := l.mu.conn
	l.mu.Unlock()
	if s == nil {
		return hasvc.Target{}, false, errors.New("no ZooKeeper session")
	}
	info, ok, err := s.readLock(ctx, l.cfg.ZK.WorkingZNode+"/"+elector.LockName)
	if err != nil || !ok {
		return hasvc.Target{}, false, err
	}
	return (*ZKFC)(l).targetOf(info), true, nil
}
