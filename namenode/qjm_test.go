package namenode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/journalnode"
	"github.com/hdfsha/hdfsha/namenode/namesystem"
	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// startQJMNameNode lays out a nameservice of nameNodes NameNodes sharing
// three JournalNodes, starts the JournalNodes, formats nn1 (which formats
// the JournalNodes) and starts it, active: with one NameNode it is not HA
// and starts active; with more it starts standby and is made active.
func startQJMNameNode(t testing.TB, handlers, nameNodes int) (*NameNode, *testcluster.HA, *testcluster.Group) {
	ha := testcluster.NewHA(t, testcluster.HAOptions{NameNodes: nameNodes, JournalNodes: 3})
	g := testcluster.NewGroup(t)
	for i := range ha.JournalNodes {
		jcfg, err := journalnode.ConfigFromConf(ha.JournalNodeConf(t, i))
		if err != nil {
			t.Fatal(err)
		}
		jcfg.Logger = testcluster.Logger(t).Named(ha.JournalNodes[i].ID)
		jn, err := journalnode.New(jcfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Start(context.Background(), ha.JournalNodes[i].ID, jn); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := ConfigFromConf(ha.NameNodeConf(t, 0), ha.Nameservice, ha.NameNodes[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = testcluster.Logger(t).Named("nn1")
	cfg.Superuser = "hdfs"
	if handlers > 0 {
		cfg.HandlerCount = handlers
	}
	if _, err := Format(context.Background(), cfg, FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}
	nn, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background(), "nn1", nn); err != nil {
		t.Fatal(err)
	}
	makeActive(t, nn)
	return nn, ha, g
}

// makeActive makes an HA NameNode active (a non-HA one already is).
func makeActive(t testing.TB, nn *NameNode) {
	t.Helper()
	if !nn.cfg.HA {
		return
	}
	if err := nn.TransitionToActive(context.Background(), commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
		t.Fatal(err)
	}
}

// TestQJMNameNode: with dfs.namenode.shared.edits.dir the NameNode formats
// the JournalNodes, logs to them, and replays from them after a restart.
func TestQJMNameNode(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn, ha, _ := startQJMNameNode(t, 0, 2)
	mkdir(t, nn.RPCAddress(), "/qjm/a")
	// nn2's name directory is empty, but the JournalNodes hold data:
	// -nonInteractive refuses, naming the quorum journal.
	cfg2, err := ConfigFromConf(ha.NameNodeConf(t, 1), ha.Nameservice, ha.NameNodes[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if _, err := Format(context.Background(), cfg2, FormatOptions{NonInteractive: true, Err: &stderr}); !errors.Is(err, ErrFormatAborted) ||
		!strings.HasPrefix(stderr.String(), "Running in non-interactive mode, and data appears to exist in QJM to ["+ha.JournalNodes[0].RPCAddress) {
		t.Fatalf("format of nn2 over formatted JournalNodes: %v\n%s", err, stderr.String())
	}
	cfg := nn.cfg
	if err := nn.Stop(); err != nil {
		t.Fatal(err)
	}
	nn2 := startNN(t, cfg)
	defer nn2.Stop()
	makeActive(t, nn2)
	if !exists(t, nn2.RPCAddress(), "/qjm/a") {
		t.Fatal("/qjm/a lost across restart with the quorum journal")
	}
	// -force reformats JournalNodes that hold data (FormatRequestProto.force).
	if err := nn2.Stop(); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	cfg2.Superuser = "hdfs"
	si, err := Format(context.Background(), cfg2, FormatOptions{Force: true, Err: &stderr})
	if err != nil || !strings.Contains(stderr.String(), "Formatting anyway") {
		t.Fatalf("format -force over formatted JournalNodes: %v\n%s", err, stderr.String())
	}
	nn3 := startNN(t, cfg2)
	defer nn3.Stop()
	makeActive(t, nn3)
	if nn3.StorageInfo().ClusterID != si.ClusterID || exists(t, nn3.RPCAddress(), "/qjm/a") {
		t.Fatal("the forced format did not start a new namespace on the JournalNodes")
	}
	mkdir(t, nn3.RPCAddress(), "/qjm/b")
}

// TestQuorumLossStopsNameNode: a non-HA NameNode on a quorum journal (an
// HA one steps down instead: TestHAQuorumLossStepsDown). With two of three
// JournalNodes gone a mkdirs is not acknowledged, the NameNode fails and
// closes its RPC server, and stays failed after the JournalNodes return.
func TestQuorumLossStopsNameNode(t *testing.T) {
	testcluster.CheckLeaks(t)
	nn, _, g := startQJMNameNode(t, 0, 1)
	addr := nn.RPCAddress()
	mkdir(t, addr, "/ok")
	for _, id := range []string{"jn2", "jn3"} {
		if err := g.Stop(id); err != nil {
			t.Fatal(err)
		}
	}
	err := call(t, addr, "hdfs", "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String("/lost"), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, &hdfspb.MkdirsResponseProto{})
	if err == nil {
		t.Fatal("mkdirs acknowledged without a journal quorum")
	}
	if nn.Failed() == nil {
		t.Fatal("NameNode not failed after the quorum loss")
	}
	// The RPC server closes: calls stop being answered.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := call(t, addr, "hdfs", "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String("/ok")}, &hdfspb.GetFileInfoResponseProto{})
		if err != nil && !errors.Is(err, rpc.ErrIO) {
			break // connection refused: the server is gone
		}
		if time.Now().After(deadline) {
			t.Fatalf("RPC server still answering after the failure: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkNameNodeRPC measures create, mkdirs and getFileInfo through RPC
// from 64 goroutines against a NameNode logging to three JournalNodes on
// loopback (fsync on). ops/s = b.N / elapsed.
func BenchmarkNameNodeRPC(b *testing.B) {
	nn, _, _ := startQJMNameNode(b, 64, 1) // dfs.namenode.handler.count=64
	addr := nn.RPCAddress()
	mkdir(b, addr, "/bench")
	var seq atomic.Int64
	run := func(b *testing.B, fn func(c *rpc.Client, i int64) error) {
		b.SetParallelism((64 + 1) / 2) // × GOMAXPROCS(2) = 64 goroutines
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			c, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs"))
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			for pb.Next() {
				if err := fn(c, seq.Add(1)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	}
	ctx := context.Background()
	b.Run("mkdirs", func(b *testing.B) {
		run(b, func(c *rpc.Client, i int64) error {
			return c.Call(ctx, addr, namesystem.ClientProtocol, "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(fmt.Sprintf("/bench/d%d/x%d", i%64, i)),
				Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, &hdfspb.MkdirsResponseProto{})
		})
	})
	b.Run("create", func(b *testing.B) {
		run(b, func(c *rpc.Client, i int64) error {
			return c.Call(ctx, addr, namesystem.ClientProtocol, "create", &hdfspb.CreateRequestProto{Src: proto.String(fmt.Sprintf("/bench/f%d/x%d", i%64, i)),
				Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o644)}, ClientName: proto.String(fmt.Sprintf("bench-%d", i%64)), CreateFlag: proto.Uint32(1),
				CreateParent: proto.Bool(true), Replication: proto.Uint32(3), BlockSize: proto.Uint64(128 << 20)}, &hdfspb.CreateResponseProto{})
		})
	})
	b.Run("fileStatus", func(b *testing.B) {
		run(b, func(c *rpc.Client, i int64) error {
			return c.Call(ctx, addr, namesystem.ClientProtocol, "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String(fmt.Sprintf("/bench/d%d", i%64))}, &hdfspb.GetFileInfoResponseProto{})
		})
	})
}

var _ testcluster.Daemon = (*NameNode)(nil)
