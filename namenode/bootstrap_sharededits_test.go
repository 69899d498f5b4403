package namenode

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

func initShared(t *testing.T, cfg Config, o SharedEditsOptions, stdin string) (string, error) {
	t.Helper()
	var stderr bytes.Buffer
	o.Err, o.In = &stderr, strings.NewReader(stdin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := InitializeSharedEdits(ctx, cfg, o)
	return stderr.String(), err
}

// TestInitializeSharedEdits turns a NameNode with local edits into the
// first NameNode of an HA pair: after initializeSharedEdits it starts from
// the JournalNodes with every edit, and the second NameNode bootstraps.
func TestInitializeSharedEdits(t *testing.T) {
	testcluster.CheckLeaks(t)
	c := newBSCluster(t)
	cfgHA := c.nnConfig(t, 0)
	cfgLocal := cfgHA
	cfgLocal.Conf = cfgHA.Conf.Clone()
	cfgLocal.Conf.Set(conf.KeySharedEditsDir, "")
	cfgLocal, err := ConfigFromConf(cfgLocal.Conf, cfgHA.Nameservice, cfgHA.NameNodeID)
	if err != nil {
		t.Fatal(err)
	}
	cfgLocal.Logger, cfgLocal.Superuser = cfgHA.Logger, cfgHA.Superuser
	if cfgLocal.HA {
		t.Fatal("configuration without shared edits is HA")
	}
	if _, err := Format(context.Background(), cfgLocal, FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}

	// Non-HA history: edits, an image in the middle, a rolled segment.
	nn := startNN(t, cfgLocal)
	addr := nn.RPCAddress()
	mkdir(t, addr, "/se/a")
	for _, a := range []hdfspb.SafeModeActionProto{hdfspb.SafeModeActionProto_SAFEMODE_ENTER} {
		if err := call(t, addr, "hdfs", "setSafeMode", &hdfspb.SetSafeModeRequestProto{Action: a.Enum()}, &hdfspb.SetSafeModeResponseProto{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := call(t, addr, "hdfs", "saveNamespace", &hdfspb.SaveNamespaceRequestProto{}, &hdfspb.SaveNamespaceResponseProto{}); err != nil {
		t.Fatal(err)
	}
	if err := call(t, addr, "hdfs", "setSafeMode", &hdfspb.SetSafeModeRequestProto{Action: hdfspb.SafeModeActionProto_SAFEMODE_LEAVE.Enum()}, &hdfspb.SetSafeModeResponseProto{}); err != nil {
		t.Fatal(err)
	}
	mkdir(t, addr, "/se/b")
	if err := call(t, addr, "hdfs", "rollEdits", &hdfspb.RollEditsRequestProto{}, &hdfspb.RollEditsResponseProto{}); err != nil {
		t.Fatal(err)
	}
	mkdir(t, addr, "/se/c")
	mkdir(t, addr, "/se/d")
	last := nn.AppliedTxID()

	// Refused while the NameNode runs: the name directory is locked.
	if _, err := initShared(t, cfgHA, SharedEditsOptions{NonInteractive: true}, ""); err == nil || SharedEditsExitCode(err) != 1 {
		t.Fatalf("initializeSharedEdits over a running NameNode: %v", err)
	}
	if err := nn.Stop(); err != nil {
		t.Fatal(err)
	}

	// The JournalNodes were formatted by nobody yet: no prompt.
	stderr, err := initShared(t, cfgHA, SharedEditsOptions{NonInteractive: true}, "")
	if err != nil || SharedEditsExitCode(err) != 0 {
		t.Fatalf("initializeSharedEdits: %v\n%s", err, stderr)
	}

	// HA now: nn1 starts from its image and the copied edits.
	nn1 := c.startNN(t, cfgHA, false)
	waitApplied(t, nn1, last)
	if err := nn1.TransitionToActive(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/se/a", "/se/b", "/se/c", "/se/d"} {
		if !exists(t, nn1.RPCAddress(), p) {
			t.Fatalf("%s lost", p)
		}
	}
	mkdir(t, nn1.RPCAddress(), "/se/ha")
	cfg2 := c.nnConfig(t, 1)
	if r, err := bootstrap(t, cfg2, BootstrapOptions{NonInteractive: true}, ""); err != nil {
		t.Fatalf("bootstrap after initializeSharedEdits: %v\n%s", err, r.err.String())
	}
	nn2 := c.startNN(t, cfg2, false)
	waitApplied(t, nn2, nn1.durableTxID())
	if err := c.g.Stop("nn2"); err != nil {
		t.Fatal(err)
	}
	if err := c.g.Stop("nn1"); err != nil {
		t.Fatal(err)
	}

	// The JournalNodes hold data now: -nonInteractive and "N" abort (exit 1).
	stderr, err = initShared(t, cfgHA, SharedEditsOptions{NonInteractive: true}, "")
	if !errors.Is(err, ErrFormatAborted) || SharedEditsExitCode(err) != 1 ||
		!strings.HasPrefix(stderr, "Running in non-interactive mode, and data appears to exist in QJM to ["+c.ha.JournalNodes[0].RPCAddress) {
		t.Fatalf("non-interactive over data: %v\n%s", err, stderr)
	}
	stderr, err = initShared(t, cfgHA, SharedEditsOptions{}, "N\n")
	if !errors.Is(err, ErrFormatAborted) || !strings.HasPrefix(stderr, "Re-format filesystem in QJM to [") {
		t.Fatalf("declined: %v\n%s", err, stderr)
	}
	// -force reformats JournalNodes that hold data and copies the local
	// edits again: the NameNode starts from them as before. (What was
	// written in HA since, /se/ha, was only on the JournalNodes and is
	// gone, as with Hadoop: -force starts over from the local storage.)
	stderr, err = initShared(t, cfgHA, SharedEditsOptions{Force: true}, "")
	if err != nil || !strings.Contains(stderr, "Formatting anyway") {
		t.Fatalf("-force over data: %v\n%s", err, stderr)
	}
	nn1 = c.startNN(t, cfgHA, false)
	if err := nn1.TransitionToActive(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/se/a", "/se/d"} {
		if !exists(t, nn1.RPCAddress(), p) {
			t.Fatalf("%s lost after -force", p)
		}
	}
}

func TestInitializeSharedEditsErrors(t *testing.T) {
	testcluster.CheckLeaks(t)
	c := newBSCluster(t)
	// Not formatted.
	cfg := c.nnConfig(t, 0)
	if _, err := initShared(t, cfg, SharedEditsOptions{NonInteractive: true}, ""); !errors.Is(err, ErrNotFormatted) || SharedEditsExitCode(err) != 1 {
		t.Fatalf("unformatted: %v", err)
	}
	// JournalNodes down: the format question cannot be answered, exit 1.
	if _, err := Format(context.Background(), cfg, FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}
	for _, jn := range c.ha.JournalNodes {
		if err := c.g.Stop(jn.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := initShared(t, cfg, SharedEditsOptions{Force: true}, ""); err == nil || SharedEditsExitCode(err) != 1 {
		t.Fatalf("JournalNodes down: %v", err)
	}
	// No shared edits: Hadoop logs it and exits 0.
	local := testConfig(t, t.TempDir())
	_, err := initShared(t, local, SharedEditsOptions{}, "")
	if !errors.Is(err, ErrNoSharedEdits) || SharedEditsExitCode(err) != 0 ||
		err.Error() != "No shared edits directory configured for namespace null namenode null" {
		t.Fatalf("no shared edits: %v", err)
	}
}

func TestSegmentCopier(t *testing.T) {
	segs := []edits.SegmentName{{First: 1, Last: 5}, {First: 6, Last: 6}, {First: 7, Last: 9}}
	type step struct {
		txid          int64
		start, finish bool
		first         int64
	}
	// Copying from txid 4: the first copied segment is [4,5].
	c := &segmentCopier{segs: segs}
	for _, s := range []step{{4, true, false, 4}, {5, false, true, 4}, {6, true, true, 6}, {7, true, false, 7}, {8, false, false, 7}, {9, false, true, 7}} {
		start, finish, first, err := c.step(s.txid)
		if err != nil || start != s.start || finish != s.finish || first != s.first {
			t.Fatalf("txid %d: start %v finish %v first %d err %v; want %+v", s.txid, start, finish, first, err, s)
		}
	}
	if _, _, _, err := c.step(10); err == nil {
		t.Fatal("txid past every segment accepted")
	}
	c = &segmentCopier{segs: segs}
	c.step(7)
	if _, _, _, err := c.step(10); err == nil {
		t.Fatal("skipping the end of an open segment accepted")
	}
}
