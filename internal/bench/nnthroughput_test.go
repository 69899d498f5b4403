package bench

// These tests check the benchmark's mechanics (call counts, inputs, cleanup, output labels)
// against a fake in-memory NameNode. They say nothing about speed: real figures come from
// running `hdfs bench nnthroughput` against `hdfs namenode` (docs/bench.md).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// fakeNN serves the ClientProtocol methods the benchmark uses from a map of path → isDir.
type fakeNN struct {
	mu    sync.Mutex
	nodes map[string]bool
	open  map[string]string // path → lease holder
	calls map[string]int
	// failOn makes the named method fail with an IOException.
	failOn string
}

func newFakeNN() *fakeNN {
	return &fakeNN{nodes: map[string]bool{"/": true}, open: map[string]string{}, calls: map[string]int{}}
}

func (f *fakeNN) count(m string) error {
	f.calls[m]++
	if f.failOn == m {
		return fmt.Errorf("injected %s failure", m)
	}
	return nil
}

// mkParentsLocked creates the ancestors of p, or fails when one is a file or missing and
// create is false.
func (f *fakeNN) mkParentsLocked(p string, create bool) error {
	parent := path.Dir(p)
	if isDir, ok := f.nodes[parent]; ok {
		if !isDir {
			return rpc.Errorf(rpc.ErrParentNotDirectory, "Parent path is not a directory: %s", parent)
		}
		return nil
	}
	if !create {
		return rpc.Errorf(rpc.ErrFileNotFound, "Parent directory doesn't exist: %s", parent)
	}
	if err := f.mkParentsLocked(parent, true); err != nil {
		return err
	}
	f.nodes[parent] = true
	return nil
}

func (f *fakeNN) status(p string) *hdfspb.HdfsFileStatusProto {
	isDir, ok := f.nodes[p]
	if !ok {
		return nil
	}
	ft := hdfspb.HdfsFileStatusProto_IS_FILE
	if isDir {
		ft = hdfspb.HdfsFileStatusProto_IS_DIR
	}
	return &hdfspb.HdfsFileStatusProto{
		FileType: ft.Enum(), Path: []byte{}, Length: proto.Uint64(0),
		Permission: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o644)},
		Owner:      proto.String("u"), Group: proto.String("g"),
		ModificationTime: proto.Uint64(0), AccessTime: proto.Uint64(0), FileId: proto.Uint64(7),
	}
}

func (f *fakeNN) register(s *rpc.Server) {
	s.Register(ClientProtocol,
		rpc.Unary("mkdirs", func(ctx context.Context, req *hdfspb.MkdirsRequestProto) (*hdfspb.MkdirsResponseProto, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if err := f.count("mkdirs"); err != nil {
				return nil, err
			}
			if err := f.mkParentsLocked(req.GetSrc(), req.GetCreateParent()); err != nil {
				return nil, err
			}
			f.nodes[req.GetSrc()] = true
			return &hdfspb.MkdirsResponseProto{Result: proto.Bool(true)}, nil
		}),
		rpc.Unary("create", func(ctx context.Context, req *hdfspb.CreateRequestProto) (*hdfspb.CreateResponseProto, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if err := f.count("create"); err != nil {
				return nil, err
			}
			src := req.GetSrc()
			if isDir, ok := f.nodes[src]; ok && (isDir || req.GetCreateFlag()&uint32(hdfspb.CreateFlagProto_OVERWRITE) == 0) {
				return nil, rpc.Errorf(rpc.ErrFileAlreadyExists, "%s already exists", src)
			}
			if err := f.mkParentsLocked(src, req.GetCreateParent()); err != nil {
				return nil, err
			}
			f.nodes[src] = false
			f.open[src] = req.GetClientName()
			return &hdfspb.CreateResponseProto{Fs: f.status(src)}, nil
		}),
		rpc.Unary("complete", func(ctx context.Context, req *hdfspb.CompleteRequestProto) (*hdfspb.CompleteResponseProto, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if err := f.count("complete"); err != nil {
				return nil, err
			}
			if holder := f.open[req.GetSrc()]; holder != req.GetClientName() {
				return nil, rpc.Errorf(rpc.ErrLeaseExpired, "No lease on %s: held by %q, not %q", req.GetSrc(), holder, req.GetClientName())
			}
			if req.GetFileId() != 7 {
				return nil, fmt.Errorf("complete %s: file id %d", req.GetSrc(), req.GetFileId())
			}
			delete(f.open, req.GetSrc())
			return &hdfspb.CompleteResponseProto{Result: proto.Bool(true)}, nil
		}),
		rpc.Unary("getFileInfo", func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if err := f.count("getFileInfo"); err != nil {
				return nil, err
			}
			return &hdfspb.GetFileInfoResponseProto{Fs: f.status(req.GetSrc())}, nil
		}),
		rpc.Unary("getBlockLocations", func(ctx context.Context, req *hdfspb.GetBlockLocationsRequestProto) (*hdfspb.GetBlockLocationsResponseProto, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if err := f.count("getBlockLocations"); err != nil {
				return nil, err
			}
			if isDir, ok := f.nodes[req.GetSrc()]; !ok || isDir {
				return nil, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", req.GetSrc())
			}
			return &hdfspb.GetBlockLocationsResponseProto{Locations: &hdfspb.LocatedBlocksProto{
				FileLength: proto.Uint64(0), UnderConstruction: proto.Bool(false), IsLastBlockComplete: proto.Bool(true),
			}}, nil
		}),
		rpc.Unary("rename", func(ctx context.Context, req *hdfspb.RenameRequestProto) (*hdfspb.RenameResponseProto, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if err := f.count("rename"); err != nil {
				return nil, err
			}
			src, dst := req.GetSrc(), req.GetDst()
			_, srcOK := f.nodes[src]
			_, dstExists := f.nodes[dst]
			if !srcOK || dstExists || !f.nodes[path.Dir(dst)] {
				return &hdfspb.RenameResponseProto{Result: proto.Bool(false)}, nil
			}
			for p, isDir := range f.nodes {
				if p == src || strings.HasPrefix(p, src+"/") {
					delete(f.nodes, p)
					f.nodes[dst+strings.TrimPrefix(p, src)] = isDir
				}
			}
			return &hdfspb.RenameResponseProto{Result: proto.Bool(true)}, nil
		}),
		rpc.Unary("delete", func(ctx context.Context, req *hdfspb.DeleteRequestProto) (*hdfspb.DeleteResponseProto, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if err := f.count("delete"); err != nil {
				return nil, err
			}
			src := req.GetSrc()
			if _, ok := f.nodes[src]; !ok {
				return &hdfspb.DeleteResponseProto{Result: proto.Bool(false)}, nil
			}
			var children []string
			for p := range f.nodes {
				if strings.HasPrefix(p, src+"/") {
					children = append(children, p)
				}
			}
			if len(children) > 0 && !req.GetRecursive() {
				return nil, rpc.Errorf(rpc.ErrPathIsNotEmptyDirectory, "%s is non empty", src)
			}
			for _, p := range children {
				delete(f.nodes, p)
			}
			delete(f.nodes, src)
			return &hdfspb.DeleteResponseProto{Result: proto.Bool(true)}, nil
		}),
	)
}

func (f *fakeNN) snapshot() (calls map[string]int, paths []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	calls = map[string]int{}
	for k, v := range f.calls {
		calls[k] = v
	}
	for p := range f.nodes {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return calls, paths
}

func (f *fakeNN) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = map[string]int{}
}

func startFake(t *testing.T) (*fakeNN, NNThroughputConfig, *bytes.Buffer) {
	t.Helper()
	cfg := rpc.DefaultServerConfig()
	cfg.HandlerCount = 4
	srv, err := rpc.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeNN()
	f.register(srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve()
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	var out bytes.Buffer
	return f, NNThroughputConfig{
		Addr: srv.Addr().String(),
		NewClient: func() (Caller, error) {
			return rpc.NewClient(rpc.DefaultClientConfig("bench"))
		},
		Out: &out,
		Log: testcluster.Logger(t),
	}, &out
}

func opts(t *testing.T, args ...string) NNThroughputOptions {
	t.Helper()
	o, err := ParseNNThroughputArgs(args)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

var statsRE = regexp.MustCompile(`^
--- (\w+) inputs ---
nr(Files|Dirs) = (\d+)
nrThreads = (\d+)
nr(Files|Dirs)PerDir = (\d+)
--- (\w+) stats  ---
# operations: (\d+)
Elapsed Time: (\d+)
 Ops per sec: (\d+\.\d+(E\d+)?|NaN)
Average Time: (\d+)
`)

// checkOutput checks every op's block in out and returns the "# operations" per op.
func checkOutput(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for rest := out; rest != ""; {
		m := statsRE.FindStringSubmatch(rest)
		if m == nil {
			t.Fatalf("output does not match Hadoop's labels:\n%s", out)
		}
		if m[1] != m[7] {
			t.Fatalf("op names differ in %q", m[0])
		}
		got[m[1]] = m[8]
		rest = rest[len(m[0]):]
	}
	return got
}

func TestNNThroughputOps(t *testing.T) {
	testcluster.CheckLeaks(t)
	f, cfg, out := startFake(t)
	ctx := context.Background()

	tests := []struct {
		args  []string
		calls map[string]int
	}{
		// create: create + complete per file, then the recursive delete of the base dir.
		{[]string{"-op", "create", "-threads", "4", "-files", "25", "-filesPerDir", "3"},
			map[string]int{"create": 25, "complete": 25, "delete": 1}},
		{[]string{"-op", "mkdirs", "-threads", "3", "-dirs", "20", "-dirsPerDir", "2"},
			map[string]int{"mkdirs": 20, "delete": 1}},
		// open, fileStatus, rename, delete: inputs created (create+complete), then the op.
		{[]string{"-op", "open", "-threads", "5", "-files", "12"},
			map[string]int{"create": 12, "complete": 12, "getBlockLocations": 12, "delete": 1}},
		{[]string{"-op", "fileStatus", "-threads", "2", "-files", "9"},
			map[string]int{"create": 9, "complete": 9, "getFileInfo": 9, "delete": 1}},
		{[]string{"-op", "rename", "-threads", "3", "-files", "10"},
			map[string]int{"create": 10, "complete": 10, "rename": 10, "delete": 1}},
		{[]string{"-op", "delete", "-threads", "3", "-files", "10"},
			map[string]int{"create": 10, "complete": 10, "delete": 11}},
		// More threads than operations: the extra threads do nothing.
		{[]string{"-op", "fileStatus", "-threads", "8", "-files", "3"},
			map[string]int{"create": 3, "complete": 3, "getFileInfo": 3, "delete": 1}},
	}
	for _, tt := range tests {
		f.reset()
		out.Reset()
		o := opts(t, tt.args...)
		stats, err := RunNNThroughput(ctx, cfg, o)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		calls, paths := f.snapshot()
		if fmt.Sprint(calls) != fmt.Sprint(tt.calls) {
			t.Errorf("%v: calls %v, want %v", tt.args, calls, tt.calls)
		}
		if fmt.Sprint(paths) != "[/ /nnThroughputBenchmark]" {
			t.Errorf("%v: left behind %v", tt.args, paths)
		}
		if len(stats) != 1 || stats[0].Executed != stats[0].Required {
			t.Errorf("%v: stats %+v", tt.args, stats[0])
		}
		ops := checkOutput(t, out.String())
		if len(ops) != 1 || ops[o.Op] != fmt.Sprint(stats[0].Required) {
			t.Errorf("%v: output ops %v\n%s", tt.args, ops, out)
		}
	}
	// The labels, values aside, exactly as Hadoop prints them.
	out.Reset()
	if _, err := RunNNThroughput(ctx, cfg, opts(t, "-op", "create", "-threads", "2", "-files", "4")); err != nil {
		t.Fatal(err)
	}
	labels := regexp.MustCompile(`(?m)(: |= )[0-9.E]+$`).ReplaceAllString(out.String(), "${1}X")
	want := "\n--- create inputs ---\nnrFiles = X\nnrThreads = X\nnrFilesPerDir = X\n--- create stats  ---\n# operations: X\nElapsed Time: X\n Ops per sec: X\nAverage Time: X\n"
	if labels != want {
		t.Errorf("labels:\n%q\nwant\n%q", labels, want)
	}
}

func TestNNThroughputAllKeepAndExisting(t *testing.T) {
	testcluster.CheckLeaks(t)
	f, cfg, out := startFake(t)
	ctx := context.Background()

	stats, err := RunNNThroughput(ctx, cfg, opts(t, "-op", "all", "-threads", "3", "-files", "7", "-keepResults"))
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != len(AllOps) {
		t.Fatalf("all ran %d ops", len(stats))
	}
	ops := checkOutput(t, out.String())
	for _, op := range AllOps {
		if ops[op] != "7" {
			t.Errorf("all: %s executed %q, want 7", op, ops[op])
		}
	}
	_, paths := f.snapshot()
	has := func(p string) bool {
		i := sort.SearchStrings(paths, p)
		return i < len(paths) && paths[i] == p
	}
	// -keepResults: every op's directory stays, with what the op left in it.
	for _, p := range []string{
		"/nnThroughputBenchmark/create/ThroughputBenchDir0/ThroughputBench0",
		"/nnThroughputBenchmark/mkdirs/ThroughputBenchDir0/ThroughputBench0",
		"/nnThroughputBenchmark/open/ThroughputBenchDir0/ThroughputBench0",
		"/nnThroughputBenchmark/fileStatus/ThroughputBenchDir0/ThroughputBench0",
		"/nnThroughputBenchmark/rename/ThroughputBenchDir0/ThroughputBench0.r",
		"/nnThroughputBenchmark/delete/ThroughputBenchDir0",
	} {
		if !has(p) {
			t.Errorf("missing %s in %v", p, paths)
		}
	}
	if has("/nnThroughputBenchmark/delete/ThroughputBenchDir0/ThroughputBench0") {
		t.Error("delete left its file")
	}

	// -useExisting adopts the kept create results when the op's directory is missing.
	f.reset()
	out.Reset()
	var resp hdfspb.DeleteResponseProto
	c, _ := cfg.NewClient()
	defer c.Close()
	if err := c.Call(ctx, cfg.Addr, ClientProtocol, "delete", &hdfspb.DeleteRequestProto{
		Src: proto.String("/nnThroughputBenchmark/open"), Recursive: proto.Bool(true)}, &resp); err != nil {
		t.Fatal(err)
	}
	if _, err := RunNNThroughput(ctx, cfg, opts(t, "-op", "open", "-threads", "3", "-files", "7", "-useExisting")); err != nil {
		t.Fatal(err)
	}
	calls, paths := f.snapshot()
	if calls["create"] != 0 || calls["rename"] != 1 || calls["getBlockLocations"] != 7 {
		t.Errorf("useExisting calls: %v", calls)
	}
	for _, p := range paths {
		if strings.HasPrefix(p, "/nnThroughputBenchmark/create") || strings.HasPrefix(p, "/nnThroughputBenchmark/open") {
			t.Errorf("left %s", p)
		}
	}
	// Nothing to use.
	if err := c.Call(ctx, cfg.Addr, ClientProtocol, "delete", &hdfspb.DeleteRequestProto{
		Src: proto.String(BaseDir), Recursive: proto.Bool(true)}, &resp); err != nil {
		t.Fatal(err)
	}
	if _, err := RunNNThroughput(ctx, cfg, opts(t, "-op", "fileStatus", "-useExisting")); err == nil ||
		!strings.Contains(err.Error(), "/nnThroughputBenchmark/fileStatus does not exist.") {
		t.Errorf("useExisting without inputs: %v", err)
	}
}

func TestNNThroughputFailure(t *testing.T) {
	testcluster.CheckLeaks(t)
	f, cfg, out := startFake(t)
	f.failOn = "getFileInfo"
	stats, err := RunNNThroughput(context.Background(), cfg, opts(t, "-op", "fileStatus", "-files", "6"))
	var re *rpc.RemoteError
	if err == nil || !errors.As(err, &re) || !strings.Contains(err.Error(), "injected getFileInfo failure") {
		t.Fatalf("err = %v", err)
	}
	if len(stats) != 1 || stats[0].Executed != 0 {
		t.Errorf("stats %+v", stats)
	}
	if ops := checkOutput(t, out.String()); ops["fileStatus"] != "0" {
		t.Errorf("ops %v", ops)
	}
	// Cleanup still ran.
	if _, paths := f.snapshot(); fmt.Sprint(paths) != "[/ /nnThroughputBenchmark]" {
		t.Errorf("left %v", paths)
	}
}

func TestParseNNThroughputArgs(t *testing.T) {
	def := DefaultNNThroughputOptions()
	o := opts(t, "-op", "create")
	if o.Threads != 3 || o.Files != 10 || o.FilesPerDir != 4 || o.Op != "create" {
		t.Errorf("defaults %+v", o)
	}
	o = opts(t, "-op", "mkdirs", "-files", "50", "-filesPerDir", "5", "-threads", "64")
	if o.Dirs != 50 || o.DirsPerDir != 5 || o.Threads != 64 {
		t.Errorf("mkdirs with -files: %+v", o)
	}
	o = opts(t, "-op", "mkdirs")
	if o.Dirs != def.Dirs || o.DirsPerDir != 2 {
		t.Errorf("mkdirs defaults: %+v", o)
	}
	o = opts(t, "-op", "all", "-files", "100", "-dirs", "30", "-useExisting", "-keepResults", "-close")
	if o.Files != 100 || o.Dirs != 30 || !o.UseExisting || !o.KeepResults {
		t.Errorf("all: %+v", o)
	}
	for _, bad := range [][]string{
		{}, {"-threads", "3"}, {"-op"}, {"-op", "blockReport"}, {"-op", "create", "-useExisting"},
		{"-op", "create", "-dirs", "3"}, {"-op", "open", "-files"}, {"-op", "open", "-files", "x"},
		{"-op", "open", "-filesPerDir", "0"}, {"-op", "mkdirs", "-close"}, {"-op", "open", "/path"},
	} {
		if _, err := ParseNNThroughputArgs(bad); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}

func TestNames(t *testing.T) {
	got := Names("/b", "T", 2, 9)
	want := []string{
		"/b/TDir0/T0", "/b/TDir0/T1", "/b/TDir1/T2", "/b/TDir1/T3",
		"/b/TDir0/TDir0/T4", "/b/TDir0/TDir0/T5", "/b/TDir0/TDir1/T6", "/b/TDir0/TDir1/T7",
		"/b/TDir1/TDir0/T8",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Names:\n got %v\nwant %v", got, want)
	}
	if got := opsPerThread(10, 3); fmt.Sprint(got) != "[3 3 4]" {
		t.Errorf("opsPerThread(10,3) = %v", got)
	}
	if got := opsPerThread(2, 4); fmt.Sprint(got) != "[1 1 0 0]" {
		t.Errorf("opsPerThread(2,4) = %v", got)
	}
}

func TestJavaDouble(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0.0", 1000: "1000.0", 81.30081300813008: "81.30081300813008", 1.2345e7: "1.2345E7", 2e-4: "2.0E-4",
	} {
		if got := JavaDouble(v); got != want {
			t.Errorf("JavaDouble(%v) = %q, want %q", v, got, want)
		}
	}
}
