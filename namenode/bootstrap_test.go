package namenode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/journalnode"
	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// bsCluster is an HA layout with its three JournalNodes running.
type bsCluster struct {
	ha *testcluster.HA
	g  *testcluster.Group
}

func newBSCluster(t *testing.T) *bsCluster {
	t.Helper()
	ha := testcluster.NewHA(t, testcluster.HAOptions{NameNodes: 2, JournalNodes: 3})
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
	return &bsCluster{ha: ha, g: g}
}

// nnConfig is the configuration of the i-th NameNode, run as user hdfs.
func (c *bsCluster) nnConfig(t *testing.T, i int) Config {
	t.Helper()
	cfg, err := ConfigFromConf(c.ha.NameNodeConf(t, i), c.ha.Nameservice, c.ha.NameNodes[i].ID)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = testcluster.Logger(t).Named(c.ha.NameNodes[i].ID)
	cfg.Superuser = "hdfs"
	return cfg
}

// startActiveNN1 formats nn1 (and the JournalNodes), starts it and makes it
// active.
func (c *bsCluster) startActiveNN1(t *testing.T) *NameNode {
	t.Helper()
	cfg := c.nnConfig(t, 0)
	if _, err := Format(context.Background(), cfg, FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}
	return c.startNN(t, cfg, true)
}

func (c *bsCluster) startNN(t *testing.T, cfg Config, active bool) *NameNode {
	t.Helper()
	nn, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.g.Start(context.Background(), cfg.NameNodeID, nn); err != nil {
		t.Fatal(err)
	}
	if active {
		if err := nn.TransitionToActive(context.Background(), commonpb.HARequestSource_REQUEST_BY_USER); err != nil {
			t.Fatal(err)
		}
	}
	return nn
}

type bsRun struct {
	out, err bytes.Buffer
}

func bootstrap(t *testing.T, cfg Config, o BootstrapOptions, stdin string) (*bsRun, error) {
	t.Helper()
	r := &bsRun{}
	o.Out, o.Err, o.In = &r.out, &r.err, strings.NewReader(stdin)
	o.User = "hdfs"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return r, BootstrapStandby(ctx, cfg, o)
}

// waitApplied waits (bounded) until nn has applied txid.
func waitApplied(t *testing.T, nn *NameNode, txid int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for nn.AppliedTxID() < txid {
		if time.Now().After(deadline) {
			t.Fatalf("%s applied %d, want %d", nn.cfg.NameNodeID, nn.AppliedTxID(), txid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBootstrapStandby(t *testing.T) {
	testcluster.CheckLeaks(t)
	c := newBSCluster(t)
	nn1 := c.startActiveNN1(t)
	for i := range 5 {
		mkdir(t, nn1.RPCAddress(), fmt.Sprintf("/bs/d%d", i))
	}
	last := nn1.durableTxID()
	if last < 5 {
		t.Fatalf("nn1 durable txid %d after 5 mkdirs", last)
	}
	cfg2 := c.nnConfig(t, 1)
	r, err := bootstrap(t, cfg2, BootstrapOptions{NonInteractive: true}, "")
	if err != nil {
		t.Fatalf("bootstrap: %v\n%s", err, r.err.String())
	}
	if code := BootstrapExitCode(err); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	si := nn1.StorageInfo()
	n1 := c.ha.NameNodes[0]
	want := "=====================================================\n" +
		"About to bootstrap Standby ID nn2 from:\n" +
		"           Nameservice ID: mycluster\n" +
		"        Other Namenode ID: nn1\n" +
		"  Other NN's HTTP address: http://" + n1.HTTPAddress + "\n" +
		"  Other NN's IPC  address: 127.0.0.1/" + n1.RPCAddress + "\n" +
		fmt.Sprintf("             Namespace ID: %d\n", si.NamespaceID) +
		"            Block pool ID: " + si.BlockPoolID + "\n" +
		"               Cluster ID: " + si.ClusterID + "\n" +
		"           Layout version: -66\n" +
		"       isUpgradeFinalized: true\n" +
		"=====================================================\n"
	if r.out.String() != want {
		t.Fatalf("banner:\n%s\nwant:\n%s", r.out.String(), want)
	}
	got, err := ReadVersion(cfg2.NameDir)
	if err != nil {
		t.Fatal(err)
	}
	if got.NamespaceID != si.NamespaceID || got.ClusterID != si.ClusterID || got.BlockPoolID != si.BlockPoolID || got.LayoutVersion != si.LayoutVersion {
		t.Fatalf("nn2 VERSION %+v, nn1 %+v", got, si)
	}
	if _, err := image.Newest(cfg2.NameDir); err != nil {
		t.Fatalf("no verified image on nn2: %v", err)
	}

	// nn2 starts as a standby and catches up from the JournalNodes.
	nn2 := c.startNN(t, cfg2, false)
	waitApplied(t, nn2, last)
	if err := c.g.Stop("nn2"); err != nil {
		t.Fatal(err)
	}

	// Again: the directory now holds data.
	r, err = bootstrap(t, cfg2, BootstrapOptions{NonInteractive: true}, "")
	if !errors.Is(err, ErrFormatAborted) || BootstrapExitCode(err) != 5 ||
		!strings.Contains(r.err.String(), "Running in non-interactive mode, and data appears to exist in Storage Directory root= "+cfg2.NameDir) {
		t.Fatalf("non-interactive over data: %v (code %d)\n%s", err, BootstrapExitCode(err), r.err.String())
	}
	r, err = bootstrap(t, cfg2, BootstrapOptions{}, "N\n")
	if BootstrapExitCode(err) != 5 || !strings.Contains(r.err.String(), "Re-format filesystem in Storage Directory root= "+cfg2.NameDir) {
		t.Fatalf("declined: %v\n%s", err, r.err.String())
	}
	if _, err := ReadVersion(cfg2.NameDir); err != nil {
		t.Fatalf("declining changed the directory: %v", err)
	}
	// Confirmed at the prompt, or -force: formatted again.
	mkdir(t, nn1.RPCAddress(), "/bs/after")
	if _, err := bootstrap(t, cfg2, BootstrapOptions{}, "Y\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := bootstrap(t, cfg2, BootstrapOptions{Force: true}, ""); err != nil {
		t.Fatal(err)
	}

	// While nn2 runs, its name directory is locked.
	c.startNN(t, cfg2, false)
	if _, err := bootstrap(t, cfg2, BootstrapOptions{Force: true}, ""); err == nil || BootstrapExitCode(err) != 1 {
		t.Fatalf("bootstrap over a running NameNode: %v", err)
	}
}

// TestBootstrapStandbyFromStandby: versionRequest and the txid calls are
// answered in standby, so a freshly formatted pair bootstraps before any
// NameNode is active.
func TestBootstrapStandbyFromStandby(t *testing.T) {
	testcluster.CheckLeaks(t)
	c := newBSCluster(t)
	cfg1 := c.nnConfig(t, 0)
	if _, err := Format(context.Background(), cfg1, FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}
	c.startNN(t, cfg1, false)
	if r, err := bootstrap(t, c.nnConfig(t, 1), BootstrapOptions{}, ""); err != nil {
		t.Fatalf("%v\n%s", err, r.err.String())
	}
}

func TestBootstrapStandbyOtherNameNodeDown(t *testing.T) {
	testcluster.CheckLeaks(t)
	c := newBSCluster(t)
	r, err := bootstrap(t, c.nnConfig(t, 1), BootstrapOptions{}, "")
	n1 := c.ha.NameNodes[0]
	want := "Unable to fetch namespace information from any remote NN. Possible NameNodes: [RemoteNameNodeInfo [nnId=nn1, ipcAddress=" +
		n1.RPCAddress + ", httpAddress=http://" + n1.HTTPAddress + "]]"
	if !errors.Is(err, ErrNoRemoteNameNode) || BootstrapExitCode(err) != 2 || err.Error() != want {
		t.Fatalf("err = %v (code %d), want %q", err, BootstrapExitCode(err), want)
	}
	if r.out.Len() != 0 {
		t.Fatalf("banner printed: %s", r.out.String())
	}
	if _, err := os.Stat(filepath.Join(c.ha.NameNodes[1].NameDir, "current", "VERSION")); !os.IsNotExist(err) {
		t.Fatalf("VERSION written: %v", err)
	}
}

// fakeRemote answers NamenodeProtocol on nn1's address with what the test
// chooses.
type fakeRemote struct {
	nsInfo           *hdfspb.NamespaceInfoProto
	imageTxID, curTx uint64
}

func startFakeRemote(t *testing.T, addr string, f *fakeRemote) {
	t.Helper()
	cfg := rpc.DefaultServerConfig()
	cfg.Addr = addr
	cfg.Logger = testcluster.Logger(t).Named("fake-nn1")
	srv, err := rpc.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Register(NamenodeProtocol,
		rpc.Unary("versionRequest", func(context.Context, *hdfspb.VersionRequestProto) (*hdfspb.VersionResponseProto, error) {
			return &hdfspb.VersionResponseProto{Info: f.nsInfo}, nil
		}),
		rpc.Unary("isUpgradeFinalized", func(context.Context, *hdfspb.IsUpgradeFinalizedRequestProto) (*hdfspb.IsUpgradeFinalizedResponseProto, error) {
			return &hdfspb.IsUpgradeFinalizedResponseProto{IsUpgradeFinalized: proto.Bool(true)}, nil
		}),
		rpc.Unary("getMostRecentCheckpointTxId", func(context.Context, *hdfspb.GetMostRecentCheckpointTxIdRequestProto) (*hdfspb.GetMostRecentCheckpointTxIdResponseProto, error) {
			return &hdfspb.GetMostRecentCheckpointTxIdResponseProto{TxId: proto.Uint64(f.imageTxID)}, nil
		}),
		rpc.Unary("getTransactionId", func(context.Context, *hdfspb.GetTransactionIdRequestProto) (*hdfspb.GetTransactionIdResponseProto, error) {
			return &hdfspb.GetTransactionIdResponseProto{TxId: proto.Uint64(f.curTx)}, nil
		}),
	)
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
}

func TestBootstrapStandbyLayoutMismatch(t *testing.T) {
	testcluster.CheckLeaks(t)
	c := newBSCluster(t)
	si, _ := NewStorageInfo("CID-x", time.Now())
	info := nsInfoProto(si)
	info.StorageInfo.LayoutVersion = proto.Uint32(uint32(0xffffffc4)) // -60
	startFakeRemote(t, c.ha.NameNodes[0].RPCAddress, &fakeRemote{nsInfo: info})
	r, err := bootstrap(t, c.nnConfig(t, 1), BootstrapOptions{}, "")
	if BootstrapExitCode(err) != 3 || err.Error() != "Layout version on remote node (-60) does not match this node's layout version (-66)" {
		t.Fatalf("err = %v (code %d)", err, BootstrapExitCode(err))
	}
	if r.out.Len() != 0 {
		t.Fatalf("banner printed: %s", r.out.String())
	}
}

// TestBootstrapStandbyLogsUnavailable: the other NameNode says it is at
// txid 42 but the JournalNodes hold nothing after its image: exit 6 with
// Hadoop's advice, and nothing written. -skipSharedEditsCheck goes on to
// the download (which fails here: the fake serves no HTTP).
func TestBootstrapStandbyLogsUnavailable(t *testing.T) {
	testcluster.CheckLeaks(t)
	c := newBSCluster(t)
	si, err := Format(context.Background(), c.nnConfig(t, 0), FormatOptions{NonInteractive: true}) // formats the JournalNodes
	if err != nil {
		t.Fatal(err)
	}
	startFakeRemote(t, c.ha.NameNodes[0].RPCAddress, &fakeRemote{nsInfo: nsInfoProto(si), imageTxID: 0, curTx: 42})
	cfg2 := c.nnConfig(t, 1)
	r, err := bootstrap(t, cfg2, BootstrapOptions{}, "")
	wantPrefix := "Unable to read transaction ids 1-42 from the configured shared edits storage " + c.ha.SharedEditsDir + ". " +
		"Please copy these logs into the shared edits storage or call saveNamespace on the active node.\nError: "
	if !errors.Is(err, ErrLogsUnavailable) || BootstrapExitCode(err) != 6 || !strings.HasPrefix(err.Error(), wantPrefix) {
		t.Fatalf("err = %v (code %d)\nwant prefix %q", err, BootstrapExitCode(err), wantPrefix)
	}
	if !strings.Contains(r.out.String(), "About to bootstrap Standby ID nn2 from:") {
		t.Fatalf("no banner before the check:\n%s", r.out.String())
	}
	if _, err := ReadVersion(cfg2.NameDir); !errors.Is(err, ErrNotFormatted) {
		t.Fatalf("VERSION after a failed check: %v", err)
	}
	_, err = bootstrap(t, cfg2, BootstrapOptions{SkipSharedEditsCheck: true}, "")
	if err == nil || BootstrapExitCode(err) != 1 || !strings.Contains(err.Error(), "downloading image txid 0") {
		t.Fatalf("with -skipSharedEditsCheck: %v (code %d)", err, BootstrapExitCode(err))
	}
	if _, err := ReadVersion(cfg2.NameDir); !errors.Is(err, ErrNotFormatted) {
		t.Fatalf("VERSION after a failed download: %v", err)
	}
}

func TestBootstrapStandbyConfigErrors(t *testing.T) {
	c := newBSCluster(t)
	cfg := c.nnConfig(t, 1)
	noShared := cfg
	noShared.Conf = cfg.Conf.Clone()
	noShared.Conf.Set(conf.KeySharedEditsDir, "")
	if _, err := bootstrap(t, noShared, BootstrapOptions{}, ""); err == nil || err.Error() != "Shared edits storage is not enabled for this namenode." || BootstrapExitCode(err) != 1 {
		t.Fatalf("without shared edits: %v", err)
	}
	noFormat := cfg
	noFormat.Conf = cfg.Conf.Clone()
	noFormat.Conf.Set(KeyAllowFormat, "false")
	if _, err := bootstrap(t, noFormat, BootstrapOptions{Force: true}, ""); err == nil || BootstrapExitCode(err) != 1 ||
		err.Error() != "The option dfs.namenode.support.allow.format is set to false for this filesystem, so it cannot be formatted. "+
			"You will need to set dfs.namenode.support.allow.format parameter to true in order to format this filesystem" {
		t.Fatalf("allow.format=false: %v", err)
	}
	nonHA := testConfig(t, t.TempDir())
	if _, err := bootstrap(t, nonHA, BootstrapOptions{}, ""); err == nil || err.Error() != "HA is not enabled for this namenode." || BootstrapExitCode(err) != 1 {
		t.Fatalf("non-HA: %v", err)
	}
}

func TestHTTPWithDefaultHost(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"0.0.0.0:9870", "nn1.example.com:9870"},
		{"[::]:9870", "nn1.example.com:9870"},
		{":9870", "nn1.example.com:9870"},
		{"10.0.0.5:9870", "10.0.0.5:9870"},
		{"web.example.com:50070", "web.example.com:50070"},
	} {
		if got := httpWithDefaultHost(c.in, "nn1.example.com"); got != c.want {
			t.Errorf("httpWithDefaultHost(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
