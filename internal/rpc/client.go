package rpc

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/commonpb"
)

// Client defaults, Hadoop's.
const (
	// DefaultClientMaxIdleTime is ipc.client.connection.maxidletime.
	DefaultClientMaxIdleTime = 10 * time.Second
	// DefaultDialTimeout is ipc.client.connect.timeout.
	DefaultDialTimeout = 20 * time.Second
	// DefaultRPCTimeout is ipc.client.rpc-timeout.ms.
	DefaultRPCTimeout = 120 * time.Second
)

var (
	// ErrClientClosed is returned by calls on a closed Client.
	ErrClientClosed = errors.New("rpc: client closed")
	// ErrConnectionLost is returned, wrapping the cause, by calls whose
	// connection failed after the call may have been sent: the server may or
	// may not have run it.
	ErrConnectionLost = errors.New("rpc: connection lost")
)

// ClientConfig configures a Client. Start from DefaultClientConfig.
type ClientConfig struct {
	// User is the effective user every call runs as. Required.
	User string
	// RealUser, when set, is the proxy user acting for User.
	RealUser string
	// ClientID identifies this client in every call header, across retries
	// and NameNodes (the retry cache keys on it). Nil means 16 random bytes.
	ClientID []byte
	// DialTimeout bounds connecting (ipc.client.connect.timeout).
	DialTimeout time.Duration
	// RPCTimeout bounds each call in addition to its ctx
	// (ipc.client.rpc-timeout.ms); 0 leaves only the ctx.
	RPCTimeout time.Duration
	// MaxIdleTime closes a connection without calls in flight for this long
	// (ipc.client.connection.maxidletime).
	MaxIdleTime time.Duration
	// MaxResponseLength is the largest response frame accepted
	// (ipc.maximum.response.length).
	MaxResponseLength int
	// Dial opens connections; nil uses net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logger receives connection events; nil logs nothing.
	Logger *zap.Logger
}

// DefaultClientConfig returns Hadoop's client defaults for user.
func DefaultClientConfig(user string) ClientConfig {
	return ClientConfig{
		User:              user,
		DialTimeout:       DefaultDialTimeout,
		RPCTimeout:        DefaultRPCTimeout,
		MaxIdleTime:       DefaultClientMaxIdleTime,
		MaxResponseLength: DefaultMaxDataLength,
	}
}

// Validate reports the first setting that cannot work.
func (c ClientConfig) Validate() error {
	switch {
	case c.User == "":
		return errors.New("rpc: client User is empty")
	case c.ClientID != nil && len(c.ClientID) != 16:
		return fmt.Errorf("rpc: ClientID has %d bytes, want 16", len(c.ClientID))
	case c.DialTimeout <= 0:
		return fmt.Errorf("rpc: DialTimeout %v must be positive", c.DialTimeout)
	case c.RPCTimeout < 0:
		return fmt.Errorf("rpc: RPCTimeout %v must not be negative", c.RPCTimeout)
	case c.MaxIdleTime <= 0:
		return fmt.Errorf("rpc: MaxIdleTime %v must be positive", c.MaxIdleTime)
	case c.MaxResponseLength < 1 || c.MaxResponseLength > math.MaxInt32:
		return fmt.Errorf("rpc: MaxResponseLength %d must be between 1 and %d", c.MaxResponseLength, math.MaxInt32)
	}
	return nil
}

// Client calls Hadoop IPC servers. Calls to the same (address, protocol)
// share one connection, opened on first use, multiplexed by call id and
// reopened after a failure; a connection idle for MaxIdleTime is closed.
// A Client is safe for concurrent use; Close releases it.
type Client struct {
	cfg      ClientConfig
	log      *zap.Logger
	clientID []byte
	callIDs  atomic.Int32

	// ctx aborts dials when the client closes.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // dials, and each connection's reader and writer

	mu struct {
		sync.Mutex
		closed bool
		conns  map[connKey]*clientConn
	}
}

type connKey struct{ addr, protocol string }

// NewClient returns a Client for cfg. It opens no connection until a call.
func NewClient(cfg ClientConfig) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, log: cfg.Logger, clientID: cfg.ClientID}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	if c.clientID == nil {
		c.clientID = make([]byte, 16)
		if _, err := rand.Read(c.clientID); err != nil {
			return nil, fmt.Errorf("rpc: generating client id: %w", err)
		}
	} else {
		c.clientID = append([]byte(nil), c.clientID...)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.mu.conns = make(map[connKey]*clientConn)
	return c, nil
}

// ClientID returns the 16-byte id this client sends with every call.
func (c *Client) ClientID() []byte { return append([]byte(nil), c.clientID...) }

// Attempt names one try of a call: a retried call keeps its CallID (and the
// client keeps its ClientID) so the server's retry cache recognises it.
type Attempt struct {
	CallID     int32
	RetryCount int32
}

// NewAttempt returns a first attempt with a fresh call id.
func (c *Client) NewAttempt() Attempt {
	// Call ids wrap within the non-negative int32 range, as Java's do.
	return Attempt{CallID: (c.callIDs.Add(1) - 1) & math.MaxInt32}
}

// Retry returns the next attempt of the same call.
func (a Attempt) Retry() Attempt {
	return Attempt{CallID: a.CallID, RetryCount: a.RetryCount + 1}
}

// CallOption changes one call.
type CallOption func(*callOptions)

type callOptions struct {
	attempt *Attempt
}

// WithAttempt sends the call as attempt a instead of a fresh first attempt.
// Failover code takes a.Retry() of the attempt that failed.
func WithAttempt(a Attempt) CallOption {
	return func(o *callOptions) { o.attempt = &a }
}

// Call calls method of protocol on the server at addr, decoding the answer
// into resp. It returns a *RemoteError when the server answers with an error,
// ErrConnectionLost (wrapping the cause) when the connection failed with the
// call sent, and ctx's error (wrapped) when ctx ends or RPCTimeout passes.
func (c *Client) Call(ctx context.Context, addr, protocol, method string, req, resp proto.Message, opts ...CallOption) error {
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	a := c.NewAttempt()
	if o.attempt != nil {
		a = *o.attempt
	}
	if c.cfg.RPCTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.RPCTimeout)
		defer cancel()
	}

	frame, err := appendFrame(nil,
		&commonpb.RpcRequestHeaderProto{
			RpcKind:    commonpb.RpcKindProto_RPC_PROTOCOL_BUFFER.Enum(),
			RpcOp:      commonpb.RpcRequestHeaderProto_RPC_FINAL_PACKET.Enum(),
			CallId:     proto.Int32(a.CallID),
			ClientId:   c.clientID,
			RetryCount: proto.Int32(a.RetryCount),
		},
		&commonpb.RequestHeaderProto{
			MethodName:                 proto.String(method),
			DeclaringClassProtocolName: proto.String(protocol),
			ClientProtocolVersion:      proto.Uint64(protocolVersion),
		},
		req)
	if err != nil {
		return fmt.Errorf("rpc: encoding %s request: %w", method, err)
	}

	for {
		cc, err := c.conn(ctx, addr, protocol)
		if err != nil {
			return fmt.Errorf("rpc: %s to %s: %w", method, addr, err)
		}
		pc, err := cc.register(a.CallID)
		if errors.Is(err, errConnClosing) {
			continue // closed as idle since we picked it; open another
		}
		if err != nil {
			return fmt.Errorf("rpc: %s to %s: %w", method, addr, err)
		}
		return cc.roundTrip(ctx, pc, frame, method, resp)
	}
}

// conn returns the open connection for (addr, protocol), dialing it if needed.
func (c *Client) conn(ctx context.Context, addr, protocol string) (*clientConn, error) {
	key := connKey{addr, protocol}
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return nil, ErrClientClosed
	}
	cc := c.mu.conns[key]
	if cc != nil && cc.isClosed() {
		delete(c.mu.conns, key)
		cc = nil
	}
	if cc == nil {
		cc = newClientConn(c, key)
		c.mu.conns[key] = cc
		c.wg.Add(1)
		go cc.dial()
	}
	c.mu.Unlock()

	select {
	case <-cc.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if cc.dialErr != nil {
		return nil, cc.dialErr
	}
	return cc, nil
}

func (c *Client) forget(cc *clientConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.conns[cc.key] == cc {
		delete(c.mu.conns, cc.key)
	}
}

// Close closes every connection, failing calls in flight with
// ErrClientClosed, and waits for the client's goroutines.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return nil
	}
	c.mu.closed = true
	conns := make([]*clientConn, 0, len(c.mu.conns))
	for _, cc := range c.mu.conns {
		conns = append(conns, cc)
	}
	c.mu.conns = nil
	c.mu.Unlock()

	c.cancel()
	for _, cc := range conns {
		cc.fail(ErrClientClosed)
	}
	c.wg.Wait()
	return nil
}

var errConnClosing = errors.New("connection closing")

// clientConn is one connection of a Client. Callers queue encoded frames for
// its writer goroutine; its reader goroutine hands each response to the
// waiting call by call id, in whatever order they come.
type clientConn struct {
	c   *Client
	key connKey
	log *zap.Logger

	// ready is closed when dialing ends; dialErr is set before.
	ready   chan struct{}
	dialErr error

	sendq chan []byte
	done  chan struct{} // closed by fail

	mu struct {
		sync.Mutex
		nc      net.Conn
		closed  bool
		err     error // why the connection closed
		pending map[int32]*pendingCall
		// idleSince is when the last call in flight ended; idleTimer,
		// created on the first such moment and re-armed afterwards,
		// closes the connection if it is still idle MaxIdleTime later.
		idleSince time.Time
		idleTimer *time.Timer
	}
}

type pendingCall struct {
	callID int32
	done   chan callResult // buffered: the reader never blocks on it
}

type callResult struct {
	header *commonpb.RpcResponseHeaderProto
	frame  []byte // the rest of the frame after the header
	err    error
}

func newClientConn(c *Client, key connKey) *clientConn {
	cc := &clientConn{
		c:     c,
		key:   key,
		log:   c.log.With(zap.String("addr", key.addr), zap.String("protocol", key.protocol)),
		ready: make(chan struct{}),
		sendq: make(chan []byte, 64),
		done:  make(chan struct{}),
	}
	cc.mu.pending = make(map[int32]*pendingCall)
	return cc
}

func (cc *clientConn) isClosed() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.mu.closed
}

// dial connects, sends the preamble and the connection context, and starts
// the reader and writer.
func (cc *clientConn) dial() {
	defer cc.c.wg.Done()
	defer close(cc.ready)

	nc, err := cc.connect()
	if err != nil {
		cc.dialErr = err
		cc.fail(err)
		return
	}
	cc.mu.Lock()
	if cc.mu.closed {
		cc.mu.Unlock()
		nc.Close()
		cc.dialErr = ErrClientClosed
		return
	}
	cc.mu.nc = nc
	cc.mu.Unlock()
	cc.log.Debug("connected")
	cc.c.wg.Add(2)
	go cc.readLoop(nc)
	go cc.writeLoop(nc)
}

func (cc *clientConn) connect() (net.Conn, error) {
	cfg := &cc.c.cfg
	ctx, cancel := context.WithTimeout(cc.c.ctx, cfg.DialTimeout)
	defer cancel()
	dial := cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	nc, err := dial(ctx, "tcp", cc.key.addr)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	hello := []byte{'h', 'r', 'p', 'c', ipcVersion, 0 /* service class */, authNone}
	ui := &commonpb.UserInformationProto{EffectiveUser: proto.String(cfg.User)}
	if cfg.RealUser != "" {
		ui.RealUser = proto.String(cfg.RealUser)
	}
	hello, err = appendFrame(hello,
		&commonpb.RpcRequestHeaderProto{
			RpcKind:    commonpb.RpcKindProto_RPC_PROTOCOL_BUFFER.Enum(),
			RpcOp:      commonpb.RpcRequestHeaderProto_RPC_FINAL_PACKET.Enum(),
			CallId:     proto.Int32(connectionContextCallID),
			ClientId:   cc.c.clientID,
			RetryCount: proto.Int32(invalidRetryCount),
		},
		&commonpb.IpcConnectionContextProto{UserInfo: ui, Protocol: proto.String(cc.key.protocol)})
	if err == nil {
		if deadline, ok := ctx.Deadline(); ok {
			nc.SetWriteDeadline(deadline)
		}
		_, err = nc.Write(hello)
		nc.SetWriteDeadline(time.Time{})
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("sending connection header: %w", err)
	}
	return nc, nil
}

// register adds a call about to be sent. It fails with errConnClosing when
// the connection was closed as idle, and with the cause when it failed.
func (cc *clientConn) register(callID int32) (*pendingCall, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.mu.closed {
		return nil, cc.mu.err
	}
	if _, dup := cc.mu.pending[callID]; dup {
		return nil, fmt.Errorf("call id %d is already in flight on this connection", callID)
	}
	pc := &pendingCall{callID: callID, done: make(chan callResult, 1)}
	cc.mu.pending[callID] = pc
	return pc, nil
}

// take removes and returns the pending call for callID, or nil when it is no
// longer waiting (it timed out).
func (cc *clientConn) take(callID int32) *pendingCall {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	pc := cc.mu.pending[callID]
	if pc != nil {
		delete(cc.mu.pending, callID)
		cc.maybeIdleLocked()
	}
	return pc
}

// drop forgets a call its caller stopped waiting for.
func (cc *clientConn) drop(pc *pendingCall) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.mu.pending[pc.callID] == pc {
		delete(cc.mu.pending, pc.callID)
		cc.maybeIdleLocked()
	}
}

// maybeIdleLocked notes when the last call in flight ends and makes sure
// the idle timer will look at the connection.
func (cc *clientConn) maybeIdleLocked() {
	if cc.mu.closed || len(cc.mu.pending) > 0 {
		return
	}
	cc.mu.idleSince = time.Now()
	if cc.mu.idleTimer == nil {
		cc.mu.idleTimer = time.AfterFunc(cc.c.cfg.MaxIdleTime, cc.closeIfIdle)
	}
}

// closeIfIdle runs on the idle timer: it closes the connection when it has
// had no call in flight for MaxIdleTime, and otherwise re-arms the timer.
func (cc *clientConn) closeIfIdle() {
	cc.mu.Lock()
	idle := false
	if !cc.mu.closed {
		wait := cc.c.cfg.MaxIdleTime
		if len(cc.mu.pending) == 0 {
			wait -= time.Since(cc.mu.idleSince)
		}
		idle = wait <= 0
		if !idle {
			cc.mu.idleTimer.Reset(wait)
		}
	}
	if idle {
		// Logged under the lock: this goroutine is not waited for by
		// Close, which takes the lock to close the connection.
		cc.log.Debug("closing idle connection")
	}
	cc.mu.Unlock()
	if idle {
		cc.fail(errConnClosing)
	}
}

// fail closes the connection and fails every call in flight with err.
func (cc *clientConn) fail(err error) {
	cc.mu.Lock()
	if cc.mu.closed {
		cc.mu.Unlock()
		return
	}
	cc.mu.closed = true
	cc.mu.err = err
	pending := cc.mu.pending
	cc.mu.pending = nil
	if cc.mu.idleTimer != nil {
		cc.mu.idleTimer.Stop()
	}
	nc := cc.mu.nc
	cc.mu.Unlock()

	close(cc.done)
	if nc != nil {
		nc.Close()
	}
	cc.c.forget(cc)
	for _, pc := range pending {
		pc.done <- callResult{err: err}
	}
}

// closeErr is the error calls see once the connection is closed.
func (cc *clientConn) closeErr() error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.mu.err
}

// roundTrip sends a registered call and waits for its answer.
func (cc *clientConn) roundTrip(ctx context.Context, pc *pendingCall, frame []byte, method string, resp proto.Message) error {
	select {
	case cc.sendq <- frame:
	case <-cc.done:
		// The call never left: report the cause, not a lost connection.
		cc.drop(pc)
		return fmt.Errorf("rpc: %s to %s: %w", method, cc.key.addr, cc.closeErr())
	case <-ctx.Done():
		cc.drop(pc)
		return fmt.Errorf("rpc: %s call %d to %s: %w", method, pc.callID, cc.key.addr, ctx.Err())
	}

	var res callResult
	select {
	case res = <-pc.done:
	case <-ctx.Done():
		cc.drop(pc)
		return fmt.Errorf("rpc: %s call %d to %s: %w", method, pc.callID, cc.key.addr, ctx.Err())
	}
	switch {
	case res.err != nil:
		var re *RemoteError
		if errors.As(res.err, &re) || errors.Is(res.err, ErrClientClosed) {
			return res.err
		}
		return fmt.Errorf("rpc: %s call %d to %s: %w: %w", method, pc.callID, cc.key.addr, ErrConnectionLost, res.err)
	case res.header.GetStatus() != commonpb.RpcResponseHeaderProto_SUCCESS:
		return remoteError(res.header)
	}
	body, _, err := splitDelimited(res.frame)
	if err == nil {
		err = proto.Unmarshal(body, resp)
	}
	if err != nil {
		return fmt.Errorf("rpc: decoding %s response: %w", method, err)
	}
	return nil
}

func remoteError(h *commonpb.RpcResponseHeaderProto) *RemoteError {
	return &RemoteError{Class: h.GetExceptionClassName(), Message: h.GetErrorMsg(), Code: h.GetErrorDetail()}
}

// readLoop hands responses to their calls until the connection fails.
func (cc *clientConn) readLoop(nc net.Conn) {
	defer cc.c.wg.Done()
	br := bufio.NewReaderSize(nc, 8<<10)
	for {
		h, rest, err := readResponse(br, cc.c.cfg.MaxResponseLength)
		if err != nil {
			cc.log.Debug("connection failed", zap.Error(err))
			cc.fail(err)
			return
		}
		if h.GetStatus() == commonpb.RpcResponseHeaderProto_FATAL {
			re := remoteError(h)
			cc.log.Warn("server closed the connection", zap.String("class", re.Class), zap.String("error", re.Message))
			cc.fail(re)
			return
		}
		callID := int32(h.GetCallId())
		if pc := cc.take(callID); pc != nil {
			pc.done <- callResult{header: h, frame: rest}
		} else {
			cc.log.Debug("dropping response to a call no longer waiting", zap.Int32("call_id", callID))
		}
	}
}

// readResponse reads one response frame and decodes its header.
func readResponse(r io.Reader, maxLen int) (*commonpb.RpcResponseHeaderProto, []byte, error) {
	var lenBuf [4]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		return nil, nil, err
	}
	n := int32(binary.BigEndian.Uint32(lenBuf[:]))
	if n < 0 || int64(n) > int64(maxLen) {
		return nil, nil, fmt.Errorf("response length %d is outside 0..%d (ipc.maximum.response.length)", n, maxLen)
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(r, frame); err != nil {
		return nil, nil, err
	}
	hb, rest, err := splitDelimited(frame)
	if err != nil {
		return nil, nil, fmt.Errorf("bad response header: %w", err)
	}
	h := &commonpb.RpcResponseHeaderProto{}
	if err := proto.Unmarshal(hb, h); err != nil {
		return nil, nil, fmt.Errorf("bad response header: %w", err)
	}
	return h, rest, nil
}

// writeLoop writes queued frames, flushing when the queue runs dry so that
// concurrent calls share system calls.
func (cc *clientConn) writeLoop(nc net.Conn) {
	defer cc.c.wg.Done()
	bw := bufio.NewWriterSize(nc, 8<<10)
	for {
		var frame []byte
		select {
		case frame = <-cc.sendq:
		case <-cc.done:
			return
		}
		for {
			if _, err := bw.Write(frame); err != nil {
				cc.fail(err)
				return
			}
			if len(cc.sendq) == 0 {
				break
			}
			frame = <-cc.sendq
		}
		if err := bw.Flush(); err != nil {
			cc.fail(err)
			return
		}
	}
}
