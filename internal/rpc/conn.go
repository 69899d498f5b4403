package rpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/commonpb"
)

// serverConn is one client connection. Its reader goroutine (readLoop)
// decodes frames and queues calls; handler goroutines run them and hand the
// encoded responses to its writer goroutine (writeLoop), which writes them in
// the order they finish, not the order they arrived.
type serverConn struct {
	s      *Server
	nc     net.Conn
	log    *zap.Logger
	ctx    context.Context // cancelled when the connection closes
	cancel context.CancelFunc

	// done is closed by close; wake tells the writer a response is queued.
	done      chan struct{}
	wake      chan struct{}
	closeOnce sync.Once

	// inflight counts calls read whose response is not yet written (or
	// dropped); a connection with calls in flight is not idle.
	inflight atomic.Int32

	// Set by the reader from the connection context before any call is
	// queued, read-only afterwards.
	user, realUser, protocol string

	mu struct {
		sync.Mutex
		// queue holds encoded frames waiting for the writer.
		queue []outFrame
		// lastFrame is set when a FATAL response (or the HTTP hint) is
		// queued: the writer closes the connection after writing it, and
		// later responses are dropped.
		lastFrame bool
		// closed is set by close; responses are dropped.
		closed bool
	}
}

// outFrame is an encoded frame for the writer; call frames answer a call
// counted in inflight.
type outFrame struct {
	b    []byte
	call bool
}

// serverCall is a decoded call waiting for, or running on, a handler.
type serverCall struct {
	conn   *serverConn
	caller *Caller
	method Method
	req    proto.Message
}

func newServerConn(s *Server, nc net.Conn) *serverConn {
	c := &serverConn{
		s:    s,
		nc:   nc,
		log:  s.log.With(zap.Stringer("remote", nc.RemoteAddr())),
		done: make(chan struct{}),
		wake: make(chan struct{}, 1),
	}
	c.ctx, c.cancel = context.WithCancel(s.ctx)
	return c
}

// close closes the connection at once; pending responses are dropped.
func (c *serverConn) close() {
	c.closeOnce.Do(func() {
		// Refuse responses before cancelling handlers, so that a handler
		// returning ctx.Err() is not answered on the way out.
		c.mu.Lock()
		c.mu.closed = true
		c.mu.queue = nil
		c.mu.Unlock()
		c.nc.Close()
		close(c.done)
		c.cancel()
		c.s.forgetConn(c)
	})
}

func (c *serverConn) readLoop() {
	defer c.s.conns.Done()
	idle := c.s.cfg.MaxIdleTime
	br := bufio.NewReaderSize(c.nc, 8<<10)
	d := newDecoder(br, c.s.cfg.MaxDataLength, c.nc.RemoteAddr().String())

	c.nc.SetReadDeadline(time.Now().Add(idle))
	err := d.readPreamble()
	for err == nil {
		if err = c.waitForFrame(br, idle); err != nil {
			break
		}
		// A started frame must arrive completely within the idle time.
		c.nc.SetReadDeadline(time.Now().Add(idle))
		var in *inbound
		if in, err = d.next(); err != nil {
			break
		}
		err = c.accept(in)
	}
	c.endReading(err)
}

// waitForFrame waits until the next frame starts. Silence longer than idle
// closes the connection, unless calls are in flight: a client waiting for a
// slow call is not idle.
func (c *serverConn) waitForFrame(br *bufio.Reader, idle time.Duration) error {
	for {
		c.nc.SetReadDeadline(time.Now().Add(idle))
		_, err := br.Peek(1)
		if err == nil {
			return nil
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && c.inflight.Load() > 0 {
			continue
		}
		if errors.As(err, &ne) && ne.Timeout() {
			return errIdle
		}
		return err
	}
}

var errIdle = errors.New("connection idle")

// accept handles one decoded frame: the connection context, a ping, or a call
// to dispatch. It returns an error only when the connection must end.
func (c *serverConn) accept(in *inbound) error {
	h := in.header
	switch {
	case in.context != nil:
		ui := in.context.GetUserInfo()
		c.user, c.realUser, c.protocol = ui.GetEffectiveUser(), ui.GetRealUser(), in.context.GetProtocol()
		c.log.Debug("connection context", zap.String("user", c.user),
			zap.String("real_user", c.realUser), zap.String("protocol", c.protocol))
		return nil
	case in.request == nil: // ping
		return nil
	}

	caller := &Caller{
		User:               c.user,
		RealUser:           c.realUser,
		ClientID:           h.GetClientId(),
		CallID:             h.GetCallId(),
		RetryCount:         h.GetRetryCount(),
		RemoteAddr:         c.nc.RemoteAddr(),
		Protocol:           in.request.GetDeclaringClassProtocolName(),
		Method:             in.request.GetMethodName(),
		ConnectionProtocol: c.protocol,
		CallerContext:      h.GetCallerContext().GetContext(),
	}
	m, rerr := c.s.lookup(caller.Protocol, c.protocol, caller.Method)
	if rerr != nil {
		c.log.Info("call to unknown method", zap.String("protocol", caller.Protocol),
			zap.String("method", caller.Method), zap.Int32("call_id", caller.CallID))
		c.inflight.Add(1)
		c.respond(caller, errorHeader(caller.CallID, caller.RetryCount, caller.ClientID, rerr.Code, rerr.Class, rerr.Message), nil)
		return nil
	}
	req := m.newRequest()
	if err := proto.Unmarshal(in.body, req); err != nil {
		return deserializingFatal(h, "IPC server unable to read call parameters for %s.%s: %v",
			caller.Protocol, caller.Method, err)
	}
	c.inflight.Add(1)
	select {
	case c.s.calls <- &serverCall{conn: c, caller: caller, method: m, req: req}:
		return nil
	case <-c.done:
		c.inflight.Add(-1)
		return net.ErrClosed
	}
}

// endReading ends the connection after the reader stops: with a FATAL
// response when the client broke the protocol, silently otherwise.
func (c *serverConn) endReading(err error) {
	var fe *fatalError
	switch {
	case errors.As(err, &fe) && fe.code != 0:
		c.log.Warn("closing connection after protocol error", zap.Stringer("code", fe.code),
			zap.String("class", fe.class), zap.String("error", fe.msg), zap.Int32("call_id", fe.callID))
		c.sendLast(errorHeader(fe.callID, fe.retryCount, fe.clientID, fe.code, fe.class, fe.msg), nil)
	case errors.As(err, &fe):
		c.log.Warn("closing connection after protocol error", zap.String("error", fe.msg))
		c.close()
	case errors.Is(err, errHTTPOnIPCPort):
		c.log.Info("HTTP request on the IPC port")
		c.sendLast(nil, []byte(httpOnIPCPortResponse))
	case errors.Is(err, errIdle):
		c.log.Debug("closing idle connection")
		c.close()
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		c.log.Debug("connection closed by peer", zap.Error(err))
		c.close()
	default:
		c.log.Info("connection read failed", zap.Error(err))
		c.close()
	}
}

// run runs one call on a handler goroutine and queues its response.
func (c *serverConn) run(call *serverCall) {
	if c.ctx.Err() != nil {
		c.inflight.Add(-1)
		return // nobody is left to answer
	}
	caller := call.caller
	ctx := ContextWithCaller(c.ctx, caller)
	resp, err := c.invoke(ctx, call)
	if err != nil {
		class, msg := wireError(err)
		code := codeApplication
		var re *RemoteError
		if errors.As(err, &re) && re.Code != 0 && re.Code < commonpb.RpcResponseHeaderProto_FATAL_UNKNOWN {
			code = re.Code
		}
		c.log.Debug("call failed", zap.String("protocol", caller.Protocol), zap.String("method", caller.Method),
			zap.Int32("call_id", caller.CallID), zap.String("user", caller.User),
			zap.String("class", class), zap.Error(err))
		c.respond(caller, errorHeader(caller.CallID, caller.RetryCount, caller.ClientID, code, class, msg), nil)
		return
	}
	c.respond(caller, responseHeader(caller.CallID, caller.RetryCount, caller.ClientID, commonpb.RpcResponseHeaderProto_SUCCESS), resp)
}

// invoke calls the method, turning a panic into an error so one bad handler
// cannot take the server down.
func (c *serverConn) invoke(ctx context.Context, call *serverCall) (resp proto.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("handler panicked", zap.String("protocol", call.caller.Protocol),
				zap.String("method", call.caller.Method), zap.Any("panic", r),
				zap.ByteString("stack", debug.Stack()))
			resp, err = nil, &RemoteError{Class: classIOException, Code: codeRPCServer,
				Message: fmt.Sprintf("Internal error in %s: %v", call.caller.Method, r)}
		}
	}()
	resp, err = call.method.invoke(ctx, call.req)
	if err == nil && (resp == nil || !resp.ProtoReflect().IsValid()) {
		err = &RemoteError{Class: classIOException, Code: codeSerializingResponse,
			Message: fmt.Sprintf("%s returned no response", call.caller.Method)}
	}
	return resp, err
}

// respond encodes the response to a call counted in inflight and hands it to
// the writer. A response that cannot be encoded (a required field missing) is
// replaced by an ERROR_SERIALIZING_RESPONSE; responses to a closing
// connection are dropped.
func (c *serverConn) respond(caller *Caller, h *commonpb.RpcResponseHeaderProto, body proto.Message) {
	frame, err := appendFrame(nil, h, body)
	if err != nil {
		c.log.Error("cannot serialize response", zap.String("protocol", caller.Protocol),
			zap.String("method", caller.Method), zap.Error(err))
		frame, err = appendFrame(nil, errorHeader(caller.CallID, caller.RetryCount, caller.ClientID, codeSerializingResponse,
			classIOException, fmt.Sprintf("Error serializing response of %s: %v", caller.Method, err)))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || c.mu.lastFrame || c.mu.closed {
		c.inflight.Add(-1)
		return
	}
	c.mu.queue = append(c.mu.queue, outFrame{b: frame, call: true})
	c.wakeWriter()
}

// sendLast queues a final frame, a FATAL response header or raw bytes, after
// which the writer closes the connection.
func (c *serverConn) sendLast(h *commonpb.RpcResponseHeaderProto, raw []byte) {
	if h != nil {
		var err error
		if raw, err = appendFrame(nil, h); err != nil {
			c.log.Error("cannot encode FATAL response", zap.Error(err))
			c.close()
			return
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.lastFrame || c.mu.closed {
		return
	}
	c.mu.queue = append(c.mu.queue, outFrame{b: raw})
	c.mu.lastFrame = true
	// Do not let a client that stopped reading keep the connection open
	// past its last frame.
	c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.MaxIdleTime))
	c.wakeWriter()
}

func (c *serverConn) wakeWriter() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writeLoop writes queued responses, batching whatever is queued into one
// flush, until the connection closes.
func (c *serverConn) writeLoop() {
	defer c.s.conns.Done()
	bw := bufio.NewWriterSize(c.nc, 8<<10)
	var batch []outFrame
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		c.mu.Lock()
		batch, c.mu.queue = c.mu.queue, batch[:0]
		last := c.mu.lastFrame
		c.mu.Unlock()

		answered := int32(0)
		for i, f := range batch {
			if _, err := bw.Write(f.b); err != nil {
				c.log.Debug("response write failed", zap.Error(err))
				c.close()
				return
			}
			if f.call {
				answered++
			}
			batch[i] = outFrame{}
		}
		if err := bw.Flush(); err != nil {
			c.log.Debug("response write failed", zap.Error(err))
			c.close()
			return
		}
		c.inflight.Add(-answered)
		if last {
			c.close()
			return
		}
	}
}
