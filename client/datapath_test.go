package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/datanode"
	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/namenode"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// realCluster is a non-HA NameNode and DataNodes in-process, with short intervals.
type realCluster struct {
	nn   *namenode.NameNode
	dns  []*datanode.DataNode
	dirs map[*datanode.DataNode]string // data directory of each
	cl   *Client
}

func startRealCluster(t testing.TB, ctx context.Context, dataNodes int) *realCluster {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	c := conf.New()
	c.Set("dfs.namenode.name.dir", "file://"+t.TempDir())
	c.Set("dfs.namenode.rpc-address", "127.0.0.1:0")
	c.Set("dfs.namenode.http-address", "127.0.0.1:0")
	c.Set("dfs.heartbeat.interval", "50ms")
	c.Set("dfs.namenode.redundancy.interval.seconds", "50ms")
	c.Set("dfs.namenode.safemode.extension", "0")
	c.Set("dfs.namenode.fs-limits.min-block-size", "0")
	cfg, err := namenode.ConfigFromConf(c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = testcluster.Logger(t).Named("nn")
	cfg.Superuser = u.Username
	if _, err := namenode.Format(ctx, cfg, namenode.FormatOptions{NonInteractive: true, Force: true}); err != nil {
		t.Fatal(err)
	}
	nn, err := namenode.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.Start(ctx); err != nil {
		_ = nn.Stop()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nn.Stop() })
	rc := &realCluster{nn: nn, dirs: map[*datanode.DataNode]string{}}
	for i := 0; i < dataNodes; i++ {
		dir := t.TempDir()
		dn, err := datanode.New(datanode.Config{
			DataDirs: []string{dir}, Address: "127.0.0.1:0", IPCAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0",
			Hostname: "localhost", HeartbeatInterval: 20 * time.Millisecond, BlockReportInterval: time.Hour,
			MaxTransferThreads: 16, HandlerCount: 4, BytesPerChecksum: 512, SocketTimeout: 10 * time.Second,
			SocketWriteTimeout: 10 * time.Second, RetryInterval: 10 * time.Millisecond,
			NameNodes: []datanode.NameNodeAddr{{Addr: nn.RPCAddress()}}, Logger: testcluster.Logger(t).Named(fmt.Sprintf("dn%d", i+1)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := dn.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = dn.Stop() })
		rc.dns = append(rc.dns, dn)
		rc.dirs[dn] = dir
	}
	cc := conf.New()
	cc.Set(KeyRetryWindowBase, "10")
	cc.Set(KeyLocateFollowDelay, "20")
	cc.Set(KeySocketTimeout, "10000")
	rc.cl, err = New(Config{Conf: cc, User: u.Username, Logger: testcluster.Logger(t).Named("client"),
		Data: DataOptions{TruncatePollInterval: 20 * time.Millisecond}}, "hdfs://"+nn.RPCAddress())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.cl.Close() })
	rc.waitFor(t, ctx, fmt.Sprintf("%d live DataNodes", dataNodes), func() bool {
		var r hdfspb.GetDatanodeReportResponseProto
		err := rc.cl.Call(ctx, "getDatanodeReport", &hdfspb.GetDatanodeReportRequestProto{Type: hdfspb.DatanodeReportTypeProto_LIVE.Enum()}, &r)
		return err == nil && len(r.GetDi()) == dataNodes
	})
	return rc
}

// waitFor polls cond; the bound only guards against hanging.
func (rc *realCluster) waitFor(t testing.TB, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (rc *realCluster) dataNode(addr string) *datanode.DataNode {
	for _, dn := range rc.dns {
		if dn.TransferAddress() == addr {
			return dn
		}
	}
	return nil
}

func (rc *realCluster) locations(t *testing.T, ctx context.Context, path string) *hdfspb.LocatedBlocksProto {
	t.Helper()
	var r hdfspb.GetBlockLocationsResponseProto
	if err := rc.cl.Call(ctx, "getBlockLocations", &hdfspb.GetBlockLocationsRequestProto{Src: proto.String(path), Offset: proto.Uint64(0),
		Length: proto.Uint64(1 << 40)}, &r); err != nil {
		t.Fatal(err)
	}
	return r.GetLocations()
}

// TestDataPathWithRealCluster: a real NameNode and three real DataNodes. A multi-block
// file at replication 2 round-trips; it reads at once with a DataNode holding replicas
// stopped; a write survives the second DataNode of its pipeline stopping; append and
// checksums agree between replicas.
func TestDataPathWithRealCluster(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rc := startRealCluster(t, ctx, 3)
	cl := rc.cl
	const bs = 256 << 10
	data := testData(2*bs+54321, 21)

	// Multi-block round trip.
	writeFile(t, ctx, cl, "/data", data, CreateOptions{Replication: 2, BlockSize: bs, CreateParent: true})
	if got := readFile(t, ctx, cl, "/data"); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(data))
	}
	var lbs *hdfspb.LocatedBlocksProto
	rc.waitFor(t, ctx, "two replicas of every block", func() bool {
		lbs = rc.locations(t, ctx, "/data")
		for _, lb := range lbs.GetBlocks() {
			if len(lb.GetLocs()) != 2 {
				return false
			}
		}
		return true
	})
	if len(lbs.GetBlocks()) != 3 || lbs.GetFileLength() != uint64(len(data)) {
		t.Fatalf("NameNode has %d blocks, length %d", len(lbs.GetBlocks()), lbs.GetFileLength())
	}
	sum, err := cl.GetFileChecksum(ctx, "/data")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Algorithm != fmt.Sprintf("MD5-of-%dMD5-of-512CRC32C", bs/512) {
		t.Fatalf("checksum algorithm %s", sum.Algorithm)
	}

	// Stop the DataNode holding the first replica of the first block: reads go on at once.
	victim := rc.dataNode(datatransfer.XferAddr(lbs.GetBlocks()[0].GetLocs()[0]))
	if err := victim.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, ctx, cl, "/data"); !bytes.Equal(got, data) {
		t.Fatal("read with a DataNode down differs")
	}
	// Another replica of each block gives the same file checksum.
	if sum2, err := cl.GetFileChecksum(ctx, "/data"); err != nil || !bytes.Equal(sum2.Bytes, sum.Bytes) {
		t.Fatalf("checksum with a DataNode down: %x, %v; want %x", sum2.Bytes, err, sum.Bytes)
	}
}

// TestPipelineRecoveryWithRealDataNodes: the second DataNode of a write pipeline stops
// after an hflush; the writer recovers on the first and third, the file reads back
// whole, and its last block has the new generation stamp on two replicas.
func TestPipelineRecoveryWithRealDataNodes(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rc := startRealCluster(t, ctx, 3)
	cl := rc.cl
	data := testData(700_000, 22)
	w, err := cl.Create(ctx, "/p", CreateOptions{Replication: 3, BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[:300_000]); err != nil {
		t.Fatal(err)
	}
	if err := w.Hflush(); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	nodes := w.mu.nodes
	gs := w.mu.block.GetGenerationStamp()
	w.mu.Unlock()
	if len(nodes) != 3 {
		t.Fatalf("pipeline of %d nodes", len(nodes))
	}
	second := rc.dataNode(datatransfer.XferAddr(nodes[1]))
	if err := second.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[300_000:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, ctx, cl, "/p"); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes after recovery, want %d", len(got), len(data))
	}
	lb := rc.locations(t, ctx, "/p").GetBlocks()[0]
	if lb.GetB().GetGenerationStamp() <= gs || lb.GetB().GetNumBytes() != uint64(len(data)) {
		t.Fatalf("block after recovery %v, old generation stamp %d", lb.GetB(), gs)
	}
	for _, dn := range lb.GetLocs() {
		if datatransfer.XferAddr(dn) == second.TransferAddress() {
			t.Fatalf("the stopped DataNode %s still holds the block", datatransfer.XferAddr(dn))
		}
	}

}

// TestAppendWithRealCluster: append to a file whose last block is partial continues
// that block on its DataNodes (new generation stamp) and then adds blocks.
func TestAppendWithRealCluster(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rc := startRealCluster(t, ctx, 2)
	cl := rc.cl
	const bs = 256 << 10
	data := testData(bs+1000, 25)
	writeFile(t, ctx, cl, "/a", data, CreateOptions{Replication: 2, BlockSize: bs})
	more := testData(bs, 26)
	aw, err := cl.Append(ctx, "/a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := aw.Write(more); err != nil {
		t.Fatal(err)
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte(nil), data...), more...)
	if got := readFile(t, ctx, cl, "/a"); !bytes.Equal(got, want) {
		t.Fatalf("after append read %d bytes, want %d", len(got), len(want))
	}
	if n := len(rc.locations(t, ctx, "/a").GetBlocks()); n != 3 {
		t.Fatalf("%d blocks after append, want 3", n)
	}
}

// TestReadWhileWritingWithRealCluster: after hflush a new reader sees every byte
// written so far, the last block's length coming from a DataNode; appending to a
// file whose last block is full starts a new block.
func TestReadWhileWritingWithRealCluster(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rc := startRealCluster(t, ctx, 2)
	cl := rc.cl
	const bs = 256 << 10
	data := testData(bs+7000, 28)
	w, err := cl.Create(ctx, "/uc", CreateOptions{Replication: 2, BlockSize: bs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Hflush(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, ctx, cl, "/uc"); !bytes.Equal(got, data) {
		t.Fatalf("reader of a file being written got %d bytes, want %d", len(got), len(data))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	full := testData(bs, 29)
	writeFile(t, ctx, cl, "/full", full, CreateOptions{Replication: 2, BlockSize: bs})
	more := testData(1000, 30)
	aw, err := cl.Append(ctx, "/full")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := aw.Write(more); err != nil {
		t.Fatal(err)
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, ctx, cl, "/full"); !bytes.Equal(got, append(append([]byte(nil), full...), more...)) {
		t.Fatalf("after append to a full block read %d bytes", len(got))
	}
	if n := len(rc.locations(t, ctx, "/full").GetBlocks()); n != 2 {
		t.Fatalf("%d blocks, want 2", n)
	}
}

// TestTruncateWithRealCluster: a truncate on a block boundary is done at once; one
// inside a block waits for the DataNodes' block recovery; reads see the new length.
func TestTruncateWithRealCluster(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rc := startRealCluster(t, ctx, 2)
	cl := rc.cl
	const bs = 256 << 10
	data := testData(2*bs+1000, 27)
	writeFile(t, ctx, cl, "/t", data, CreateOptions{Replication: 2, BlockSize: bs})
	if done, err := cl.Truncate(ctx, "/t", 2*bs); err != nil || !done {
		t.Fatalf("truncate on a block boundary: %v, %v", done, err)
	}
	if got := readFile(t, ctx, cl, "/t"); !bytes.Equal(got, data[:2*bs]) {
		t.Fatalf("after truncate read %d bytes, want %d", len(got), 2*bs)
	}
	if done, err := cl.Truncate(ctx, "/t", bs+10); err != nil || done {
		t.Fatalf("truncate inside a block: %v, %v; want false after the recovery", done, err)
	}
	if got := readFile(t, ctx, cl, "/t"); !bytes.Equal(got, data[:bs+10]) {
		t.Fatalf("after truncate read %d bytes, want %d", len(got), bs+10)
	}
}

// TestCorruptReplicaOnDisk: a byte of one replica's block file is flipped; the read
// detects it, returns the right data from the other replica and reports the corrupt
// one, which the NameNode then no longer offers first.
func TestCorruptReplicaOnDisk(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rc := startRealCluster(t, ctx, 2)
	cl := rc.cl
	data := testData(200_000, 24)
	writeFile(t, ctx, cl, "/c", data, CreateOptions{Replication: 2, BlockSize: 1 << 20})
	// complete needs one reported replica; wait for the second DataNode's report.
	var lb *hdfspb.LocatedBlockProto
	rc.waitFor(t, ctx, "two replicas", func() bool {
		lb = rc.locations(t, ctx, "/c").GetBlocks()[0]
		return len(lb.GetLocs()) == 2
	})
	bad := rc.dataNode(datatransfer.XferAddr(lb.GetLocs()[0]))
	corruptOnDisk(t, rc.dirs[bad], lb.GetB().GetBlockId(), 70_000)

	r, err := cl.Open(ctx, "/c")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read with a corrupt replica: %d bytes, %v", len(got), err)
	}
	// The NameNode learnt of the corruption: it lists the good replica first, or
	// drops the corrupt one.
	rc.waitFor(t, ctx, "the corrupt replica to be known", func() bool {
		locs := rc.locations(t, ctx, "/c").GetBlocks()[0].GetLocs()
		return len(locs) > 0 && datatransfer.XferAddr(locs[0]) != bad.TransferAddress()
	})
}

// corruptOnDisk flips the byte at off of block id's file in the data directory dir.
func corruptOnDisk(t *testing.T, dir string, id uint64, off int64) {
	t.Helper()
	var found string
	m, _ := filepath.Glob(filepath.Join(dir, "current", "BP-*", "current", "finalized", "subdir*", "subdir*", fmt.Sprintf("blk_%d", id)))
	if len(m) > 0 {
		found = m[0]
	}
	if found == "" {
		t.Fatalf("block file blk_%d not found", id)
	}
	f, err := os.OpenFile(found, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}
