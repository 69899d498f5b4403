package fence

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
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

	"golang.org/x/crypto/ssh"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// needTool finds a system tool the test needs. Missing, it fails the test
// under CI (scripts/install-test-deps.sh installs it) and skips it elsewhere.
func needTool(t *testing.T, name string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing (scripts/install-test-deps.sh installs it)", name)
	}
	t.Skipf("%s is missing; run scripts/install-test-deps.sh", name)
	return ""
}

// writeKey writes a new ed25519 private key in OpenSSH format and returns
// its public key.
func writeKey(t *testing.T, path string) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// testSSHD is an sshd of the test's own on 127.0.0.1, accepting the client
// key for the current user.
type testSSHD struct {
	port      int
	clientKey string // private key file
	hostKey   ssh.PublicKey
}

// syncBuffer is a bytes.Buffer safe for exec's copying goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startSSHD(t *testing.T) *testSSHD {
	t.Helper()
	sshd := needTool(t, "sshd", "/usr/sbin/sshd")
	needTool(t, "fuser", "/usr/bin/fuser", "/bin/fuser", "/sbin/fuser", "/usr/sbin/fuser")
	if os.Geteuid() == 0 {
		// sshd running as root insists on its privilege separation directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	s := &testSSHD{port: testcluster.ReservePort(t, "127.0.0.1"), clientKey: filepath.Join(dir, "id_ed25519")}
	s.hostKey = writeKey(t, filepath.Join(dir, "host_key"))
	clientPub := writeKey(t, s.clientKey)
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientPub), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s/host_key
AuthorizedKeysFile %s/authorized_keys
PidFile %s/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
`, s.port, dir, dir, dir)
	cfgPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	cmd := exec.Command(sshd, "-D", "-e", "-f", cfgPath)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		t.Logf("sshd log:\n%s", logs.String())
	})
	// Bounded wait for sshd to listen; the bound only guards against hanging.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), time.Second)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-exited:
			t.Fatalf("sshd exited:\n%s", logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen: %v\n%s", err, logs.String())
		}
	}
}

// The helper process: a stand-in NameNode that listens on a TCP port until
// it is killed.
func TestHelperListener(t *testing.T) {
	addr := os.Getenv("HDFSHA_FENCE_TEST_LISTEN")
	if addr == "" {
		t.Skip("helper process only")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(3)
	}
	defer l.Close()
	fmt.Println("ready")
	for {
		c, err := l.Accept()
		if err != nil {
			os.Exit(4)
		}
		c.Close()
	}
}

// startVictim starts a process listening on a reserved port and returns it
// with its address; waited reports its end.
func startVictim(t *testing.T) (cmd *exec.Cmd, addr string, waited <-chan error) {
	t.Helper()
	addr = testcluster.ReserveAddr(t, "127.0.0.1")
	cmd = exec.Command(os.Args[0], "-test.run=^TestHelperListener$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HDFSHA_FENCE_TEST_LISTEN="+addr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	exited := make(chan struct{})
	line, _ := bufio.NewReader(out).ReadString('\n')
	go func() { done <- cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper did not start: %q", line)
	}
	return cmd, addr, done
}

func sshTarget(t *testing.T, addr, keyFile string) hasvc.Target {
	t.Helper()
	c := conf.New()
	c.Set(KeySSHPrivateKeyFiles, keyFile)
	c.Set(KeySSHConnectTimeout, "10000")
	tg := hasvc.Target{Nameservice: "mycluster", NameNodeID: "nn1", Address: addr, Conf: c}
	tg.Resolve(t.Context(), nil)
	return tg
}

func TestSSHFenceKillsListener(t *testing.T) {
	testcluster.CheckLeaks(t)
	s := startSSHD(t)
	_, addr, waited := startVictim(t)

	f, err := Parse(fmt.Sprintf("sshfence(%s:%d)", currentUser(), s.port), nil, testcluster.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Fence(t.Context(), sshTarget(t, addr, s.clientKey)) {
		t.Fatal("sshfence failed")
	}
	select {
	case err := <-waited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("helper ended with %v", err)
		}
		ws := ee.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("helper ended with %v, want killed", err)
		}
	case <-time.After(30 * time.Second): // guards against hanging only
		t.Fatal("the fenced process is still running")
	}
}

// Nothing listening on the port: fuser finds nothing, nc confirms (or is
// absent): the service is down, which counts as fenced.
func TestSSHFenceNothingListening(t *testing.T) {
	testcluster.CheckLeaks(t)
	s := startSSHD(t)
	addr := testcluster.ReserveAddr(t, "127.0.0.1")
	ok, err := (&SSH{Log: testcluster.Logger(t)}).TryFence(t.Context(), sshTarget(t, addr, s.clientKey), ":"+strconv.Itoa(s.port))
	if !ok || err != nil {
		t.Fatalf("TryFence = %v, %v; want fenced", ok, err)
	}
}

func TestSSHFenceLoginFails(t *testing.T) {
	testcluster.CheckLeaks(t)
	s := startSSHD(t)
	_, addr, _ := startVictim(t)
	other := filepath.Join(t.TempDir(), "other_key")
	writeKey(t, other)
	sh := &SSH{Log: testcluster.Logger(t)}
	for name, tc := range map[string]struct{ key, arg string }{
		"key not authorized": {other, ":" + strconv.Itoa(s.port)},
		"key file missing":   {filepath.Join(t.TempDir(), "nope"), ":" + strconv.Itoa(s.port)},
		"no sshd there":      {s.clientKey, ":" + strconv.Itoa(testcluster.ReservePort(t, "127.0.0.1"))},
		"host key mismatch":  {s.clientKey, ":" + strconv.Itoa(s.port)},
	} {
		m := sh
		if name == "host key mismatch" {
			m = &SSH{Log: sh.Log, HostKeyCallback: ssh.FixedHostKey(writeKey(t, filepath.Join(t.TempDir(), "k")))}
		}
		ok, err := m.TryFence(t.Context(), sshTarget(t, addr, tc.key), tc.arg)
		if ok || err != nil {
			t.Errorf("%s: TryFence = %v, %v; want unsuccessful", name, ok, err)
		}
	}
	// The right host key is accepted.
	m := &SSH{Log: sh.Log, HostKeyCallback: ssh.FixedHostKey(s.hostKey)}
	if ok, err := m.TryFence(t.Context(), sshTarget(t, addr, s.clientKey), ":"+strconv.Itoa(s.port)); !ok || err != nil {
		t.Fatalf("with the right host key: %v, %v", ok, err)
	}
}
