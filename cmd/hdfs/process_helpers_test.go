//go:build unix

package main

// Helpers for process-level tests: they build the real hdfs binary, run one-shot commands
// and daemons with it, and kill daemons the way an operator's machine would (SIGKILL).

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildHDFS builds the binary into the test's temp dir (go's build cache makes every build
// after the first a link). It skips the test under -short or without a go command.
func buildHDFS(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the hdfs binary")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the binary with")
	}
	bin := filepath.Join(t.TempDir(), "hdfs")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// processEnv is the environment commands run with: PATH only, plus extra "K=V" entries,
// so the developer's own HADOOP_CONF_DIR never leaks in.
func processEnv(extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH")}, extra...)
}

// runBinary runs `bin args...` to completion and returns its output and exit status.
func runBinary(t *testing.T, bin string, env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// lockedBuffer collects a running process's output; it may be read while the process
// still writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// daemonProcess is one daemon started from the binary. It is killed with SIGKILL at
// cleanup if it still runs.
type daemonProcess struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan error
}

// startDaemon starts `bin args...` in the background. stderr is kept for failure messages.
func startDaemon(t *testing.T, name, bin string, env []string, args ...string) *daemonProcess {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	d := &daemonProcess{t: t, name: name, cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if d.running() {
			d.kill9()
		}
	})
	return d
}

func (d *daemonProcess) running() bool { return d.cmd != nil }

// kill9 kills the process with SIGKILL and waits for it to be gone.
func (d *daemonProcess) kill9() {
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited
	d.cmd = nil
}

// term stops the process with SIGTERM; it must exit 0.
func (d *daemonProcess) term() {
	d.t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	err := <-d.exited
	d.cmd = nil
	if err != nil {
		d.t.Fatalf("%s: exit after SIGTERM: %v\nstderr: %s", d.name, err, d.stderr)
	}
}

// exitedEarly reports a daemon that died by itself, with its stderr.
func (d *daemonProcess) exitedEarly() error {
	select {
	case err := <-d.exited:
		d.exited <- err
		return errors.New(d.name + " exited: " + errString(err) + "\nstderr: " + d.stderr.String())
	default:
		return nil
	}
}

func errString(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

// waitFor polls ready until it returns nil, the daemon dies, or the bound (which only
// guards against hanging) passes.
func (d *daemonProcess) waitFor(what string, ready func() error) {
	d.t.Helper()
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err = ready(); err == nil {
			return
		}
		if early := d.exitedEarly(); early != nil {
			d.t.Fatalf("waiting for %s: %v", what, early)
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%s: %s: %v\nstderr: %s", d.name, what, err, d.stderr)
		}
	}
}

// waitListening waits until addr accepts TCP connections.
func (d *daemonProcess) waitListening(addr string) {
	d.t.Helper()
	d.waitFor("listening on "+addr, func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
}
