package main

import (
	"context"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/bench"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// TestBenchNNThroughput runs the tool end to end against a server that answers getFileInfo
// only: -useExisting -keepResults makes fileStatus need nothing else. The fake says nothing
// about speed; docs/bench.md has figures measured against `hdfs namenode`.
func TestBenchNNThroughput(t *testing.T) {
	testcluster.CheckLeaks(t)
	srv, err := rpc.NewServer(rpc.DefaultServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	srv.Register(bench.ClientProtocol, rpc.Unary("getFileInfo",
		func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
			calls.Add(1)
			return &hdfspb.GetFileInfoResponseProto{Fs: &hdfspb.HdfsFileStatusProto{
				FileType: hdfspb.HdfsFileStatusProto_IS_FILE.Enum(), Path: []byte{}, Length: proto.Uint64(0),
				Permission: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o644)},
				Owner:      proto.String("u"), Group: proto.String("g"),
				ModificationTime: proto.Uint64(0), AccessTime: proto.Uint64(0),
			}}, nil
		}))
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve() }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	addr := srv.Addr().String()

	for _, args := range [][]string{
		{"bench", "-fs", "hdfs://" + addr, "nnthroughput", "-op", "fileStatus", "-threads", "3", "-files", "8", "-useExisting", "-keepResults"},
		// -fs among the benchmark's own arguments, as Hadoop's benchmark takes it.
		{"bench", "nnthroughput", "-fs", "hdfs://" + addr, "-op", "fileStatus", "-threads", "3", "-files", "8", "-useExisting", "-keepResults"},
	} {
		calls.Store(0)
		r := runHDFS(t, nil, args...)
		if r.code != 0 {
			t.Fatalf("%q: exit %d\nstdout %s\nstderr %s", args, r.code, r.stdout, r.stderr)
		}
		want := regexp.MustCompile(`^
--- fileStatus inputs ---
nrFiles = 8
nrThreads = 3
nrFilesPerDir = 4
--- fileStatus stats  ---
# operations: 8
Elapsed Time: \d+
 Ops per sec: [0-9.E]+
Average Time: \d+
$`)
		if !want.MatchString(r.stdout) {
			t.Errorf("%q: stdout:\n%s", args, r.stdout)
		}
		if calls.Load() != 9 { // the base directory, then 8 files
			t.Errorf("%q: %d getFileInfo calls, want 9", args, calls.Load())
		}
	}

	// A failing op: the stats still print, the error goes to stderr, exit 1.
	r := runHDFS(t, nil, "bench", "-fs", addr, "nnthroughput", "-op", "mkdirs", "-files", "2", "-keepResults")
	if r.code != 1 || !strings.Contains(r.stderr, "mkdirs") || !strings.Contains(r.stdout, "# operations: 0") {
		t.Errorf("failing op: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "nnthroughput"},
		{"bench", "nnthroughput", "-op", "blockReport"},
		{"bench", "nnthroughput", "-op", "create", "-useExisting"},
	} {
		r := runHDFS(t, nil, args...)
		if r.code != 255 || !strings.Contains(r.stderr, "-op fileStatus [-threads T]") {
			t.Errorf("%q: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	r := runHDFS(t, nil, "bench", "-h")
	if r.code != 0 || !strings.Contains(r.stdout, "nnthroughput -op create|mkdirs|open|fileStatus|rename|delete|all") {
		t.Errorf("bench -h: exit %d, stdout %q", r.code, r.stdout)
	}
	// Nothing configured: no NameNode to run against.
	r = runHDFS(t, nil, "bench", "nnthroughput", "-op", "create")
	if r.code != 255 || !strings.Contains(r.stderr, "NameNode") {
		t.Errorf("no NameNode: exit %d, stderr %q", r.code, r.stderr)
	}
}
