package main

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
	"github.com/hdfsha/hdfsha/zkfc/hasvc/hasvctest"
)

// runHDFSInput is runHDFS with the given standard input.
func runHDFSInput(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := runIO(t.Context(), &appEnv{}, nil, stdin, &out, &errb, nil, args...)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// haPair is a nameservice "mycluster" of two fake NameNodes.
type haPair struct {
	nn1, nn2 *hasvctest.Server
	confDir  string
}

func newHAPair(t *testing.T, nn1, nn2 hasvctest.Behaviour, extra ...string) *haPair {
	t.Helper()
	p := &haPair{nn1: hasvctest.Start(t, nn1), nn2: hasvctest.Start(t, nn2)}
	p.confDir = haadminConfDir(t, p.nn1.Addr(), p.nn2.Addr(), extra...)
	return p
}

// haConfDir writes a configuration for mycluster with nn1, nn2 at the given
// addresses; extra are more key, value pairs.
func haadminConfDir(t *testing.T, addr1, addr2 string, extra ...string) string {
	t.Helper()
	hdfs := prop("dfs.nameservices", "mycluster") +
		prop("dfs.ha.namenodes.mycluster", "nn1,nn2") +
		prop("dfs.namenode.rpc-address.mycluster.nn1", addr1) +
		prop("dfs.namenode.rpc-address.mycluster.nn2", addr2)
	for i := 0; i+1 < len(extra); i += 2 {
		hdfs += prop(extra[i], extra[i+1])
	}
	return writeConfDir(t, prop("fs.defaultFS", "hdfs://mycluster"), hdfs)
}

func (p *haPair) run(t *testing.T, args ...string) result {
	t.Helper()
	return runHDFS(t, nil, append([]string{"--config", p.confDir, "haadmin"}, args...)...)
}

var (
	active  = hasvctest.Behaviour{State: hasvc.StateActive}
	standby = hasvctest.Behaviour{State: hasvc.StateStandby}
)

func wantCalls(t *testing.T, s *hasvctest.Server, want ...string) {
	t.Helper()
	if got := s.Calls(); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("%s got calls %q, want %q", s, got, want)
	}
}

func TestHAAdminGetServiceState(t *testing.T) {
	testcluster.CheckLeaks(t)
	p := newHAPair(t, active, standby)
	p.run(t, "-getServiceState", "nn1").want(t, 0, "active\n")
	p.run(t, "-getServiceState", "nn2").want(t, 0, "standby\n")
	p.run(t, "-ns", "mycluster", "-getServiceState", "nn2").want(t, 0, "standby\n")

	r := p.run(t, "-getServiceState")
	r.want(t, 255, "")
	if r.stderr != "getServiceState: incorrect number of arguments\nUsage: haadmin [-ns <nameserviceId>] [-getServiceState <serviceId>]\n" {
		t.Fatalf("stderr %q", r.stderr)
	}
	r = p.run(t, "-getServiceState", "nn3")
	r.want(t, 255, "")
	if r.stderr != "Illegal argument: Unable to determine service address for namenode 'nn3'\n" {
		t.Fatalf("stderr %q", r.stderr)
	}
}

func TestHAAdminGetServiceStateUnreachable(t *testing.T) {
	testcluster.CheckLeaks(t)
	dir := haadminConfDir(t, testcluster.ReserveAddr(t, "127.0.0.1"), testcluster.ReserveAddr(t, "127.0.0.1"))
	r := runHDFS(t, nil, "--config", dir, "haadmin", "-getServiceState", "nn1")
	r.want(t, 255, "")
	if !strings.HasPrefix(r.stderr, "Operation failed: ") || !strings.Contains(r.stderr, "refused") {
		t.Fatalf("stderr %q", r.stderr)
	}
}

func TestHAAdminGetAllServiceState(t *testing.T) {
	testcluster.CheckLeaks(t)
	s1 := hasvctest.Start(t, active)
	down := testcluster.ReserveAddr(t, "127.0.0.1")
	dir := haadminConfDir(t, s1.Addr(), down)
	r := runHDFS(t, nil, "--config", dir, "haadmin", "-getAllServiceState")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 2 {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if want := fmt.Sprintf("%-50s %-10s", s1.Addr(), "active"); lines[0] != want {
		t.Fatalf("line 1 %q, want %q", lines[0], want)
	}
	if want := fmt.Sprintf("%-50s Failed to connect: ", down); !strings.HasPrefix(lines[1], want) {
		t.Fatalf("line 2 %q, want prefix %q", lines[1], want)
	}
}

func TestHAAdminCheckHealth(t *testing.T) {
	testcluster.CheckLeaks(t)
	p := newHAPair(t, active, standby)
	p.run(t, "-checkHealth", "nn1").want(t, 0, "")
	p.nn2.Set(func(b *hasvctest.Behaviour) {
		b.HealthErr = rpc.Errorf(rpc.ErrHealthCheckFailed, "The NameNode has no resources available")
	})
	r := p.run(t, "-checkHealth", "nn2")
	r.want(t, 255, "")
	if r.stderr != "Health check failed: The NameNode has no resources available\n" {
		t.Fatalf("stderr %q", r.stderr)
	}
}

func TestHAAdminTransitions(t *testing.T) {
	testcluster.CheckLeaks(t)
	p := newHAPair(t, active, standby)

	// Another NameNode is active: refused unless --forceactive.
	r := p.run(t, "-transitionToActive", "nn2")
	r.want(t, 255, "")
	if r.stderr != "transitionToActive: Node nn1 is already active\n"+
		"Usage: haadmin [-ns <nameserviceId>] [-transitionToActive [--forceactive] <serviceId>]\n" {
		t.Fatalf("stderr %q", r.stderr)
	}
	wantCalls(t, p.nn2)

	p.run(t, "-transitionToStandby", "nn1").want(t, 0, "")
	p.run(t, "-transitionToActive", "nn2").want(t, 0, "")
	if p.nn1.State() != hasvc.StateStandby || p.nn2.State() != hasvc.StateActive {
		t.Fatalf("states %v %v", p.nn1.State(), p.nn2.State())
	}
	p.run(t, "-transitionToActive", "--forceactive", "nn1").want(t, 0, "")
	wantCalls(t, p.nn1, "getServiceStatus", "transitionToStandby REQUEST_BY_USER", "getServiceStatus", "transitionToActive REQUEST_BY_USER")
	wantCalls(t, p.nn2, "transitionToActive REQUEST_BY_USER")

	// A refusal from the NameNode is an operation failure.
	p.nn2.Set(func(b *hasvctest.Behaviour) {
		b.ToStandbyErr = rpc.Errorf(rpc.ErrServiceFailed, "cannot leave active now")
	})
	r = p.run(t, "-transitionToStandby", "nn2")
	r.want(t, 255, "")
	if r.stderr != "Operation failed: cannot leave active now\n" {
		t.Fatalf("stderr %q", r.stderr)
	}

	r = p.run(t, "-transitionToStandby", "--forceactive", "nn2")
	r.want(t, 255, "")
	if !strings.HasPrefix(r.stderr, "transitionToStandby: incorrect arguments\n") {
		t.Fatalf("stderr %q", r.stderr)
	}
}

func TestHAAdminFailover(t *testing.T) {
	testcluster.CheckLeaks(t)
	p := newHAPair(t, active, standby, "dfs.ha.fencing.methods", "shell(exit 1)")
	p.run(t, "-failover", "nn1", "nn2").want(t, 0, "Failover from nn1 to nn2 successful\n")
	if p.nn1.State() != hasvc.StateStandby || p.nn2.State() != hasvc.StateActive {
		t.Fatalf("states %v %v", p.nn1.State(), p.nn2.State())
	}
	wantCalls(t, p.nn2, "getServiceStatus", "monitorHealth", "transitionToActive REQUEST_BY_USER")
	wantCalls(t, p.nn1, "transitionToStandby REQUEST_BY_USER")

	// Back to nn1, but --forcefence runs the fencer, which fails: nn1 stays
	// standby.
	r := p.run(t, "-failover", "--forcefence", "nn2", "nn1")
	r.want(t, 255, "")
	want := fmt.Sprintf("Failover failed: Unable to fence NameNode at /%s. Fencing failed.\n", p.nn2.Addr())
	if !strings.HasSuffix(r.stderr, want) {
		t.Fatalf("stderr %q, want suffix %q", r.stderr, want)
	}
	if p.nn1.State() != hasvc.StateStandby {
		t.Fatalf("nn1 is %v after failed fencing", p.nn1.State())
	}
}

func TestHAAdminFailoverFencesWhenGracefulFails(t *testing.T) {
	testcluster.CheckLeaks(t)
	p := newHAPair(t, active, standby, "dfs.ha.fencing.methods", "shell(exit 1)\nshell([ \"$target_namenodeid\" = nn1 ])")
	p.nn1.Set(func(b *hasvctest.Behaviour) { b.ToStandbyErr = rpc.Errorf(rpc.ErrServiceFailed, "stuck") })
	p.run(t, "-failover", "nn1", "nn2").want(t, 0, "Failover from nn1 to nn2 successful\n")
	if p.nn2.State() != hasvc.StateActive {
		t.Fatalf("nn2 is %v", p.nn2.State())
	}
}

func TestHAAdminFailoverRefusals(t *testing.T) {
	testcluster.CheckLeaks(t)
	p := newHAPair(t, active, standby)
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"-failover", "nn1", "nn2"}, "Illegal argument: failover requires a fencer\n"},
		{[]string{"-failover", "nn1"}, "failover: incorrect arguments\n" +
			"Usage: haadmin [-ns <nameserviceId>] [-failover [--forcefence] [--forceactive] <serviceId> <serviceId>]\n"},
		{[]string{"-failover", "--force", "nn1", "nn2"}, "failover: incorrect arguments\n" +
			"Usage: haadmin [-ns <nameserviceId>] [-failover [--forcefence] [--forceactive] <serviceId> <serviceId>]\n"},
	} {
		r := p.run(t, tc.args...)
		if r.code != 255 || r.stderr != tc.stderr {
			t.Errorf("%q: exit %d, stderr %q; want %q", tc.args, r.code, r.stderr, tc.stderr)
		}
	}

	// Not ready: refused, unless --forceactive.
	q := newHAPair(t, active, hasvctest.Behaviour{State: hasvc.StateStandby, NotReady: "still in safe mode"},
		"dfs.ha.fencing.methods", "shell(true)")
	r := q.run(t, "-failover", "nn1", "nn2")
	want := fmt.Sprintf("Failover failed: NameNode at /%s is not ready to become active: still in safe mode\n", q.nn2.Addr())
	if r.code != 255 || r.stderr != want {
		t.Fatalf("exit %d, stderr %q; want %q", r.code, r.stderr, want)
	}
	q.run(t, "-failover", "--forceactive", "nn1", "nn2").want(t, 0, "Failover from nn1 to nn2 successful\n")
}

func TestHAAdminAutomaticFailover(t *testing.T) {
	testcluster.CheckLeaks(t)
	p := newHAPair(t, active, standby, "dfs.ha.automatic-failover.enabled", "true", "dfs.ha.fencing.methods", "shell(true)")
	r := p.run(t, "-transitionToStandby", "nn1")
	want := fmt.Sprintf("Automatic failover is enabled for NameNode at /%s\n"+
		"Refusing to manually manage HA state, since it may cause\n"+
		"a split-brain scenario or other incorrect state.\n"+
		"If you are very sure you know what you are doing, please \n"+
		"specify the --forcemanual flag.\n", p.nn1.Addr())
	if r.code != 255 || r.stderr != want {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	wantCalls(t, p.nn1)

	// --forcemanual asks; "n" (or no answer) aborts.
	for _, in := range []string{"n\n", ""} {
		r = runHDFSInput(t, in, "--config", p.confDir, "haadmin", "-transitionToStandby", "--forcemanual", "nn1")
		if r.code != 255 || !strings.Contains(r.stderr, "You have specified the --forcemanual flag. This flag is dangerous") ||
			!strings.Contains(r.stderr, "Are you sure you want to continue? (Y or N) ") {
			t.Fatalf("answer %q: exit %d, stderr %q", in, r.code, r.stderr)
		}
	}
	wantCalls(t, p.nn1)
	r = runHDFSInput(t, "maybe\ny\n", "--config", p.confDir, "haadmin", "-transitionToStandby", "--forcemanual", "nn1")
	if r.code != 0 || !strings.Contains(r.stderr, "Invalid input: maybe\n") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	wantCalls(t, p.nn1, "transitionToStandby REQUEST_BY_USER_FORCED")

	// -failover goes through the ZKFCs (haadmin_zkfc_test.go); the force
	// flags are refused before any call.
	r = p.run(t, "-failover", "--forcefence", "nn2", "nn1")
	if r.code != 255 || r.stderr != "forcefence and forceactive flags not supported with auto-failover enabled.\n" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestHAAdminNameservices(t *testing.T) {
	testcluster.CheckLeaks(t)
	s1, s2 := hasvctest.Start(t, active), hasvctest.Start(t, standby)
	dir := writeConfDir(t, "", prop("dfs.nameservices", "ns1,ns2")+
		prop("dfs.ha.namenodes.ns1", "nn1")+prop("dfs.namenode.rpc-address.ns1.nn1", s1.Addr())+
		prop("dfs.ha.namenodes.ns2", "nn1")+prop("dfs.namenode.rpc-address.ns2.nn1", s2.Addr()))
	run := func(args ...string) result {
		return runHDFS(t, nil, append([]string{"--config", dir, "haadmin"}, args...)...)
	}
	run("-ns", "ns1", "-getServiceState", "nn1").want(t, 0, "active\n")
	run("-ns", "ns2", "-getServiceState", "nn1").want(t, 0, "standby\n")
	r := run("-getServiceState", "nn1")
	if r.code != 255 || r.stderr != "Illegal argument: Unable to determine the name service ID. This is an HA configuration "+
		"with multiple name services configured. dfs.nameservices is set to [ns1, ns2]. Please re-run with the -ns option.\n" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = run("-ns", "ns1")
	if r.code != 255 || !strings.HasPrefix(r.stderr, "Missing command\nUsage: haadmin [-ns <nameserviceId>]\n    [-transitionToActive") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = run("-ns")
	if r.code != 255 || !strings.HasPrefix(r.stderr, "Missing nameservice ID\n") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = run("-ns", "ns1", "-bogus")
	if r.code != 255 || !strings.HasPrefix(r.stderr, "bogus: Unknown command\nUsage: haadmin") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = run("-ns", "ns1", "bogus")
	if r.code != 255 || !strings.HasPrefix(r.stderr, "Bad command 'bogus': expected command starting with '-'\n") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestHAAdminHelp(t *testing.T) {
	dir := haadminConfDir(t, "127.0.0.1:1", "127.0.0.1:2")
	run := func(args ...string) result {
		return runHDFS(t, nil, append([]string{"--config", dir, "haadmin"}, args...)...)
	}
	run("-help", "failover").want(t, 0, "-failover [[--forcefence] [--forceactive] <serviceId> <serviceId>]: "+
		"Failover from the first service to the second.\n"+
		"Unconditionally fence services if the --forcefence option is used.\n"+
		"Try to failover to the target service even if it is not ready if the --forceactive option is used.\n")
	run("-help", "-getServiceState").want(t, 0, "-getServiceState [<serviceId>]: Returns the state of the service\n")
	run("-help", "getAllServiceState").want(t, 0, "-getAllServiceState: Returns the state of all the services\n")
	r := run("-help", "nope")
	if r.code != 255 || !strings.HasPrefix(r.stderr, "-nope: Unknown command\nUsage: haadmin [-ns <nameserviceId>]\n") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = run("-help", "a", "b")
	if r.code != 255 || r.stderr != "Usage: haadmin [-ns <nameserviceId>] [-help <command>]\n" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runHDFS(t, nil, "--help"); !strings.Contains(r.stdout, "haadmin") {
		t.Fatalf("hdfs --help does not list haadmin:\n%s", r.stdout)
	}
}
