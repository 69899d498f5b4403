// Package hasvctest is a fake HAServiceProtocol server for tests of callers
// (haadmin, the failover controller's drivers, the ZKFC): a real
// internal/rpc server on 127.0.0.1 whose answers the test scripts.
package hasvctest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// Behaviour is what the fake answers. Zero value: a healthy, ready standby
// whose transitions succeed.
type Behaviour struct {
	State hasvc.State
	// NotReady, when set, makes the service not ready to become active,
	// with this reason.
	NotReady string
	// HealthErr, ToActiveErr, ToStandbyErr, StatusErr are returned by the
	// calls (build them with rpc.Errorf to choose the Java class).
	HealthErr, ToActiveErr, ToStandbyErr, StatusErr error
}

// Server is a fake HA service. Its methods are safe for concurrent use.
type Server struct {
	srv *rpc.Server

	mu    sync.Mutex
	b     Behaviour
	calls []string
}

// Start serves b on 127.0.0.1 until the test ends.
func Start(t testing.TB, b Behaviour) *Server {
	t.Helper()
	cfg := rpc.DefaultServerConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.HandlerCount = 2
	srv, err := rpc.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{srv: srv, b: b}
	srv.Register(hasvc.Protocol,
		rpc.Unary("monitorHealth", func(_ context.Context, _ *commonpb.MonitorHealthRequestProto) (*commonpb.MonitorHealthResponseProto, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.calls = append(s.calls, "monitorHealth")
			return &commonpb.MonitorHealthResponseProto{}, s.b.HealthErr
		}),
		rpc.Unary("getServiceStatus", func(_ context.Context, _ *commonpb.GetServiceStatusRequestProto) (*commonpb.GetServiceStatusResponseProto, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.calls = append(s.calls, "getServiceStatus")
			if s.b.StatusErr != nil {
				return nil, s.b.StatusErr
			}
			resp := &commonpb.GetServiceStatusResponseProto{State: s.b.State.Enum()}
			if s.b.State == hasvc.StateStandby {
				ready := s.b.NotReady == ""
				resp.ReadyToBecomeActive = &ready
				if !ready {
					resp.NotReadyReason = &s.b.NotReady
				}
			}
			return resp, nil
		}),
		rpc.Unary("transitionToActive", func(_ context.Context, req *commonpb.TransitionToActiveRequestProto) (*commonpb.TransitionToActiveResponseProto, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.calls = append(s.calls, "transitionToActive "+req.GetReqInfo().GetReqSource().String())
			if s.b.ToActiveErr != nil {
				return nil, s.b.ToActiveErr
			}
			s.b.State = hasvc.StateActive
			return &commonpb.TransitionToActiveResponseProto{}, nil
		}),
		rpc.Unary("transitionToStandby", func(_ context.Context, req *commonpb.TransitionToStandbyRequestProto) (*commonpb.TransitionToStandbyResponseProto, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.calls = append(s.calls, "transitionToStandby "+req.GetReqInfo().GetReqSource().String())
			if s.b.ToStandbyErr != nil {
				return nil, s.b.ToStandbyErr
			}
			s.b.State = hasvc.StateStandby
			return &commonpb.TransitionToStandbyResponseProto{}, nil
		}),
	)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve() }()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return s
}

// Addr is the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.srv.Addr().String() }

// Set changes the behaviour.
func (s *Server) Set(f func(b *Behaviour)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.b)
}

// State is the current HA state.
func (s *Server) State() hasvc.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.State
}

// Calls lists the calls served so far: "monitorHealth",
// "transitionToActive REQUEST_BY_USER", ...
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *Server) String() string { return fmt.Sprintf("fake HA service at %s", s.Addr()) }
