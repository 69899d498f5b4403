package fence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// Shell is Hadoop's ShellCommandFencer, `shell(command)`: the command runs
// under `bash -e -c` with the process environment, plus every configuration
// key of the target's view with '.' replaced by '_' (dfs_nameservices=...),
// plus the target's fencing parameters as $target_host, $target_port,
// $target_address, $target_nameserviceid and $target_namenodeid. Exit status
// 0 means fenced. Its stdout and stderr go to the log, line by line.
//
// Hadoop sets no timeout on the command; here it ends (with its whole process
// group) when the fencing ctx does.
type Shell struct {
	// Log receives the command's output; nil logs nothing. The Fencer's
	// logger is not used so that tests can see the output alone.
	Log *zap.Logger
	// Bash is the shell to run; "" means "bash" from $PATH.
	Bash string
}

var _ Method = (*Shell)(nil)

// ClassName is Hadoop's class name of the method.
func (s *Shell) ClassName() string { return "org.apache.hadoop.ha.ShellCommandFencer" }

// CheckArgs requires a command.
func (s *Shell) CheckArgs(arg string, hasArg bool) error {
	if !hasArg || arg == "" {
		return badConfig("No argument passed to 'shell' fencing method")
	}
	return nil
}

// abbreviate is Hadoop's: a long command becomes "head...tail" of len chars.
func abbreviate(cmd string, n int) string {
	if len(cmd) > n && n >= 5 {
		first := (n - 3) / 2
		rem := n - first - 3
		return cmd[:first] + "..." + cmd[len(cmd)-rem:]
	}
	return cmd
}

// ShellEnv is the environment the command runs with: base, then the
// configuration keys of the target's view ('.' → '_'), then the target's
// fencing parameters prefixed with "target_".
func ShellEnv(base []string, target hasvc.Target) []string {
	env := map[string]string{}
	var order []string
	put := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		put(k, v)
	}
	if target.Conf != nil {
		for _, k := range target.Conf.Keys() {
			v, _ := target.Conf.Get(k)
			put(strings.ReplaceAll(k, ".", "_"), v)
		}
	}
	for k, v := range target.FencingParameters() {
		put(strings.ReplaceAll("target_"+k, ".", "_"), v)
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+env[k])
	}
	return out
}

// TryFence runs the command and reports whether it exited 0.
func (s *Shell) TryFence(ctx context.Context, target hasvc.Target, cmdline string) (bool, error) {
	log := s.Log
	if log == nil {
		log = zap.NewNop()
	}
	bash := s.Bash
	if bash == "" {
		bash = "bash"
	}
	cmd := exec.CommandContext(ctx, bash, "-e", "-c", cmdline)
	cmd.Env = ShellEnv(os.Environ(), target)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	// The loggers hold output until the pid is known: the command may print
	// before Start returns to us.
	outLog := &lineLogger{prefix: abbreviate(cmdline, 20), hold: true, emit: func(line string) { log.Info(line, zap.String("stream", "stdout")) }}
	errLog := &lineLogger{prefix: abbreviate(cmdline, 20), hold: true, emit: func(line string) { log.Warn(line, zap.String("stream", "stderr")) }}
	cmd.Stdout, cmd.Stderr = outLog, errLog
	if err := cmd.Start(); err != nil {
		log.Warn("Unable to execute "+cmdline, zap.Error(err))
		return false, nil
	}
	pid := cmd.Process.Pid
	log.Info(fmt.Sprintf("Launched fencing command '%s' with pid %d", cmdline, pid))
	outLog.setPID(pid)
	errLog.setPID(pid)
	err := cmd.Wait()
	outLog.flush()
	errLog.flush()
	if err == nil {
		return true, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ctx.Err() != nil {
			log.Warn("Interrupted while waiting for fencing command: "+cmdline, zap.Error(ctx.Err()))
		} else {
			log.Info(fmt.Sprintf("Fencing command '%s' exited with status %d", cmdline, ee.ExitCode()))
		}
		return false, nil
	}
	return false, fmt.Errorf("fence: shell %q: %w", cmdline, err)
}

// lineLogger is an io.Writer that emits whole lines. exec's copying goroutine
// is its only writer until Wait returns; flush runs after that. While hold is
// set it only buffers; setPID releases it.
type lineLogger struct {
	mu     sync.Mutex
	prefix string
	hold   bool
	buf    []byte
	emit   func(string)
}

// setPID makes the prefix Hadoop's "[PID n] cmd..." and emits what was held.
func (l *lineLogger) setPID(pid int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prefix = "[PID " + strconv.Itoa(pid) + "] " + l.prefix
	l.hold = false
	l.emitLinesLocked()
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if !l.hold {
		l.emitLinesLocked()
	}
	return len(p), nil
}

func (l *lineLogger) emitLinesLocked() {
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(l.prefix + ": " + strings.TrimRight(string(l.buf[:i]), "\r"))
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 64*1024 { // a very long line is logged in pieces
		l.emit(l.prefix + ": " + string(l.buf))
		l.buf = l.buf[:0]
	}
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(l.prefix + ": " + string(l.buf))
		l.buf = nil
	}
}
