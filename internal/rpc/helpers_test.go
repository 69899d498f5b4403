package rpc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

const (
	clientProtocol = "org.apache.hadoop.hdfs.protocol.ClientProtocol"
	testProtocol   = "org.hdfsha.rpc.TestProtocol"

	// safety bounds so a broken test fails instead of hanging; tests never
	// assert that anything happens within them.
	testWait = 20 * time.Second
)

// startServer starts a server with cfg adjusted by tweak, registers methods
// with register, and closes it when the test ends.
func startServer(t testing.TB, tweak func(*ServerConfig), register func(*Server)) *Server {
	t.Helper()
	cfg := DefaultServerConfig()
	if tl, ok := t.(*testing.T); ok {
		cfg.Logger = zaptest.NewLogger(tl)
	}
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if register != nil {
		register(srv)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return srv
}

func newClient(t testing.TB, tweak func(*ClientConfig)) *Client {
	t.Helper()
	cfg := DefaultClientConfig("alice")
	if tl, ok := t.(*testing.T); ok {
		cfg.Logger = zaptest.NewLogger(tl)
	}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// statMethod answers getFileInfo with a file status naming the path asked for.
func statMethod() Method {
	return Unary("getFileInfo", func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
		return &hdfspb.GetFileInfoResponseProto{Fs: fileStatus(req.GetSrc())}, nil
	})
}

func fileStatus(path string) *hdfspb.HdfsFileStatusProto {
	return &hdfspb.HdfsFileStatusProto{
		FileType:         hdfspb.HdfsFileStatusProto_IS_FILE.Enum(),
		Path:             []byte(path),
		Length:           proto.Uint64(42),
		Permission:       &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o644)},
		Owner:            proto.String("alice"),
		Group:            proto.String("staff"),
		ModificationTime: proto.Uint64(1),
		AccessTime:       proto.Uint64(1),
	}
}

func stat(ctx context.Context, c *Client, addr, path string, opts ...CallOption) (*hdfspb.GetFileInfoResponseProto, error) {
	resp := &hdfspb.GetFileInfoResponseProto{}
	err := c.Call(ctx, addr, clientProtocol, "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String(path)}, resp, opts...)
	return resp, err
}

// mustStat checks that a getFileInfo call succeeds and echoes the path.
func mustStat(t testing.TB, c *Client, addr, path string) {
	t.Helper()
	resp, err := stat(context.Background(), c, addr, path)
	if err != nil {
		t.Fatalf("getFileInfo(%s): %v", path, err)
	}
	if got := string(resp.GetFs().GetPath()); got != path {
		t.Fatalf("getFileInfo(%s) answered path %q", path, got)
	}
}

// checkGoroutinesGone fails the test if goroutines of this package's types
// are still running once the test is over (after Cleanup closes servers and
// clients), polling because closed goroutines take a moment to unwind.
func checkGoroutinesGone(t *testing.T) {
	t.Cleanup(func() {
		deadline := time.Now().Add(testWait)
		for {
			left := packageGoroutines()
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutines leaked:\n%s", len(left), strings.Join(left, "\n\n"))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// packageGoroutines returns the stacks of goroutines running code of this
// package's server and client types.
func packageGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var left []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, fn := range []string{"rpc.(*Server)", "rpc.(*serverConn)", "rpc.(*Client)", "rpc.(*clientConn)"} {
			if strings.Contains(g, fn) {
				left = append(left, g)
				break
			}
		}
	}
	return left
}

// pendingCalls counts the calls c has in flight.
func pendingCalls(c *Client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, cc := range c.mu.conns {
		cc.mu.Lock()
		n += len(cc.mu.pending)
		cc.mu.Unlock()
	}
	return n
}

func runtimeGoroutines() int { return runtime.NumGoroutine() }

// waitFor polls cond until it holds, failing the test if it never does.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawConn is a hand-driven client connection for malformed-input tests.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, srv *Server) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(testWait))
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (r *rawConn) write(b []byte) {
	r.t.Helper()
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// hello sends a good preamble and connection context.
func (r *rawConn) hello() {
	r.t.Helper()
	r.write([]byte{'h', 'r', 'p', 'c', ipcVersion, 0, authNone})
	r.frame(rpcHeader(connectionContextCallID), &commonpb.IpcConnectionContextProto{
		UserInfo: &commonpb.UserInformationProto{EffectiveUser: proto.String("mallory")},
		Protocol: proto.String(clientProtocol),
	})
}

// frame sends a frame of delimited messages.
func (r *rawConn) frame(msgs ...proto.Message) {
	r.t.Helper()
	b, err := appendFrame(nil, msgs...)
	if err != nil {
		r.t.Fatal(err)
	}
	r.write(b)
}

// call sends a getFileInfo call.
func (r *rawConn) call(callID int32, protocol, method, path string) {
	r.t.Helper()
	r.frame(rpcHeader(callID), requestHeader(protocol, method), &hdfspb.GetFileInfoRequestProto{Src: proto.String(path)})
}

// response reads one response frame.
func (r *rawConn) response() (*commonpb.RpcResponseHeaderProto, []byte) {
	r.t.Helper()
	h, rest, err := readResponse(r.br, DefaultMaxDataLength)
	if err != nil {
		r.t.Fatalf("reading response: %v", err)
	}
	return h, rest
}

// expectFatal reads a FATAL response and then the end of the connection.
func (r *rawConn) expectFatal(code rpcCode, class string, msgParts ...string) *commonpb.RpcResponseHeaderProto {
	r.t.Helper()
	h, _ := r.response()
	if h.GetStatus() != commonpb.RpcResponseHeaderProto_FATAL || h.GetErrorDetail() != code || h.GetExceptionClassName() != class {
		r.t.Fatalf("got response %v, want FATAL %s %s", h, code, class)
	}
	for _, p := range msgParts {
		if !strings.Contains(h.GetErrorMsg(), p) {
			r.t.Errorf("error message %q does not mention %q", h.GetErrorMsg(), p)
		}
	}
	r.expectClosed()
	return h
}

// expectClosed checks that the server closed the connection without sending
// anything more.
func (r *rawConn) expectClosed() {
	r.t.Helper()
	b, err := io.ReadAll(r.br)
	if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		r.t.Fatalf("waiting for the server to close: %v", err)
	}
	if len(b) > 0 {
		r.t.Fatalf("server sent %d more bytes before closing: %q", len(b), b)
	}
}

func rpcHeader(callID int32) *commonpb.RpcRequestHeaderProto {
	return &commonpb.RpcRequestHeaderProto{
		RpcKind:    commonpb.RpcKindProto_RPC_PROTOCOL_BUFFER.Enum(),
		RpcOp:      commonpb.RpcRequestHeaderProto_RPC_FINAL_PACKET.Enum(),
		CallId:     proto.Int32(callID),
		ClientId:   []byte("0123456789abcdef"),
		RetryCount: proto.Int32(0),
	}
}

func requestHeader(protocol, method string) *commonpb.RequestHeaderProto {
	return &commonpb.RequestHeaderProto{
		MethodName:                 proto.String(method),
		DeclaringClassProtocolName: proto.String(protocol),
		ClientProtocolVersion:      proto.Uint64(1),
	}
}
