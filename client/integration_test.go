package client

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/journalnode"
	"github.com/hdfsha/hdfsha/namenode"
	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// TestFailoverBetweenRealNameNodes: two real NameNodes on three JournalNodes (nn2
// bootstrapped from nn1). The client finds the active, follows a failover, and a delete
// retried on the new active with the same client id and call id is answered from the retry
// cache instead of running again.
func TestFailoverBetweenRealNameNodes(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ha, nns := startRealHA(t, ctx, nil, "hdfs")
	byUser := commonpb.HARequestSource_REQUEST_BY_USER
	if err := nns[1].TransitionToActive(ctx, byUser); err != nil {
		t.Fatal(err)
	}

	cl, err := New(Config{Conf: ha.Conf(t), User: "hdfs", Logger: testcluster.Logger(t)}, "hdfs://"+ha.Nameservice)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	mkdir := func(p string) {
		t.Helper()
		var resp hdfspb.MkdirsResponseProto
		if err := cl.Call(ctx, "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(p), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, &resp); err != nil {
			t.Fatal(err)
		}
	}
	mkdir("/a") // nn1 (standby) refuses, nn2 answers
	if cl.Active() != ha.NameNodes[1].RPCAddress {
		t.Fatalf("Active = %q, want nn2 %s", cl.Active(), ha.NameNodes[1].RPCAddress)
	}

	// A delete runs on nn2; its answer is "lost"; nn2 hands over to nn1; the retry, same
	// client id and call id, goes to nn1.
	rc, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs"))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	del := &hdfspb.DeleteRequestProto{Src: proto.String("/a"), Recursive: proto.Bool(true)}
	a := rc.NewAttempt()
	var resp hdfspb.DeleteResponseProto
	if err := rc.Call(ctx, ha.NameNodes[1].RPCAddress, ClientProtocol, "delete", del, &resp, rpc.WithAttempt(a)); err != nil || !resp.GetResult() {
		t.Fatalf("delete on nn2: %v %v", resp.GetResult(), err)
	}
	if err := nns[1].TransitionToStandby(ctx, byUser); err != nil {
		t.Fatal(err)
	}
	if err := nns[0].TransitionToActive(ctx, byUser); err != nil {
		t.Fatal(err)
	}
	resp.Reset()
	if err := rc.Call(ctx, ha.NameNodes[0].RPCAddress, ClientProtocol, "delete", del, &resp, rpc.WithAttempt(a.Retry())); err != nil || !resp.GetResult() {
		t.Fatalf("retried delete on nn1: result %v, %v; want true from the retry cache", resp.GetResult(), err)
	}
	resp.Reset()
	if err := rc.Call(ctx, ha.NameNodes[0].RPCAddress, ClientProtocol, "delete", del, &resp); err != nil || resp.GetResult() {
		t.Fatalf("a new delete of the deleted /a: %v, %v; want false", resp.GetResult(), err)
	}

	// The client follows the failover: nn2 refuses now, nn1 answers.
	mkdir("/b")
	if cl.Active() != ha.NameNodes[0].RPCAddress {
		t.Fatalf("Active = %q after failover, want nn1 %s", cl.Active(), ha.NameNodes[0].RPCAddress)
	}
}

// startRealHA starts three JournalNodes and two NameNodes of testcluster's HA layout
// (nn1 formatted, nn2 bootstrapped from it, both standby) with extra properties and
// superuser; they stop at cleanup.
func startRealHA(t *testing.T, ctx context.Context, extra map[string]string, superuser string) (*testcluster.HA, []*namenode.NameNode) {
	t.Helper()
	ha := testcluster.NewHA(t, testcluster.HAOptions{NameNodes: 2, JournalNodes: 3, Extra: extra})
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
		if err := g.Start(ctx, ha.JournalNodes[i].ID, jn); err != nil {
			t.Fatal(err)
		}
	}
	nns := make([]*namenode.NameNode, 2)
	for i := range nns {
		cfg, err := namenode.ConfigFromConf(ha.NameNodeConf(t, i), ha.Nameservice, ha.NameNodes[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Logger = testcluster.Logger(t).Named(ha.NameNodes[i].ID)
		cfg.Superuser = superuser
		if i == 0 {
			_, err = namenode.Format(ctx, cfg, namenode.FormatOptions{NonInteractive: true})
		} else {
			err = namenode.BootstrapStandby(ctx, cfg, namenode.BootstrapOptions{NonInteractive: true, User: superuser})
		}
		if err != nil {
			t.Fatal(err)
		}
		if nns[i], err = namenode.New(cfg); err != nil {
			t.Fatal(err)
		}
		if err := g.Start(ctx, ha.NameNodes[i].ID, nns[i]); err != nil {
			t.Fatal(err)
		}
	}
	return ha, nns
}
