package rpc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"
)

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("rpc: server closed")

// ServerConfig configures a Server. Start from DefaultServerConfig.
type ServerConfig struct {
	// Addr is the TCP address to listen on ("host:port"; port 0 picks one).
	Addr string
	// HandlerCount is the number of handler goroutines that run methods
	// (dfs.namenode.handler.count for the NameNode).
	HandlerCount int
	// QueueSizePerHandler bounds the call queue at HandlerCount ×
	// QueueSizePerHandler calls (ipc.server.handler.queue.size). A full queue
	// makes connection readers wait, which pushes back on clients.
	QueueSizePerHandler int
	// MaxDataLength is the largest request frame accepted
	// (ipc.maximum.data.length). A longer frame gets a FATAL response and the
	// connection is closed.
	MaxDataLength int
	// MaxIdleTime closes a connection that has sent nothing and has no call
	// in progress for this long; a frame must also arrive completely within
	// it. Hadoop's server uses 2 × ipc.client.connection.maxidletime.
	MaxIdleTime time.Duration
	// Logger receives connection and protocol errors; nil logs nothing.
	Logger *zap.Logger
}

// DefaultServerConfig returns Hadoop's defaults, listening on 127.0.0.1:0.
func DefaultServerConfig() ServerConfig {
	return ServerConfig{
		Addr:                "127.0.0.1:0",
		HandlerCount:        10,
		QueueSizePerHandler: 100,
		MaxDataLength:       DefaultMaxDataLength,
		MaxIdleTime:         2 * DefaultClientMaxIdleTime,
	}
}

// Validate reports the first setting that cannot work.
func (c ServerConfig) Validate() error {
	switch {
	case c.Addr == "":
		return errors.New("rpc: server Addr is empty")
	case c.HandlerCount < 1:
		return fmt.Errorf("rpc: HandlerCount %d must be at least 1", c.HandlerCount)
	case c.QueueSizePerHandler < 1:
		return fmt.Errorf("rpc: QueueSizePerHandler %d must be at least 1", c.QueueSizePerHandler)
	case c.HandlerCount > math.MaxInt32/c.QueueSizePerHandler:
		return fmt.Errorf("rpc: call queue of %d × %d calls is too large", c.HandlerCount, c.QueueSizePerHandler)
	case c.MaxDataLength < 1 || c.MaxDataLength > math.MaxInt32:
		return fmt.Errorf("rpc: MaxDataLength %d must be between 1 and %d", c.MaxDataLength, math.MaxInt32)
	case c.MaxIdleTime <= 0:
		return fmt.Errorf("rpc: MaxIdleTime %v must be positive", c.MaxIdleTime)
	}
	return nil
}

// Server is a Hadoop IPC server. It listens when created, serves connections
// from Serve until Close, and dispatches each call by (protocol, method) to
// the Methods registered for it; several protocols share one port.
type Server struct {
	cfg   ServerConfig
	log   *zap.Logger
	ln    net.Listener
	calls chan *serverCall // the bounded call queue, closed by Close

	// ctx is the parent of every handler's ctx; cancelled by Close.
	ctx    context.Context
	cancel context.CancelFunc

	conns    sync.WaitGroup // Serve, and each connection's reader and writer
	handlers sync.WaitGroup // handler goroutines

	registry struct {
		sync.RWMutex
		protocols map[string]map[string]Method
	}

	mu struct {
		sync.Mutex
		closed  bool
		serving bool
		conns   map[*serverConn]struct{}
	}
	closeOnce sync.Once
}

// NewServer validates cfg, listens on cfg.Addr and starts the handler
// goroutines. Register methods, then run Serve; Close stops everything.
func NewServer(cfg ServerConfig) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("rpc: listen on %s: %w", cfg.Addr, err)
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{
		cfg:   cfg,
		log:   log.With(zap.String("rpc_server", ln.Addr().String())),
		ln:    ln,
		calls: make(chan *serverCall, cfg.HandlerCount*cfg.QueueSizePerHandler),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.registry.protocols = make(map[string]map[string]Method)
	s.mu.conns = make(map[*serverConn]struct{})
	s.handlers.Add(cfg.HandlerCount)
	for range cfg.HandlerCount {
		go s.handleCalls()
	}
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Register adds methods to protocol (the declaringClassProtocolName clients
// send, e.g. "org.apache.hadoop.hdfs.protocol.ClientProtocol"). It may be
// called before or while serving. Registering a method twice is a programming
// error and panics.
func (s *Server) Register(protocol string, methods ...Method) {
	s.registry.Lock()
	defer s.registry.Unlock()
	ms := s.registry.protocols[protocol]
	if ms == nil {
		ms = make(map[string]Method)
		s.registry.protocols[protocol] = ms
	}
	for _, m := range methods {
		if m.invoke == nil {
			panic(fmt.Sprintf("rpc: method %q of %s was not built with Unary", m.name, protocol))
		}
		if _, dup := ms[m.name]; dup {
			panic(fmt.Sprintf("rpc: method %s.%s registered twice", protocol, m.name))
		}
		ms[m.name] = m
	}
}

// lookup finds the method for a call, or the non-fatal error to answer with.
func (s *Server) lookup(protocol, connProtocol, method string) (Method, *RemoteError) {
	s.registry.RLock()
	defer s.registry.RUnlock()
	ms, ok := s.registry.protocols[protocol]
	if !ok {
		return Method{}, &RemoteError{Class: classNoSuchProtocol, Code: codeNoSuchProtocol,
			Message: "Unknown protocol: " + protocol}
	}
	m, ok := ms[method]
	if !ok {
		return Method{}, &RemoteError{Class: classNoSuchMethod, Code: codeNoSuchMethod,
			Message: fmt.Sprintf("Unknown method %s called on %s protocol.", method, connProtocol)}
	}
	return m, nil
}

// Serve accepts connections until Close, then returns ErrServerClosed. It may
// be called once.
func (s *Server) Serve() error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.mu.serving {
		s.mu.Unlock()
		return errors.New("rpc: Serve called twice")
	}
	s.mu.serving = true
	s.conns.Add(1)
	s.mu.Unlock()
	defer s.conns.Done()

	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.isClosed() || errors.Is(err, net.ErrClosed) {
				return ErrServerClosed
			}
			// Out of file descriptors and the like: wait and try again, as
			// net/http does, rather than give up serving.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed; retrying", zap.Error(err), zap.Duration("backoff", backoff))
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return ErrServerClosed
			}
			continue
		}
		backoff = 0
		s.startConn(nc)
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.closed
}

func (s *Server) startConn(nc net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		nc.Close()
		return
	}
	c := newServerConn(s, nc)
	s.mu.conns[c] = struct{}{}
	s.conns.Add(2)
	go c.readLoop()
	go c.writeLoop()
}

func (s *Server) forgetConn(c *serverConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mu.conns, c)
}

// Close stops listening, closes every connection, cancels running handlers'
// contexts and waits for every goroutine the server started, including
// handlers still running a method. Calls not yet answered are dropped.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.mu.closed = true
		conns := make([]*serverConn, 0, len(s.mu.conns))
		for c := range s.mu.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()

		err = s.ln.Close()
		// Connections first: they refuse responses before their handlers'
		// contexts are cancelled.
		for _, c := range conns {
			c.close()
		}
		s.cancel()
		// Readers are the only senders on s.calls: once they are gone the
		// queue can be closed, and handlers drain it and exit.
		s.conns.Wait()
		close(s.calls)
		s.handlers.Wait()
	})
	return err
}

// handleCalls is one handler goroutine: it runs queued calls until Close.
func (s *Server) handleCalls() {
	defer s.handlers.Done()
	for call := range s.calls {
		call.conn.run(call)
	}
}
