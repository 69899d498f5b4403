package zktest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/testcluster"
)

// Where Debian's zookeeper package (libzookeeper-java) puts the server.
const (
	debianJar  = "/usr/share/java/zookeeper.jar"
	slf4jJar   = "/usr/share/java/slf4j-simple.jar"
	mainClass  = "org.apache.zookeeper.server.ZooKeeperServerMain"
	startLimit = 60 * time.Second // only guards against hanging forever
	stopLimit  = 30 * time.Second
	outputTail = 16 << 10
)

// jvmFlags make the JVM start quickly and stay small; a test server holds a
// handful of znodes.
var jvmFlags = []string{
	"-Xshare:auto",
	"-XX:TieredStopAtLevel=1",
	"-XX:+UseSerialGC",
	"-XX:-UsePerfData",
	"-Xms16m", "-Xmx128m", "-Xss512k",
	"-Djava.net.preferIPv4Stack=true",
	"-Dzookeeper.admin.enableServer=false",
	"-Dzookeeper.jmx.log4j.disable=true",
}

// Server is one standalone ZooKeeper server started by a test.
type Server struct {
	t       testing.TB
	java    string
	cp      string
	dir     string
	cfgPath string
	addr    string

	mu struct {
		sync.Mutex
		cmd    *exec.Cmd
		done   chan struct{} // closed when cmd has exited
		paused bool
	}
}

// Start runs a ZooKeeper server for the test and returns once it serves
// clients at Addr. It stops when the test ends. See the package doc.
func Start(t testing.TB) *Server {
	t.Helper()
	java, cp, err := findInstall()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("zktest: %v (scripts/install-test-deps.sh installs it)", err)
		}
		t.Skipf("zktest: %v; run scripts/install-test-deps.sh", err)
	}
	dir := t.TempDir()
	port := testcluster.ReservePort(t, testcluster.DefaultHost)
	s := &Server{
		t: t, java: java, cp: cp, dir: dir,
		cfgPath: filepath.Join(dir, "zoo.cfg"),
		addr:    net.JoinHostPort(testcluster.DefaultHost, strconv.Itoa(port)),
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.cfgPath, []byte(s.zooCfg(port)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Registered before the process starts, so it runs after the stop below
	// (cleanups run last-in first-out) and sees the final output.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("zktest: ZooKeeper at %s, output (tail):\n%s", s.addr, s.outputTail())
		}
	})
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("zktest: %v", err)
		}
	})
	if err := s.start(); err != nil {
		t.Fatalf("zktest: %v", err)
	}
	return s
}

// Addr is the server's client address, "127.0.0.1:port": the value for
// ha.zookeeper.quorum.
func (s *Server) Addr() string { return s.addr }

// Dir is the directory holding zoo.cfg, the data directory and the
// server's output (zookeeper.out).
func (s *Server) Dir() string { return s.dir }

// Stop kills the server (SIGKILL to its process group) and waits until it is
// gone. Its port and data stay for Restart. Stopping a stopped server does
// nothing.
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.stop(); err != nil {
		s.t.Fatalf("zktest: %v", err)
	}
}

// Restart stops the server if it runs and starts it again on the same address
// with the same data, returning once it serves clients. Sessions older than
// their timeout have expired by then, as with a real outage.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.stop(); err != nil {
		s.t.Fatalf("zktest: %v", err)
	}
	if err := s.start(); err != nil {
		s.t.Fatalf("zktest: %v", err)
	}
}

// Pause freezes the server with SIGSTOP: connections stay open, nothing is
// answered. Resume undoes it; Stop and the cleanup resume it first.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP, true) }

// Resume continues a paused server with SIGCONT.
func (s *Server) Resume() { s.signal(syscall.SIGCONT, false) }

func (s *Server) signal(sig syscall.Signal, paused bool) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.cmd == nil {
		s.t.Fatalf("zktest: %v: server not running", sig)
	}
	if err := syscall.Kill(-s.mu.cmd.Process.Pid, sig); err != nil {
		s.t.Fatalf("zktest: %v: %v", sig, err)
	}
	s.mu.paused = paused
}

func (s *Server) zooCfg(port int) string {
	return strings.Join([]string{
		"tickTime=100",
		"minSessionTimeout=200",
		"maxSessionTimeout=60000",
		"dataDir=" + filepath.Join(s.dir, "data"),
		"clientPort=" + strconv.Itoa(port),
		"clientPortAddress=" + testcluster.DefaultHost,
		"admin.enableServer=false",
		"4lw.commands.whitelist=ruok,srvr,stat,mntr,cons,dump",
		"forceSync=no",
		"maxClientCnxns=0",
		"",
	}, "\n")
}

// start runs the JVM and waits until the server answers as standalone.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.cmd != nil {
		return nil
	}
	out, err := os.OpenFile(filepath.Join(s.dir, "zookeeper.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close() // the child holds its own descriptor
	args := append(append([]string{}, jvmFlags...), "-cp", s.cp, mainClass, s.cfgPath)
	cmd := exec.Command(s.java, args...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start ZooKeeper: %w", err)
	}
	done := make(chan struct{})
	go func() { // owned by the Server: ends when the process does (stop kills it)
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.cmd, s.mu.done, s.mu.paused = cmd, done, false

	deadline := time.Now().Add(startLimit)
	for {
		if serving(s.addr) {
			return nil
		}
		select {
		case <-done:
			s.mu.cmd, s.mu.done = nil, nil
			return fmt.Errorf("ZooKeeper exited during start-up (%v); output:\n%s", cmd.ProcessState, s.outputTail())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			killGroup(cmd)
			<-done
			s.mu.cmd, s.mu.done = nil, nil
			return fmt.Errorf("ZooKeeper did not serve at %s within %v; output:\n%s", s.addr, startLimit, s.outputTail())
		}
	}
}

func (s *Server) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.cmd == nil {
		return nil
	}
	cmd, done := s.mu.cmd, s.mu.done
	killGroup(cmd)
	if s.mu.paused {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT)
	}
	select {
	case <-done:
	case <-time.After(stopLimit):
		return fmt.Errorf("ZooKeeper (pid %d) did not exit within %v", cmd.Process.Pid, stopLimit)
	}
	s.mu.cmd, s.mu.done, s.mu.paused = nil, nil, false
	return nil
}

func killGroup(cmd *exec.Cmd) {
	// The JVM leads its own group; a negative pid signals the whole group.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		_ = cmd.Process.Kill()
	}
}

// serving reports whether the server at addr answers "srvr" as a serving
// standalone server ("ruok" answers imok before the database is loaded).
func serving(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "srvr"); err != nil {
		return false
	}
	b, _ := io.ReadAll(io.LimitReader(c, 4096))
	return bytes.Contains(b, []byte("Mode: standalone"))
}

func (s *Server) outputTail() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "zookeeper.out"))
	if err != nil {
		return err.Error()
	}
	if len(b) > outputTail {
		b = b[len(b)-outputTail:]
	}
	return string(b)
}

// findInstall returns the java binary and the class path of the Debian
// ZooKeeper installation.
func findInstall() (java, cp string, err error) {
	if _, err := os.Stat(debianJar); err != nil {
		return "", "", errors.New("ZooKeeper is not installed (no " + debianJar + "; Debian package zookeeper)")
	}
	java = filepath.Join(os.Getenv("JAVA_HOME"), "bin", "java")
	if os.Getenv("JAVA_HOME") == "" || !isExecutable(java) {
		if java, err = exec.LookPath("java"); err != nil {
			return "", "", errors.New("java is not installed (Debian package zookeeper depends on a JRE)")
		}
	}
	cp = debianJar
	if _, err := os.Stat(slf4jJar); err == nil {
		cp += string(os.PathListSeparator) + slf4jJar
	}
	return java, cp, nil
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Pid is the JVM's process id, 0 while the server is stopped.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.cmd == nil {
		return 0
	}
	return s.mu.cmd.Process.Pid
}
