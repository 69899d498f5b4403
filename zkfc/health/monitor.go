package health

import (
	"fmt"
	"time"

	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// State is the health of the monitored service: Hadoop's HealthMonitor.State.
type State int

// Health states, with Hadoop's names (String).
const (
	// Initializing: no check has completed yet.
	Initializing State = iota
	// ServiceNotResponding: the last check failed at the transport level
	// (refused connection, timeout, closed connection).
	ServiceNotResponding
	// ServiceHealthy: monitorHealth succeeded.
	ServiceHealthy
	// ServiceUnhealthy: the service answered with HealthCheckFailedException.
	ServiceUnhealthy
	// HealthMonitorFailed: the monitor itself failed and knows nothing.
	HealthMonitorFailed
)

var stateNames = [...]string{"INITIALIZING", "SERVICE_NOT_RESPONDING", "SERVICE_HEALTHY", "SERVICE_UNHEALTHY", "HEALTH_MONITOR_FAILED"}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Outcome classifies one round of checks (getServiceStatus, then
// monitorHealth).
type Outcome int

// Outcomes of a round of checks.
const (
	// Healthy: both calls succeeded.
	Healthy Outcome = iota
	// Unhealthy: a call failed with HealthCheckFailedException.
	Unhealthy
	// ConnectFailed: the service could not be reached (connection refused,
	// no route): Hadoop's failure to connect, retried after
	// ha.health-monitor.connect-retry-interval.ms.
	ConnectFailed
	// TransportFailed: any other failure (timeout, connection reset,
	// unexpected error), retried after
	// ha.health-monitor.sleep-after-disconnect.ms.
	TransportFailed
)

// Result is what the driver learnt from one round of checks.
type Result struct {
	Outcome Outcome
	// Status is getServiceStatus's answer; meaningful when HaveStatus.
	Status     hasvc.Status
	HaveStatus bool
	// Err is the failure, for the log.
	Err error
}

// Intervals are the monitor's waits, as whole ticks (at least 1 each).
type Intervals struct {
	Check, ConnectRetry, SleepAfterDisconnect int
}

// TicksFor converts d into whole ticks of length tick, rounding up, at
// least 1.
func TicksFor(d, tick time.Duration) int {
	if tick <= 0 {
		return 1
	}
	n := int((d + tick - 1) / tick)
	if n < 1 {
		n = 1
	}
	return n
}

// Monitor is the health monitor's pure state machine. It does no I/O and
// reads no clock: Tick says when a check is due, Observe takes its result.
// A Monitor is not safe for concurrent use.
type Monitor struct {
	iv    Intervals
	state State
	// Invariant: wait >= 0; a check is due when wait == 0 and !inFlight.
	wait     int
	inFlight bool
	status   hasvc.Status
	failed   bool
}

// NewMonitor returns a monitor in Initializing whose first Tick starts a
// check.
func NewMonitor(iv Intervals) *Monitor {
	if iv.Check < 1 {
		iv.Check = 1
	}
	if iv.ConnectRetry < 1 {
		iv.ConnectRetry = 1
	}
	if iv.SleepAfterDisconnect < 1 {
		iv.SleepAfterDisconnect = 1
	}
	return &Monitor{iv: iv}
}

// State is the current health state.
func (m *Monitor) State() State { return m.state }

// Status is the last service status reported (State Initializing before
// any).
func (m *Monitor) Status() hasvc.Status { return m.status }

// Tick advances time by one tick and reports whether the driver must run a
// round of checks now and then call Observe. No check is due while one is
// in flight, or after Fail.
func (m *Monitor) Tick() (check bool) {
	if m.inFlight || m.failed {
		return false
	}
	if m.wait > 0 {
		m.wait--
	}
	if m.wait == 0 {
		m.inFlight = true
		return true
	}
	return false
}

// Update is what one Observe changed.
type Update struct {
	// Entered is set when the state changed: Hadoop's enteredState callback.
	Entered bool
	State   State
	// Reported is set when the service reported a status: Hadoop's
	// reportServiceStatus callback (sent after every successful
	// getServiceStatus, changed or not).
	Reported bool
	Status   hasvc.Status
}

// Observe takes the result of the check Tick asked for and schedules the
// next one: after the check interval when the service answered, after the
// connect-retry interval or the sleep-after-disconnect when it did not.
// The status is reported before the state change is, as Hadoop does.
func (m *Monitor) Observe(r Result) Update {
	if !m.inFlight {
		panic("health: Observe without a check in flight")
	}
	m.inFlight = false
	var u Update
	if r.HaveStatus {
		m.status = r.Status
		u.Reported, u.Status = true, r.Status
	}
	next := m.state
	switch r.Outcome {
	case Healthy:
		next = ServiceHealthy
		m.wait = m.iv.Check
	case Unhealthy:
		next = ServiceUnhealthy
		m.wait = m.iv.Check
	case ConnectFailed:
		next = ServiceNotResponding
		m.wait = m.iv.ConnectRetry
	default:
		next = ServiceNotResponding
		m.wait = m.iv.SleepAfterDisconnect
	}
	if m.failed {
		return Update{}
	}
	if next != m.state {
		m.state = next
		u.Entered, u.State = true, next
	}
	return u
}

// Fail puts the monitor in HealthMonitorFailed for good (the driver hit a
// bug it cannot recover from). It returns the Update to deliver.
func (m *Monitor) Fail() Update {
	if m.failed {
		return Update{}
	}
	m.failed = true
	m.state = HealthMonitorFailed
	return Update{Entered: true, State: HealthMonitorFailed}
}
