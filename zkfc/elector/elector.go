package elector

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hdfsha/hdfsha/zkfc/hasvc"
	"github.com/hdfsha/hdfsha/zkfc/health"
)

// Znode names inside the nameservice's working znode (Hadoop's
// ActiveStandbyElector.LOCK_FILENAME and BREADCRUMB_FILENAME).
const (
	LockName       = "ActiveStandbyElectorLock"
	BreadcrumbName = "ActiveBreadCrumb"
)

// Hadoop's defaults. The configuration keys are read by zkfc/zkutil
// (ConfigFromConf): ha.zookeeper.parent-znode, ha.zookeeper.session-timeout.ms,
// ha.failover-controller.active-standby-elector.zk.op.retries.
const (
	DefaultParentZnode       = "/hadoop-ha"
	DefaultSessionTimeout    = 10 * time.Second
	DefaultZKOpRetries       = 3
	DefaultSleepAfterFailure = time.Second // SLEEP_AFTER_FAILURE_TO_BECOME_ACTIVE
	DefaultTickInterval      = 100 * time.Millisecond
)

// ErrCedeFailed: cedeActive could not make the local NameNode standby; the
// elector still left the election, keeping its breadcrumb so that the next
// active fences it.
var ErrCedeFailed = errors.New("unable to transition local node to standby")

// Config configures an Elector.
type Config struct {
	// Self is the local NameNode's identity: the lock's and breadcrumb's data.
	Self NodeInfo
	// WorkingZNode is where the nameservice's election lives:
	// ha.zookeeper.parent-znode + "/" + nameservice (zkutil.Config's
	// WorkingZNode), "/hadoop-ha/mycluster".
	WorkingZNode string
	// SessionTimeout is ha.zookeeper.session-timeout.ms, passed to the
	// driver with OpenSession.
	SessionTimeout time.Duration
	// MaxRetries bounds the retries of an operation that failed with
	// CONNECTIONLOSS while connected (Hadoop's zk.op.retries).
	MaxRetries int
	// SleepAfterFailure is how long the elector stays out of the election
	// after it won the lock but could not make its NameNode active.
	SleepAfterFailure time.Duration
	// TickInterval is the time one Tick stands for.
	TickInterval time.Duration
}

// DefaultConfig is Hadoop's defaults for self.
func DefaultConfig(self NodeInfo) Config {
	return Config{
		Self:              self,
		WorkingZNode:      DefaultParentZnode + "/" + self.Nameservice,
		SessionTimeout:    DefaultSessionTimeout,
		MaxRetries:        DefaultZKOpRetries,
		SleepAfterFailure: DefaultSleepAfterFailure,
		TickInterval:      DefaultTickInterval,
	}
}

// Validate checks c.
func (c Config) Validate() error {
	switch {
	case c.Self.Nameservice == "" || c.Self.NameNode == "" || c.Self.Host == "":
		return errors.New("elector: Self needs a nameservice, a NameNode ID and a host")
	case !strings.HasPrefix(c.WorkingZNode, "/") || strings.HasSuffix(c.WorkingZNode, "/"):
		return fmt.Errorf("elector: invalid working znode %q", c.WorkingZNode)
	case c.SessionTimeout <= 0:
		return fmt.Errorf("Invalid ZK session timeout %d", c.SessionTimeout.Milliseconds())
	case c.TickInterval <= 0:
		return errors.New("elector: TickInterval must be positive")
	case c.MaxRetries < 0 || c.SleepAfterFailure < 0:
		return errors.New("elector: negative MaxRetries or SleepAfterFailure")
	}
	return nil
}

// LockPath is the ephemeral lock znode.
func (c Config) LockPath() string { return c.WorkingZNode + "/" + LockName }

// BreadcrumbPath is the persistent znode naming the last active.
func (c Config) BreadcrumbPath() string { return c.WorkingZNode + "/" + BreadcrumbName }

// Role is the elector's view of the election: Hadoop's
// ActiveStandbyElector.State.
type Role int

// Roles.
const (
	RoleInit    Role = iota // not in the election, or not decided yet
	RoleActive              // holds the lock and made its NameNode active
	RoleStandby             // another elector holds the lock
	RoleNeutral             // lost touch with ZooKeeper, or the lock changed
)

func (r Role) String() string {
	return [...]string{"INIT", "ACTIVE", "STANDBY", "NEUTRAL"}[r]
}

// ServiceState is what the elector last told the local NameNode to be (the
// ZKFC's serviceState).
type ServiceState int

// Service states.
const (
	ServiceInitializing ServiceState = iota
	ServiceActive
	ServiceStandby
)

func (s ServiceState) String() string {
	return [...]string{"initializing", "active", "standby"}[s]
}

// Status is a snapshot of the elector for reports and for gracefulFailover's
// eligibility check.
type Status struct {
	Role         Role
	Health       health.State
	InElection   bool
	Connected    bool
	Session      uint64
	ServiceState ServiceState
	// DelayTicks is how many ticks the elector still stays out of the
	// election after a cedeActive.
	DelayTicks uint64
}

// phase is where the elector is in the election protocol.
type phase int

const (
	phaseIdle       phase = iota // not in the election
	phaseConnecting              // waiting for the session to connect
	phaseCreating                // CreateLock in flight
	phaseMonitoring              // lock exists (ours as active, or another's): watching
	phaseReadCrumb               // won: reading the breadcrumb
	phaseGraceful                // won: gracefully fencing the old active
	phaseFencing                 // won: running the fencing methods
	phaseWriteCrumb              // won: writing our breadcrumb
	phaseToActive                // won: transitionToActive in flight
)

// Elector is the ZKFC's election logic: Hadoop's ActiveStandbyElector
// together with the ZKFailoverController's reactions to it and to health
// changes. Step it with events; do its actions. It does no I/O, starts no
// goroutine and reads no clock. Not safe for concurrent use.
type Elector struct {
	cfg      Config
	self     []byte
	lock     string
	crumb    string
	selfName string

	now    uint64
	seq    uint64
	health health.State

	// wantElection is Hadoop's wantToBeInElection.
	wantElection bool
	phase        phase
	role         Role
	service      ServiceState

	// session is the current session number, 0 when none is open.
	// Invariant: session == 0 implies !connected.
	session     uint64
	nextSession uint64
	connected   bool
	// wasDisconnected: the current session lost its connection and has not
	// been re-verified since it came back.
	wasDisconnected bool

	createSeq, statSeq, crumbSeq, writeSeq, fenceSeq, activeSeq uint64
	createRetries, statRetries, crumbRetries, writeRetries      int

	// oldActive is the breadcrumb's node during an acquisition; crumbVer is
	// the breadcrumb's version (-1: none).
	oldActive NodeInfo
	crumbVer  int32

	// rejoinAt: when nonzero, the tick at which to rejoin after a failure
	// to become active.
	rejoinAt uint64
	// delayUntil: the elector stays out of the election before this tick
	// (cedeActive).
	delayUntil uint64

	// cede in progress: the BecomeStandby's Seq and the cede's length.
	cedeSeq   uint64
	cedeTicks uint64

	// mismatches counts consecutive status reports that disagree with
	// service.
	mismatches int

	out []Action
}

// New returns an elector for cfg, out of the election, with health
// Initializing.
func New(cfg Config) (*Elector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Elector{
		cfg:      cfg,
		self:     cfg.Self.Marshal(),
		lock:     cfg.LockPath(),
		crumb:    cfg.BreadcrumbPath(),
		selfName: cfg.Self.String(),
		crumbVer: -1,
	}, nil
}

// Status returns a snapshot.
func (e *Elector) Status() Status {
	s := Status{
		Role:         e.role,
		Health:       e.health,
		InElection:   e.wantElection,
		Connected:    e.connected,
		Session:      e.session,
		ServiceState: e.service,
	}
	if e.delayUntil > e.now {
		s.DelayTicks = e.delayUntil - e.now
	}
	return s
}

// Now is the number of ticks stepped so far.
func (e *Elector) Now() uint64 { return e.now }

// Step applies ev and returns the actions the driver must do, in order.
//
// Ordering contract for the driver: the ZooKeeper actions (OpenSession,
// CloseSession, CreateLock, WatchLock, GetBreadcrumb, WriteBreadcrumb,
// DeleteBreadcrumb) run in the order they are returned, across steps; the
// NameNode actions (GracefulFence, RunFencingMethods, BecomeActive,
// BecomeStandby) run one at a time in the order they are returned, across
// steps, so that the last transition the elector asked for is the one the
// NameNode ends in. Log, ActiveAttempt, CedeDone and Fatal take effect
// immediately.
func (e *Elector) Step(ev Event) []Action {
	e.out = nil
	switch ev := ev.(type) {
	case Tick:
		e.tick()
	case HealthChanged:
		e.healthChanged(ev.State)
	case ServiceStatus:
		e.verifyServiceState(ev.State)
	case SessionConnected:
		e.sessionConnected(ev.Session)
	case SessionDisconnected:
		e.sessionDisconnected(ev.Session)
	case SessionExpired:
		e.sessionExpired(ev.Session)
	case CreateLockResult:
		e.createResult(ev)
	case WatchLockResult:
		e.watchResult(ev)
	case LockChanged:
		e.lockChanged(ev)
	case BreadcrumbResult:
		e.breadcrumbResult(ev)
	case WriteBreadcrumbResult:
		e.writeResult(ev)
	case FenceResult:
		e.fenceResult(ev)
	case TransitionResult:
		e.transitionResult(ev)
	case CedeActive:
		e.cedeActive(ev.Millis)
	default:
		panic(fmt.Sprintf("elector: unknown event %T", ev))
	}
	out := e.out
	e.out = nil
	return out
}

func (e *Elector) emit(a Action) uint64 {
	e.seq++
	a.Seq = e.seq
	e.out = append(e.out, a)
	return a.Seq
}

func (e *Elector) logf(l Level, format string, args ...any) {
	e.emit(Action{Kind: Log, Level: l, Msg: fmt.Sprintf(format, args...)})
}

func (e *Elector) ticks(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64((d + e.cfg.TickInterval - 1) / e.cfg.TickInterval)
}

// ---- time ----

func (e *Elector) tick() {
	e.now++
	if e.rejoinAt != 0 && e.now >= e.rejoinAt {
		e.rejoinAt = 0
		e.recheckElectability()
		return
	}
	if e.delayUntil != 0 && e.now >= e.delayUntil {
		e.delayUntil = 0
		e.recheckElectability()
	}
}

// ---- health and electability (ZKFailoverController) ----

func (e *Elector) healthChanged(s health.State) {
	if s == e.health {
		return
	}
	e.logf(Info, "Local service %s entered state: %s", e.selfName, s)
	e.health = s
	e.recheckElectability()
}

// recheckElectability joins or leaves the election from the health state
// and the cede delay: Hadoop's ZKFailoverController.recheckElectability.
func (e *Elector) recheckElectability() {
	if e.delayUntil > e.now {
		if e.health == health.ServiceHealthy {
			e.logf(Info, "Would have joined master election, but this node is prohibited from doing so for %d more ms",
				(time.Duration(e.delayUntil-e.now) * e.cfg.TickInterval).Milliseconds())
		}
		return // tick rechecks when the delay ends
	}
	switch e.health {
	case health.ServiceHealthy:
		if e.rejoinAt > e.now {
			return // sleeping after a failure to become active; tick rejoins
		}
		e.joinElection()
	case health.Initializing:
		if e.wantElection || e.session != 0 {
			e.logf(Info, "Ensuring that %s does not participate in active master election", e.selfName)
			e.quitElection(false)
		}
		e.service = ServiceInitializing
	case health.ServiceUnhealthy, health.ServiceNotResponding:
		e.logf(Info, "Quitting master election for %s and marking that fencing is necessary", e.selfName)
		wasIn := e.wantElection || e.session != 0
		e.quitElection(true)
		if wasIn && e.service != ServiceStandby {
			// This project goes further than Hadoop: a NameNode its ZKFC
			// stops vouching for is told to be standby right away (best
			// effort; the next active fences it anyway).
			e.becomeStandbyNN()
		}
		e.service = ServiceInitializing
	case health.HealthMonitorFailed:
		e.quitElection(true)
		e.emit(Action{Kind: Fatal, Msg: "Health monitor failed!"})
	}
}

// verifyServiceState compares the state the NameNode reports with the one
// the elector made it; on the second disagreement in a row it leaves the
// election, keeping the breadcrumb, and stays out for a second.
func (e *Elector) verifyServiceState(s hasvc.State) {
	var reported ServiceState
	switch s {
	case hasvc.StateActive:
		reported = ServiceActive
	case hasvc.StateStandby:
		reported = ServiceStandby
	default:
		return
	}
	if e.service == ServiceInitializing || e.activeSeq != 0 || e.cedeSeq != 0 {
		e.mismatches = 0
		return // nothing expected yet, or a transition is in flight
	}
	if reported == e.service {
		e.mismatches = 0
		return
	}
	if e.mismatches == 0 {
		e.mismatches++ // may be a transition racing with the report
		return
	}
	e.mismatches = 0
	e.logf(Error, "Local service %s has changed the serviceState to %s. Expected was %s. Quitting election marking fencing necessary.",
		e.selfName, reported, e.service)
	e.delayUntil = e.now + e.ticks(time.Second)
	e.quitElection(true)
	e.service = ServiceInitializing
}

// ---- joining and leaving (ActiveStandbyElector) ----

func (e *Elector) joinElection() {
	if e.wantElection {
		return
	}
	e.logf(Debug, "Attempting active election for %s", e.selfName)
	e.wantElection = true
	e.joinElectionInternal()
}

// joinElectionInternal creates the lock, opening a session first when none
// is open.
func (e *Elector) joinElectionInternal() {
	e.wantElection = true
	if e.session == 0 {
		e.nextSession++
		e.session = e.nextSession
		e.connected = false
		e.wasDisconnected = false
		e.phase = phaseConnecting
		e.emit(Action{Kind: OpenSession, Session: e.session, SessionTimeout: e.cfg.SessionTimeout})
		return
	}
	if !e.connected {
		e.phase = phaseConnecting
		return
	}
	if e.createSeq != 0 {
		return // a create is in flight already; its answer decides
	}
	e.createRetries = 0
	e.createLock()
}

func (e *Elector) createLock() {
	e.phase = phaseCreating
	e.createSeq = e.emit(Action{Kind: CreateLock, Session: e.session, Path: e.lock, Data: e.self})
}

// monitorActiveStatus sets (again) the watch on the lock, unless one
// exists call is already pending in this session.
func (e *Elector) monitorActiveStatus() {
	e.statRetries = 0
	e.monitorLock()
}

func (e *Elector) monitorLock() {
	if e.statSeq != 0 {
		e.logf(Debug, "Ignore duplicate monitor lock-node request.")
		return
	}
	if e.phase == phaseCreating || e.phase == phaseConnecting || e.phase == phaseIdle {
		e.phase = phaseMonitoring
	}
	e.statSeq = e.emit(Action{Kind: WatchLock, Session: e.session, Path: e.lock})
}

// quitElection leaves the election: Hadoop's quitElection(needFence). A
// graceful exit (needFence false) of an active first deletes its
// breadcrumb so that nobody fences it. Closing the session releases the
// lock.
func (e *Elector) quitElection(needFence bool) {
	if e.wantElection || e.session != 0 {
		e.logf(Info, "Yielding from election")
	}
	if !needFence && e.role == RoleActive && e.connected {
		e.logf(Info, "Deleting bread-crumb of active node...")
		e.emit(Action{Kind: DeleteBreadcrumb, Session: e.session, Path: e.crumb, Data: e.self})
	}
	e.reset()
	e.wantElection = false
}

// reset closes the session and forgets everything pending in it.
func (e *Elector) reset() {
	e.role = RoleInit
	e.terminateSession()
}

// terminateSession closes the session. A NameNode told to be active (or
// being told) is told to be standby after that: without the session the
// elector no longer holds the lock, so another ZKFC may take over.
func (e *Elector) terminateSession() {
	if e.service == ServiceActive {
		e.becomeStandbyNN()
	}
	if e.session != 0 {
		e.emit(Action{Kind: CloseSession, Session: e.session})
	}
	e.session = 0
	e.connected = false
	e.wasDisconnected = false
	e.phase = phaseIdle
	e.createSeq, e.statSeq, e.crumbSeq, e.writeSeq, e.fenceSeq, e.activeSeq = 0, 0, 0, 0, 0, 0
	e.wantElection = false
}

// reJoinElection closes the session and joins again after sleep (Hadoop's
// reJoinElection), if the elector may be in the election then.
func (e *Elector) reJoinElection(sleep time.Duration) {
	e.logf(Info, "Trying to re-establish ZK session")
	e.terminateSession()
	if t := e.ticks(sleep); t > 0 {
		e.rejoinAt = e.now + t
		return
	}
	e.recheckElectability()
}

// ---- session events ----

func (e *Elector) stale(session uint64, what string) bool {
	if session == 0 || session != e.session {
		e.logf(Debug, "Ignoring stale %s from old session %d", what, session)
		return true
	}
	return false
}

func (e *Elector) sessionConnected(s uint64) {
	if e.stale(s, "connection event") {
		return
	}
	e.logf(Info, "Session connected.")
	prev := e.wasDisconnected
	e.connected = true
	e.wasDisconnected = false
	if !e.wantElection {
		return
	}
	if e.phase == phaseConnecting {
		e.createRetries = 0
		e.createLock()
		return
	}
	if prev {
		// Whatever was in flight may have been lost with the connection:
		// start over from what the lock says.
		e.createSeq, e.statSeq = 0, 0
		e.monitorActiveStatus()
	}
}

func (e *Elector) sessionDisconnected(s uint64) {
	if e.stale(s, "disconnection event") {
		return
	}
	e.logf(Info, "Session disconnected. Entering neutral mode...")
	e.connected = false
	e.wasDisconnected = true
	e.enterNeutralMode()
}

func (e *Elector) sessionExpired(s uint64) {
	if e.stale(s, "expiry event") {
		return
	}
	e.logf(Info, "Session expired. Entering neutral mode and rejoining...")
	e.enterNeutralMode()
	// The lock went with the session and another ZKFC may hold it already:
	// unlike Hadoop, which waits to learn that, an active steps down now
	// (terminateSession does it).
	e.reJoinElection(0)
}

func (e *Elector) enterNeutralMode() {
	if e.role != RoleNeutral {
		e.logf(Debug, "Entering neutral mode for %s", e.selfName)
		e.role = RoleNeutral
	}
}

// ---- lock ----

func (e *Elector) retryable(c Code) bool { return c == CodeConnectionLoss }

func (e *Elector) createResult(r CreateLockResult) {
	if r.Seq == 0 || r.Seq != e.createSeq {
		return
	}
	e.createSeq = 0
	e.logf(Debug, "CreateNode result: %s for path: %s", r.Code, e.lock)
	switch r.Code {
	case CodeOK:
		e.becomeActive()
		return
	case CodeNodeExists:
		if e.createRetries == 0 {
			// Another elector created it: we are standby.
			e.becomeStandby()
		}
		// After a retry the node may be ours from the first attempt: the
		// exists answer tells by its ephemeral owner.
		e.monitorActiveStatus()
		return
	case CodeSessionExpired:
		e.logf(Warn, "Lock acquisition failed because session was lost")
		return
	}
	msg := fmt.Sprintf("Received create error from Zookeeper. code:%s for path %s", r.Code, e.lock)
	if e.retryable(r.Code) {
		if !e.connected {
			return // SessionConnected starts over
		}
		if e.createRetries < e.cfg.MaxRetries {
			e.createRetries++
			e.logf(Debug, "Retrying createNode createRetryCount: %d", e.createRetries)
			e.createLock()
			return
		}
		msg += ". Not retrying further znode create connection errors."
	}
	e.zkError(msg)
}

func (e *Elector) watchResult(r WatchLockResult) {
	if r.Seq == 0 || r.Seq != e.statSeq {
		return
	}
	e.statSeq = 0
	switch r.Code {
	case CodeOK:
		if r.Mine {
			e.becomeActive()
		} else {
			e.becomeStandby()
		}
		return
	case CodeNoNode:
		// The lock disappeared before we started watching it.
		e.enterNeutralMode()
		e.joinElectionInternal()
		return
	case CodeSessionExpired:
		e.logf(Warn, "Lock monitoring failed because session was lost")
		return
	}
	msg := fmt.Sprintf("Received stat error from Zookeeper. code:%s", r.Code)
	if e.retryable(r.Code) {
		if !e.connected {
			return
		}
		if e.statRetries < e.cfg.MaxRetries {
			e.statRetries++
			e.monitorLock()
			return
		}
		msg += ". Not retrying further znode monitoring connection errors."
	}
	e.zkError(msg)
}

// zkError: Hadoop calls these fatal and the ZKFC exits. Here the elector
// starts over with a new session after SleepAfterFailure, stepping its
// NameNode down first if it was active; a ZKFC that stays up resumes the
// election when ZooKeeper is back.
func (e *Elector) zkError(msg string) {
	e.logf(Error, "%s", msg)
	e.role = RoleInit
	e.reJoinElection(e.cfg.SleepAfterFailure)
}

func (e *Elector) lockChanged(c LockChanged) {
	if e.stale(c.Session, "watch event") || !e.wantElection {
		return
	}
	if c.Deleted {
		if e.role == RoleActive {
			e.enterNeutralMode()
		}
		// An exists answer still on its way is moot now.
		e.statSeq = 0
		if e.phase == phaseMonitoring {
			e.joinElectionInternal()
		}
		return
	}
	e.monitorActiveStatus()
}

// ---- winning: fence, breadcrumb, active ----

// becomeActive starts (or confirms) taking over after winning the lock.
func (e *Elector) becomeActive() {
	if e.role == RoleActive {
		// Already active; the watch just set reports changes.
		e.phase = phaseMonitoring
		return
	}
	if e.phase >= phaseReadCrumb {
		return // already taking over
	}
	e.logf(Info, "Checking for any old active which needs to be fenced...")
	e.phase = phaseReadCrumb
	e.crumbRetries = 0
	e.readBreadcrumb()
}

func (e *Elector) readBreadcrumb() {
	e.crumbSeq = e.emit(Action{Kind: GetBreadcrumb, Session: e.session, Path: e.crumb})
}

func (e *Elector) breadcrumbResult(r BreadcrumbResult) {
	if r.Seq == 0 || r.Seq != e.crumbSeq {
		return
	}
	e.crumbSeq = 0
	switch r.Code {
	case CodeNoNode:
		e.logf(Info, "No old node to fence")
		e.crumbVer = -1
		e.writeBreadcrumb()
		return
	case CodeOK:
	default:
		if e.retryable(r.Code) && e.connected && e.crumbRetries+1 < e.cfg.MaxRetries {
			e.crumbRetries++
			e.readBreadcrumb()
			return
		}
		e.failedToBecomeActive(fmt.Sprintf("Unable to read %s: %s", e.crumb, r.Code))
		return
	}
	e.crumbVer = r.Version
	e.logf(Info, "Old node exists: %x", r.Data)
	old, err := ParseNodeInfo(r.Data)
	if bytes.Equal(r.Data, e.self) || (err == nil && old.SameNode(e.cfg.Self)) {
		e.logf(Info, "But old node has our own data, so don't need to fence it.")
		e.writeBreadcrumb()
		return
	}
	if err != nil {
		e.failedToBecomeActive(fmt.Sprintf("Unable to fence old active: cannot parse %s: %v", e.crumb, err))
		return
	}
	e.oldActive = old
	e.logf(Info, "Should fence: %s", old)
	e.phase = phaseGraceful
	e.fenceSeq = e.emit(Action{Kind: GracefulFence, Node: old})
}

func (e *Elector) fenceResult(r FenceResult) {
	if r.Seq == 0 || r.Seq != e.fenceSeq {
		return
	}
	e.fenceSeq = 0
	switch e.phase {
	case phaseGraceful:
		if r.Err == nil {
			e.logf(Info, "Successfully transitioned %s to standby state without fencing", e.oldActive)
			e.writeBreadcrumb()
			return
		}
		e.logf(Warn, "Unable to gracefully make %s standby (%v)", e.oldActive, r.Err)
		e.phase = phaseFencing
		e.fenceSeq = e.emit(Action{Kind: RunFencingMethods, Node: e.oldActive})
	case phaseFencing:
		if r.Err == nil {
			e.writeBreadcrumb()
			return
		}
		e.failedToBecomeActive(fmt.Sprintf("Unable to fence old active: Unable to fence %s: %v", e.oldActive, r.Err))
	}
}

// writeBreadcrumb records the local node as the latest active. It runs only
// once the old active is known to be fenced (or was ourselves, or none),
// and before the local NameNode is made active.
func (e *Elector) writeBreadcrumb() {
	e.logf(Info, "Writing znode %s to indicate that the local node is the most recent active...", e.crumb)
	e.phase = phaseWriteCrumb
	e.writeRetries = 0
	e.sendWriteBreadcrumb()
}

func (e *Elector) sendWriteBreadcrumb() {
	e.writeSeq = e.emit(Action{Kind: WriteBreadcrumb, Session: e.session, Path: e.crumb, Data: e.self, Version: e.crumbVer})
}

func (e *Elector) writeResult(r WriteBreadcrumbResult) {
	if r.Seq == 0 || r.Seq != e.writeSeq {
		return
	}
	e.writeSeq = 0
	if r.Code != CodeOK {
		if e.retryable(r.Code) && e.connected && e.writeRetries+1 < e.cfg.MaxRetries {
			e.writeRetries++
			e.sendWriteBreadcrumb()
			return
		}
		e.failedToBecomeActive(fmt.Sprintf("Unable to write %s: %s", e.crumb, r.Code))
		return
	}
	e.logf(Info, "Trying to make %s active...", e.selfName)
	e.phase = phaseToActive
	e.service = ServiceActive
	e.activeSeq = e.emit(Action{Kind: BecomeActive})
}

func (e *Elector) transitionResult(r TransitionResult) {
	switch {
	case r.Seq != 0 && r.Seq == e.activeSeq:
		e.activeSeq = 0
		if r.Err != nil {
			msg := fmt.Sprintf("Couldn't make %s active", e.selfName)
			e.logf(Error, "%s: %v", msg, r.Err)
			// The NameNode may be half-way: ask it to be standby.
			e.becomeStandbyNN()
			e.failedToBecomeActive(msg + "\n" + r.Err.Error())
			return
		}
		msg := fmt.Sprintf("Successfully transitioned %s to active state", e.selfName)
		e.logf(Info, "%s", msg)
		e.emit(Action{Kind: ActiveAttempt, OK: true, Msg: msg})
		e.role = RoleActive
		e.phase = phaseMonitoring
		e.monitorActiveStatus()
	case r.Seq != 0 && r.Seq == e.cedeSeq:
		e.cedeSeq = 0
		var err error
		needFence := false
		if r.Err == nil {
			e.logf(Info, "Successfully ensured local node is in standby mode")
		} else {
			e.logf(Warn, "Unable to transition local node to standby: %v", r.Err)
			e.logf(Warn, "Quitting election but indicating that fencing is necessary")
			needFence = true
			err = fmt.Errorf("%w: %w", ErrCedeFailed, r.Err)
		}
		e.delayUntil = e.now + e.cedeTicks
		e.quitElection(needFence)
		e.service = ServiceInitializing
		e.emit(Action{Kind: CedeDone, Err: err})
		e.recheckElectability()
	}
}

// failedToBecomeActive gives the lock up and rejoins after
// SleepAfterFailure, so that another node gets its chance.
func (e *Elector) failedToBecomeActive(msg string) {
	e.logf(Warn, "Exception handling the winning of election: %s", msg)
	e.emit(Action{Kind: ActiveAttempt, OK: false, Msg: msg})
	e.role = RoleInit
	e.reJoinElection(e.cfg.SleepAfterFailure)
}

// ---- losing ----

// becomeStandby: another elector holds the lock.
func (e *Elector) becomeStandby() {
	if e.role == RoleStandby {
		return
	}
	e.role = RoleStandby
	e.becomeStandbyNN()
}

// becomeStandbyNN tells the local NameNode to be standby: the ZKFC's
// becomeStandby.
func (e *Elector) becomeStandbyNN() {
	e.logf(Info, "ZK Election indicated that %s should become standby", e.selfName)
	e.service = ServiceStandby
	e.emit(Action{Kind: BecomeStandby})
}

// ---- cedeActive ----

func (e *Elector) cedeActive(millis int64) {
	if millis <= 0 {
		e.delayUntil = 0
		e.emit(Action{Kind: CedeDone})
		e.recheckElectability()
		return
	}
	if e.cedeSeq != 0 {
		// A cede is in progress: its CedeDone answers this one too, and
		// the later length wins.
		e.cedeTicks = e.ticks(time.Duration(millis) * time.Millisecond)
		return
	}
	e.logf(Info, "Requested to cede active role.")
	e.cedeTicks = e.ticks(time.Duration(millis) * time.Millisecond)
	e.service = ServiceStandby
	e.cedeSeq = e.emit(Action{Kind: BecomeStandby})
}
