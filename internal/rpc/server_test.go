package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

func TestRoundTrip(t *testing.T) {
	checkGoroutinesGone(t)
	srv := startServer(t, nil, func(s *Server) { s.Register(clientProtocol, statMethod()) })
	c := newClient(t, nil)

	resp, err := stat(context.Background(), c, srv.Addr().String(), "/user/alice/f")
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(resp.GetFs(), fileStatus("/user/alice/f")) {
		t.Fatalf("got %v", resp.GetFs())
	}
}

func TestCallerInfo(t *testing.T) {
	checkGoroutinesGone(t)
	callers := make(chan *Caller, 2)
	srv := startServer(t, nil, func(s *Server) {
		s.Register(clientProtocol, Unary("getFileInfo",
			func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
				caller, ok := CallerFromContext(ctx)
				if !ok {
					return nil, errors.New("no caller in ctx")
				}
				callers <- caller
				return &hdfspb.GetFileInfoResponseProto{}, nil
			}))
	})
	c := newClient(t, func(cfg *ClientConfig) { cfg.User, cfg.RealUser = "alice", "hue" })

	first := c.NewAttempt()
	if _, err := stat(context.Background(), c, srv.Addr().String(), "/a", WithAttempt(first)); err != nil {
		t.Fatal(err)
	}
	if _, err := stat(context.Background(), c, srv.Addr().String(), "/a", WithAttempt(first.Retry())); err != nil {
		t.Fatal(err)
	}
	a, b := <-callers, <-callers
	want := Caller{
		User:               "alice",
		RealUser:           "hue",
		ClientID:           c.ClientID(),
		CallID:             first.CallID,
		RetryCount:         0,
		RemoteAddr:         a.RemoteAddr,
		Protocol:           clientProtocol,
		Method:             "getFileInfo",
		ConnectionProtocol: clientProtocol,
	}
	if a.RemoteAddr.String() != b.RemoteAddr.String() {
		t.Errorf("retry used another connection: %v then %v", a.RemoteAddr, b.RemoteAddr)
	}
	want.RemoteAddr = nil
	got := *a
	got.RemoteAddr = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("first attempt: got %+v\nwant %+v", got, want)
	}
	want.RetryCount = 1
	got = *b
	got.RemoteAddr = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("retry: got %+v\nwant %+v", got, want)
	}
	if len(a.ClientID) != 16 {
		t.Errorf("client id has %d bytes, want 16", len(a.ClientID))
	}
}

func TestSeveralProtocolsOnOnePort(t *testing.T) {
	checkGoroutinesGone(t)
	srv := startServer(t, nil, func(s *Server) {
		s.Register(clientProtocol, statMethod())
		s.Register(testProtocol, Unary("getFileInfo",
			func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
				return &hdfspb.GetFileInfoResponseProto{Fs: fileStatus("other:" + req.GetSrc())}, nil
			}))
	})
	c := newClient(t, nil)
	addr := srv.Addr().String()
	mustStat(t, c, addr, "/x")
	resp := &hdfspb.GetFileInfoResponseProto{}
	if err := c.Call(context.Background(), addr, testProtocol, "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String("/x")}, resp); err != nil {
		t.Fatal(err)
	}
	if got := string(resp.GetFs().GetPath()); got != "other:/x" {
		t.Fatalf("test protocol answered %q", got)
	}
}

// TestConcurrentCallsOneConnection sends 1,000 calls over one connection, in
// a known order, and makes the server finish them in the opposite order: call
// i is answered only after the client has received the answer to call i+1. With
// in-order responses this could not complete.
func TestConcurrentCallsOneConnection(t *testing.T) {
	checkGoroutinesGone(t)
	const n = 1000
	started := make([]chan struct{}, n)  // closed when the server has call i
	returned := make([]chan struct{}, n) // closed when the client has answer i
	for i := range n {
		started[i], returned[i] = make(chan struct{}), make(chan struct{})
	}
	var remotes sync.Map
	srv := startServer(t, func(cfg *ServerConfig) { cfg.HandlerCount = n }, func(s *Server) {
		s.Register(clientProtocol, Unary("getFileInfo",
			func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
				var i int
				if _, err := fmt.Sscanf(req.GetSrc(), "/f%d", &i); err != nil {
					return nil, err
				}
				caller, _ := CallerFromContext(ctx)
				remotes.Store(caller.RemoteAddr.String(), true)
				close(started[i])
				if i+1 < n {
					select {
					case <-returned[i+1]:
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				}
				return &hdfspb.GetFileInfoResponseProto{Fs: fileStatus(req.GetSrc())}, nil
			}))
	})
	c := newClient(t, nil)
	addr := srv.Addr().String()

	var wg sync.WaitGroup
	errs := make(chan error, n)
	var order struct {
		sync.Mutex
		returned []int
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i > 0 {
				<-started[i-1] // send strictly after call i-1 reached the server
			}
			path := fmt.Sprintf("/f%d", i)
			resp, err := stat(context.Background(), c, addr, path)
			order.Lock()
			order.returned = append(order.returned, i)
			order.Unlock()
			close(returned[i])
			switch {
			case err != nil:
				errs <- fmt.Errorf("call %d: %w", i, err)
			case string(resp.GetFs().GetPath()) != path:
				errs <- fmt.Errorf("call %d answered %q", i, resp.GetFs().GetPath())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for k, i := range order.returned {
		if i != n-1-k {
			t.Fatalf("answer %d was call %d, want %d", k, i, n-1-k)
		}
	}
	count := 0
	remotes.Range(func(any, any) bool { count++; return true })
	if count != 1 {
		t.Errorf("calls arrived over %d connections, want 1", count)
	}
	c.mu.Lock()
	conns := len(c.mu.conns)
	c.mu.Unlock()
	if conns != 1 {
		t.Errorf("client holds %d connections, want 1", conns)
	}
}

func TestHandlerPanic(t *testing.T) {
	checkGoroutinesGone(t)
	srv := startServer(t, nil, func(s *Server) {
		s.Register(clientProtocol, statMethod(), Unary("delete",
			func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
				panic("boom")
			}))
	})
	c := newClient(t, nil)
	addr := srv.Addr().String()

	err := c.Call(context.Background(), addr, clientProtocol, "delete", &hdfspb.GetFileInfoRequestProto{Src: proto.String("/")}, &hdfspb.GetFileInfoResponseProto{})
	var re *RemoteError
	if !errors.As(err, &re) || re.Class != classIOException || re.Code != codeRPCServer || !strings.Contains(re.Message, "boom") {
		t.Fatalf("got %#v, want an IOException mentioning the panic", err)
	}
	mustStat(t, c, addr, "/still/serving")
}

func TestHandlerReturnsNoResponse(t *testing.T) {
	checkGoroutinesGone(t)
	srv := startServer(t, nil, func(s *Server) {
		s.Register(clientProtocol,
			Unary("nilResponse", func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
				return nil, nil
			}),
			Unary("incompleteResponse", func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.HdfsFileStatusProto, error) {
				return &hdfspb.HdfsFileStatusProto{}, nil // required fields missing
			}))
	})
	c := newClient(t, nil)
	for _, method := range []string{"nilResponse", "incompleteResponse"} {
		err := c.Call(context.Background(), srv.Addr().String(), clientProtocol, method, &hdfspb.GetFileInfoRequestProto{Src: proto.String("/")}, &hdfspb.GetFileInfoResponseProto{})
		var re *RemoteError
		if !errors.As(err, &re) || re.Code != codeSerializingResponse {
			t.Errorf("%s: got %v, want ERROR_SERIALIZING_RESPONSE", method, err)
		}
	}
}

func TestUnknownProtocolAndMethodKeepConnection(t *testing.T) {
	checkGoroutinesGone(t)
	srv := startServer(t, nil, func(s *Server) { s.Register(clientProtocol, statMethod()) })
	r := dialRaw(t, srv)
	r.hello()

	r.call(1, "org.example.Nope", "getFileInfo", "/")
	h, _ := r.response()
	if h.GetStatus() != commonpb.RpcResponseHeaderProto_ERROR || h.GetErrorDetail() != codeNoSuchProtocol ||
		h.GetExceptionClassName() != classNoSuchProtocol || h.GetErrorMsg() != "Unknown protocol: org.example.Nope" || h.GetCallId() != 1 {
		t.Errorf("unknown protocol answered %v", h)
	}
	r.call(2, clientProtocol, "mkdirs", "/")
	h, _ = r.response()
	if h.GetStatus() != commonpb.RpcResponseHeaderProto_ERROR || h.GetErrorDetail() != codeNoSuchMethod ||
		h.GetExceptionClassName() != classNoSuchMethod || h.GetCallId() != 2 ||
		h.GetErrorMsg() != "Unknown method mkdirs called on "+clientProtocol+" protocol." {
		t.Errorf("unknown method answered %v", h)
	}
	// The connection is still good.
	r.call(3, clientProtocol, "getFileInfo", "/ok")
	h, rest := r.response()
	if h.GetStatus() != commonpb.RpcResponseHeaderProto_SUCCESS || h.GetCallId() != 3 || h.GetServerIpcVersionNum() != 9 {
		t.Fatalf("call after unknown method answered %v", h)
	}
	body, _, err := splitDelimited(rest)
	if err != nil {
		t.Fatal(err)
	}
	resp := &hdfspb.GetFileInfoResponseProto{}
	if err := proto.Unmarshal(body, resp); err != nil || string(resp.GetFs().GetPath()) != "/ok" {
		t.Fatalf("response %v, %v", resp, err)
	}

	// And through the Client, the errors map to sentinels.
	c := newClient(t, nil)
	err = c.Call(context.Background(), srv.Addr().String(), clientProtocol, "mkdirs", &hdfspb.GetFileInfoRequestProto{Src: proto.String("/")}, &hdfspb.GetFileInfoResponseProto{})
	if !errors.Is(err, ErrNoSuchMethod) {
		t.Errorf("got %v, want ErrNoSuchMethod", err)
	}
	err = c.Call(context.Background(), srv.Addr().String(), "org.example.Nope", "x", &hdfspb.GetFileInfoRequestProto{Src: proto.String("/")}, &hdfspb.GetFileInfoResponseProto{})
	if !errors.Is(err, ErrNoSuchProtocol) {
		t.Errorf("got %v, want ErrNoSuchProtocol", err)
	}
}

func TestPingIgnored(t *testing.T) {
	checkGoroutinesGone(t)
	srv := startServer(t, nil, func(s *Server) { s.Register(clientProtocol, statMethod()) })
	r := dialRaw(t, srv)
	r.hello()
	r.frame(rpcHeader(pingCallID))
	r.call(7, clientProtocol, "getFileInfo", "/after-ping")
	if h, _ := r.response(); h.GetCallId() != 7 || h.GetStatus() != commonpb.RpcResponseHeaderProto_SUCCESS {
		t.Fatalf("got %v", h)
	}
}

// TestMalformedInput sends broken bytes, each on its own connection, and
// checks the answer, that the connection is closed, and that the server still
// serves a well-behaved client afterwards.
func TestMalformedInput(t *testing.T) {
	checkGoroutinesGone(t)
	const maxData = 1024
	srv := startServer(t, func(cfg *ServerConfig) { cfg.MaxDataLength = maxData }, func(s *Server) {
		s.Register(clientProtocol, statMethod())
	})
	c := newClient(t, nil)
	addr := srv.Addr().String()

	preamble := []byte{'h', 'r', 'p', 'c', ipcVersion, 0, authNone}
	frameBytes := func(payload ...byte) []byte {
		return append([]byte{0, 0, byte(len(payload) >> 8), byte(len(payload))}, payload...)
	}
	tests := []struct {
		name string
		send func(r *rawConn)
		// code zero: the server closes without answering.
		code  rpcCode
		class string
		msg   []string
	}{
		{
			name:  "bad preamble",
			send:  func(r *rawConn) { r.write([]byte("hrpx\x09\x00\x00")) },
			code:  codeVersionMismatch,
			class: classVersionMismatch,
			msg:   []string{`"hrpx"`, `"hrpc"`},
		},
		{
			name:  "garbage instead of preamble",
			send:  func(r *rawConn) { r.write([]byte("SSH-2.0-OpenSSH\r\n")) },
			code:  codeVersionMismatch,
			class: classVersionMismatch,
			msg:   []string{"SSH-"},
		},
		{
			name:  "newer version",
			send:  func(r *rawConn) { r.write([]byte{'h', 'r', 'p', 'c', 10, 0, 0}) },
			code:  codeVersionMismatch,
			class: classVersionMismatch,
			msg:   []string{"Server IPC version 9 cannot communicate with client version 10"},
		},
		{
			name: "older version is disconnected",
			send: func(r *rawConn) { r.write([]byte{'h', 'r', 'p', 'c', 7, 0, 0}) },
		},
		{
			name:  "SASL",
			send:  func(r *rawConn) { r.write([]byte{'h', 'r', 'p', 'c', 9, 0, authSASL}) },
			code:  codeUnauthorized,
			class: classAccessControl,
			msg:   []string{"SASL authentication is not enabled"},
		},
		{
			name:  "unknown auth protocol",
			send:  func(r *rawConn) { r.write([]byte{'h', 'r', 'p', 'c', 9, 0, 5}) },
			code:  codeUnauthorized,
			class: classIPCException,
			msg:   []string{"Unknown auth protocol:5"},
		},
		{
			name: "oversized length",
			send: func(r *rawConn) {
				r.hello()
				r.write([]byte{0, 0, 0x04, 0x01}) // 1025
			},
			code:  codeInvalidRPCHeader,
			class: classIOException,
			msg:   []string{"1025", "1024"},
		},
		{
			name:  "negative length",
			send:  func(r *rawConn) { r.write(append(preamble, 0xff, 0xff, 0xff, 0xfe)) },
			code:  codeInvalidRPCHeader,
			class: classIOException,
			msg:   []string{"-2"},
		},
		{
			name:  "truncated header",
			send:  func(r *rawConn) { r.write(append(preamble, frameBytes(50, 0x08, 0x02)...)) },
			code:  codeDeserializing,
			class: classRPCServerException,
			msg:   []string{"RpcRequestHeaderProto", "truncated"},
		},
		{
			name:  "empty frame",
			send:  func(r *rawConn) { r.write(append(preamble, frameBytes()...)) },
			code:  codeDeserializing,
			class: classRPCServerException,
			msg:   []string{"RpcRequestHeaderProto"},
		},
		{
			name:  "garbage protobuf header",
			send:  func(r *rawConn) { r.write(append(preamble, frameBytes(4, 0xff, 0xff, 0xff, 0xff)...)) },
			code:  codeDeserializing,
			class: classRPCServerException,
			msg:   []string{"Error decoding RpcRequestHeaderProto"},
		},
		{
			name: "header without rpcOp",
			send: func(r *rawConn) {
				r.write(preamble)
				h := rpcHeader(connectionContextCallID)
				h.RpcOp = nil
				r.frame(h)
			},
			code:  codeInvalidRPCHeader,
			class: classRPCServerException,
			msg:   []string{"No rpc op"},
		},
		{
			name: "call before connection context",
			send: func(r *rawConn) {
				r.write(preamble)
				r.call(0, clientProtocol, "getFileInfo", "/")
			},
			code:  codeInvalidRPCHeader,
			class: classRPCServerException,
			msg:   []string{"Connection context not established"},
		},
		{
			name: "second connection context",
			send: func(r *rawConn) {
				r.hello()
				r.frame(rpcHeader(connectionContextCallID), &commonpb.IpcConnectionContextProto{})
			},
			code:  codeInvalidRPCHeader,
			class: classRPCServerException,
			msg:   []string{"Connection context already processed"},
		},
		{
			name: "SASL message without SASL",
			send: func(r *rawConn) {
				r.hello()
				r.frame(rpcHeader(saslCallID))
			},
			code:  codeInvalidRPCHeader,
			class: classRPCServerException,
			msg:   []string{"SASL"},
		},
		{
			name: "garbage request header",
			send: func(r *rawConn) {
				r.hello()
				hb, _ := proto.Marshal(rpcHeader(5))
				r.write(frameBytes(append(append([]byte{byte(len(hb))}, hb...), 3, 0xff, 0xff, 0xff)...))
			},
			code:  codeDeserializing,
			class: classRPCServerException,
			msg:   []string{"RequestHeaderProto"},
		},
		{
			name: "garbage request body",
			send: func(r *rawConn) {
				r.hello()
				hb, _ := proto.Marshal(rpcHeader(5))
				rb, _ := proto.Marshal(requestHeader(clientProtocol, "getFileInfo"))
				payload := append([]byte{byte(len(hb))}, hb...)
				payload = append(payload, byte(len(rb)))
				payload = append(payload, rb...)
				payload = append(payload, 3, 0x0a, 0x7f, 0xff) // field 1, length 127, 1 byte
				r.write(frameBytes(payload...))
			},
			code:  codeDeserializing,
			class: classRPCServerException,
			msg:   []string{"unable to read call parameters", "getFileInfo"},
		},
		{
			name: "request missing a required field",
			send: func(r *rawConn) {
				r.hello()
				hb, _ := proto.Marshal(rpcHeader(6))
				rb, _ := proto.Marshal(requestHeader(clientProtocol, "getFileInfo"))
				payload := append([]byte{byte(len(hb))}, hb...)
				payload = append(payload, byte(len(rb)))
				payload = append(payload, rb...)
				payload = append(payload, 0) // an empty GetFileInfoRequestProto: src missing
				r.write(frameBytes(payload...))
			},
			code:  codeDeserializing,
			class: classRPCServerException,
			msg:   []string{"src"},
		},
		{
			name: "connection closed mid-frame",
			send: func(r *rawConn) {
				r.hello()
				r.write([]byte{0, 0, 0, 100, 1, 2, 3})
				r.nc.(*net.TCPConn).CloseWrite()
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dialRaw(t, srv)
			tt.send(r)
			if tt.code == 0 {
				r.expectClosed()
			} else {
				h := r.expectFatal(tt.code, tt.class, tt.msg...)
				if tt.name == "garbage request body" && h.GetCallId() != 5 {
					t.Errorf("FATAL answer names call %d, want 5", int32(h.GetCallId()))
				}
			}
			mustStat(t, c, addr, "/after/"+tt.name)
		})
	}
}

func TestHTTPRequestOnIPCPort(t *testing.T) {
	checkGoroutinesGone(t)
	srv := startServer(t, nil, nil)
	r := dialRaw(t, srv)
	r.write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r.br); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "HTTP/1.1 404") || !strings.Contains(buf.String(), "IPC port") {
		t.Fatalf("got %q", buf.String())
	}
}

func TestMaxDataLengthThroughClient(t *testing.T) {
	checkGoroutinesGone(t)
	srv := startServer(t, func(cfg *ServerConfig) { cfg.MaxDataLength = 1024 }, func(s *Server) {
		s.Register(clientProtocol, statMethod())
	})
	c := newClient(t, nil)
	addr := srv.Addr().String()

	_, err := stat(context.Background(), c, addr, "/"+strings.Repeat("x", 2000))
	var re *RemoteError
	if !errors.As(err, &re) || !re.Fatal() || re.Code != codeInvalidRPCHeader || !strings.Contains(re.Message, "1024") {
		t.Fatalf("got %v, want a FATAL error naming the limit", err)
	}
	if !errors.Is(err, ErrIO) {
		t.Errorf("errors.Is(%v, ErrIO) = false", err)
	}
	mustStat(t, c, addr, "/small") // on a new connection
}

func TestIdleServerConnectionClosed(t *testing.T) {
	checkGoroutinesGone(t)
	srv := startServer(t, func(cfg *ServerConfig) { cfg.MaxIdleTime = 50 * time.Millisecond }, func(s *Server) {
		s.Register(clientProtocol, statMethod())
	})
	r := dialRaw(t, srv)
	r.hello()
	r.expectClosed()

	// A client that never sends its preamble is idle too.
	dialRaw(t, srv).expectClosed()
}

// TestSlowCallIsNotIdle checks that a connection waiting for a call longer
// than the idle time stays open.
func TestSlowCallIsNotIdle(t *testing.T) {
	checkGoroutinesGone(t)
	const idle = 50 * time.Millisecond
	srv := startServer(t, func(cfg *ServerConfig) { cfg.MaxIdleTime = idle }, func(s *Server) {
		s.Register(clientProtocol, Unary("getFileInfo",
			func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
				time.Sleep(4 * idle)
				return &hdfspb.GetFileInfoResponseProto{Fs: fileStatus(req.GetSrc())}, nil
			}))
	})
	r := dialRaw(t, srv)
	r.hello()
	r.call(1, clientProtocol, "getFileInfo", "/slow")
	if h, _ := r.response(); h.GetStatus() != commonpb.RpcResponseHeaderProto_SUCCESS {
		t.Fatalf("got %v", h)
	}
}

func TestServerConfigValidate(t *testing.T) {
	if err := DefaultServerConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for name, tweak := range map[string]func(*ServerConfig){
		"no addr":       func(c *ServerConfig) { c.Addr = "" },
		"no handlers":   func(c *ServerConfig) { c.HandlerCount = 0 },
		"no queue":      func(c *ServerConfig) { c.QueueSizePerHandler = 0 },
		"huge queue":    func(c *ServerConfig) { c.HandlerCount, c.QueueSizePerHandler = 1<<20, 1<<20 },
		"no data":       func(c *ServerConfig) { c.MaxDataLength = 0 },
		"zero idle":     func(c *ServerConfig) { c.MaxIdleTime = 0 },
		"negative idle": func(c *ServerConfig) { c.MaxIdleTime = -time.Second },
	} {
		cfg := DefaultServerConfig()
		tweak(&cfg)
		if cfg.Validate() == nil {
			t.Errorf("%s: Validate accepted %+v", name, cfg)
		}
		if _, err := NewServer(cfg); err == nil {
			t.Errorf("%s: NewServer accepted %+v", name, cfg)
		}
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	srv := startServer(t, nil, func(s *Server) { s.Register(clientProtocol, statMethod()) })
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	srv.Register(clientProtocol, statMethod())
}

// TestCloseStopsEverything closes a server with connections open and calls
// blocked in handlers, and checks that every goroutine it started is gone and
// the goroutine count is back where it was.
func TestCloseStopsEverything(t *testing.T) {
	before := runtimeGoroutines()
	srv, err := NewServer(DefaultServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{}, 8)
	srv.Register(clientProtocol, Unary("getFileInfo",
		func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
			entered <- struct{}{}
			<-ctx.Done()
			return nil, ctx.Err()
		}))
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()

	c, err := NewClient(DefaultClientConfig("alice"))
	if err != nil {
		t.Fatal(err)
	}
	callErrs := make(chan error, 4)
	for i := range 4 {
		go func() {
			_, err := stat(context.Background(), c, srv.Addr().String(), fmt.Sprint("/", i))
			callErrs <- err
		}()
	}
	idle := dialRaw(t, srv) // a connection that never says anything
	for range 4 {
		<-entered
	}

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	for range 4 {
		if err := <-callErrs; !errors.Is(err, ErrConnectionLost) {
			t.Errorf("call in flight during Close returned %v, want ErrConnectionLost", err)
		}
	}
	idle.expectClosed()
	idle.nc.Close()
	c.Close()
	waitFor(t, "package goroutines gone", func() bool { return len(packageGoroutines()) == 0 })
	waitFor(t, "goroutine count back to its start", func() bool { return runtimeGoroutines() <= before })

	if err := srv.Serve(); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close returned %v", err)
	}
}

// TestHandlerPoolBounded checks that no more than HandlerCount calls run at
// once, that calls beyond the queue wait rather than fail, and that Close
// does not hang on readers blocked by a full queue.
func TestHandlerPoolBounded(t *testing.T) {
	checkGoroutinesGone(t)
	const handlers, calls = 2, 12
	var running struct {
		sync.Mutex
		now, max int
	}
	release := make(chan struct{}) // lets the calls of the first round finish
	srv := startServer(t, func(cfg *ServerConfig) { cfg.HandlerCount, cfg.QueueSizePerHandler = handlers, 1 }, func(s *Server) {
		s.Register(clientProtocol, Unary("getFileInfo",
			func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
				running.Lock()
				running.now++
				running.max = max(running.max, running.now)
				running.Unlock()
				defer func() {
					running.Lock()
					running.now--
					running.Unlock()
				}()
				if strings.HasPrefix(req.GetSrc(), "/first/") {
					select {
					case <-release:
						return &hdfspb.GetFileInfoResponseProto{Fs: fileStatus(req.GetSrc())}, nil
					case <-ctx.Done():
					}
				}
				<-ctx.Done()
				return nil, ctx.Err()
			}))
	})
	addr := srv.Addr().String()
	runningNow := func() int {
		running.Lock()
		defer running.Unlock()
		return running.now
	}
	startCalls := func(c *Client, round string) chan error {
		errs := make(chan error, calls)
		for i := range calls {
			go func() {
				_, err := stat(context.Background(), c, addr, fmt.Sprint("/", round, "/", i))
				errs <- err
			}()
		}
		return errs
	}

	errs := startCalls(newClient(t, nil), "first")
	waitFor(t, "handlers busy", func() bool { return runningNow() == handlers })
	close(release)
	for range calls {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if running.max != handlers {
		t.Errorf("%d calls ran at once, want %d", running.max, handlers)
	}

	// Fill the handlers and the queue again, then close.
	c := newClient(t, nil)
	errs = startCalls(c, "second")
	waitFor(t, "handlers busy", func() bool { return runningNow() == handlers })
	waitFor(t, "every call sent", func() bool { return pendingCalls(c) == calls })
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	for range calls {
		if err := <-errs; !errors.Is(err, ErrConnectionLost) {
			t.Errorf("call during Close returned %v, want ErrConnectionLost", err)
		}
	}
}

// A client that stops reading cannot keep a handler: handlers hand their
// responses to the connection's writer and move on. With one handler,
// another client is still answered while the first one's responses pile up
// unread, and once the first client reads, its every response arrives whole.
func TestClientNotReadingDoesNotHoldHandlers(t *testing.T) {
	checkGoroutinesGone(t)
	big := strings.Repeat("x", 256<<10) // responses far larger than socket buffers
	srv := startServer(t, func(cfg *ServerConfig) { cfg.HandlerCount = 1 }, func(s *Server) {
		s.Register(clientProtocol, Unary("getFileInfo",
			func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
				p := req.GetSrc()
				if strings.HasPrefix(p, "/big/") {
					p += big
				}
				return &hdfspb.GetFileInfoResponseProto{Fs: fileStatus(p)}, nil
			}))
	})
	r := dialRaw(t, srv)
	r.hello()
	const n = 16
	for i := range n {
		r.call(int32(i), clientProtocol, "getFileInfo", fmt.Sprintf("/big/%d", i))
	}
	// The one handler must come free for someone else.
	mustStat(t, newClient(t, nil), srv.Addr().String(), "/small")
	seen := map[int32]bool{}
	for range n {
		h, rest := r.response()
		if h.GetStatus() != commonpb.RpcResponseHeaderProto_SUCCESS || seen[int32(h.GetCallId())] {
			t.Fatalf("response %v", h)
		}
		seen[int32(h.GetCallId())] = true
		resp := &hdfspb.GetFileInfoResponseProto{}
		body, _, err := splitDelimited(rest)
		if err == nil {
			err = proto.Unmarshal(body, resp)
		}
		if err != nil {
			t.Fatalf("call %d: body does not decode: %v", h.GetCallId(), err)
		}
		if want := fmt.Sprintf("/big/%d", h.GetCallId()) + big; string(resp.GetFs().GetPath()) != want {
			t.Fatalf("call %d: path of %d bytes, want %d", h.GetCallId(), len(resp.GetFs().GetPath()), len(want))
		}
	}
}
