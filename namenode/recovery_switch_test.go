package namenode

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/journalnode"
	"github.com/hdfsha/hdfsha/proto/commonpb"
)

// startJNs starts (again) the cluster's JournalNodes on their ports and
// storage.
func (c *bsCluster) startJNs(t *testing.T) {
	t.Helper()
	for i := range c.ha.JournalNodes {
		jcfg, err := journalnode.ConfigFromConf(c.ha.JournalNodeConf(t, i))
		if err != nil {
			t.Fatal(err)
		}
		jcfg.Logger = testcluster.Logger(t).Named(c.ha.JournalNodes[i].ID)
		jn, err := journalnode.New(jcfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.g.Start(context.Background(), c.ha.JournalNodes[i].ID, jn); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRecoverySwitchBackHA walks the whole recovery in an HA
// nameservice: recover nn1 with the JournalNodes down (recovery never
// needs them), serve read-only as the active, refuse HA transitions; then
// stop it, turn recovery mode off, -initializeSharedEdits, start it, make
// it active, -bootstrapStandby nn2: a writable HA pair whose txids
// continue after the recovered one, failing over both ways.
func TestRecoverySwitchBackHA(t *testing.T) {
	testcluster.CheckLeaks(t)
	src := newRecoverySource(t)
	sinkDir := buildSink(t, src, 5)
	c := newBSCluster(t)
	for _, jn := range c.ha.JournalNodes {
		if err := c.g.Stop(jn.ID); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()

	// Recovery, in an HA nameservice, with no JournalNode up.
	cfg1 := c.nnConfig(t, 0)
	if !cfg1.HA {
		t.Fatal("nn1 is not in an HA nameservice")
	}
	nn1 := c.startNN(t, recoveryConfig(cfg1, sinkDir, true), false)
	if nn1.HAState().String() != "active" || nn1.AppliedTxID() != src.lastTxID {
		t.Fatalf("recovered nn1 is %s at txid %d, want active at %d", nn1.HAState(), nn1.AppliedTxID(), src.lastTxID)
	}
	if got := listTree(t, nn1.RPCAddress()); strings.Join(got, "\n") != strings.Join(src.listing, "\n") {
		t.Fatal("recovered namespace differs from the source's")
	}
	checkReadOnly(t, nn1)
	if err := nn1.MonitorHealth(ctx); err != nil {
		t.Fatalf("monitorHealth in recovery mode: %v", err)
	}
	st := &commonpb.GetServiceStatusResponseProto{}
	if err := haCall(t, nn1.RPCAddress(), "hdfs", "getServiceStatus", &commonpb.GetServiceStatusRequestProto{}, st); err != nil || st.GetState() != commonpb.HAServiceStateProto_ACTIVE {
		t.Fatalf("getServiceStatus: %v %v", st, err)
	}
	err := haCall(t, nn1.RPCAddress(), "hdfs", "transitionToStandby", &commonpb.TransitionToStandbyRequestProto{
		ReqInfo: &commonpb.HAStateChangeRequestInfoProto{ReqSource: commonpb.HARequestSource_REQUEST_BY_USER.Enum()}}, &commonpb.TransitionToStandbyResponseProto{})
	var re *rpc.RemoteError
	if !errors.As(err, &re) || re.Class != "org.apache.hadoop.ha.ServiceFailedException" || !strings.Contains(re.Message, "recovery mode") {
		t.Fatalf("transitionToStandby in recovery mode: %v", err)
	}
	if err := c.g.Stop(cfg1.NameNodeID); err != nil {
		t.Fatal(err)
	}

	// Switch back: recovery off, -initializeSharedEdits, start, active.
	c.startJNs(t)
	if stderr, err := initShared(t, cfg1, SharedEditsOptions{NonInteractive: true}, ""); err != nil {
		t.Fatalf("initializeSharedEdits after recovery: %v\n%s", err, stderr)
	}
	nn1 = c.startNN(t, cfg1, false)
	waitApplied(t, nn1, src.lastTxID)
	if err := nn1.TransitionToActive(ctx, commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
		t.Fatal(err)
	}
	mkdir(t, nn1.RPCAddress(), "/after/recovery")
	if got := nn1.AppliedTxID(); got != src.lastTxID+1 {
		t.Fatalf("the first write after switching back is txid %d, want %d", got, src.lastTxID+1)
	}
	completeFile(t, nn1.RPCAddress(), "/after/file")

	// -bootstrapStandby the other NameNode, then fail over both ways.
	cfg2 := c.nnConfig(t, 1)
	if r, err := bootstrap(t, cfg2, BootstrapOptions{NonInteractive: true}, ""); err != nil {
		t.Fatalf("bootstrapStandby after recovery: %v\n%s", err, r.err.String())
	}
	nn2 := c.startNN(t, cfg2, false)
	waitApplied(t, nn2, nn1.durableTxID())
	if err := nn1.TransitionToStandby(ctx, commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
		t.Fatal(err)
	}
	if err := nn2.TransitionToActive(ctx, commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/after/recovery", "/after/file", "/later/file", "/data/moved/f"} {
		if !exists(t, nn2.RPCAddress(), p) {
			t.Fatalf("%s missing on nn2 after failover", p)
		}
	}
	mkdir(t, nn2.RPCAddress(), "/after/nn2")
	waitApplied(t, nn1, nn2.durableTxID())
	if err := nn2.TransitionToStandby(ctx, commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
		t.Fatal(err)
	}
	if err := nn1.TransitionToActive(ctx, commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
		t.Fatal(err)
	}
	if !exists(t, nn1.RPCAddress(), "/after/nn2") {
		t.Fatal("/after/nn2 lost in the failover back")
	}
}

// TestRecoverySwitchBackNonHA: without HA, switching back is a restart
// with recovery mode off: the local edits start after the recovered
// image, and survive a restart.
func TestRecoverySwitchBackNonHA(t *testing.T) {
	testcluster.CheckLeaks(t)
	src := newRecoverySource(t)
	sinkDir := buildSink(t, src, 64)
	cfg := testConfig(t, t.TempDir())
	nn := startNN(t, recoveryConfig(cfg, sinkDir, true))
	checkReadOnly(t, nn)
	if err := nn.Stop(); err != nil {
		t.Fatal(err)
	}
	nn = startNN(t, cfg)
	mkdir(t, nn.RPCAddress(), "/after")
	if got := nn.AppliedTxID(); got != src.lastTxID+1 {
		t.Fatalf("the first write after switching back is txid %d, want %d", got, src.lastTxID+1)
	}
	if err := nn.Stop(); err != nil {
		t.Fatal(err)
	}
	nn = startNN(t, cfg)
	defer nn.Stop()
	if !exists(t, nn.RPCAddress(), "/after") || !exists(t, nn.RPCAddress(), "/later/file") || nn.AppliedTxID() != src.lastTxID+1 {
		t.Fatalf("after a restart: txid %d", nn.AppliedTxID())
	}
}
