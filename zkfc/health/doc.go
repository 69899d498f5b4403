// Package health is the ZKFC's health monitor: Hadoop's HealthMonitor,
// split into a pure state machine (Monitor) and a thin driver (Runner).
//
// States, with Hadoop's names: INITIALIZING (no check done yet),
// SERVICE_HEALTHY, SERVICE_UNHEALTHY (the NameNode answered monitorHealth
// with HealthCheckFailedException), SERVICE_NOT_RESPONDING (refused
// connection, timeout, or any other failure of a call), and
// HEALTH_MONITOR_FAILED (the monitor itself broke: the ZKFC must stop).
//
// One round of checks is getServiceStatus, then monitorHealth, each bounded
// by ha.health-monitor.rpc-timeout.ms (45 s). The next round comes after
// ha.health-monitor.check-interval.ms (1 s) when the service answered,
// after ha.health-monitor.connect-retry-interval.ms (1 s) when it refused
// the connection, after ha.health-monitor.sleep-after-disconnect.ms (1 s)
// after any other failure. The first round runs at once.
//
// Monitor does no I/O and reads no clock: Tick (one per tick of the
// driver's clock) says when a round is due, Observe takes its Result and
// returns an Update: the state entered, if it changed (Hadoop's
// enteredState callback), and the service status, whenever
// getServiceStatus answered (Hadoop's reportServiceStatus). Intervals are
// whole ticks (Config.Intervals, TicksFor).
//
// Runner owns one goroutine: Start it with a hasvc.Service (the local
// NameNode), a Clock (RealClock, or a hand-driven one in tests) and a
// notify function that receives Updates in order on that goroutine (the
// ZKFC turns them into elector events with elector.FromHealth). Stop cancels
// a call in flight and waits for the goroutine. Classify maps a call's
// error to an Outcome; a panic of the Service fails the monitor.
package health
