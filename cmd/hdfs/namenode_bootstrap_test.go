package main

import (
	"context"
	"strings"
	"testing"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/journalnode"
	"github.com/hdfsha/hdfsha/namenode"
)

// TestNamenodeBootstrapAndInitializeSharedEditsCLI runs the two ops in-process against an
// HA layout (three JournalNodes, nn1 in-process) and checks their output and exit statuses;
// namenode's tests cover every failure in depth.
func TestNamenodeBootstrapAndInitializeSharedEditsCLI(t *testing.T) {
	testcluster.CheckLeaks(t)
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
	on := func(i int, args ...string) result {
		return runHDFS(t, nil, append([]string{"--config", ha.NameNodes[i].ConfDir, "namenode"}, args...)...)
	}
	if r := on(0, "-format", "-nonInteractive"); r.code != 0 {
		t.Fatalf("format nn1: %d\n%s", r.code, r.stderr)
	}

	// nn1 not running: exit 2, nothing printed on stdout.
	r := on(1, "-bootstrapStandby", "-nonInteractive")
	if r.code != namenode.BootstrapFailedConnect || r.stdout != "" ||
		!strings.Contains(r.stderr, "Unable to fetch namespace information from any remote NN. Possible NameNodes: [RemoteNameNodeInfo [nnId=nn1") {
		t.Fatalf("nn1 down: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}

	cfg, err := namenode.ConfigFromConf(ha.NameNodeConf(t, 0), ha.Nameservice, "nn1")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = testcluster.Logger(t).Named("nn1")
	cfg.Superuser = client.DefaultUser() // the user the ops call NamenodeProtocol as
	nn1, err := namenode.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background(), "nn1", nn1); err != nil {
		t.Fatal(err)
	}

	r = on(1, "-bootstrapStandby", "-nonInteractive")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "=====================================================\nAbout to bootstrap Standby ID nn2 from:\n") ||
		!strings.Contains(r.stdout, "        Other Namenode ID: nn1\n") {
		t.Fatalf("bootstrap: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	r = on(1, "-bootstrapStandby", "-nonInteractive")
	if r.code != namenode.BootstrapAlreadyFormatted || !strings.Contains(r.stderr, "Running in non-interactive mode, and data appears to exist in Storage Directory root= "+ha.NameNodes[1].NameDir) {
		t.Fatalf("bootstrap over data: exit %d\nstderr %s", r.code, r.stderr)
	}
	if r = on(1, "-bootstrapStandby", "-force"); r.code != 0 {
		t.Fatalf("bootstrap -force: exit %d\nstderr %s", r.code, r.stderr)
	}
	if r = on(1, "-bootstrapStandby", "-bogus"); r.code != exitToolError || !strings.Contains(r.stderr, "illegal option -bogus") {
		t.Fatalf("bad option: exit %d\nstderr %s", r.code, r.stderr)
	}

	// initializeSharedEdits: refused while nn1 runs (its directory is locked), then the
	// JournalNodes hold data, so -nonInteractive aborts: exit 1 both times.
	if r = on(0, "-initializeSharedEdits", "-nonInteractive"); r.code != 1 || !strings.Contains(r.stderr, "Could not initialize shared edits dir") {
		t.Fatalf("initializeSharedEdits with nn1 running: exit %d\nstderr %s", r.code, r.stderr)
	}
	if err := g.Stop("nn1"); err != nil {
		t.Fatal(err)
	}
	if r = on(0, "-initializeSharedEdits", "-nonInteractive"); r.code != 1 || !strings.Contains(r.stderr, "Running in non-interactive mode, and data appears to exist in QJM to [") {
		t.Fatalf("initializeSharedEdits over data: exit %d\nstderr %s", r.code, r.stderr)
	}
	if r = on(0, "-initializeSharedEdits", "-force", "extra"); r.code != exitToolError || !strings.Contains(r.stderr, "Invalid argument: extra") {
		t.Fatalf("bad argument: exit %d\nstderr %s", r.code, r.stderr)
	}
	// No shared edits directory: Hadoop logs it and exits 0.
	r = runHDFS(t, nil, "--config", ha.NameNodes[0].ConfDir, "namenode", "-D", "dfs.namenode.shared.edits.dir=", "-initializeSharedEdits")
	if r.code != 0 || !strings.Contains(r.stderr, "No shared edits directory configured for namespace mycluster namenode nn1") {
		t.Fatalf("no shared edits: exit %d\nstderr %s", r.code, r.stderr)
	}
}
