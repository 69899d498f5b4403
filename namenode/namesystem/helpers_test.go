package namesystem

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/namenode/namespace"
	"github.com/hdfsha/hdfsha/proto/editpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

const superuser = "hdfs"

// gatedJournal wraps a real journal so tests can stall or fail its syncs.
type gatedJournal struct {
	editlog.Journal
	mu     sync.Mutex
	gate   chan struct{} // non-nil: syncs wait for it to close
	fail   atomic.Bool
	syncs  atomic.Int64
	reachd chan struct{} // receives when a sync reaches the gate
}

func (j *gatedJournal) StartSegment(ctx context.Context, txid int64) (editlog.SegmentWriter, error) {
	w, err := j.Journal.StartSegment(ctx, txid)
	if err != nil {
		return nil, err
	}
	return &gatedSegment{SegmentWriter: w, j: j}, nil
}

// stall makes syncs block until the returned func runs.
func (j *gatedJournal) stall() (release func()) {
	j.mu.Lock()
	defer j.mu.Unlock()
	g := make(chan struct{})
	j.gate = g
	return func() {
		j.mu.Lock()
		j.gate = nil
		j.mu.Unlock()
		close(g)
	}
}

type gatedSegment struct {
	editlog.SegmentWriter
	j *gatedJournal
}

func (s *gatedSegment) Sync(ctx context.Context, upTo int64) error {
	s.j.mu.Lock()
	g := s.j.gate
	s.j.mu.Unlock()
	if g != nil {
		select {
		case s.j.reachd <- struct{}{}:
		default:
		}
		select {
		case <-g:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.j.fail.Load() {
		return errors.New("injected journal failure")
	}
	s.j.syncs.Add(1)
	return s.SegmentWriter.Sync(ctx, upTo)
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	t       testing.TB
	dir     string
	clock   *fakeClock
	j       *gatedJournal
	ns      *namespace.Namespace
	el      *editlog.EditLog
	sys     *Namesystem
	srv     *rpc.Server
	addr    string
	clients map[string]*rpc.Client
	failed  chan error
	mutCfg  func(*Config)
	gen     int
}

func testNSOptions() namespace.Options {
	return namespace.Options{
		Permissions: namespace.Permissions{Enabled: true, Superuser: superuser, SuperGroup: "supergroup",
			Groups: func(u string) []string {
				switch u {
				case "alice":
					return []string{"alice", "staff"}
				case "bob":
					return []string{"bob"}
				}
				return nil
			}},
		CacheSize: 64 << 20,
	}
}

func newHarness(t testing.TB, mut func(*Config)) *harness {
	h := &harness{t: t, dir: t.TempDir(), clock: &fakeClock{t: time.UnixMilli(1_700_000_000_000)}, clients: map[string]*rpc.Client{}, mutCfg: mut}
	h.start()
	t.Cleanup(h.stop)
	return h
}

// start opens a fresh working namespace (formatted at txid 0) and replays
// the journal into it, as a restart of the NameNode does without images.
func (h *harness) start() {
	t := h.t
	h.gen++
	ns := openFormatted(t, filepath.Join(h.dir, "work", string(rune('a'+h.gen))))
	lj, err := editlog.OpenLocal(vfs.Default, filepath.Join(h.dir, "edits"), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.j = &gatedJournal{Journal: lj, reachd: make(chan struct{}, 1)}
	h.failed = make(chan error, 1)
	var sys *Namesystem
	el, err := editlog.Open(h.j, editlog.Options{OnFatal: func(err error) {
		if sys != nil {
			sys.Fail(err)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Namespace: ns, EditLog: el, Logger: testcluster.Logger(t), Now: h.clock.Now, Superuser: superuser, SuperGroup: "supergroup",
		PermissionsEnabled: true, Groups: testNSOptions().Permissions.Groups, Umask: 0o022, HostName: "nn.test",
		SoftLimit: time.Minute, HardLimit: time.Hour, LeaseCheckInterval: time.Hour,
		OnFailed:  func(err error) { h.failed <- err },
		SaveImage: func(ctx context.Context, ns *namespace.Namespace) error { return nil },
	}
	if h.mutCfg != nil {
		h.mutCfg(&cfg)
	}
	sys, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Replay(context.Background()); err != nil {
		t.Fatal(err)
	}
	sys.Start()
	scfg := rpc.DefaultServerConfig()
	scfg.HandlerCount = 16
	srv, err := rpc.NewServer(scfg)
	if err != nil {
		t.Fatal(err)
	}
	sys.Register(srv)
	sys.RegisterDatanodeProtocol(srv)
	go srv.Serve()
	h.ns, h.el, h.sys, h.srv, h.addr = ns, el, sys, srv, srv.Addr().String()
}

// openFormatted opens a fresh namespace at dir, formatted at txid 0 as
// every test namesystem's is.
func openFormatted(t testing.TB, dir string) *namespace.Namespace {
	ns, err := namespace.Open(dir, testNSOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Format(namespace.NamespaceInfo{NamespaceID: 42, ClusterID: "CID-test", BlockPoolID: "BP-1-127.0.0.1-1", CTime: 1},
		&editpb.Permission{Mode: 0o755, Owner: superuser, Group: "supergroup"}, 1); err != nil {
		t.Fatal(err)
	}
	return ns
}

// newPeer returns another namesystem beside the harness's, with no writer,
// over a fresh namespace in h.dir/name; mut makes it HA or read-only.
func newPeer(t *testing.T, h *harness, name string, mut func(*Config)) *Namesystem {
	ns := openFormatted(t, filepath.Join(h.dir, name))
	cfg := Config{Namespace: ns, Logger: testcluster.Logger(t), Now: h.clock.Now, Superuser: superuser, SuperGroup: "supergroup",
		PermissionsEnabled: true, Umask: 0o022}
	mut(&cfg)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); ns.Close() })
	return s
}

func (h *harness) stop() {
	for u, c := range h.clients {
		c.Close()
		delete(h.clients, u)
	}
	if h.srv != nil {
		h.srv.Close()
		h.sys.Close()
		h.el.Close()
		h.ns.Close()
		h.srv = nil
	}
}

func (h *harness) restart() {
	h.stop()
	h.start()
}

func (h *harness) client(user string) *rpc.Client {
	if c := h.clients[user]; c != nil {
		return c
	}
	c, err := rpc.NewClient(rpc.DefaultClientConfig(user))
	if err != nil {
		h.t.Fatal(err)
	}
	h.clients[user] = c
	return c
}

func (h *harness) call(user, method string, req, resp proto.Message, opts ...rpc.CallOption) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return h.client(user).Call(ctx, h.addr, ClientProtocol, method, req, resp, opts...)
}

func (h *harness) mustCall(user, method string, req, resp proto.Message) {
	h.t.Helper()
	if err := h.call(user, method, req, resp); err != nil {
		h.t.Fatalf("%s %s: %v", user, method, err)
	}
}

func perm(m uint32) *hdfspb.FsPermissionProto {
	return &hdfspb.FsPermissionProto{Perm: proto.Uint32(m)}
}

func mkdirsReq(p string, mode uint32, parent bool) *hdfspb.MkdirsRequestProto {
	return &hdfspb.MkdirsRequestProto{Src: proto.String(p), Masked: perm(mode), CreateParent: proto.Bool(parent)}
}

func createReq(p, client string, flag hdfspb.CreateFlagProto, parent bool) *hdfspb.CreateRequestProto {
	return &hdfspb.CreateRequestProto{Src: proto.String(p), Masked: perm(0o644), ClientName: proto.String(client), CreateFlag: proto.Uint32(uint32(flag)),
		CreateParent: proto.Bool(parent), Replication: proto.Uint32(3), BlockSize: proto.Uint64(128 << 20)}
}

func (h *harness) stat(p string) *hdfspb.HdfsFileStatusProto {
	h.t.Helper()
	resp := &hdfspb.GetFileInfoResponseProto{}
	h.mustCall(superuser, "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String(p)}, resp)
	return resp.Fs
}
