package namenode

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/datanode"
	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// lastLocalTxID is the last txid of a stopped non-HA NameNode's edits.
func lastLocalTxID(t *testing.T, cfg Config) int64 {
	t.Helper()
	dir, err := editlog.EditsDirFromConf(cfg.Conf)
	if err != nil {
		t.Fatal(err)
	}
	lj, err := editlog.OpenLocal(vfs.Default, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lj.Close()
	last, err := lj.ReadFrom(context.Background(), 1, func(int64, []byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return last
}

// blocksConfig is a non-HA NameNode on a fixed address with quick
// heartbeats and small blocks, for a real DataNode.
func blocksConfig(t *testing.T, dir, rpcAddr string) Config {
	c := conf.New()
	for k, v := range map[string]string{
		"dfs.namenode.name.dir": "file://" + dir, "dfs.namenode.rpc-address": rpcAddr, "dfs.namenode.http-address": "127.0.0.1:0",
		"dfs.replication": "1", "dfs.blocksize": "1048576", "dfs.namenode.fs-limits.min-block-size": "0",
		"dfs.heartbeat.interval": "100ms", "dfs.namenode.safemode.extension": "0", "dfs.namenode.resource.du.reserved": "1",
		"dfs.namenode.redundancy.interval.seconds": "50ms",
	} {
		c.Set(k, v)
	}
	cfg, err := ConfigFromConf(c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = testcluster.Logger(t)
	cfg.Superuser = "hdfs"
	return cfg
}

func writeFile(t *testing.T, addr, p string, data []byte) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := client.New(client.Config{User: "hdfs", Logger: testcluster.Logger(t).Named("client")}, "hdfs://"+addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	w, err := cl.Create(ctx, p, client.CreateOptions{Replication: 1, BlockSize: 1 << 20, CreateParent: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	resp := &hdfspb.GetBlockLocationsResponseProto{}
	if err := call(t, addr, "hdfs", "getBlockLocations", &hdfspb.GetBlockLocationsRequestProto{Src: proto.String(p), Offset: proto.Uint64(0), Length: proto.Uint64(1 << 30)}, resp); err != nil {
		t.Fatal(err)
	}
	return resp.GetLocations().GetBlocks()[0].GetB().GetBlockId()
}

func readFile(t *testing.T, addr, p string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := client.New(client.Config{User: "hdfs", Logger: testcluster.Logger(t).Named("client")}, "hdfs://"+addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	r, err := cl.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func blockFile(dataDir string, id uint64) string {
	m, _ := filepath.Glob(filepath.Join(dataDir, "current", "BP-*", "current", "finalized", "subdir*", "subdir*", fmt.Sprintf("blk_%d", id)))
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

// TestRecoveryKeepsUnknownReplicas: a real DataNode keeps its data
// directory across the recovery. A file mirrored to the sink is readable
// from the recovered, read-only NameNode; the replica of a file written
// after the last mirrored edit (unknown to the recovered namespace) is not
// deleted while read-only, and is deleted once the cluster is writable.
func TestRecoveryKeepsUnknownReplicas(t *testing.T) {
	testcluster.CheckLeaks(t)
	g := testcluster.NewGroup(t)
	addr := testcluster.ReserveAddr(t, "127.0.0.1")
	src := &recoverySource{cfg: blocksConfig(t, t.TempDir(), addr)}
	if _, err := Format(context.Background(), src.cfg, FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}
	startAt := func(name string, cfg Config) *NameNode {
		t.Helper()
		nn, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Start(context.Background(), name, nn); err != nil {
			t.Fatal(err)
		}
		return nn
	}
	// Live, and its first heartbeat's storage report in: placement needs a
	// block's worth of room, and registration alone reports none.
	live := func(nn *NameNode) func() bool {
		return func() bool { b := nn.Namesystem().Stats().Blocks; return b.Live == 1 && b.Remaining >= 1<<20 }
	}
	nn := startAt("source", src.cfg)
	dataDir := t.TempDir()
	dcfg := datanode.Config{
		DataDirs: []string{dataDir}, Address: testcluster.ReserveAddr(t, "127.0.0.1"), IPCAddress: testcluster.ReserveAddr(t, "127.0.0.1"),
		HTTPAddress: testcluster.ReserveAddr(t, "127.0.0.1"), Hostname: "localhost", NameNodes: []datanode.NameNodeAddr{{Addr: addr}},
		HeartbeatInterval: 100 * time.Millisecond, BlockReportInterval: time.Hour, MaxTransferThreads: 16, HandlerCount: 4, BytesPerChecksum: 512,
		SocketTimeout: 10 * time.Second, SocketWriteTimeout: 10 * time.Second, RetryInterval: 10 * time.Millisecond,
		User: "hdfs", Logger: testcluster.Logger(t).Named("dn1"),
	}
	dn, err := datanode.New(dcfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background(), "dn1", dn); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dn1 live", live(nn))
	mirrored := bytes.Repeat([]byte("mirrored "), 20000)
	writeFile(t, addr, "/kept/mirrored", mirrored)
	if err := g.Stop("source"); err != nil {
		t.Fatal(err)
	}
	src.lastTxID = lastLocalTxID(t, src.cfg)
	sinkDir := buildSink(t, src, 3)

	// A file the mirror never saw.
	nn = startAt("source", src.cfg)
	waitFor(t, "dn1 live again", live(nn))
	lost := bytes.Repeat([]byte("unmirrored "), 20000)
	lostID := writeFile(t, addr, "/kept/unmirrored", lost)
	if blockFile(dataDir, lostID) == "" {
		t.Fatal("the unmirrored file's replica is not on the DataNode")
	}
	if err := g.Stop("source"); err != nil {
		t.Fatal(err)
	}

	// Recovery on the same address, the DataNode still running.
	rcfg := blocksConfig(t, t.TempDir(), addr)
	nn = startAt("recovered", recoveryConfig(rcfg, sinkDir, true))
	waitFor(t, "dn1 live on the recovered NameNode", live(nn))
	waitFor(t, "the mirrored file readable from the recovered NameNode", func() bool {
		got, err := readFile(t, addr, "/kept/mirrored")
		return err == nil && bytes.Equal(got, mirrored)
	})
	if exists(t, addr, "/kept/unmirrored") {
		t.Fatal("the recovered namespace has a file the mirror never saw")
	}
	// The DataNode reported the unknown replica at registration; give the
	// NameNode many heartbeats to (wrongly) order its deletion.
	time.Sleep(30 * dcfg.HeartbeatInterval)
	if blockFile(dataDir, lostID) == "" {
		t.Fatal("the read-only NameNode had a replica it does not know deleted")
	}
	if err := g.Stop("recovered"); err != nil {
		t.Fatal(err)
	}

	// Writable again: the unknown replica goes, as after any restart.
	startAt("writable", rcfg)
	waitFor(t, "the unknown replica deleted by the writable NameNode", func() bool { return blockFile(dataDir, lostID) == "" })
	got, err := readFile(t, addr, "/kept/mirrored")
	if err != nil || !bytes.Equal(got, mirrored) {
		t.Fatalf("the mirrored file after switching back: %v", err)
	}
	if err := g.Stop("writable"); err != nil {
		t.Fatal(err)
	}
}
