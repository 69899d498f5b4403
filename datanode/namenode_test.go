package datanode

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/user"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/datanode/storage"
	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/namenode"
	"github.com/hdfsha/hdfsha/namenode/namesystem"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// startRealNN formats and starts a non-HA NameNode with short intervals.
func startRealNN(t *testing.T, extra ...string) *namenode.NameNode {
	t.Helper()
	cfg := realNNConfig(t, extra...)
	if _, err := namenode.Format(context.Background(), cfg, namenode.FormatOptions{NonInteractive: true, Force: true}); err != nil {
		t.Fatal(err)
	}
	return runNN(t, cfg)
}

// runNN starts a NameNode on an existing name directory.
func runNN(t *testing.T, cfg namenode.Config) *namenode.NameNode {
	t.Helper()
	nn, err := namenode.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.Start(context.Background()); err != nil {
		_ = nn.Stop()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nn.Stop() })
	return nn
}

// realNNConfig is a non-HA NameNode's configuration with short intervals.
func realNNConfig(t *testing.T, extra ...string) namenode.Config {
	t.Helper()
	c := conf.New()
	c.Set("dfs.namenode.name.dir", "file://"+t.TempDir())
	c.Set("dfs.namenode.rpc-address", "127.0.0.1:0")
	c.Set("dfs.namenode.http-address", "127.0.0.1:0")
	c.Set("dfs.heartbeat.interval", "50ms")
	c.Set("dfs.namenode.redundancy.interval.seconds", "50ms")
	c.Set("dfs.namenode.safemode.extension", "0")
	c.Set("dfs.namenode.fs-limits.min-block-size", "0")
	for i := 0; i+1 < len(extra); i += 2 {
		c.Set(extra[i], extra[i+1])
	}
	cfg, err := namenode.ConfigFromConf(c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = testcluster.Logger(t).Named("nn")
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Superuser = u.Username
	return cfg
}

// nnCall is one ClientProtocol call to a NameNode.
type nnCall func(method string, req, resp proto.Message) error

// nnCaller returns, for a NameNode address, its ClientProtocol calls
// (bounded by ctx) over one client closed when the test ends.
func nnCaller(t *testing.T, ctx context.Context) func(addr string) nnCall {
	t.Helper()
	u, _ := user.Current()
	c, err := rpc.NewClient(rpc.DefaultClientConfig(u.Username))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return func(addr string) nnCall {
		return func(method string, req, resp proto.Message) error {
			return c.Call(ctx, addr, namesystem.ClientProtocol, method, req, resp)
		}
	}
}

// createWithBlock creates path for client with replication repl (1 MiB
// blocks) and adds its first block.
func createWithBlock(t *testing.T, callNN nnCall, path, client string, repl uint32) *hdfspb.LocatedBlockProto {
	t.Helper()
	if err := callNN("create", &hdfspb.CreateRequestProto{Src: proto.String(path), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o644)},
		ClientName: proto.String(client), CreateFlag: proto.Uint32(1), CreateParent: proto.Bool(true), Replication: proto.Uint32(repl),
		BlockSize: proto.Uint64(1 << 20)}, &hdfspb.CreateResponseProto{}); err != nil {
		t.Fatal(err)
	}
	var ab hdfspb.AddBlockResponseProto
	if err := callNN("addBlock", &hdfspb.AddBlockRequestProto{Src: proto.String(path), ClientName: proto.String(client)}, &ab); err != nil {
		t.Fatal(err)
	}
	return ab.GetBlock()
}

// writeAndComplete writes data as lb through its pipeline, closes the
// block and completes the file; it returns the block as completed.
func writeAndComplete(t *testing.T, ctx context.Context, callNN nnCall, path, client string, lb *hdfspb.LocatedBlockProto, data []byte) *hdfspb.ExtendedBlockProto {
	t.Helper()
	w, err := datatransfer.NewBlockWriter(ctx, datatransfer.WriteRequest{Block: lb.GetB(), Pipeline: lb.GetLocs(), ClientName: client,
		Stage: stageCreate, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	last := proto.Clone(lb.GetB()).(*hdfspb.ExtendedBlockProto)
	last.NumBytes = proto.Uint64(uint64(len(data)))
	waitFor(t, "complete", func() bool {
		var r hdfspb.CompleteResponseProto
		err := callNN("complete", &hdfspb.CompleteRequestProto{Src: proto.String(path), ClientName: proto.String(client), Last: last}, &r)
		return err == nil && r.GetResult()
	})
	return last
}

// TestWithRealNameNode: three DataNodes register with a real NameNode; a
// file written with addBlock and the codec's pipeline lands on all three,
// reads back, and deleting it makes the NameNode invalidate every replica.
func TestWithRealNameNode(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn := startRealNN(t)
	addr := nn.RPCAddress()
	var dns []*DataNode
	for i := 0; i < 3; i++ {
		dns = append(dns, realDN(t, addr, t.TempDir()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	callNN := nnCaller(t, ctx)(addr)
	waitFor(t, "three live DataNodes", func() bool {
		var r hdfspb.GetDatanodeReportResponseProto
		err := callNN("getDatanodeReport", &hdfspb.GetDatanodeReportRequestProto{Type: hdfspb.DatanodeReportTypeProto_LIVE.Enum()}, &r)
		return err == nil && len(r.GetDi()) == 3
	})
	for _, dn := range dns {
		waitFor(t, "the NameNode acknowledged as active", func() bool { return dn.ActiveNameNode() == addr })
		if dn.BlockPoolID() != nn.StorageInfo().BlockPoolID {
			t.Fatalf("bpid %q, NameNode's %q", dn.BlockPoolID(), nn.StorageInfo().BlockPoolID)
		}
	}

	const path, client = "/f", "DFSClient_dn_test"
	lb := createWithBlock(t, callNN, path, client, 3)
	if len(lb.GetLocs()) != 3 {
		t.Fatalf("addBlock gave %d locations", len(lb.GetLocs()))
	}
	data := randomData(700_000)
	writeAndComplete(t, ctx, callNN, path, client, lb, data)
	var gl hdfspb.GetBlockLocationsResponseProto
	if err := callNN("getBlockLocations", &hdfspb.GetBlockLocationsRequestProto{Src: proto.String(path), Offset: proto.Uint64(0), Length: proto.Uint64(1 << 30)}, &gl); err != nil {
		t.Fatal(err)
	}
	blocks := gl.GetLocations().GetBlocks()
	if len(blocks) != 1 || len(blocks[0].GetLocs()) != 3 {
		t.Fatalf("locations: %v", gl.GetLocations())
	}
	for _, loc := range blocks[0].GetLocs() {
		r, err := datatransfer.NewBlockReader(ctx, datatransfer.ReadRequest{Addr: datatransfer.XferAddr(loc), Block: blocks[0].GetB(),
			ClientName: client, Offset: 0, Length: int64(len(data))})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read from %s: %v", datatransfer.XferAddr(loc), err)
		}
	}

	// Delete the file: the NameNode invalidates the replicas through
	// heartbeats, and the DataNodes delete them.
	if err := callNN("delete", &hdfspb.DeleteRequestProto{Src: proto.String(path), Recursive: proto.Bool(false)}, &hdfspb.DeleteResponseProto{}); err != nil {
		t.Fatal(err)
	}
	for _, dn := range dns {
		waitFor(t, "replica deleted", func() bool { _, ok := dn.Store().Get(dn.BlockPoolID(), lb.GetB().GetBlockId()); return !ok })
	}
}

// realDN starts a DataNode of the real NameNode at addr on dir.
func realDN(t *testing.T, addr, dir string) *DataNode {
	t.Helper()
	cfg := testConfig(t)
	cfg.NameNodes = []NameNodeAddr{{Addr: addr}}
	cfg.DataDirs = []string{dir}
	dn, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := dn.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dn.Stop() })
	return dn
}

// TestReplicationAfterDataNodeLoss: a replica holder dies; the NameNode
// declares it dead and sends a TRANSFER to a survivor, which copies the
// replica to the third DataNode. When the dead one comes back, its replica
// is excess and the NameNode has it deleted.
func TestReplicationAfterDataNodeLoss(t *testing.T) {
	testcluster.CheckLeaks(t)
	// Dead after 2 × 100 ms + 10 × 50 ms.
	nn := startRealNN(t, "dfs.namenode.heartbeat.recheck-interval", "100")
	addr := nn.RPCAddress()
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	var dns []*DataNode
	for _, d := range dirs {
		dns = append(dns, realDN(t, addr, d))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	callNN := nnCaller(t, ctx)(addr)
	live := func() int {
		var r hdfspb.GetDatanodeReportResponseProto
		if err := callNN("getDatanodeReport", &hdfspb.GetDatanodeReportRequestProto{Type: hdfspb.DatanodeReportTypeProto_LIVE.Enum()}, &r); err != nil {
			return -1
		}
		return len(r.GetDi())
	}
	waitFor(t, "three live DataNodes", func() bool { return live() == 3 })
	for _, dn := range dns {
		waitFor(t, "active acknowledged", func() bool { return dn.ActiveNameNode() == addr })
	}

	const path, client = "/r2", "DFSClient_dn_test"
	lb := createWithBlock(t, callNN, path, client, 2)
	data := randomData(300_000)
	writeAndComplete(t, ctx, callNN, path, client, lb, data)
	id := lb.GetB().GetBlockId()
	holds := func(dn *DataNode) bool {
		r, ok := dn.Store().Get(lb.GetB().GetPoolId(), id)
		return ok && r.State == storage.StateFinalized
	}
	victim, spare := -1, -1
	for i, dn := range dns {
		if holds(dn) && victim < 0 {
			victim = i
		} else if !holds(dn) {
			spare = i
		}
	}
	if victim < 0 || spare < 0 {
		t.Fatalf("replicas not where expected (victim %d spare %d)", victim, spare)
	}
	if err := dns[victim].Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dead DataNode noticed", func() bool { return live() == 2 })
	waitFor(t, "re-replication to the spare", func() bool { return holds(dns[spare]) })
	got, err := clientRead(dns[spare], lb.GetB(), 0, int64(len(data)))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read of the new replica: %v", err)
	}

	// The dead DataNode returns with its replica: one too many, deleted.
	back := realDN(t, addr, dirs[victim])
	if !holds(back) {
		t.Fatal("the returning DataNode lost its replica")
	}
	waitFor(t, "three replicas become two", func() bool {
		n := 0
		for _, dn := range []*DataNode{back, dns[(victim+1)%3], dns[(victim+2)%3]} {
			if holds(dn) {
				n++
			}
		}
		return n == 2
	})
}

// TestLeaseRecoveryWithRealNameNode: the writer dies mid-block after an
// hflush; recoverLease makes the NameNode send a BlockRecoveryCommand, the
// primary DataNode recovers the replicas to the common length and commits,
// and the file closes with the data that reached the DataNodes.
func TestLeaseRecoveryWithRealNameNode(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn := startRealNN(t)
	addr := nn.RPCAddress()
	var dns []*DataNode
	for i := 0; i < 3; i++ {
		dns = append(dns, realDN(t, addr, t.TempDir()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	callNN := nnCaller(t, ctx)(addr)
	for _, dn := range dns {
		waitFor(t, "active acknowledged", func() bool { return dn.ActiveNameNode() == addr })
	}
	const path, client = "/lease", "DFSClient_dying"
	lb := createWithBlock(t, callNN, path, client, 3)
	data := randomData(123_456)
	w, err := datatransfer.NewBlockWriter(ctx, datatransfer.WriteRequest{Block: lb.GetB(), Pipeline: lb.GetLocs(), ClientName: client,
		Stage: stageCreate, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(false); err != nil {
		t.Fatal(err)
	}
	w.Abort() // the writer dies: no last packet, no complete

	waitFor(t, "recoverLease closes the file", func() bool {
		var r hdfspb.RecoverLeaseResponseProto
		err := callNN("recoverLease", &hdfspb.RecoverLeaseRequestProto{Src: proto.String(path), ClientName: proto.String("DFSClient_other")}, &r)
		return err == nil && r.GetResult()
	})
	var fi hdfspb.GetFileInfoResponseProto
	if err := callNN("getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String(path)}, &fi); err != nil {
		t.Fatal(err)
	}
	if fi.GetFs().GetLength() != uint64(len(data)) {
		t.Fatalf("length after lease recovery %d, want %d", fi.GetFs().GetLength(), len(data))
	}
	var gl hdfspb.GetBlockLocationsResponseProto
	if err := callNN("getBlockLocations", &hdfspb.GetBlockLocationsRequestProto{Src: proto.String(path), Offset: proto.Uint64(0), Length: proto.Uint64(1 << 30)}, &gl); err != nil {
		t.Fatal(err)
	}
	b := gl.GetLocations().GetBlocks()[0]
	if b.GetB().GetGenerationStamp() <= lb.GetB().GetGenerationStamp() {
		t.Fatalf("generation stamp not bumped: %v", b.GetB())
	}
	for _, loc := range b.GetLocs() {
		r, err := datatransfer.NewBlockReader(ctx, datatransfer.ReadRequest{Addr: datatransfer.XferAddr(loc), Block: b.GetB(), ClientName: "DFSClient_other",
			Length: int64(len(data))})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read after recovery from %s: %v", datatransfer.XferAddr(loc), err)
		}
	}
}

// TestCorruptReplicaWithRealNameNode: one replica is corrupted on disk; a
// reader finds the mismatch and reports it (reportBadBlocks, as a client
// does); the NameNode re-replicates from a good copy and has the corrupt
// one deleted.
func TestCorruptReplicaWithRealNameNode(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn := startRealNN(t)
	addr := nn.RPCAddress()
	var dns []*DataNode
	for i := 0; i < 3; i++ {
		dns = append(dns, realDN(t, addr, t.TempDir()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	callNN := nnCaller(t, ctx)(addr)
	for _, dn := range dns {
		waitFor(t, "active acknowledged", func() bool { return dn.ActiveNameNode() == addr })
	}
	const path, client = "/corrupt", "DFSClient_dn_test"
	lb := createWithBlock(t, callNN, path, client, 2)
	data := randomData(100_000)
	last := writeAndComplete(t, ctx, callNN, path, client, lb, data)
	bpid, id := lb.GetB().GetPoolId(), lb.GetB().GetBlockId()
	byUUID := map[string]*DataNode{}
	for _, dn := range dns {
		byUUID[dn.DatanodeUUID()] = dn
	}
	bad := byUUID[lb.GetLocs()[0].GetId().GetDatanodeUuid()]
	rep, ok := bad.Store().Get(bpid, id)
	if !ok {
		t.Fatal("replica missing")
	}
	f, err := os.OpenFile(rep.BlockFile, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{^data[777]}, 777); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r, err := datatransfer.NewBlockReader(ctx, datatransfer.ReadRequest{Addr: bad.TransferAddress(), Block: last, ClientName: client, Length: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	r.Close()
	if !errors.Is(err, datatransfer.ErrChecksum) {
		t.Fatalf("read of the corrupt replica: %v", err)
	}
	badLoc := proto.Clone(lb).(*hdfspb.LocatedBlockProto)
	badLoc.Locs = badLoc.Locs[:1]
	if len(badLoc.StorageIDs) > 0 {
		badLoc.StorageIDs = badLoc.StorageIDs[:1]
	}
	if len(badLoc.StorageTypes) > 0 {
		badLoc.StorageTypes = badLoc.StorageTypes[:1]
	}
	if err := callNN("reportBadBlocks", &hdfspb.ReportBadBlocksRequestProto{Blocks: []*hdfspb.LocatedBlockProto{badLoc}}, &hdfspb.ReportBadBlocksResponseProto{}); err != nil {
		t.Fatal(err)
	}
	good := func(dn *DataNode) bool {
		r, ok := dn.Store().Get(bpid, id)
		if !ok || r.State != storage.StateFinalized {
			return false
		}
		_, err := clientRead(dn, last, 0, int64(len(data)))
		return err == nil
	}
	waitFor(t, "two good replicas and the corrupt one gone", func() bool {
		n := 0
		for _, dn := range dns {
			if good(dn) {
				n++
			}
		}
		_, stillBad := bad.Store().Get(bpid, id)
		return n == 2 && !stillBad
	})
}

// TestNameNodeRestart: a restarted NameNode does not know the DataNodes;
// they register again and send full reports, and the file's locations come
// back without a new write.
func TestNameNodeRestart(t *testing.T) {
	testcluster.CheckLeaks(t)
	cfg := realNNConfig(t, "dfs.namenode.rpc-address", testcluster.ReserveAddr(t, "127.0.0.1"))
	if _, err := namenode.Format(context.Background(), cfg, namenode.FormatOptions{NonInteractive: true, Force: true}); err != nil {
		t.Fatal(err)
	}
	nn := runNN(t, cfg)
	addr := nn.RPCAddress()
	var dns []*DataNode
	for i := 0; i < 2; i++ {
		dns = append(dns, realDN(t, addr, t.TempDir()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	callNN := nnCaller(t, ctx)(addr)
	for _, dn := range dns {
		waitFor(t, "active acknowledged", func() bool { return dn.ActiveNameNode() == addr })
	}
	const path, client = "/restart", "DFSClient_dn_test"
	lb := createWithBlock(t, callNN, path, client, 2)
	data := randomData(50_000)
	writeAndComplete(t, ctx, callNN, path, client, lb, data)

	if err := nn.Stop(); err != nil {
		t.Fatal(err)
	}
	runNN(t, cfg)
	waitFor(t, "both locations known to the restarted NameNode", func() bool {
		var gl hdfspb.GetBlockLocationsResponseProto
		err := callNN("getBlockLocations", &hdfspb.GetBlockLocationsRequestProto{Src: proto.String(path), Offset: proto.Uint64(0), Length: proto.Uint64(1 << 30)}, &gl)
		bs := gl.GetLocations().GetBlocks()
		return err == nil && len(bs) == 1 && len(bs[0].GetLocs()) == 2
	})
}
