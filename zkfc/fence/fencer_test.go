package fence

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want []string
	}{
		{"", nil},
		{"  \n\n", nil},
		{"sshfence", []string{"org.apache.hadoop.ha.SshFenceByTcpPort(null)"}},
		{"sshfence(hdfs:2222)", []string{"org.apache.hadoop.ha.SshFenceByTcpPort(hdfs:2222)"}},
		{"sshfence(hdfs)\nsshfence(:2222)", []string{
			"org.apache.hadoop.ha.SshFenceByTcpPort(hdfs)", "org.apache.hadoop.ha.SshFenceByTcpPort(:2222)"}},
		{" sshfence \n  shell(/bin/true)  # last resort\n# only a comment\n", []string{
			"org.apache.hadoop.ha.SshFenceByTcpPort(null)", "org.apache.hadoop.ha.ShellCommandFencer(/bin/true)"}},
		{"shell(echo a) b)", []string{"org.apache.hadoop.ha.ShellCommandFencer(echo a) b)"}},
		{"org.apache.hadoop.ha.ShellCommandFencer(exit 0)", []string{"org.apache.hadoop.ha.ShellCommandFencer(exit 0)"}},
		{"org.apache.hadoop.ha.SshFenceByTcpPort", []string{"org.apache.hadoop.ha.SshFenceByTcpPort(null)"}},
	} {
		f, err := Parse(tc.spec, nil, nil)
		if err != nil {
			t.Fatalf("%q: %v", tc.spec, err)
		}
		if got := f.Methods(); !reflect.DeepEqual(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Fatalf("%q: methods %q, want %q", tc.spec, got, tc.want)
		}
		if f.Len() != len(tc.want) {
			t.Fatalf("%q: Len %d", tc.spec, f.Len())
		}
	}
}

func TestParseErrors(t *testing.T) {
	for spec, msg := range map[string]string{
		"shell()":                 "Unable to parse line: 'shell()'",
		"shell(":                  "Unable to parse line: 'shell('",
		"ssh fence":               "Unable to parse line: 'ssh fence'",
		"sshfence\nfoo-bar(x)":    "Unable to parse line: 'foo-bar(x)'",
		"powershell(x)":           "Could not find configured fencing method powershell",
		"com.example.MyFencer":    "Could not find configured fencing method com.example.MyFencer",
		"shell":                   "No argument passed to 'shell' fencing method",
		"sshfence(hdfs:port)":     "Unable to parse user and SSH port: hdfs:port",
		"sshfence(a:b:22)":        "Unable to parse user and SSH port: a:b:22",
		"sshfence(hdfs:99999999)": "Port number '99999999' invalid",
		"sshfence(:0)":            "Port number '0' invalid",
	} {
		_, err := Parse(spec, nil, nil)
		if !errors.Is(err, ErrBadConfig) || err.Error() != msg {
			t.Errorf("%q: error %v, want %q", spec, err, msg)
		}
	}
}

func TestParseSSHArgs(t *testing.T) {
	for arg, want := range map[string]SSHArgs{
		"":          {},
		"hdfs":      {User: "hdfs"},
		":2222":     {Port: 2222},
		"hdfs:2222": {User: "hdfs", Port: 2222},
	} {
		got, err := ParseSSHArgs(arg)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v, want %+v", arg, got, err, want)
		}
	}
}

// scripted is a Method with canned results.
type scripted struct {
	results []error // nil = success; errNope = unsuccessful; others returned
	calls   *[]string
}

var errNope = errors.New("nope")

func (s *scripted) ClassName() string            { return "test.Scripted" }
func (s *scripted) CheckArgs(string, bool) error { return nil }
func (s *scripted) TryFence(_ context.Context, t hasvc.Target, arg string) (bool, error) {
	*s.calls = append(*s.calls, arg+"@"+t.NameNodeID)
	i := len(*s.calls) - 1
	if i >= len(s.results) || s.results[i] == nil {
		return true, nil
	}
	if s.results[i] == errNope {
		return false, nil
	}
	return false, s.results[i]
}

func TestFenceTriesMethodsInOrder(t *testing.T) {
	for _, tc := range []struct {
		name    string
		results []error
		want    bool
		calls   []string
		logs    []string
	}{
		{"first succeeds", []error{nil}, true, []string{"a@nn1"}, []string{
			"====== Beginning Service Fencing Process... ======",
			"Trying method 1/3: test.Scripted(a)",
			"====== Fencing successful by method test.Scripted(a) ======"}},
		{"misconfigured, unexpected, then success", []error{badConfig("bad"), errors.New("boom"), nil}, true, []string{"a@nn1", "b@nn1", "c@nn1"}, []string{
			"====== Beginning Service Fencing Process... ======",
			"Trying method 1/3: test.Scripted(a)",
			"Fencing method test.Scripted(a) misconfigured",
			"Trying method 2/3: test.Scripted(b)",
			"Fencing method test.Scripted(b) failed with an unexpected error.",
			"Trying method 3/3: test.Scripted(c)",
			"====== Fencing successful by method test.Scripted(c) ======"}},
		{"all fail", []error{errNope, errNope, errNope}, false, []string{"a@nn1", "b@nn1", "c@nn1"}, []string{
			"====== Beginning Service Fencing Process... ======",
			"Trying method 1/3: test.Scripted(a)",
			"Fencing method test.Scripted(a) was unsuccessful.",
			"Trying method 2/3: test.Scripted(b)",
			"Fencing method test.Scripted(b) was unsuccessful.",
			"Trying method 3/3: test.Scripted(c)",
			"Fencing method test.Scripted(c) was unsuccessful.",
			"Unable to fence service by any configured method."}},
	} {
		var calls []string
		core, logs := observer.New(zap.InfoLevel)
		f, err := Parse("x(a)\nx(b)\nx(c)", map[string]Method{"x": &scripted{results: tc.results, calls: &calls}}, zap.New(core))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Fence(t.Context(), hasvc.Target{NameNodeID: "nn1", Address: "127.0.0.1:1"}); got != tc.want {
			t.Errorf("%s: Fence = %v", tc.name, got)
		}
		if !reflect.DeepEqual(calls, tc.calls) {
			t.Errorf("%s: calls %q, want %q", tc.name, calls, tc.calls)
		}
		var msgs []string
		for _, e := range logs.All() {
			msgs = append(msgs, e.Message)
		}
		if !reflect.DeepEqual(msgs, tc.logs) {
			t.Errorf("%s: logs\n%q\nwant\n%q", tc.name, msgs, tc.logs)
		}
	}
}

func shellTarget(t *testing.T) hasvc.Target {
	c := conf.New()
	c.Set("dfs.nameservices", "mycluster")
	c.Set("dfs.ha.namenodes.mycluster", "nn1,nn2")
	c.Set("dfs.namenode.rpc-address.mycluster.nn1", "127.0.0.1:18020")
	c.Set("dfs.namenode.rpc-address.mycluster.nn2", "127.0.0.1:18021")
	c.Set("dfs.ha.fencing.methods", "shell(true)")
	tg, err := hasvc.TargetFromConf(c, "mycluster", "nn1")
	if err != nil {
		t.Fatal(err)
	}
	tg.Resolve(t.Context(), nil)
	return tg
}

func TestShellEnvironment(t *testing.T) {
	testcluster.CheckLeaks(t)
	out := filepath.Join(t.TempDir(), "env")
	core, logs := observer.New(zap.InfoLevel)
	sh := &Shell{Log: zap.New(core)}
	cmd := `echo "$target_host $target_port $target_address $target_nameserviceid $target_namenodeid" > ` + out +
		`; echo "$dfs_nameservices $dfs_ha_namenodes_mycluster" >> ` + out + `; echo to-stdout; echo to-stderr >&2`
	ok, err := sh.TryFence(t.Context(), shellTarget(t), cmd)
	if !ok || err != nil {
		t.Fatalf("TryFence = %v, %v", ok, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := "127.0.0.1 18020 /127.0.0.1:18020 mycluster nn1\nmycluster nn1,nn2\n"
	if string(b) != want {
		t.Fatalf("script saw %q, want %q", b, want)
	}
	var sawOut, sawErr bool
	for _, e := range logs.All() {
		sawOut = sawOut || (strings.HasSuffix(e.Message, ": to-stdout") && strings.HasPrefix(e.Message, "[PID ") && e.Level == zap.InfoLevel)
		sawErr = sawErr || (strings.HasSuffix(e.Message, ": to-stderr") && e.Level == zap.WarnLevel)
	}
	if !sawOut || !sawErr {
		t.Fatalf("output not logged: %v", logs.All())
	}
}

func TestShellExitStatusIsTheVerdict(t *testing.T) {
	testcluster.CheckLeaks(t)
	sh := &Shell{}
	tg := shellTarget(t)
	for cmd, want := range map[string]bool{
		"true":                       true,
		"exit 0":                     true,
		"exit 1":                     false,
		"exit 3":                     false,
		"false; exit 0":              false, // bash -e stops at the first failure
		"/no/such/command":           false,
		`[ "$target_port" = 18020 ]`: true,
	} {
		ok, err := sh.TryFence(t.Context(), tg, cmd)
		if err != nil || ok != want {
			t.Errorf("%q: %v, %v; want %v", cmd, ok, err, want)
		}
	}
}

func TestShellStopsWithContext(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithCancel(t.Context())
	tg := shellTarget(t)
	started := filepath.Join(t.TempDir(), "started")
	done := make(chan struct{})
	var ok bool
	go func() {
		defer close(done)
		ok, _ = (&Shell{}).TryFence(ctx, tg, "touch "+started+"; sleep 600 & sleep 600")
	}()
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		select {
		case <-done:
			t.Fatal("command ended by itself")
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	<-done
	if ok {
		t.Fatal("a cancelled command fenced")
	}
}

func TestAbbreviate(t *testing.T) {
	if got := abbreviate("short", 20); got != "short" {
		t.Errorf("got %q", got)
	}
	if got := abbreviate("abcdefghijklmnopqrstuvwxyz", 20); got != "abcdefgh...rstuvwxyz" {
		t.Errorf("got %q", got)
	}
}

// FuzzParse: any dfs.ha.fencing.methods value parses or is a clean
// configuration error, never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"sshfence", "sshfence(hdfs:22)\nshell(/bin/true) # c", "shell()", "x(", "sshfence(:99999)",
		"org.apache.hadoop.ha.ShellCommandFencer(a) b)", "\n\n#only\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		fn, err := Parse(spec, nil, nil)
		if err != nil {
			if !errors.Is(err, ErrBadConfig) {
				t.Fatalf("%q: error %v does not wrap ErrBadConfig", spec, err)
			}
			return
		}
		if fn.Len() != len(fn.Methods()) {
			t.Fatalf("%q: Len %d, Methods %q", spec, fn.Len(), fn.Methods())
		}
	})
}

// A command can print before Start returns its pid; those lines must still
// carry the "[PID n]" prefix.
func TestLineLoggerHoldsOutputUntilPID(t *testing.T) {
	var got []string
	l := &lineLogger{prefix: "cmd", hold: true, emit: func(s string) { got = append(got, s) }}
	l.Write([]byte("early\npart"))
	if len(got) != 0 {
		t.Fatalf("emitted before the pid was known: %q", got)
	}
	l.setPID(42)
	l.Write([]byte("ial\n"))
	want := []string{"[PID 42] cmd: early", "[PID 42] cmd: partial"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
