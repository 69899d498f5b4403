package elector

import (
	"fmt"
	"time"

	"github.com/hdfsha/hdfsha/zkfc/hasvc"
	"github.com/hdfsha/hdfsha/zkfc/health"
)

// Code is the outcome of a ZooKeeper operation, as the driver maps the
// client's error (go-zookeeper's zk.ErrNodeExists, zk.ErrNoNode, ...).
type Code int

// ZooKeeper outcomes the elector tells apart (Hadoop's KeeperException codes).
const (
	CodeOK             Code = iota
	CodeNodeExists          // NODEEXISTS
	CodeNoNode              // NONODE
	CodeBadVersion          // BADVERSION
	CodeConnectionLoss      // CONNECTIONLOSS or OPERATIONTIMEOUT: may be retried
	CodeSessionExpired      // SESSIONEXPIRED: the session event follows
	CodeOther               // anything else (auth, ACL, ...)
)

var codeNames = [...]string{"OK", "NODEEXISTS", "NONODE", "BADVERSION", "CONNECTIONLOSS", "SESSIONEXPIRED", "ERROR"}

func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", int(c))
}

// Event is an input to Step. The concrete types are listed below; results
// carry the Seq of the action they answer and are ignored when the elector
// no longer waits for that action (a stale result).
type Event interface{ isEvent() }

// Tick advances the elector's clock by one Config.TickInterval.
type Tick struct{}

// HealthChanged reports the health monitor's new state.
type HealthChanged struct{ State health.State }

// ServiceStatus is the state the local NameNode reported to the health
// monitor (health.Update.Status). Two reports in a row that disagree with
// what the elector made it leave the election: Hadoop's
// verifyChangedServiceState.
type ServiceStatus struct{ State hasvc.State }

// SessionConnected: session Session (an OpenSession's number) is connected,
// for the first time or again after SessionDisconnected.
type SessionConnected struct{ Session uint64 }

// SessionDisconnected: the client lost its connection; the session may still
// be alive on the servers.
type SessionDisconnected struct{ Session uint64 }

// SessionExpired: the servers expired the session; its ephemeral lock is gone.
type SessionExpired struct{ Session uint64 }

// CreateLockResult answers CreateLock.
type CreateLockResult struct {
	Seq  uint64
	Code Code
}

// WatchLockResult answers WatchLock: Code OK when the lock exists (then Mine
// says whether its ephemeral owner is the elector's session), NoNode when it
// does not. The watch is set either way.
type WatchLockResult struct {
	Seq  uint64
	Code Code
	Mine bool
}

// LockChanged: the watch WatchLock set fired.
type LockChanged struct {
	Session uint64
	Deleted bool // NodeDeleted; otherwise created or data changed
}

// BreadcrumbResult answers GetBreadcrumb: OK with the data and version, or
// NoNode when no NameNode was ever active.
type BreadcrumbResult struct {
	Seq     uint64
	Code    Code
	Data    []byte
	Version int32
}

// WriteBreadcrumbResult answers WriteBreadcrumb.
type WriteBreadcrumbResult struct {
	Seq  uint64
	Code Code
}

// FenceResult answers GracefulFence and RunFencingMethods: Err nil when the
// old active is fenced.
type FenceResult struct {
	Seq uint64
	Err error
}

// TransitionResult answers BecomeActive and BecomeStandby: Err nil when the
// local NameNode made the transition.
type TransitionResult struct {
	Seq uint64
	Err error
}

// CedeActive is ZKFCProtocol.cedeActive(millis): make the local NameNode
// standby, leave the election and stay out of it for Millis; Millis <= 0
// cancels an earlier delay and rejoins if healthy. The elector answers with
// a CedeDone action.
type CedeActive struct{ Millis int64 }

func (Tick) isEvent()                  {}
func (HealthChanged) isEvent()         {}
func (ServiceStatus) isEvent()         {}
func (SessionConnected) isEvent()      {}
func (SessionDisconnected) isEvent()   {}
func (SessionExpired) isEvent()        {}
func (CreateLockResult) isEvent()      {}
func (WatchLockResult) isEvent()       {}
func (LockChanged) isEvent()           {}
func (BreadcrumbResult) isEvent()      {}
func (WriteBreadcrumbResult) isEvent() {}
func (FenceResult) isEvent()           {}
func (TransitionResult) isEvent()      {}
func (CedeActive) isEvent()            {}

// Kind says what an Action asks the driver to do.
type Kind int

// Action kinds. "Report" names the event the driver must Step with the
// outcome, carrying the action's Seq.
const (
	// OpenSession: open ZooKeeper session number Session with
	// SessionTimeout; report SessionConnected/Disconnected/Expired for it,
	// and LockChanged for the watches set through it.
	OpenSession Kind = iota
	// CloseSession: close session Session (its ephemeral lock, if it holds
	// it, goes with it). Nothing to report; later events of that session are
	// ignored.
	CloseSession
	// CreateLock: create Path, ephemeral, with Data; report CreateLockResult.
	CreateLock
	// WatchLock: exists(Path) with a watch; report WatchLockResult, then
	// LockChanged when the watch fires.
	WatchLock
	// GetBreadcrumb: getData(Path); report BreadcrumbResult.
	GetBreadcrumb
	// WriteBreadcrumb: create Path persistent with Data when Version < 0,
	// else setData(Path, Data, Version); report WriteBreadcrumbResult.
	WriteBreadcrumb
	// DeleteBreadcrumb: delete Path if its data still equals Data (read,
	// compare, delete with that version). Best effort, nothing to report.
	DeleteBreadcrumb
	// GracefulFence: ask Node's NameNode to become standby
	// (transitionToStandby, REQUEST_BY_ZKFC, within
	// ha.failover-controller.graceful-fence.rpc-timeout.ms); report
	// FenceResult.
	GracefulFence
	// RunFencingMethods: run dfs.ha.fencing.methods against Node; report
	// FenceResult.
	RunFencingMethods
	// BecomeActive: transitionToActive(REQUEST_BY_ZKFC) on the local
	// NameNode (within ha.failover-controller.new-active.rpc-timeout.ms);
	// report TransitionResult.
	BecomeActive
	// BecomeStandby: transitionToStandby(REQUEST_BY_ZKFC) on the local
	// NameNode (within the graceful-fence timeout); report TransitionResult.
	BecomeStandby
	// ActiveAttempt: record the outcome of an attempt to become active (OK,
	// Msg) for a gracefulFailover waiting on it. Nothing to report.
	ActiveAttempt
	// CedeDone: the CedeActive in progress is complete; answer the
	// cedeActive call. Nothing to report.
	CedeDone
	// Log: write Msg at Level.
	Log
	// Fatal: the ZKFC cannot go on (Hadoop's fatalError): stop with Msg.
	Fatal
)

var kindNames = [...]string{"OpenSession", "CloseSession", "CreateLock", "WatchLock", "GetBreadcrumb",
	"WriteBreadcrumb", "DeleteBreadcrumb", "GracefulFence", "RunFencingMethods", "BecomeActive",
	"BecomeStandby", "ActiveAttempt", "CedeDone", "Log", "Fatal"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Level is a Log action's level.
type Level int

// Log levels.
const (
	Debug Level = iota
	Info
	Warn
	Error
)

func (l Level) String() string {
	return [...]string{"DEBUG", "INFO", "WARN", "ERROR"}[l]
}

// Action is one thing the driver must do. Only the fields its Kind documents
// are set.
type Action struct {
	Kind Kind
	// Seq identifies the action; its result event carries it back.
	Seq uint64
	// Session is the ZooKeeper session a ZooKeeper action runs in.
	Session uint64
	// SessionTimeout is OpenSession's ha.zookeeper.session-timeout.ms.
	SessionTimeout time.Duration
	Path           string
	Data           []byte
	Version        int32
	// Node is the old active GracefulFence and RunFencingMethods fence.
	Node NodeInfo
	// OK is ActiveAttempt's outcome; Err is CedeDone's.
	OK  bool
	Err error
	// Level and Msg are a Log's; Msg is also Fatal's and ActiveAttempt's.
	Level Level
	Msg   string
}

func (a Action) String() string {
	switch a.Kind {
	case OpenSession:
		return fmt.Sprintf("OpenSession session=%d timeout=%s", a.Session, a.SessionTimeout)
	case CloseSession:
		return fmt.Sprintf("CloseSession session=%d", a.Session)
	case CreateLock, WatchLock, GetBreadcrumb, DeleteBreadcrumb:
		return fmt.Sprintf("%s %s", a.Kind, a.Path)
	case WriteBreadcrumb:
		return fmt.Sprintf("WriteBreadcrumb %s version=%d", a.Path, a.Version)
	case GracefulFence, RunFencingMethods:
		return fmt.Sprintf("%s %s", a.Kind, a.Node)
	case ActiveAttempt:
		return fmt.Sprintf("ActiveAttempt ok=%t %s", a.OK, a.Msg)
	case CedeDone:
		if a.Err != nil {
			return "CedeDone err=" + a.Err.Error()
		}
		return "CedeDone"
	case Log:
		return fmt.Sprintf("Log %s %s", a.Level, a.Msg)
	case Fatal:
		return "Fatal " + a.Msg
	}
	return a.Kind.String()
}

// FromHealth turns a health monitor Update into the events to Step, in
// Hadoop's order: the reported status first, then the state change.
func FromHealth(u health.Update) []Event {
	var evs []Event
	if u.Reported {
		evs = append(evs, ServiceStatus{State: u.Status.State})
	}
	if u.Entered {
		evs = append(evs, HealthChanged{State: u.State})
	}
	return evs
}
