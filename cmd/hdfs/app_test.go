package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// result is what one in-process run of the binary produced.
type result struct {
	code   int
	stdout string
	stderr string
}

// runHDFS runs `hdfs args...` in-process with the given environment (nothing from the
// real one leaks in) and returns its exit status and output.
func runHDFS(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return runWith(t, &appEnv{}, env, nil, args...)
}

// runWith is runHDFS with extra tools registered next to the real subcommands.
func runWith(t *testing.T, e *appEnv, env map[string]string, extra []*hadoopTool, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := runIO(t.Context(), e, env, "", &out, &errb, extra, args...)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// runIO runs `hdfs args...` in-process on e with ctx, the given environment and standard
// input, writing to stdout and stderr, with extra tools registered next to the real
// subcommands, and returns its exit status.
func runIO(ctx context.Context, e *appEnv, env map[string]string, stdin string, stdout, stderr io.Writer, extra []*hadoopTool, args ...string) int {
	e.processIO = processIO{
		stdin:      strings.NewReader(stdin),
		stdout:     stdout,
		stderr:     stderr,
		getenv:     func(k string) string { return env[k] },
		executable: "/opt/hdfsha/bin/hdfs",
	}
	app := e.app()
	for _, tool := range extra {
		app.Commands = append(app.Commands, e.tool(tool))
	}
	return runApp(ctx, app, append([]string{"hdfs"}, args...))
}

func (r result) want(t *testing.T, code int, stdout string) {
	t.Helper()
	if r.code != code || r.stdout != stdout {
		t.Fatalf("exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q", r.code, r.stdout, r.stderr, code, stdout)
	}
}

// writeConfDir writes core-site.xml and hdfs-site.xml bodies (the <property> elements)
// into a new directory.
func writeConfDir(t *testing.T, core, hdfs string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"core-site.xml": core, "hdfs-site.xml": hdfs} {
		doc := "<?xml version=\"1.0\"?>\n<configuration>\n" + body + "</configuration>\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func prop(name, value string) string {
	return "<property><name>" + name + "</name><value>" + value + "</value></property>\n"
}

func TestHelpListsSubcommands(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"--config", t.TempDir(), "--help"}} {
		r := runHDFS(t, nil, args...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%q: exit %d, stderr %q", args, r.code, r.stderr)
		}
		for _, want := range []string{
			"Usage: hdfs [OPTIONS] SUBCOMMAND [SUBCOMMAND OPTIONS]",
			"--config dir", "--loglevel level", "--logformat console|json",
			"Client Commands:",
			"getconf              get config values from configuration",
			"version              print the version",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%q: usage lacks %q:\n%s", args, want, r.stdout)
			}
		}
	}
}

func TestNoArgumentsPrintsUsageAndFails(t *testing.T) {
	r := runHDFS(t, nil)
	if r.code != exitShellError || !strings.Contains(r.stdout, "SUBCOMMAND is one of") {
		t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestUnknownSubcommand(t *testing.T) {
	r := runHDFS(t, nil, "frobnicate", "-x")
	if r.code != exitShellError || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
	}
	if !strings.HasPrefix(r.stderr, "ERROR: frobnicate is not an hdfs subcommand.\n") ||
		!strings.Contains(r.stderr, "SUBCOMMAND is one of") {
		t.Fatalf("stderr %q", r.stderr)
	}
}

func TestBadGlobalOptions(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--bogus", "version"}, "ERROR: flag provided but not defined: -bogus"},
		{[]string{"--loglevel", "LOUD", "version"}, `unknown log level "LOUD"`},
		{[]string{"--logformat", "xml", "version"}, `unknown log format "xml"`},
		{[]string{"--config", "/nonexistent/hdfsha", "version"}, `ERROR: Cannot find configuration directory "/nonexistent/hdfsha"`},
		{[]string{"--config"}, "flag needs an argument"},
	}
	for _, c := range cases {
		r := runHDFS(t, nil, c.args...)
		if r.code != exitShellError || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 1 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	r := runHDFS(t, map[string]string{"HADOOP_ROOT_LOGGER": "NOISY,console"}, "version")
	if r.code != exitShellError || !strings.Contains(r.stderr, "HADOOP_ROOT_LOGGER") {
		t.Errorf("bad HADOOP_ROOT_LOGGER: exit %d, stderr %q", r.code, r.stderr)
	}
}

// finalOverrideDir makes a configuration whose loading produces a warning: core-site.xml
// marks a key final and hdfs-site.xml tries to change it.
func finalOverrideDir(t *testing.T) string {
	return writeConfDir(t,
		"<property><name>dfs.replication</name><value>2</value><final>true</final></property>\n",
		prop("dfs.replication", "3"))
}

func TestLoggingOptions(t *testing.T) {
	dir := finalOverrideDir(t)

	r := runHDFS(t, nil, "--config", dir, "getconf", "-confKey", "dfs.replication")
	r.want(t, 0, "2\n")
	if !strings.Contains(r.stderr, " WARN getconf: configuration warning=") || !strings.Contains(r.stderr, "final") {
		t.Errorf("console log line missing: %q", r.stderr)
	}

	for _, run := range []result{
		runHDFS(t, nil, "--config", dir, "--logformat", "json", "getconf", "-confKey", "dfs.replication"),
		runHDFS(t, map[string]string{"HDFSHA_LOG_FORMAT": "json"}, "--config", dir, "getconf", "-confKey", "dfs.replication"),
	} {
		run.want(t, 0, "2\n")
		var m map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSpace(run.stderr)), &m); err != nil {
			t.Fatalf("stderr is not one JSON entry: %v: %q", err, run.stderr)
		}
		if m["level"] != "warn" || m["logger"] != "getconf" {
			t.Errorf("JSON entry %v", m)
		}
	}

	for _, run := range []result{
		runHDFS(t, nil, "--config", dir, "--loglevel", "ERROR", "getconf", "-confKey", "dfs.replication"),
		runHDFS(t, map[string]string{"HADOOP_ROOT_LOGGER": "ERROR,console"}, "--config", dir, "getconf", "-confKey", "dfs.replication"),
		// --loglevel beats the environment.
		runHDFS(t, map[string]string{"HADOOP_ROOT_LOGGER": "DEBUG,console"}, "--config", dir, "--loglevel", "off", "getconf", "-confKey", "dfs.replication"),
	} {
		run.want(t, 0, "2\n")
		if run.stderr != "" {
			t.Errorf("warning logged above the chosen level: %q", run.stderr)
		}
	}
}

// fakeTool exercises framework paths getconf does not use.
func fakeTool(calls *[]string) *hadoopTool {
	record := func(name string) func(*toolContext, []string) error {
		return func(tc *toolContext, args []string) error {
			*calls = append(*calls, name+" "+strings.Join(args, ","))
			return nil
		}
	}
	return &hadoopTool{
		Name:     "fake",
		Category: categoryAdmin,
		Summary:  "a test tool",
		Ops: []toolOp{
			{Name: "-transitionToActive", Args: "<serviceId>", MinArgs: 1, MaxArgs: 1, Run: record("active")},
			{Name: "-ls", Args: "[-R] <path> ...", MinArgs: 1, MaxArgs: -1, Run: func(tc *toolContext, args []string) error {
				opts, rest, err := parseOpOptions(args, map[string]bool{"-R": false})
				if err != nil {
					return tc.UsageError("-ls: %v", err)
				}
				_, recursive := opts["-R"]
				*calls = append(*calls, "ls "+strings.Join(rest, ",")+map[bool]string{true: " recursive"}[recursive])
				return nil
			}},
			{Name: "-boom", Run: func(*toolContext, []string) error { return errors.New("kaboom") }},
			{Name: "-exit3", Run: func(tc *toolContext, _ []string) error { return tc.Fail(3, "three") }},
		},
		Default: func(tc *toolContext) error {
			*calls = append(*calls, "default")
			return nil
		},
		DefaultHelp: "fake idles in the foreground.",
	}
}

// runWithTool runs `hdfs args...` with tool registered next to the real subcommands.
func runWithTool(t *testing.T, tool *hadoopTool, args ...string) result {
	t.Helper()
	return runWith(t, &appEnv{}, nil, []*hadoopTool{tool}, args...)
}

func TestToolFramework(t *testing.T) {
	var calls []string
	cases := []struct {
		args   []string
		code   int
		calls  []string
		stderr string
	}{
		{[]string{}, 0, []string{"default"}, ""},
		{[]string{"-transitionToActive", "nn1"}, 0, []string{"active nn1"}, ""},
		{[]string{"-D", "a=b", "-transitionToActive", "nn2"}, 0, []string{"active nn2"}, ""},
		// Hadoop's haadmin is case-sensitive; only FoldCase tools are not.
		{[]string{"-transitiontoactive", "nn1"}, exitToolError, nil, "fake: unknown command -transitiontoactive"},
		{[]string{"-transitionToActive"}, exitToolError, nil, "usage: -transitionToActive <serviceId>"},
		{[]string{"-ls", "-R", "/a", "/b"}, 0, []string{"ls /a,/b recursive"}, ""},
		{[]string{"-ls", "/a"}, 0, []string{"ls /a"}, ""},
		{[]string{"-ls", "-X", "/a"}, exitToolError, nil, "-ls: illegal option -X"},
		{[]string{"-boom"}, exitShellError, nil, "fake: kaboom"},
		{[]string{"-exit3"}, 3, nil, "three"},
		{[]string{"-boom", "extra"}, exitToolError, nil, "Did not expect argument: extra"},
		{[]string{"-D"}, exitToolError, nil, "Generic options supported are"},
	}
	for _, c := range cases {
		calls = nil
		r := runWithTool(t, fakeTool(&calls), append([]string{"fake"}, c.args...)...)
		if r.code != c.code || !reflect.DeepEqual(calls, c.calls) || !strings.Contains(r.stderr, c.stderr) {
			t.Errorf("fake %q: exit %d, calls %q, stderr %q\nwant exit %d, calls %q, stderr containing %q",
				c.args, r.code, calls, r.stderr, c.code, c.calls, c.stderr)
		}
	}

	r := runWithTool(t, fakeTool(&calls), "fake", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "[-transitionToActive <serviceId>]") || !strings.Contains(r.stdout, "Without COMMAND, fake idles in the foreground.") {
		t.Errorf("fake --help: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestParseOpOptions(t *testing.T) {
	spec := map[string]bool{"-R": false, "-h": false, "-clusterid": true, "-force": false}
	cases := []struct {
		args []string
		opts map[string]string
		rest []string
		err  string
	}{
		{[]string{"-R", "-h", "/a"}, map[string]string{"-R": "", "-h": ""}, []string{"/a"}, ""},
		{[]string{"-clusterid", "CID-1", "-force"}, map[string]string{"-clusterid": "CID-1", "-force": ""}, []string{}, ""},
		{[]string{"/a", "-R"}, map[string]string{}, []string{"/a", "-R"}, ""},
		{[]string{"-R", "--", "-weird-name"}, map[string]string{"-R": ""}, []string{"-weird-name"}, ""},
		{[]string{"-", "x"}, map[string]string{}, []string{"-", "x"}, ""},
		{[]string{"-Z"}, nil, nil, "illegal option -Z"},
		{[]string{"-clusterid"}, nil, nil, "option -clusterid needs a value"},
	}
	for _, c := range cases {
		opts, rest, err := parseOpOptions(c.args, spec)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: err %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(opts, c.opts) || !reflect.DeepEqual(rest, c.rest) {
			t.Errorf("%q: %v %q %v; want %v %q", c.args, opts, rest, err, c.opts, c.rest)
		}
	}
}
