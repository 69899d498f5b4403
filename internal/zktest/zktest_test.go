package zktest_test

import (
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/internal/zktest"
)

// connect opens a session with the server and waits until it has one.
func connect(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 2*time.Second, zk.WithLogger(zk.DefaultLogger), zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return c
			}
		case <-timeout:
			t.Fatalf("no session with %s", addr)
		}
	}
}

// TestServer starts ZooKeeper, writes and reads a znode, restarts the server
// and reads the znode again, and checks that the JVM is gone after Stop.
func TestServer(t *testing.T) {
	testcluster.CheckLeaks(t)
	s := zktest.Start(t)

	c := connect(t, s.Addr())
	if _, err := c.Create("/zktest", []byte("hello"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	got, _, err := c.Get("/zktest")
	if err != nil || string(got) != "hello" {
		t.Fatalf("get /zktest = %q, %v", got, err)
	}
	c.Close()

	pid := s.Pid()
	s.Restart()
	if s.Pid() == pid {
		t.Fatalf("Restart kept pid %d", pid)
	}
	c2 := connect(t, s.Addr())
	got, _, err = c2.Get("/zktest")
	if err != nil || string(got) != "hello" {
		t.Fatalf("after restart: get /zktest = %q, %v", got, err)
	}
	c2.Close()

	pid = s.Pid()
	s.Stop()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("ZooKeeper pid %d still exists after Stop (kill 0: %v)", pid, err)
	}
	if _, err := os.Stat(s.Dir() + "/zoo.cfg"); err != nil {
		t.Fatal(err)
	}
}

// TestPauseResume: a paused server answers nothing; resumed, it serves the
// same session again.
func TestPauseResume(t *testing.T) {
	testcluster.CheckLeaks(t)
	s := zktest.Start(t)
	c := connect(t, s.Addr())
	s.Pause()
	done := make(chan error, 1)
	go func() {
		_, err := c.Create("/paused", nil, 0, zk.WorldACL(zk.PermAll))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("create on a paused server returned %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	s.Resume()
	if err := <-done; err != nil && !errors.Is(err, zk.ErrConnectionClosed) && !errors.Is(err, zk.ErrNodeExists) {
		t.Logf("create across pause: %v", err)
	}
	if _, _, err := connect(t, s.Addr()).Get("/"); err != nil {
		t.Fatal(err)
	}
}
