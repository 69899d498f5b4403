package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/namenode/fsck"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// fakeFsckNN is a NameNode for `hdfs fsck`: RPC getFileInfo (paths in exists; a standby
// refuses) and an HTTP server whose /fsck answers with body(query).
type fakeFsckNN struct {
	rpcAddr, httpAddr string
	mu                sync.Mutex
	queries           []string
}

func startFsckNN(t *testing.T, standby bool, exists map[string]bool, body func(q string) string) *fakeFsckNN {
	t.Helper()
	nn := &fakeFsckNN{}
	srv, err := rpc.NewServer(rpc.DefaultServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv.Register(client.ClientProtocol, rpc.Unary("getFileInfo",
		func(_ context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
			if standby {
				return nil, rpc.Errorf(rpc.ErrStandby, "Operation category READ is not supported in state standby")
			}
			if !exists[req.GetSrc()] {
				return &hdfspb.GetFileInfoResponseProto{}, nil
			}
			return &hdfspb.GetFileInfoResponseProto{Fs: &hdfspb.HdfsFileStatusProto{
				FileType: hdfspb.HdfsFileStatusProto_IS_DIR.Enum(), Path: []byte{}, Length: proto.Uint64(0),
				Permission: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)},
				Owner:      proto.String("hdfs"), Group: proto.String("supergroup"),
				ModificationTime: proto.Uint64(0), AccessTime: proto.Uint64(0),
			}}, nil
		}))
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve() }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	nn.rpcAddr = srv.Addr().String()

	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/fsck" {
			http.NotFound(w, r)
			return
		}
		nn.mu.Lock()
		nn.queries = append(nn.queries, r.URL.RawQuery)
		nn.mu.Unlock()
		_, _ = io.WriteString(w, body(r.URL.RawQuery))
	}))
	t.Cleanup(hs.Close)
	nn.httpAddr = strings.TrimPrefix(hs.URL, "http://")
	return nn
}

func (nn *fakeFsckNN) seen() []string {
	nn.mu.Lock()
	defer nn.mu.Unlock()
	return append([]string(nil), nn.queries...)
}

func TestFsckCommand(t *testing.T) {
	testcluster.CheckLeaks(t)
	const report = "FSCK started by hadoop (auth:SIMPLE) from /127.0.0.1 for path /user/hadoop/data at Sat Nov 21 06:00:00 UTC 2026\n\n" +
		"/user/hadoop/data 1572864 bytes, replicated: replication=2, 2 block(s):  OK\n\n" +
		"Status: HEALTHY\n" +
		"FSCK ended at Sat Nov 21 06:00:00 UTC 2026 in 7 milliseconds\n\n\n"
	status := "is HEALTHY"
	nn := startFsckNN(t, false, map[string]bool{"/": true, "/user/hadoop/data": true, "/a b": true},
		func(string) string { return report + "The filesystem under path '/user/hadoop/data' " + status })
	env := map[string]string{"HADOOP_USER_NAME": "hadoop"}
	base := []string{"fsck", "-D", "fs.defaultFS=hdfs://" + nn.rpcAddr, "-D", "dfs.namenode.http-address=" + nn.httpAddr}

	// A relative path resolves under the home directory; the switches become the
	// query, in order; the report is copied line by line.
	r := runHDFS(t, env, append(base, "data", "-files", "-blocks", "-locations")...)
	r.want(t, 0, report+"The filesystem under path '/user/hadoop/data' is HEALTHY\n")
	wantURL := "Connecting to namenode via http://" + nn.httpAddr + "/fsck?ugi=hadoop&files=1&blocks=1&locations=1&path=%2Fuser%2Fhadoop%2Fdata\n"
	if r.stderr != wantURL {
		t.Fatalf("stderr %q, want %q", r.stderr, wantURL)
	}

	// The exit status follows the last line: CORRUPT is 1.
	status = "is CORRUPT"
	r = runHDFS(t, env, append(base, "/user/hadoop/data")...)
	if r.code != 1 || !strings.HasSuffix(r.stdout, "is CORRUPT\n") {
		t.Fatalf("corrupt: %+v", r)
	}
	// The path is encoded as URLEncoder does.
	status = "is HEALTHY"
	r = runHDFS(t, env, append(base, "-racks", "/a b")...)
	if r.code != 0 || !strings.Contains(r.stderr, "/fsck?ugi=hadoop&racks=1&path=%2Fa+b\n") {
		t.Fatalf("space: %+v", r)
	}
	// A failed run is Hadoop's -1.
	nnFail := startFsckNN(t, false, map[string]bool{"/failed": true}, func(string) string {
		return "FSCK started by hadoop\nFSCK ended at x in 1 milliseconds\nboom\n\n\nFsck on path '/failed' FAILED"
	})
	r = runHDFS(t, env, "fsck", "-fs", "hdfs://"+nnFail.rpcAddr, "-D", "dfs.namenode.http-address="+nnFail.httpAddr, "/failed")
	if r.code != 255 || !strings.HasSuffix(r.stdout, "Fsck on path '/failed' FAILED\n") {
		t.Fatalf("failed: %+v", r)
	}

	// A path that does not exist never reaches the HTTP server: DFSck's message, status 0.
	n := len(nn.seen())
	r = runHDFS(t, env, append(base, "/nope")...)
	r.want(t, 0, "")
	if r.stderr != "FileSystem is inaccessible due to:\njava.io.FileNotFoundException: File does not exist: /nope\nDFSck exiting.\n" {
		t.Fatalf("stderr %q", r.stderr)
	}
	if len(nn.seen()) != n {
		t.Fatalf("HTTP asked for a missing path")
	}

	// Usage errors: no argument, -files first, a second path, an unknown switch.
	for _, args := range [][]string{{"fsck"}, {"fsck", "-files", "/"}, append(base, "/", "/x"), append(base, "/", "-move")} {
		r = runHDFS(t, env, args...)
		if r.code != 255 || !strings.Contains(r.stderr, "Usage: hdfs fsck <path>") {
			t.Fatalf("%q: %+v", args, r)
		}
	}
	if r := runHDFS(t, env, "fsck", "-help"); r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: hdfs fsck <path>") {
		t.Fatalf("-help: %+v", r)
	}
}

// In an HA nameservice fsck asks the active NameNode's HTTP server, found by failing over
// from the standby.
func TestFsckFindsActive(t *testing.T) {
	testcluster.CheckLeaks(t)
	body := func(string) string { return "FSCK started\n\n\nThe filesystem under path '/' is HEALTHY" }
	nn1 := startFsckNN(t, true, nil, body)
	nn2 := startFsckNN(t, false, map[string]bool{"/": true}, body)
	env := map[string]string{"HADOOP_USER_NAME": "hdfs"}
	r := runHDFS(t, env, "fsck",
		"-D", "fs.defaultFS=hdfs://mycluster",
		"-D", "dfs.nameservices=mycluster",
		"-D", "dfs.ha.namenodes.mycluster=nn1,nn2",
		"-D", "dfs.namenode.rpc-address.mycluster.nn1="+nn1.rpcAddr,
		"-D", "dfs.namenode.rpc-address.mycluster.nn2="+nn2.rpcAddr,
		"-D", "dfs.namenode.http-address.mycluster.nn1="+nn1.httpAddr,
		"-D", "dfs.namenode.http-address.mycluster.nn2="+nn2.httpAddr,
		"-D", "dfs.client.failover.sleep.base.millis=1",
		"-D", "dfs.client.failover.sleep.max.millis=1",
		"/")
	r.want(t, 0, "FSCK started\n\n\nThe filesystem under path '/' is HEALTHY\n")
	if !strings.HasSuffix(r.stderr, "Connecting to namenode via http://"+nn2.httpAddr+"/fsck?ugi=hdfs&path=%2F\n") {
		t.Fatalf("stderr %q", r.stderr)
	}
	if len(nn1.seen()) != 0 || len(nn2.seen()) != 1 {
		t.Fatalf("queries: nn1 %q, nn2 %q", nn1.seen(), nn2.seen())
	}
}

// -list-corruptfileblocks pages with the NameNode's cookie and prints DFSck's list.
func TestFsckListCorruptFileBlocks(t *testing.T) {
	testcluster.CheckLeaks(t)
	corrupt := true
	nn := startFsckNN(t, false, map[string]bool{"/": true}, func(q string) string {
		const head = "FSCK started by hdfs (auth:SIMPLE) from /127.0.0.1 for path / at Sat Nov 21 06:00:00 UTC 2026\n"
		switch {
		case !corrupt:
			return head + "Cookie:\t0\n\n\nThe filesystem under path '/' has no CORRUPT files\n\n"
		case strings.Contains(q, "startblockafter=2"):
			return head + "Cookie:\t2\n\n\nThe filesystem under path '/' has no more CORRUPT files\n\n"
		}
		return head + "Cookie:\t2\nblk_1073741825\t/user/hadoop/data\nblk_1073741826\t/user/hadoop/data\n\n\nThe filesystem under path '/' has 2 CORRUPT files\n\n"
	})
	env := map[string]string{"HADOOP_USER_NAME": "hdfs"}
	args := []string{"fsck", "-fs", "hdfs://" + nn.rpcAddr, "-D", "dfs.namenode.http-address=" + nn.httpAddr, "/", "-list-corruptfileblocks"}
	r := runHDFS(t, env, args...)
	r.want(t, 255, "The list of corrupt blocks under path '/' are:\n"+
		"blk_1073741825\t/user/hadoop/data\n"+
		"blk_1073741826\t/user/hadoop/data\n"+
		"The filesystem under path '/' has 2 CORRUPT blocks\n")
	if q := nn.seen(); len(q) != 2 || q[0] != "ugi=hdfs&listcorruptfileblocks=1&path=%2F" || q[1] != q[0]+"&startblockafter=2" {
		t.Fatalf("queries %q", q)
	}
	corrupt = false
	r = runHDFS(t, env, args...)
	r.want(t, 0, "The filesystem under path '/' has 0 CORRUPT blocks\n")
}

// e2eNamespace and e2eBlocks are the smallest namespace and block map: "/" holds the
// directory "/a b" with one file of one block on 127.0.0.1:9866.
type e2eNamespace struct{}

func (e2eNamespace) Stat(_ context.Context, _, p string) (*fsck.File, error) {
	switch p {
	case "/", "/a b":
		return &fsck.File{Dir: true}, nil
	}
	return nil, nil
}

func (e2eNamespace) List(_ context.Context, _, dir, after string) ([]fsck.File, bool, error) {
	switch {
	case dir == "/" && after == "":
		return []fsck.File{{Name: "a b", Dir: true}}, false, nil
	case dir == "/a b" && after == "":
		return []fsck.File{{Name: "f", Length: 3, Replication: 1, Blocks: []fsck.Block{{ID: 1073741825, GenStamp: 1001, NumBytes: 3}}}}, false, nil
	}
	return nil, false, nil
}

func (e2eNamespace) FileOfBlock(context.Context, uint64) (string, error) { return "", nil }

type e2eBlocks struct{}

func (e2eBlocks) Replicas(fsck.Block) fsck.Replicas {
	return fsck.Replicas{Complete: true, Nodes: []fsck.Replica{{Node: fsck.Datanode{IP: "127.0.0.1", XferPort: 9866}, StorageID: "DS-1", State: fsck.Live}}}
}

func (e2eBlocks) Cluster() fsck.Cluster {
	return fsck.Cluster{LiveDatanodes: 1, Racks: 1, DefaultReplication: 1, MinReplication: 1, BlockPoolID: "BP-1-127.0.0.1-1"}
}

func (e2eBlocks) CorruptBlocks() []uint64 { return nil }

// The client against the real /fsck handler: the query it builds is the one the handler
// reads (an encoded path with a space included), and the exit status follows the report.
func TestFsckAgainstHandler(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn := startFsckNN(t, false, map[string]bool{"/a b": true}, func(string) string { return "" })
	hs := httptest.NewServer(fsck.Handler(fsck.Config{Namespace: e2eNamespace{}, Blocks: e2eBlocks{}}))
	t.Cleanup(hs.Close)
	env := map[string]string{"HADOOP_USER_NAME": "alice"}
	r := runHDFS(t, env, "fsck", "-fs", "hdfs://"+nn.rpcAddr, "-D", "dfs.namenode.http-address="+strings.TrimPrefix(hs.URL, "http://"),
		"/a b", "-files", "-blocks", "-locations")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, s := range []string{
		"FSCK started by alice (auth:SIMPLE) from /127.0.0.1 for path /a b at ",
		"\n/a b <dir>\n/a b/f 3 bytes, replicated: replication=1, 1 block(s):  OK\n" +
			"0. BP-1-127.0.0.1-1:blk_1073741825_1001 len=3 Live_repl=1  [DatanodeInfoWithStorage[127.0.0.1:9866,DS-1,DISK]]\n",
		"\n\n\nThe filesystem under path '/a b' is HEALTHY\n",
	} {
		if !strings.Contains(r.stdout, s) {
			t.Fatalf("missing %q in:\n%s", s, r.stdout)
		}
	}
}
