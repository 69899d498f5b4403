package datanode

import (
	"context"
	"os"
	"os/user"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/datanode/storage"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/journalnode"
	"github.com/hdfsha/hdfsha/namenode"
	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// TestHAFailoverWithDataNodes: DataNodes configured with an HA nameservice
// report to both NameNodes and obey only the active one. After a failover
// the new active knows every replica location at once, and its commands
// (an invalidation after a delete) are carried out.
func TestHAFailoverWithDataNodes(t *testing.T) {
	testcluster.CheckLeaks(t)
	ha := testcluster.NewHA(t, testcluster.HAOptions{NameNodes: 2, JournalNodes: 3, Extra: map[string]string{
		"dfs.heartbeat.interval":                   "50ms",
		"dfs.namenode.redundancy.interval.seconds": "50ms",
		"dfs.namenode.safemode.extension":          "0",
		"dfs.namenode.fs-limits.min-block-size":    "0",
	}})
	g := testcluster.NewGroup(t)
	log := testcluster.Logger(t)
	for i, l := range ha.JournalNodes {
		jcfg, err := journalnode.ConfigFromConf(ha.JournalNodeConf(t, i))
		if err != nil {
			t.Fatal(err)
		}
		jcfg.Logger = log.Named(l.ID)
		d, err := journalnode.New(jcfg)
		if err != nil {
			t.Fatal(err)
		}
		g.MustStart(l.ID, d)
	}
	u, _ := user.Current()
	var cfgs []namenode.Config
	for i, l := range ha.NameNodes {
		cfg, err := namenode.ConfigFromConf(ha.NameNodeConf(t, i), ha.Nameservice, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Logger = log.Named(l.ID)
		cfg.Superuser = u.Username
		cfg.TailPeriod = 2 * time.Millisecond
		cfg.TailBackoffMax = 20 * time.Millisecond
		cfg.DUReserved = 1
		cfgs = append(cfgs, cfg)
	}
	if _, err := namenode.Format(context.Background(), cfgs[0], namenode.FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(cfgs[1].NameDir, os.DirFS(cfgs[0].NameDir)); err != nil {
		t.Fatal(err)
	}
	var nns []*namenode.NameNode
	for i, l := range ha.NameNodes {
		nn, err := namenode.New(cfgs[i])
		if err != nil {
			t.Fatal(err)
		}
		g.MustStart(l.ID, nn)
		nns = append(nns, nn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := nns[0].TransitionToActive(ctx, commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
		t.Fatal(err)
	}

	var dns []*DataNode
	for i := 0; i < 3; i++ {
		cfg, err := ConfigFromConf(ha.Conf(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.NameNodes) != 2 || cfg.Nameservice != ha.Nameservice {
			t.Fatalf("NameNodes from the HA configuration: %+v", cfg.NameNodes)
		}
		tc := testConfig(t)
		tc.NameNodes, tc.Nameservice = cfg.NameNodes, cfg.Nameservice
		dn, err := New(tc)
		if err != nil {
			t.Fatal(err)
		}
		g.MustStart("dn"+string(rune('1'+i)), dn)
		dns = append(dns, dn)
	}
	nn1, nn2 := ha.NameNodes[0].RPCAddress, ha.NameNodes[1].RPCAddress
	for _, dn := range dns {
		waitFor(t, "nn1 acknowledged as active", func() bool { return dn.ActiveNameNode() == nn1 })
	}

	at := nnCaller(t, ctx)
	callNN := func(addr, method string, req, resp proto.Message) error { return at(addr)(method, req, resp) }
	const path, client = "/ha", "DFSClient_dn_test"
	lb := createWithBlock(t, at(nn1), path, client, 3)
	data := randomData(200_000)
	writeAndComplete(t, ctx, at(nn1), path, client, lb, data)

	// Failover: nn1 steps down, nn2 becomes active.
	if err := nns[0].TransitionToStandby(ctx, commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
		t.Fatal(err)
	}
	if err := nns[1].TransitionToActive(ctx, commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
		t.Fatal(err)
	}
	var gl hdfspb.GetBlockLocationsResponseProto
	if err := callNN(nn2, "getBlockLocations", &hdfspb.GetBlockLocationsRequestProto{Src: proto.String(path), Offset: proto.Uint64(0), Length: proto.Uint64(1 << 30)}, &gl); err != nil {
		t.Fatal(err)
	}
	if bs := gl.GetLocations().GetBlocks(); len(bs) != 1 || len(bs[0].GetLocs()) != 3 {
		t.Fatalf("the new active's locations right after failover: %v", gl.GetLocations())
	}
	// The fence acknowledges nn2 once it claims a txid above nn1's last
	// claim. Hadoop's new active reports its last written txid, which its
	// own segment start puts above the old active's; hdfsha's NameNode
	// reports its last applied txid (namesystem.haStatus), which may equal
	// nn1's last claim until nn2 logs an edit. One write settles it.
	if err := callNN(nn2, "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String("/after-failover"), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)},
		CreateParent: proto.Bool(true)}, &hdfspb.MkdirsResponseProto{}); err != nil {
		t.Fatal(err)
	}
	for _, dn := range dns {
		waitFor(t, "nn2 acknowledged as active", func() bool { return dn.ActiveNameNode() == nn2 })
	}
	// The new active's invalidations are obeyed.
	if err := callNN(nn2, "delete", &hdfspb.DeleteRequestProto{Src: proto.String(path), Recursive: proto.Bool(false)}, &hdfspb.DeleteResponseProto{}); err != nil {
		t.Fatal(err)
	}
	for _, dn := range dns {
		waitFor(t, "replica deleted", func() bool {
			r, ok := dn.Store().Get(lb.GetB().GetPoolId(), lb.GetB().GetBlockId())
			return !ok || r.State != storage.StateFinalized
		})
	}
}
