package rpc

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// blockingServer serves getFileInfo calls that wait for release (or their
// ctx) before answering, and a plain "stat" method.
func blockingServer(t *testing.T, release <-chan struct{}) *Server {
	return startServer(t, nil, func(s *Server) {
		s.Register(clientProtocol, statMethod(), Unary("slow",
			func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return &hdfspb.GetFileInfoResponseProto{Fs: fileStatus(req.GetSrc())}, nil
			}))
	})
}

func slowCall(ctx context.Context, c *Client, addr string) error {
	return c.Call(ctx, addr, clientProtocol, "slow", &hdfspb.GetFileInfoRequestProto{Src: proto.String("/slow")}, &hdfspb.GetFileInfoResponseProto{})
}

func TestCallTimeout(t *testing.T) {
	checkGoroutinesGone(t)
	release := make(chan struct{})
	srv := blockingServer(t, release)
	addr := srv.Addr().String()

	t.Run("ctx deadline", func(t *testing.T) {
		c := newClient(t, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := slowCall(ctx, c, addr); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want DeadlineExceeded", err)
		}
		mustStat(t, c, addr, "/after-timeout") // same connection, still good
	})
	t.Run("rpc timeout", func(t *testing.T) {
		c := newClient(t, func(cfg *ClientConfig) { cfg.RPCTimeout = 20 * time.Millisecond })
		if err := slowCall(context.Background(), c, addr); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want DeadlineExceeded", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		c := newClient(t, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- slowCall(ctx, c, addr) }()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want Canceled", err)
		}
	})
	close(release) // late answers to the timed-out calls are dropped
}

func TestClientReconnectsAfterFailure(t *testing.T) {
	checkGoroutinesGone(t)
	srv := startServer(t, nil, func(s *Server) { s.Register(clientProtocol, statMethod()) })
	c := newClient(t, nil)
	addr := srv.Addr().String()
	mustStat(t, c, addr, "/1")

	// Break the connection under the client.
	c.mu.Lock()
	cc := c.mu.conns[connKey{addr, clientProtocol}]
	c.mu.Unlock()
	cc.mu.Lock()
	cc.mu.nc.Close()
	cc.mu.Unlock()
	waitFor(t, "client to notice the broken connection", cc.isClosed)

	mustStat(t, c, addr, "/2")
	c.mu.Lock()
	again := c.mu.conns[connKey{addr, clientProtocol}]
	c.mu.Unlock()
	if again == cc {
		t.Fatal("client kept the broken connection")
	}
}

func TestClientIdleConnectionClosed(t *testing.T) {
	checkGoroutinesGone(t)
	remotes := make(chan string, 2)
	srv := startServer(t, nil, func(s *Server) {
		s.Register(clientProtocol, Unary("getFileInfo",
			func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
				caller, _ := CallerFromContext(ctx)
				remotes <- caller.RemoteAddr.String()
				return &hdfspb.GetFileInfoResponseProto{Fs: fileStatus(req.GetSrc())}, nil
			}))
	})
	c := newClient(t, func(cfg *ClientConfig) { cfg.MaxIdleTime = 20 * time.Millisecond })
	addr := srv.Addr().String()

	mustStat(t, c, addr, "/1")
	waitFor(t, "idle connection to close", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.mu.conns) == 0
	})
	waitFor(t, "server to see the connection go", func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return len(srv.mu.conns) == 0
	})
	mustStat(t, c, addr, "/2")
	if first, second := <-remotes, <-remotes; first == second {
		t.Fatalf("second call reused connection %s", first)
	}
}

func TestClientErrors(t *testing.T) {
	checkGoroutinesGone(t)
	release := make(chan struct{})
	defer close(release)
	srv := blockingServer(t, release)
	addr := srv.Addr().String()

	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := ln.Addr().String()
		ln.Close()
		c := newClient(t, nil)
		if _, err := stat(context.Background(), c, dead, "/"); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("got %v, want ECONNREFUSED", err)
		}
	})
	t.Run("closed client", func(t *testing.T) {
		c := newClient(t, nil)
		c.Close()
		if _, err := stat(context.Background(), c, addr, "/"); !errors.Is(err, ErrClientClosed) {
			t.Fatalf("got %v, want ErrClientClosed", err)
		}
	})
	t.Run("client closed during call", func(t *testing.T) {
		c := newClient(t, nil)
		done := make(chan error)
		go func() { done <- slowCall(context.Background(), c, addr) }()
		waitFor(t, "call in flight", func() bool { return pendingCalls(c) > 0 })
		c.Close()
		if err := <-done; !errors.Is(err, ErrClientClosed) {
			t.Fatalf("got %v, want ErrClientClosed", err)
		}
	})
	t.Run("call id in flight", func(t *testing.T) {
		c := newClient(t, nil)
		a := c.NewAttempt()
		done := make(chan error)
		go func() {
			done <- c.Call(context.Background(), addr, clientProtocol, "slow",
				&hdfspb.GetFileInfoRequestProto{Src: proto.String("/")}, &hdfspb.GetFileInfoResponseProto{}, WithAttempt(a))
		}()
		waitFor(t, "call in flight", func() bool { return pendingCalls(c) > 0 })
		if _, err := stat(context.Background(), c, addr, "/", WithAttempt(a.Retry())); err == nil {
			t.Fatal("a second call with the same call id on one connection was accepted")
		}
		c.Close()
		<-done
	})
}

func TestClientConfigValidate(t *testing.T) {
	if err := DefaultClientConfig("alice").Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for name, tweak := range map[string]func(*ClientConfig){
		"no user":          func(c *ClientConfig) { c.User = "" },
		"short client id":  func(c *ClientConfig) { c.ClientID = []byte("short") },
		"no dial timeout":  func(c *ClientConfig) { c.DialTimeout = 0 },
		"negative timeout": func(c *ClientConfig) { c.RPCTimeout = -1 },
		"no idle":          func(c *ClientConfig) { c.MaxIdleTime = 0 },
		"no response size": func(c *ClientConfig) { c.MaxResponseLength = 0 },
	} {
		cfg := DefaultClientConfig("alice")
		tweak(&cfg)
		if cfg.Validate() == nil {
			t.Errorf("%s: Validate accepted %+v", name, cfg)
		}
		if _, err := NewClient(cfg); err == nil {
			t.Errorf("%s: NewClient accepted %+v", name, cfg)
		}
	}
}

func TestAttempts(t *testing.T) {
	c := newClient(t, func(cfg *ClientConfig) { cfg.ClientID = []byte("0123456789abcdef") })
	if got := string(c.ClientID()); got != "0123456789abcdef" {
		t.Fatalf("ClientID = %q", got)
	}
	a, b := c.NewAttempt(), c.NewAttempt()
	if a.CallID == b.CallID || a.RetryCount != 0 {
		t.Fatalf("attempts %+v %+v", a, b)
	}
	if r := a.Retry().Retry(); r.CallID != a.CallID || r.RetryCount != 2 {
		t.Fatalf("second retry of %+v is %+v", a, r)
	}
	c.callIDs.Store(-1) // call ids stay non-negative when the counter wraps
	if a := c.NewAttempt(); a.CallID < 0 {
		t.Fatalf("call id %d", a.CallID)
	}
}
