package elector

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/zkfc/hasvc"
	"github.com/hdfsha/hdfsha/zkfc/health"
)

var (
	nn1 = NodeInfo{Nameservice: "mycluster", NameNode: "nn1", Host: "127.0.0.1", Port: 8020, ZKFCPort: 8019}
	nn2 = NodeInfo{Nameservice: "mycluster", NameNode: "nn2", Host: "127.0.0.2", Port: 8020, ZKFCPort: 8019}
)

const (
	lockPath  = "/hadoop-ha/mycluster/ActiveStandbyElectorLock"
	crumbPath = "/hadoop-ha/mycluster/ActiveBreadCrumb"
)

// script steps one elector and shows its actions compactly: every action but
// Log, separated by "; ". The Log lines of the last step are in logs.
type script struct {
	t    *testing.T
	e    *Elector
	last []Action
}

func newScript(t *testing.T, mod func(*Config)) *script {
	t.Helper()
	cfg := DefaultConfig(nn1)
	cfg.TickInterval = 100 * time.Millisecond
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &script{t: t, e: e}
}

func (s *script) step(ev Event) string {
	s.last = s.e.Step(ev)
	var parts []string
	for _, a := range s.last {
		if a.Kind != Log {
			parts = append(parts, a.String())
		}
	}
	return strings.Join(parts, "; ")
}

// expect steps ev and checks the actions.
func (s *script) expect(ev Event, want string) {
	s.t.Helper()
	if got := s.step(ev); got != want {
		s.t.Fatalf("after %T%+v:\n got: %s\nwant: %s", ev, ev, got, want)
	}
}

// seq is the Seq of the last step's action of kind k.
func (s *script) seq(k Kind) uint64 {
	s.t.Helper()
	for _, a := range s.last {
		if a.Kind == k {
			return a.Seq
		}
	}
	s.t.Fatalf("no %s in %v", k, s.last)
	return 0
}

func (s *script) logged(sub string) bool {
	for _, a := range s.last {
		if a.Kind == Log && strings.Contains(a.Msg, sub) {
			return true
		}
	}
	return false
}

func (s *script) mustLog(sub string) {
	s.t.Helper()
	if !s.logged(sub) {
		var msgs []string
		for _, a := range s.last {
			if a.Kind == Log {
				msgs = append(msgs, a.Msg)
			}
		}
		s.t.Fatalf("no log line containing %q in:\n%s", sub, strings.Join(msgs, "\n"))
	}
}

// join: healthy, session 1 connected, CreateLock in flight.
func (s *script) join() {
	s.t.Helper()
	s.expect(HealthChanged{health.ServiceHealthy}, "OpenSession session=1 timeout=10s")
	s.expect(SessionConnected{1}, "CreateLock "+lockPath)
}

// win: join, create the lock; GetBreadcrumb in flight.
func (s *script) win() {
	s.t.Helper()
	s.join()
	s.expect(CreateLockResult{Seq: s.seq(CreateLock), Code: CodeOK}, "GetBreadcrumb "+crumbPath)
	s.mustLog("Checking for any old active which needs to be fenced...")
}

// active: win with no breadcrumb, ending active and watching the lock.
func (s *script) active() {
	s.t.Helper()
	s.win()
	s.expect(BreadcrumbResult{Seq: s.seq(GetBreadcrumb), Code: CodeNoNode}, "WriteBreadcrumb "+crumbPath+" version=-1")
	s.expect(WriteBreadcrumbResult{Seq: s.seq(WriteBreadcrumb)}, "BecomeActive")
	s.expect(TransitionResult{Seq: s.seq(BecomeActive)},
		"ActiveAttempt ok=true Successfully transitioned NameNode at 127.0.0.1:8020 to active state; WatchLock "+lockPath)
	s.mustLog("Successfully transitioned NameNode at 127.0.0.1:8020 to active state")
	if st := s.e.Status(); st.Role != RoleActive || st.ServiceState != ServiceActive {
		s.t.Fatalf("status %+v, want active", st)
	}
}

// standby: join and lose: another elector holds the lock.
func (s *script) standby() {
	s.t.Helper()
	s.join()
	s.expect(CreateLockResult{Seq: s.seq(CreateLock), Code: CodeNodeExists}, "BecomeStandby; WatchLock "+lockPath)
	s.mustLog("ZK Election indicated that NameNode at 127.0.0.1:8020 should become standby")
	s.expect(WatchLockResult{Seq: s.seq(WatchLock), Code: CodeOK, Mine: false}, "")
}

func (s *script) ticks(n int) string {
	var all []string
	for i := 0; i < n; i++ {
		if got := s.step(Tick{}); got != "" {
			all = append(all, got)
		}
	}
	return strings.Join(all, " | ")
}

func TestPaths(t *testing.T) {
	cfg := DefaultConfig(nn1)
	if cfg.LockPath() != lockPath || cfg.BreadcrumbPath() != crumbPath {
		t.Fatal(cfg.LockPath(), cfg.BreadcrumbPath())
	}
	cfg.WorkingZNode = "/custom/mycluster"
	if got := cfg.LockPath(); got != "/custom/mycluster/ActiveStandbyElectorLock" {
		t.Fatal(got)
	}
	cfg.WorkingZNode = "relative"
	if cfg.Validate() == nil {
		t.Fatal("relative working znode accepted")
	}
}

func TestWinWithoutBreadcrumb(t *testing.T) {
	s := newScript(t, nil)
	s.active()
}

func TestNotHealthyNotInElection(t *testing.T) {
	s := newScript(t, nil)
	s.expect(Tick{}, "")
	s.expect(HealthChanged{health.ServiceNotResponding}, "")
	s.expect(HealthChanged{health.Initializing}, "")
	if s.e.Status().InElection {
		t.Fatal("in election before being healthy")
	}
}

func TestWinWithOwnBreadcrumb(t *testing.T) {
	s := newScript(t, nil)
	s.win()
	s.expect(BreadcrumbResult{Seq: s.seq(GetBreadcrumb), Code: CodeOK, Data: nn1.Marshal(), Version: 7},
		"WriteBreadcrumb "+crumbPath+" version=7")
	s.mustLog("But old node has our own data, so don't need to fence it.")
	s.expect(WriteBreadcrumbResult{Seq: s.seq(WriteBreadcrumb)}, "BecomeActive")
}

func TestWinFencesOldActiveGracefully(t *testing.T) {
	s := newScript(t, nil)
	s.win()
	s.expect(BreadcrumbResult{Seq: s.seq(GetBreadcrumb), Code: CodeOK, Data: nn2.Marshal(), Version: 3},
		"GracefulFence NameNode at 127.0.0.2:8020")
	s.mustLog("Should fence: NameNode at 127.0.0.2:8020")
	// The breadcrumb is written only after fencing succeeded.
	s.expect(FenceResult{Seq: s.seq(GracefulFence)}, "WriteBreadcrumb "+crumbPath+" version=3")
	s.mustLog("Successfully transitioned NameNode at 127.0.0.2:8020 to standby state without fencing")
	s.expect(WriteBreadcrumbResult{Seq: s.seq(WriteBreadcrumb)}, "BecomeActive")
}

func TestWinFencesWithMethodsWhenGracefulFails(t *testing.T) {
	s := newScript(t, nil)
	s.win()
	s.expect(BreadcrumbResult{Seq: s.seq(GetBreadcrumb), Code: CodeOK, Data: nn2.Marshal(), Version: 3},
		"GracefulFence NameNode at 127.0.0.2:8020")
	s.expect(FenceResult{Seq: s.seq(GracefulFence), Err: errors.New("connection refused")},
		"RunFencingMethods NameNode at 127.0.0.2:8020")
	s.expect(FenceResult{Seq: s.seq(RunFencingMethods)}, "WriteBreadcrumb "+crumbPath+" version=3")
	s.expect(WriteBreadcrumbResult{Seq: s.seq(WriteBreadcrumb)}, "BecomeActive")
}

func TestWinFencingFailsGivesUpAndRetries(t *testing.T) {
	s := newScript(t, nil)
	s.win()
	s.expect(BreadcrumbResult{Seq: s.seq(GetBreadcrumb), Code: CodeOK, Data: nn2.Marshal(), Version: 3},
		"GracefulFence NameNode at 127.0.0.2:8020")
	s.expect(FenceResult{Seq: s.seq(GracefulFence), Err: errors.New("timeout")},
		"RunFencingMethods NameNode at 127.0.0.2:8020")
	// Every method failed: no breadcrumb, no BecomeActive; the lock is
	// released with the session and the elector sleeps 1 s (10 ticks).
	s.expect(FenceResult{Seq: s.seq(RunFencingMethods), Err: errors.New("all methods failed")},
		"ActiveAttempt ok=false Unable to fence old active: Unable to fence NameNode at 127.0.0.2:8020: all methods failed; CloseSession session=1")
	if got := s.ticks(9); got != "" {
		t.Fatalf("rejoined before the sleep: %s", got)
	}
	s.expect(Tick{}, "OpenSession session=2 timeout=10s")
	s.expect(SessionConnected{2}, "CreateLock "+lockPath)
	if s.e.Status().ServiceState == ServiceActive {
		t.Fatal("NameNode made active after fencing failed")
	}
}

func TestUnparsableBreadcrumbIsNotFencedBlindly(t *testing.T) {
	s := newScript(t, nil)
	s.win()
	got := s.step(BreadcrumbResult{Seq: s.seq(GetBreadcrumb), Code: CodeOK, Data: []byte{0xff, 0x01}, Version: 1})
	if !strings.HasPrefix(got, "ActiveAttempt ok=false") || !strings.HasSuffix(got, "CloseSession session=1") {
		t.Fatal(got)
	}
}

func TestBreadcrumbWriteConflictGivesUp(t *testing.T) {
	s := newScript(t, nil)
	s.win()
	s.step(BreadcrumbResult{Seq: s.seq(GetBreadcrumb), Code: CodeNoNode})
	s.expect(WriteBreadcrumbResult{Seq: s.seq(WriteBreadcrumb), Code: CodeNodeExists},
		"ActiveAttempt ok=false Unable to write "+crumbPath+": NODEEXISTS; CloseSession session=1")
}

func TestTransitionToActiveFails(t *testing.T) {
	s := newScript(t, nil)
	s.win()
	s.step(BreadcrumbResult{Seq: s.seq(GetBreadcrumb), Code: CodeNoNode})
	s.step(WriteBreadcrumbResult{Seq: s.seq(WriteBreadcrumb)})
	s.expect(TransitionResult{Seq: s.seq(BecomeActive), Err: errors.New("ServiceFailedException")},
		"BecomeStandby; ActiveAttempt ok=false Couldn't make NameNode at 127.0.0.1:8020 active\nServiceFailedException; CloseSession session=1")
	s.mustLog("Couldn't make NameNode at 127.0.0.1:8020 active")
	if got := s.ticks(10); got != "OpenSession session=2 timeout=10s" {
		t.Fatal(got)
	}
}

func TestLoseWatchLockDeletedRetry(t *testing.T) {
	s := newScript(t, nil)
	s.standby()
	if st := s.e.Status(); st.Role != RoleStandby || st.ServiceState != ServiceStandby {
		t.Fatalf("%+v", st)
	}
	s.expect(LockChanged{Session: 1, Deleted: false}, "WatchLock "+lockPath)
	s.expect(WatchLockResult{Seq: s.seq(WatchLock), Code: CodeOK}, "")
	s.expect(LockChanged{Session: 1, Deleted: true}, "CreateLock "+lockPath)
	s.expect(CreateLockResult{Seq: s.seq(CreateLock), Code: CodeOK}, "GetBreadcrumb "+crumbPath)
}

func TestLockGoneBeforeWatch(t *testing.T) {
	s := newScript(t, nil)
	s.join()
	s.step(CreateLockResult{Seq: s.seq(CreateLock), Code: CodeNodeExists})
	s.expect(WatchLockResult{Seq: s.seq(WatchLock), Code: CodeNoNode}, "CreateLock "+lockPath)
}

func TestCreateRetriedThenOwnerDecides(t *testing.T) {
	s := newScript(t, nil)
	s.join()
	s.expect(CreateLockResult{Seq: s.seq(CreateLock), Code: CodeConnectionLoss}, "CreateLock "+lockPath)
	// The first attempt had reached the server: NODEEXISTS, but ours.
	s.expect(CreateLockResult{Seq: s.seq(CreateLock), Code: CodeNodeExists}, "WatchLock "+lockPath)
	s.expect(WatchLockResult{Seq: s.seq(WatchLock), Code: CodeOK, Mine: true}, "GetBreadcrumb "+crumbPath)
}

func TestCreateRetriesExhausted(t *testing.T) {
	s := newScript(t, func(c *Config) { c.MaxRetries = 1 })
	s.join()
	s.step(CreateLockResult{Seq: s.seq(CreateLock), Code: CodeConnectionLoss})
	s.expect(CreateLockResult{Seq: s.seq(CreateLock), Code: CodeConnectionLoss}, "CloseSession session=1")
	s.mustLog("Not retrying further znode create connection errors.")
	if got := s.ticks(10); got != "OpenSession session=2 timeout=10s" {
		t.Fatal(got)
	}
}

func TestStaleResultsIgnored(t *testing.T) {
	s := newScript(t, nil)
	s.join()
	create := s.seq(CreateLock)
	s.expect(HealthChanged{health.ServiceUnhealthy}, "CloseSession session=1; BecomeStandby")
	s.expect(CreateLockResult{Seq: create, Code: CodeOK}, "")
	s.expect(SessionConnected{1}, "")
	s.expect(LockChanged{Session: 1, Deleted: true}, "")
}

func TestUnhealthyWhileActive(t *testing.T) {
	s := newScript(t, nil)
	s.active()
	// Hadoop: quit, keeping the breadcrumb (fencing needed); this project
	// also makes the NameNode standby.
	s.expect(HealthChanged{health.ServiceUnhealthy}, "BecomeStandby; CloseSession session=1")
	s.mustLog("Quitting master election for NameNode at 127.0.0.1:8020 and marking that fencing is necessary")
	s.mustLog("ZK Election indicated that NameNode at 127.0.0.1:8020 should become standby")
	if st := s.e.Status(); st.InElection || st.ServiceState == ServiceActive {
		t.Fatalf("%+v", st)
	}
	s.expect(HealthChanged{health.ServiceHealthy}, "OpenSession session=2 timeout=10s")
}

func TestNotRespondingWhileStandby(t *testing.T) {
	s := newScript(t, nil)
	s.standby()
	s.expect(HealthChanged{health.ServiceNotResponding}, "CloseSession session=1")
}

func TestSessionExpiredWhileActive(t *testing.T) {
	s := newScript(t, nil)
	s.active()
	s.expect(SessionExpired{1}, "BecomeStandby; CloseSession session=1; OpenSession session=2 timeout=10s")
	s.mustLog("Session expired. Entering neutral mode and rejoining...")
	s.mustLog("ZK Election indicated that NameNode at 127.0.0.1:8020 should become standby")
	s.expect(SessionConnected{2}, "CreateLock "+lockPath)
	// The other ZKFC took over meanwhile: standby (again, as Hadoop: the
	// elector was neutral).
	s.expect(CreateLockResult{Seq: s.seq(CreateLock), Code: CodeNodeExists}, "BecomeStandby; WatchLock "+lockPath)
}

func TestSessionExpiredReconnectWinsAgain(t *testing.T) {
	s := newScript(t, nil)
	s.active()
	s.step(SessionExpired{1})
	s.step(SessionConnected{2})
	s.step(CreateLockResult{Seq: s.seq(CreateLock), Code: CodeOK})
	s.expect(BreadcrumbResult{Seq: s.seq(GetBreadcrumb), Code: CodeOK, Data: nn1.Marshal(), Version: 0},
		"WriteBreadcrumb "+crumbPath+" version=0")
	s.expect(WriteBreadcrumbResult{Seq: s.seq(WriteBreadcrumb)}, "BecomeActive")
}

func TestDisconnectKeepsActiveThenReverifies(t *testing.T) {
	s := newScript(t, nil)
	s.active()
	watch := s.seq(WatchLock)
	// ZooKeeper unreachable: neutral mode, the NameNode stays active.
	s.expect(SessionDisconnected{1}, "")
	s.expect(WatchLockResult{Seq: watch, Code: CodeConnectionLoss}, "")
	if got := s.ticks(200); got != "" {
		t.Fatalf("acted while disconnected: %s", got)
	}
	if st := s.e.Status(); st.ServiceState != ServiceActive || st.Role != RoleNeutral {
		t.Fatalf("%+v", st)
	}
	s.expect(SessionConnected{1}, "WatchLock "+lockPath)
	// Still ours: as Hadoop, the neutral elector runs the takeover again
	// (its own breadcrumb: no fencing; the NameNode is already active).
	s.expect(WatchLockResult{Seq: s.seq(WatchLock), Code: CodeOK, Mine: true}, "GetBreadcrumb "+crumbPath)
	s.expect(BreadcrumbResult{Seq: s.seq(GetBreadcrumb), Code: CodeOK, Data: nn1.Marshal(), Version: 0},
		"WriteBreadcrumb "+crumbPath+" version=0")
	s.expect(WriteBreadcrumbResult{Seq: s.seq(WriteBreadcrumb)}, "BecomeActive")
	s.expect(TransitionResult{Seq: s.seq(BecomeActive)},
		"ActiveAttempt ok=true Successfully transitioned NameNode at 127.0.0.1:8020 to active state; WatchLock "+lockPath)
	if st := s.e.Status(); st.Role != RoleActive {
		t.Fatalf("%+v", st)
	}
}

func TestCedeActive(t *testing.T) {
	s := newScript(t, nil)
	s.active()
	s.expect(CedeActive{Millis: 1000}, "BecomeStandby")
	s.mustLog("Requested to cede active role.")
	// Graceful: the breadcrumb is deleted so that nobody fences us.
	s.expect(TransitionResult{Seq: s.seq(BecomeStandby)},
		"DeleteBreadcrumb "+crumbPath+"; CloseSession session=1; CedeDone")
	s.mustLog("Successfully ensured local node is in standby mode")
	if got := s.ticks(9); got != "" {
		t.Fatalf("rejoined during the cede: %s", got)
	}
	s.expect(Tick{}, "OpenSession session=2 timeout=10s")
}

func TestCedeActiveStandbyFailsKeepsBreadcrumb(t *testing.T) {
	s := newScript(t, nil)
	s.active()
	s.step(CedeActive{Millis: 500})
	got := s.step(TransitionResult{Seq: s.seq(BecomeStandby), Err: errors.New("timeout")})
	if got != "CloseSession session=1; CedeDone err=unable to transition local node to standby: timeout" {
		t.Fatal(got)
	}
	s.mustLog("Quitting election but indicating that fencing is necessary")
}

func TestCedeThenCancel(t *testing.T) {
	s := newScript(t, nil)
	s.standby()
	s.step(CedeActive{Millis: 60000})
	s.expect(TransitionResult{Seq: s.seq(BecomeStandby)}, "CloseSession session=1; CedeDone")
	s.expect(HealthChanged{health.ServiceUnhealthy}, "")
	s.expect(HealthChanged{health.ServiceHealthy}, "")
	s.mustLog("Would have joined master election, but this node is prohibited from doing so for 60000 more ms")
	// gracefulFailover's phase 5: cedeActive(-1) lets it rejoin at once.
	s.expect(CedeActive{Millis: -1}, "CedeDone; OpenSession session=2 timeout=10s")
}

func TestCedeDuringTakeoverEndsStandby(t *testing.T) {
	s := newScript(t, nil)
	s.win()
	s.step(BreadcrumbResult{Seq: s.seq(GetBreadcrumb), Code: CodeNoNode})
	write := s.seq(WriteBreadcrumb)
	s.expect(CedeActive{Millis: 1000}, "BecomeStandby")
	cede := s.seq(BecomeStandby)
	s.expect(WriteBreadcrumbResult{Seq: write}, "BecomeActive")
	// BecomeActive was sent after the cede's BecomeStandby: quitting must
	// send the NameNode back to standby.
	s.expect(TransitionResult{Seq: cede}, "BecomeStandby; CloseSession session=1; CedeDone")
}

func TestHealthMonitorFailedIsFatal(t *testing.T) {
	s := newScript(t, nil)
	s.standby()
	s.expect(HealthChanged{health.HealthMonitorFailed}, "CloseSession session=1; Fatal Health monitor failed!")
}

func TestConfigValidate(t *testing.T) {
	cfg := DefaultConfig(nn1)
	cfg.SessionTimeout = 0
	if err := cfg.Validate(); err == nil || err.Error() != "Invalid ZK session timeout 0" {
		t.Fatal(err)
	}
	cfg = DefaultConfig(NodeInfo{})
	if _, err := New(cfg); err == nil {
		t.Fatal("empty identity accepted")
	}
}

func TestServiceStateMismatchQuits(t *testing.T) {
	s := newScript(t, nil)
	s.active()
	s.expect(ServiceStatus{hasvc.StateActive}, "")
	s.expect(ServiceStatus{hasvc.StateStandby}, "")
	s.expect(ServiceStatus{hasvc.StateActive}, "")
	s.expect(ServiceStatus{hasvc.StateStandby}, "")
	s.expect(ServiceStatus{hasvc.StateStandby}, "BecomeStandby; CloseSession session=1")
	s.mustLog("Local service NameNode at 127.0.0.1:8020 has changed the serviceState to standby. Expected was active. Quitting election marking fencing necessary.")
	// Out for a second, then back in while healthy.
	if got := s.ticks(9); got != "" {
		t.Fatal(got)
	}
	s.expect(Tick{}, "OpenSession session=2 timeout=10s")
}

func TestServiceStatusDuringTransitionIgnored(t *testing.T) {
	s := newScript(t, nil)
	s.win()
	s.step(BreadcrumbResult{Seq: s.seq(GetBreadcrumb), Code: CodeNoNode})
	s.step(WriteBreadcrumbResult{Seq: s.seq(WriteBreadcrumb)})
	for i := 0; i < 3; i++ {
		s.expect(ServiceStatus{hasvc.StateStandby}, "")
	}
}

func TestLockDeletedWhileWatchPending(t *testing.T) {
	s := newScript(t, nil)
	s.standby()
	s.expect(LockChanged{Session: 1}, "WatchLock "+lockPath)
	watch := s.seq(WatchLock)
	s.expect(LockChanged{Session: 1, Deleted: true}, "CreateLock "+lockPath)
	// The exists answer that raced with the deletion starts no second create.
	s.expect(WatchLockResult{Seq: watch, Code: CodeNoNode}, "")
	s.expect(CreateLockResult{Seq: s.e.createSeq, Code: CodeOK}, "GetBreadcrumb "+crumbPath)
}

func TestFromHealth(t *testing.T) {
	evs := FromHealth(health.Update{Entered: true, State: health.ServiceHealthy, Reported: true,
		Status: hasvc.Status{State: hasvc.StateStandby}})
	if len(evs) != 2 || evs[0] != (ServiceStatus{hasvc.StateStandby}) || evs[1] != (HealthChanged{health.ServiceHealthy}) {
		t.Fatalf("%v", evs)
	}
	if evs := FromHealth(health.Update{}); len(evs) != 0 {
		t.Fatalf("%v", evs)
	}
}
