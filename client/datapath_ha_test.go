package client

import (
	"bytes"
	"context"
	"fmt"
	"os/user"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/datanode"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// TestWriteAcrossFailover: two NameNodes on three JournalNodes, three DataNodes
// reporting to both. A file is written half, flushed, the NameNodes swap roles, the
// rest is written through the same writer (addBlock, complete on the new active),
// and the whole file reads back from the new active at once.
func TestWriteAcrossFailover(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	ha, nns := startRealHA(t, ctx, map[string]string{
		"dfs.heartbeat.interval":                   "50ms",
		"dfs.namenode.redundancy.interval.seconds": "50ms",
		"dfs.namenode.safemode.extension":          "0",
		"dfs.namenode.fs-limits.min-block-size":    "0",
		"dfs.ha.tail-edits.period":                 "50ms",
	}, u.Username)
	byUser := commonpb.HARequestSource_REQUEST_BY_USER
	if err := nns[0].TransitionToActive(ctx, byUser); err != nil {
		t.Fatal(err)
	}
	g := testcluster.NewGroup(t) // the DataNodes, stopped before the NameNodes
	for i := 0; i < 3; i++ {
		dcfg, err := datanode.ConfigFromConf(ha.Conf(t))
		if err != nil {
			t.Fatal(err)
		}
		dcfg.DataDirs = []string{t.TempDir()}
		dcfg.Address, dcfg.IPCAddress, dcfg.HTTPAddress = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		dcfg.Hostname = "localhost"
		dcfg.HeartbeatInterval = 20 * time.Millisecond
		dcfg.RetryInterval = 10 * time.Millisecond
		dcfg.SocketTimeout, dcfg.SocketWriteTimeout = 10*time.Second, 10*time.Second
		dcfg.Logger = testcluster.Logger(t).Named(fmt.Sprintf("dn%d", i+1))
		dn, err := datanode.New(dcfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Start(ctx, fmt.Sprintf("dn%d", i+1), dn); err != nil {
			t.Fatal(err)
		}
	}
	cc := ha.Conf(t)
	cc.Set(KeyLocateFollowDelay, "20")
	cc.Set(KeyRetryWindowBase, "10")
	cc.Set(KeyFailoverSleepBase, "10")
	cc.Set(KeyFailoverSleepMax, "50")
	cl, err := New(Config{Conf: cc, User: u.Username, Logger: testcluster.Logger(t).Named("client")}, "hdfs://"+ha.Nameservice)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rc := &realCluster{cl: cl}
	rc.waitFor(t, ctx, "three live DataNodes", func() bool {
		var r hdfspb.GetDatanodeReportResponseProto
		err := cl.Call(ctx, "getDatanodeReport", &hdfspb.GetDatanodeReportRequestProto{Type: hdfspb.DatanodeReportTypeProto_LIVE.Enum()}, &r)
		return err == nil && len(r.GetDi()) == 3
	})

	const bs = 256 << 10
	data := testData(3*bs+777, 31)
	w, err := cl.Create(ctx, "/ha", CreateOptions{Replication: 2, BlockSize: bs})
	if err != nil {
		t.Fatal(err)
	}
	half := len(data) / 2
	if _, err := w.Write(data[:half]); err != nil {
		t.Fatal(err)
	}
	if err := w.Hflush(); err != nil {
		t.Fatal(err)
	}
	if err := nns[0].TransitionToStandby(ctx, byUser); err != nil {
		t.Fatal(err)
	}
	if err := nns[1].TransitionToActive(ctx, byUser); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[half:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, ctx, cl, "/ha"); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes after the failover, want %d", len(got), len(data))
	}
	if cl.Active() != ha.NameNodes[1].RPCAddress {
		t.Fatalf("client talks to %q, want nn2", cl.Active())
	}
}
