package main

import (
	"context"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/zkfc/zkfcrpc"
)

// fakeZKFC is a ZKFCProtocol server (zkfc/zkfcrpc) whose Controller answers
// gracefulFailover with err and records the calls.
type fakeZKFC struct {
	mu    sync.Mutex
	err   error
	calls []string
	port  int
}

func (z *fakeZKFC) CedeActive(_ context.Context, millis int) error {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.calls = append(z.calls, "cedeActive "+strconv.Itoa(millis))
	return z.err
}

func (z *fakeZKFC) GracefulFailover(context.Context) error {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.calls = append(z.calls, "gracefulFailover")
	return z.err
}

func (z *fakeZKFC) setErr(err error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.err = err
}

func (z *fakeZKFC) takeCalls() []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	c := z.calls
	z.calls = nil
	return c
}

// startFakeZKFC serves a ZKFC on 127.0.0.1 until the test ends; cfg's
// Controller and Addr are filled in.
func startFakeZKFC(t *testing.T, cfg zkfcrpc.Config) *fakeZKFC {
	t.Helper()
	z := &fakeZKFC{}
	cfg.Controller = z
	cfg.Addr = "127.0.0.1:0"
	cfg.Logger = testcluster.Logger(t)
	s, err := zkfcrpc.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		s.Close()
		<-done
	})
	z.port = s.Addr().(*net.TCPAddr).Port
	return z
}

func TestHAAdminFailoverThroughZKFC(t *testing.T) {
	testcluster.CheckLeaks(t)
	zkfc := startFakeZKFC(t, zkfcrpc.Config{LoginUser: benchUser()})
	// Both fake NameNodes are on 127.0.0.1: nn2's ZKFC port is set for it
	// alone (dfs.ha.zkfc.port.<ns>.<nn>).
	p := newHAPair(t, active, standby,
		"dfs.ha.automatic-failover.enabled", "true",
		"dfs.ha.fencing.methods", "shell(true)",
		"dfs.ha.zkfc.port.mycluster.nn2", strconv.Itoa(zkfc.port))

	p.run(t, "-failover", "nn1", "nn2").want(t, 0, fmt.Sprintf("Failover to NameNode at /%s successful\n", p.nn2.Addr()))
	if got := zkfc.takeCalls(); !reflect.DeepEqual(got, []string{"gracefulFailover"}) {
		t.Fatalf("ZKFC calls %q", got)
	}
	// haadmin itself talks to no NameNode: the ZKFCs do the failover.
	wantCalls(t, p.nn1)
	wantCalls(t, p.nn2)

	// The ZKFC's refusal is a remote ServiceFailedException: Hadoop's
	// haadmin prints its first line as "Operation failed: ...".
	for _, msg := range []string{
		fmt.Sprintf("NameNode at /%s is not currently healthy. Cannot be failover target", p.nn2.Addr()),
		"Failed to become active. Couldn't make NameNode at /" + p.nn2.Addr() + " active\njava.io.IOException: injected",
	} {
		zkfc.setErr(rpc.Errorf(rpc.ErrServiceFailed, "%s", msg))
		r := p.run(t, "-failover", "nn1", "nn2")
		first, _, _ := strings.Cut(msg, "\n")
		if r.code != 255 || r.stdout != "" || r.stderr != "Operation failed: "+first+"\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	}
	zkfc.takeCalls()

	// The force flags are refused before anything is called.
	for _, flag := range []string{"--forcefence", "--forceactive"} {
		r := p.run(t, "-failover", flag, "nn1", "nn2")
		if r.code != 255 || r.stderr != "forcefence and forceactive flags not supported with auto-failover enabled.\n" {
			t.Fatalf("%s: exit %d, stderr %q", flag, r.code, r.stderr)
		}
	}
	if got := zkfc.takeCalls(); len(got) != 0 {
		t.Fatalf("ZKFC calls %q", got)
	}

	// A ZKFC that does not listen fails the command.
	free := testcluster.ReservePort(t, "127.0.0.1")
	q := newHAPair(t, active, standby,
		"dfs.ha.automatic-failover.enabled", "true",
		"dfs.ha.zkfc.port.mycluster.nn2", strconv.Itoa(free))
	r := q.run(t, "-failover", "nn1", "nn2")
	if r.code != 255 || !strings.HasPrefix(r.stderr, "Operation failed: ") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestHAAdminFailoverThroughZKFCNotAdmin(t *testing.T) {
	testcluster.CheckLeaks(t)
	zkfc := startFakeZKFC(t, zkfcrpc.Config{LoginUser: "zkfc-" + benchUser(), Admins: zkfcrpc.ParseACL(" ")})
	p := newHAPair(t, active, standby,
		"dfs.ha.automatic-failover.enabled", "true",
		"dfs.ha.zkfc.port.mycluster.nn2", strconv.Itoa(zkfc.port))
	r := p.run(t, "-failover", "nn1", "nn2")
	want := "Operation failed: Disallowed RPC access from " + benchUser() +
		" (auth:SIMPLE) at 127.0.0.1. Not listed in dfs.cluster.administrators\n"
	if r.code != 255 || r.stderr != want {
		t.Fatalf("exit %d, stderr %q\nwant %q", r.code, r.stderr, want)
	}
	if got := zkfc.takeCalls(); len(got) != 0 {
		t.Fatalf("ZKFC calls %q", got)
	}
}
