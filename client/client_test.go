package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// fakeNN is a NameNode stand-in on a real rpc.Server: it answers getFileInfo and mkdirs,
// as active or standby, and records who called.
type fakeNN struct {
	addr string
	mu   struct {
		sync.Mutex
		standby bool
		calls   []rpc.Caller
		// loseNext makes the next call run, then drop the connection before answering.
		loseNext bool
		// ran counts mkdirs that really ran, per (client id, call id): the retry cache.
		ran map[string]int
	}
}

func startFakeNN(t *testing.T, standby bool) *fakeNN {
	t.Helper()
	f := &fakeNN{}
	f.mu.standby = standby
	f.mu.ran = map[string]int{}
	cfg := rpc.DefaultServerConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.Logger = testcluster.Logger(t)
	srv, err := rpc.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	record := func(ctx context.Context) (standby bool) {
		c, _ := rpc.CallerFromContext(ctx)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.mu.calls = append(f.mu.calls, *c)
		return f.mu.standby
	}
	srv.Register(ClientProtocol,
		rpc.Unary("getFileInfo", func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
			if record(ctx) {
				return nil, rpc.Errorf(rpc.ErrStandby, "Operation category READ is not supported in state standby")
			}
			return &hdfspb.GetFileInfoResponseProto{}, nil
		}),
		rpc.Unary("mkdirs", func(ctx context.Context, req *hdfspb.MkdirsRequestProto) (*hdfspb.MkdirsResponseProto, error) {
			if record(ctx) {
				return nil, rpc.Errorf(rpc.ErrStandby, "Operation category WRITE is not supported in state standby")
			}
			c, _ := rpc.CallerFromContext(ctx)
			key := fmt.Sprintf("%x/%d", c.ClientID, c.CallID)
			f.mu.Lock()
			f.mu.ran[key]++
			lose := f.mu.loseNext
			f.mu.loseNext = false
			f.mu.Unlock()
			if lose {
				go srv.Close() // the NameNode dies after running the call, before answering
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return &hdfspb.MkdirsResponseProto{Result: proto.Bool(true)}, nil
		}),
		rpc.Unary("rename", func(ctx context.Context, req *hdfspb.RenameRequestProto) (*hdfspb.RenameResponseProto, error) {
			record(ctx)
			return nil, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", req.GetSrc())
		}),
	)
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	f.addr = srv.Addr().String()
	return f
}

func (f *fakeNN) setStandby(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.standby = v
}

func (f *fakeNN) calls() []rpc.Caller {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]rpc.Caller(nil), f.mu.calls...)
}

// haConf returns a configuration of nameservice mycluster with one NameNode per address.
func haConf(addrs ...string) *conf.Conf {
	c := conf.New()
	c.Set(conf.KeyNameservices, "mycluster")
	var ids []string
	for i, a := range addrs {
		id := fmt.Sprintf("nn%d", i+1)
		ids = append(ids, id)
		c.Set(conf.KeyNNRPCAddress+".mycluster."+id, a)
	}
	c.Set(conf.KeyHANameNodes+".mycluster", strings.Join(ids, ","))
	c.Set(conf.KeyDefaultFS, "hdfs://mycluster")
	return c
}

type sleepLog struct {
	mu     sync.Mutex
	sleeps []time.Duration
}

func (s *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sleeps = append(s.sleeps, d)
	return ctx.Err()
}

func newTestClient(t *testing.T, c *conf.Conf, uri string) (*Client, *sleepLog) {
	t.Helper()
	sl := &sleepLog{}
	cl, err := New(Config{Conf: c, User: "alice", Logger: testcluster.Logger(t), Sleep: sl.sleep, Jitter: func() float64 { return 0.5 }}, uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl, sl
}

func stat(ctx context.Context, cl *Client) error {
	return cl.Call(ctx, "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String("/")}, &hdfspb.GetFileInfoResponseProto{})
}

func TestStandbyFailsOverAndRemembersActive(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn1, nn2 := startFakeNN(t, true), startFakeNN(t, false)
	cl, sl := newTestClient(t, haConf(nn1.addr, nn2.addr), "")
	if got := cl.Addresses(); len(got) != 2 || got[0] != nn1.addr || got[1] != nn2.addr {
		t.Fatalf("Addresses = %v", got)
	}
	if a := cl.Active(); a != "" {
		t.Fatalf("Active before any call = %q", a)
	}
	ctx := context.Background()
	if err := stat(ctx, cl); err != nil {
		t.Fatal(err)
	}
	if a := cl.Active(); a != nn2.addr {
		t.Fatalf("Active = %q, want %q", a, nn2.addr)
	}
	// The first failover does not sleep (Hadoop's policy), so Sleep is not called.
	for _, d := range sl.sleeps {
		t.Fatalf("slept %v before the first failover", d)
	}
	// Remembered: the next calls go straight to nn2.
	for range 3 {
		if err := stat(ctx, cl); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(nn1.calls()); n != 1 {
		t.Fatalf("nn1 got %d calls, want 1", n)
	}
	if n := len(nn2.calls()); n != 4 {
		t.Fatalf("nn2 got %d calls, want 4", n)
	}
	// The retried call kept the client id and call id, with retry count 1.
	c1, c2 := nn1.calls()[0], nn2.calls()[0]
	if !bytes.Equal(c1.ClientID, c2.ClientID) || !bytes.Equal(c1.ClientID, cl.ClientID()) {
		t.Fatalf("client ids differ: %x %x", c1.ClientID, c2.ClientID)
	}
	if c1.CallID != c2.CallID || c1.RetryCount != 0 || c2.RetryCount != 1 {
		t.Fatalf("first try call %d retry %d, second call %d retry %d", c1.CallID, c1.RetryCount, c2.CallID, c2.RetryCount)
	}

	// A failover the other way: nn2 becomes standby, nn1 active.
	nn2.setStandby(true)
	nn1.setStandby(false)
	if err := stat(ctx, cl); err != nil {
		t.Fatal(err)
	}
	if a := cl.Active(); a != nn1.addr {
		t.Fatalf("Active = %q after the NameNodes swapped, want %q", a, nn1.addr)
	}
}

func TestRefusedConnectionFailsOver(t *testing.T) {
	testcluster.CheckLeaks(t)
	dead := testcluster.ReserveAddr(t, "127.0.0.1") // nothing listens there
	nn2 := startFakeNN(t, false)
	cl, _ := newTestClient(t, haConf(dead, nn2.addr), "hdfs://mycluster")
	if err := stat(context.Background(), cl); err != nil {
		t.Fatal(err)
	}
	if a := cl.Active(); a != nn2.addr {
		t.Fatalf("Active = %q, want %q", a, nn2.addr)
	}
	if c := nn2.calls()[0]; c.RetryCount != 1 {
		t.Fatalf("retry count on nn2 = %d, want 1", c.RetryCount)
	}
}

func TestAllStandbyGivesUp(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn1, nn2 := startFakeNN(t, true), startFakeNN(t, true)
	c := haConf(nn1.addr, nn2.addr)
	c.Set(KeyFailoverMaxAttempts, "4")
	c.Set(KeyFailoverSleepBase, "100")
	c.Set(KeyFailoverSleepMax, "300")
	cl, sl := newTestClient(t, c, "")
	err := stat(context.Background(), cl)
	if !errors.Is(err, rpc.ErrStandby) {
		t.Fatalf("err = %v, want StandbyException", err)
	}
	var re *rpc.RemoteError
	if !errors.As(err, &re) || re.Message != "Operation category READ is not supported in state standby" {
		t.Fatalf("last error = %v", err)
	}
	// 4 failovers: 5 tries, alternating, all with one call id.
	n1, n2 := nn1.calls(), nn2.calls()
	if len(n1) != 3 || len(n2) != 2 {
		t.Fatalf("tries: nn1 %d, nn2 %d; want 3 and 2", len(n1), len(n2))
	}
	for i, c := range append(n1, n2...) {
		if c.CallID != n1[0].CallID {
			t.Fatalf("try %d has call id %d, want %d", i, c.CallID, n1[0].CallID)
		}
	}
	// Backoff: none, then 100·2, 100·4 capped at 300, 300 (jitter factor 1.0).
	want := []time.Duration{200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}
	if fmt.Sprint(sl.sleeps) != fmt.Sprint(want) {
		t.Fatalf("sleeps = %v, want %v", sl.sleeps, want)
	}
	if a := cl.Active(); a != "" {
		t.Fatalf("Active = %q with no active NameNode", a)
	}
}

func TestPermanentErrorDoesNotFailOver(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn1, nn2 := startFakeNN(t, false), startFakeNN(t, false)
	cl, _ := newTestClient(t, haConf(nn1.addr, nn2.addr), "")
	err := cl.Call(context.Background(), "rename", &hdfspb.RenameRequestProto{Src: proto.String("/a"), Dst: proto.String("/b")}, &hdfspb.RenameResponseProto{})
	if !errors.Is(err, rpc.ErrFileNotFound) {
		t.Fatalf("err = %v", err)
	}
	if len(nn1.calls()) != 1 || len(nn2.calls()) != 0 {
		t.Fatalf("calls nn1 %d nn2 %d", len(nn1.calls()), len(nn2.calls()))
	}
	if cl.Active() != nn1.addr {
		t.Fatalf("Active = %q after nn1 answered FileNotFoundException", cl.Active())
	}
}

// A mkdirs that ran on nn1 before nn1 died is retried on nn2 with the same client id and
// call id, so nn2's retry cache (here: the map keyed on them) can recognise it.
func TestLostConnectionRetriesSameCallOnNextNameNode(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn1, nn2 := startFakeNN(t, false), startFakeNN(t, false)
	nn1.mu.Lock()
	nn1.mu.loseNext = true
	nn1.mu.Unlock()
	cl, _ := newTestClient(t, haConf(nn1.addr, nn2.addr), "")
	var resp hdfspb.MkdirsResponseProto
	err := cl.Call(context.Background(), "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String("/d"), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, &resp)
	if err != nil || !resp.GetResult() {
		t.Fatalf("mkdirs = %v, %v", resp.GetResult(), err)
	}
	c1, c2 := nn1.calls()[0], nn2.calls()[0]
	if !bytes.Equal(c1.ClientID, c2.ClientID) || c1.CallID != c2.CallID || c2.RetryCount != 1 {
		t.Fatalf("nn1 saw %x/%d, nn2 saw %x/%d retry %d", c1.ClientID, c1.CallID, c2.ClientID, c2.CallID, c2.RetryCount)
	}
	if cl.Active() != nn2.addr {
		t.Fatalf("Active = %q", cl.Active())
	}
}

func TestContextEndsFailover(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn1, nn2 := startFakeNN(t, true), startFakeNN(t, true)
	cl, err := New(Config{Conf: haConf(nn1.addr, nn2.addr), User: "alice", Logger: testcluster.Logger(t)}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cl.sleep = func(context.Context, time.Duration) error { cancel(); return ctx.Err() }
	if err := stat(ctx, cl); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestResolve(t *testing.T) {
	c := haConf("nn1.example.com:8020", "nn2.example.com:8020")
	for _, tc := range []struct {
		uri  string
		want string
	}{
		{"", "[nn1.example.com:8020 nn2.example.com:8020]"},
		{"hdfs://mycluster", "[nn1.example.com:8020 nn2.example.com:8020]"},
		{"hdfs://mycluster/user/alice", "[nn1.example.com:8020 nn2.example.com:8020]"},
		{"hdfs://host.example.com:9000", "[host.example.com:9000]"},
		{"hdfs://host.example.com", "[host.example.com:8020]"},
	} {
		got, err := Resolve(c, tc.uri)
		if err != nil || fmt.Sprint(got) != tc.want {
			t.Errorf("Resolve(%q) = %v, %v; want %s", tc.uri, got, err, tc.want)
		}
	}
	for _, bad := range []string{"file:///tmp", "hdfs://", "://x"} {
		if _, err := Resolve(c, bad); err == nil {
			t.Errorf("Resolve(%q) succeeded", bad)
		}
	}
	nonHA := conf.New()
	nonHA.Set(conf.KeyNNRPCAddress, "nn.example.com:8020")
	if got, err := Resolve(nonHA, ""); err != nil || fmt.Sprint(got) != "[nn.example.com:8020]" {
		t.Errorf("non-HA Resolve = %v, %v", got, err)
	}
	nonHA.Set(conf.KeyDefaultFS, "hdfs://other.example.com:8021")
	if got, err := Resolve(nonHA, ""); err != nil || fmt.Sprint(got) != "[other.example.com:8021]" {
		t.Errorf("fs.defaultFS Resolve = %v, %v", got, err)
	}
}

// A URI with one NameNode has nothing to fail over to: a refused connection is retried
// ipc.client.connect.max.retries times, a StandbyException is returned at once.
func TestSingleNameNode(t *testing.T) {
	testcluster.CheckLeaks(t)
	dead := testcluster.ReserveAddr(t, "127.0.0.1")
	c := conf.New()
	c.Set(KeyConnectMaxRetries, "3")
	c.Set(KeyConnectRetryInterval, "250")
	cl, sl := newTestClient(t, c, "hdfs://"+dead)
	err := stat(context.Background(), cl)
	if Classify(errors.Unwrap(err)) != Unreachable && Classify(err) != Unreachable {
		t.Fatalf("err = %v, want a connection error", err)
	}
	if !strings.Contains(err.Error(), "giving up after 3 retries") {
		t.Fatalf("err = %v", err)
	}
	want := []time.Duration{250 * time.Millisecond, 250 * time.Millisecond, 250 * time.Millisecond}
	if fmt.Sprint(sl.sleeps) != fmt.Sprint(want) {
		t.Fatalf("sleeps = %v, want %v", sl.sleeps, want)
	}

	sb := startFakeNN(t, true)
	cl, sl = newTestClient(t, conf.New(), "hdfs://"+sb.addr)
	if err := stat(context.Background(), cl); !errors.Is(err, rpc.ErrStandby) || len(sb.calls()) != 1 || len(sl.sleeps) != 0 {
		t.Fatalf("standby single NameNode: %v after %d calls", err, len(sb.calls()))
	}
}

// A new client's first failover (nn1 is simply the standby) is logged at
// DEBUG, as Hadoop does; a failover after a successful call at INFO.
func TestFailoverLogLevel(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn1, nn2 := startFakeNN(t, true), startFakeNN(t, false)
	core, logs := observer.New(zapcore.DebugLevel)
	cl, err := New(Config{Conf: haConf(nn1.addr, nn2.addr), User: "alice", Logger: zap.New(core), Sleep: (&sleepLog{}).sleep}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	levels := func() (out []zapcore.Level) {
		for _, e := range logs.TakeAll() {
			if e.Message == "failing over" {
				out = append(out, e.Level)
			}
		}
		return out
	}
	ctx := context.Background()
	if err := cl.Call(ctx, "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String("/")}, &hdfspb.GetFileInfoResponseProto{}); err != nil {
		t.Fatal(err)
	}
	if got := levels(); len(got) != 1 || got[0] != zapcore.DebugLevel {
		t.Fatalf("first failover of a new client logged at %v, want [debug]", got)
	}
	nn2.setStandby(true)
	nn1.setStandby(false)
	if err := cl.Call(ctx, "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String("/")}, &hdfspb.GetFileInfoResponseProto{}); err != nil {
		t.Fatal(err)
	}
	if got := levels(); len(got) != 1 || got[0] != zapcore.InfoLevel {
		t.Fatalf("failover after a successful call logged at %v, want [info]", got)
	}
}
