package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
)

// DefaultStopTimeout bounds how long Stop lets in-flight requests finish before it closes
// their connections, unless Config.StopTimeout says otherwise.
const DefaultStopTimeout = 5 * time.Second

// Config configures a Server.
type Config struct {
	// Address is host:port to listen on (dfs.namenode.http-address); port 0 picks a free one.
	Address string
	// Logger receives server errors; nil logs nothing.
	Logger *zap.Logger
	// StopTimeout is how long Stop waits for in-flight requests; 0 means DefaultStopTimeout.
	StopTimeout time.Duration
}

// Server is the NameNode HTTP server. New, then Start; Stop releases everything.
// Registration methods may be called before or after Start, from any goroutine.
type Server struct {
	cfg Config
	log *zap.Logger
	mux *http.ServeMux
	srv *http.Server

	// gate is read-held by every request inside a handler, so Stop can wait for them
	// (http.Server.Close closes connections but does not wait for their handlers), and once
	// closed turns away requests that were read just before the connections closed.
	gate struct {
		sync.RWMutex
		closed bool
	}
	// served is closed when the Serve goroutine has returned.
	served chan struct{}
	// xfer counts image transfers for /metrics.
	xfer transferCounters

	mu struct {
		sync.Mutex
		ln      net.Listener
		started bool
		stopped bool
		beans   map[string]func() map[string]any
		metrics map[string]metric
		store   ImageStore
		// uploading is the txid of the image being received, or -1.
		// Invariant: at most one PUT /imagetransfer runs Receive at a time.
		uploading int64
	}
}

// New validates cfg and returns a server that is not listening yet.
func New(cfg Config) (*Server, error) {
	if cfg.Address == "" {
		return nil, errors.New("web: Address is empty")
	}
	if _, _, err := net.SplitHostPort(cfg.Address); err != nil {
		return nil, fmt.Errorf("web: bad Address %q: %w", cfg.Address, err)
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	s := &Server{cfg: cfg, log: log, mux: http.NewServeMux(), served: make(chan struct{})}
	s.mu.beans = make(map[string]func() map[string]any)
	s.mu.metrics = make(map[string]metric)
	s.mu.uploading = -1
	s.registerProcessMetrics()
	s.registerTransferMetrics()
	s.mux.HandleFunc("/jmx", s.serveJMX)
	s.mux.HandleFunc("/metrics", s.serveMetrics)
	s.mux.HandleFunc("/imagetransfer", s.serveImageTransfer)
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 20 * time.Second,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	return s, nil
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.gate.closed {
		http.Error(w, "NameNode HTTP server is stopping", http.StatusServiceUnavailable)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Handle registers h for pattern (net/http.ServeMux syntax) next to the built-in endpoints.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Start listens on the configured address and serves until Stop. ctx bounds only the bind.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.started || s.mu.stopped {
		return errors.New("web: server already started or stopped")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Address)
	if err != nil {
		return fmt.Errorf("web: listen on %s: %w", s.cfg.Address, err)
	}
	s.mu.ln = ln
	s.mu.started = true
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", zap.Error(err))
		}
	}()
	s.log.Info("http server listening", zap.String("address", ln.Addr().String()))
	return nil
}

// Address returns the address the server listens on once started (with the port it picked),
// else the configured address.
func (s *Server) Address() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.ln != nil {
		return s.mu.ln.Addr().String()
	}
	return s.cfg.Address
}

// Stop shuts the server down: it stops accepting, lets in-flight requests finish for up to
// Config.StopTimeout, then closes their connections, and returns once every handler and the serving
// goroutine have exited. It is safe to call more than once and after a failed or missing Start.
func (s *Server) Stop() error {
	s.mu.Lock()
	started := s.mu.started
	already := s.mu.stopped
	s.mu.stopped = true
	s.mu.Unlock()
	if !started || already {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.StopTimeout)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		// Handlers still running: closing their connections makes their reads and writes fail.
		err = s.srv.Close()
	}
	s.gate.Lock() // waits for the handlers still running
	s.gate.closed = true
	s.gate.Unlock()
	<-s.served
	return err
}
