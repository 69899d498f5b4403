package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/journalnode"
	"github.com/hdfsha/hdfsha/namenode"
)

// copyNameDir stands in for bootstrapStandby: dst gets a copy of src.
func copyNameDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		if d.Name() == "in_use.lock" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// startHANameNodes runs three JournalNodes and two HA NameNodes (both
// standby) in-process, with extra in the shared configuration.
func startHANameNodes(t *testing.T, extra map[string]string) *testcluster.HA {
	t.Helper()
	h := testcluster.NewHA(t, testcluster.HAOptions{NameNodes: 2, JournalNodes: 3, Extra: extra})
	g := testcluster.NewGroup(t)
	log := testcluster.Logger(t)
	for i, jn := range h.JournalNodes {
		cfg, err := journalnode.ConfigFromConf(h.JournalNodeConf(t, i))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Logger = log.Named(jn.ID)
		d, err := journalnode.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		g.MustStart(jn.ID, d)
	}
	var cfgs []namenode.Config
	for i, l := range h.NameNodes {
		cfg, err := namenode.ConfigFromConf(h.NameNodeConf(t, i), h.Nameservice, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Logger = log.Named(l.ID)
		cfg.TailPeriod = 5 * time.Millisecond
		cfg.DUReserved = 1
		cfgs = append(cfgs, cfg)
	}
	if _, err := namenode.Format(context.Background(), cfgs[0], namenode.FormatOptions{NonInteractive: true}); err != nil {
		t.Fatal(err)
	}
	copyNameDir(t, cfgs[0].NameDir, cfgs[1].NameDir)
	for i, cfg := range cfgs {
		nn, err := namenode.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		g.MustStart(h.NameNodes[i].ID, nn)
	}
	return h
}

// TestHAAdminAgainstNameNodes drives real in-process NameNodes with haadmin:
// states, a manual transition, health, a graceful failover and the refusal
// to make a second NameNode active.
func TestHAAdminAgainstNameNodes(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := startHANameNodes(t, map[string]string{"dfs.ha.fencing.methods": "shell(exit 1)"})
	run := func(args ...string) result {
		return runHDFS(t, nil, append([]string{"--config", h.ConfDir, "haadmin"}, args...)...)
	}
	wantState := func(nn, state string) {
		t.Helper()
		run("-getServiceState", nn).want(t, 0, state+"\n")
	}

	r := run("-getAllServiceState")
	want := ""
	for _, nn := range h.NameNodes {
		want += fmt.Sprintf("%-50s %-10s\n", nn.RPCAddress, "standby")
	}
	r.want(t, 0, want)

	run("-transitionToActive", "nn1").want(t, 0, "")
	wantState("nn1", "active")
	wantState("nn2", "standby")
	run("-checkHealth", "nn1").want(t, 0, "")
	run("-checkHealth", "nn2").want(t, 0, "")

	r = run("-transitionToActive", "nn2")
	if r.code != 255 || !strings.HasPrefix(r.stderr, "transitionToActive: Node nn1 is already active\n") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}

	// nn1 steps down gracefully, so the (failing) fencer is not needed.
	run("-failover", "nn1", "nn2").want(t, 0, "Failover from nn1 to nn2 successful\n")
	wantState("nn1", "standby")
	wantState("nn2", "active")

	// --forcefence runs the fencer, which fails: nn1 stays standby.
	r = run("-failover", "--forcefence", "nn2", "nn1")
	if r.code != 255 || !strings.Contains(r.stderr, "Failover failed: Unable to fence NameNode at ") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	wantState("nn1", "standby")
	wantState("nn2", "standby") // it stepped down gracefully before the fencer ran

	run("-transitionToActive", "nn1").want(t, 0, "")
	wantState("nn1", "active")
}

// With automatic failover on, a NameNode refuses a manual request unless it
// is forced; haadmin refuses first, and --forcemanual goes through.
func TestHAAdminForceManualAgainstNameNodes(t *testing.T) {
	testcluster.CheckLeaks(t)
	h := startHANameNodes(t, map[string]string{"dfs.ha.automatic-failover.enabled": "true"})
	args := []string{"--config", h.ConfDir, "haadmin", "-transitionToActive", "nn1"}
	r := runHDFS(t, nil, args...)
	if r.code != 255 || !strings.HasPrefix(r.stderr, "Automatic failover is enabled for NameNode at ") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = runHDFSInput(t, "y\n", append(args, "--forcemanual")...)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	runHDFS(t, nil, "--config", h.ConfDir, "haadmin", "-getServiceState", "nn1").want(t, 0, "active\n")
}
