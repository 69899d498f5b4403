//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// haProcessCluster is an HA layout (testcluster.NewHA) run as real processes of the binary.
type haProcessCluster struct {
	t   *testing.T
	bin string
	env []string
	ha  *testcluster.HA
	// daemons by ID (jn1.., nn1..); a restarted daemon replaces its entry.
	daemons map[string]*daemonProcess
}

// hdfs runs a client command with the shared configuration.
func (c *haProcessCluster) hdfs(args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	return runBinary(c.t, c.bin, c.env, "", append([]string{"--config", c.ha.ConfDir}, args...)...)
}

// hdfsOn runs a command with NameNode i's configuration, as on its host.
func (c *haProcessCluster) hdfsOn(i int, args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	return runBinary(c.t, c.bin, c.env, "", append([]string{"--config", c.ha.NameNodes[i].ConfDir}, args...)...)
}

func (c *haProcessCluster) startJournalNodes() {
	for _, jn := range c.ha.JournalNodes {
		d := startDaemon(c.t, jn.ID, c.bin, c.env, "--config", jn.ConfDir, "journalnode")
		d.waitListening(jn.RPCAddress)
		c.daemons[jn.ID] = d
	}
}

// startNameNode starts NameNode i and waits until haadmin reports it in state want.
func (c *haProcessCluster) startNameNode(i int, want string) {
	c.t.Helper()
	nn := c.ha.NameNodes[i]
	d := startDaemon(c.t, nn.ID, c.bin, c.env, "--config", nn.ConfDir, "namenode")
	c.daemons[nn.ID] = d
	d.waitListening(nn.RPCAddress)
	d.waitFor("haadmin -getServiceState "+nn.ID+" = "+want, func() error {
		out, stderr, code := c.hdfs("haadmin", "-getServiceState", nn.ID)
		if code != 0 || out != want+"\n" {
			return fmt.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
		}
		return nil
	})
}

// wantState checks `hdfs haadmin -getServiceState nn` prints exactly state, exit 0.
func (c *haProcessCluster) wantState(nn, state string) {
	c.t.Helper()
	out, stderr, code := c.hdfs("haadmin", "-getServiceState", nn)
	if code != 0 || out != state+"\n" {
		c.t.Fatalf("haadmin -getServiceState %s: exit %d, stdout %q, stderr %q; want %q, exit 0", nn, code, out, stderr, state)
	}
}

// lastTxID is LastWrittenTransactionId of NameNode i's FSNamesystem bean: on a standby,
// the last edit it has applied.
func (c *haProcessCluster) lastTxID(i int) (int64, error) {
	b, err := c.fsNamesystemBean(i)
	return b.LastWrittenTransactionId, err
}

// fsNamesystemBean is the figures of NameNode i's FSNamesystem bean the tests read.
type fsNamesystemBean struct {
	LastWrittenTransactionId           int64
	NumLiveDataNodes, NumDeadDataNodes int64
	BlocksTotal, UnderReplicatedBlocks int64
}

func (c *haProcessCluster) fsNamesystemBean(i int) (fsNamesystemBean, error) {
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := hc.Get("http://" + c.ha.NameNodes[i].HTTPAddress + "/jmx?qry=Hadoop:service=NameNode,name=FSNamesystem")
	if err != nil {
		return fsNamesystemBean{}, err
	}
	defer resp.Body.Close()
	var body struct {
		Beans []fsNamesystemBean `json:"beans"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fsNamesystemBean{}, err
	}
	if len(body.Beans) != 1 {
		return fsNamesystemBean{}, fmt.Errorf("%d FSNamesystem beans", len(body.Beans))
	}
	return body.Beans[0], nil
}

// lsNames runs `hdfs dfs -ls dir` and returns the names listed (the last column).
func (c *haProcessCluster) lsNames(dir string) (header string, names []string) {
	c.t.Helper()
	out, stderr, code := c.hdfs("dfs", "-ls", dir)
	if code != 0 {
		c.t.Fatalf("dfs -ls %s: exit %d\n%s", dir, code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		names = append(names, f[len(f)-1])
	}
	return lines[0], names
}

// TestHAProcessWalkthrough is the walkthrough of the NameNode HA issue with the real
// binary: format and bootstrap, both standby, nn1 active, 500 acknowledged mkdirs, kill -9
// nn1, `haadmin -failover nn1 nn2` fencing nn1 with shell(...), every directory still
// there on nn2; then nn1 restarts as a standby, follows nn2's edits, and takes over again
// in a graceful failover.
func TestHAProcessWalkthrough(t *testing.T) {
	testcluster.CheckLeaks(t)
	bin := buildHDFS(t)

	// The fencing script records Hadoop's $target_* environment, one file per target.
	fenceDir := t.TempDir()
	script := filepath.Join(fenceDir, "fence.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nenv | grep '^target_' | sort > \""+fenceDir+"/fenced.$target_namenodeid\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ha := testcluster.NewHA(t, testcluster.HAOptions{Extra: map[string]string{
		"dfs.ha.fencing.methods": "shell(" + script + ")",
		// Tailing runs on its defaults (docs/ha.md): the restarted nn1 must catch up.
		// The client's backoff between NameNodes; Hadoop's 500 ms base is slow for a test.
		"dfs.client.failover.sleep.base.millis": "20",
		"dfs.client.failover.sleep.max.millis":  "200",
	}})
	user := currentUser() // the NameNodes' superuser: they run as this OS user
	c := &haProcessCluster{t: t, bin: bin, ha: ha, env: processEnv("HADOOP_USER_NAME=" + user), daemons: map[string]*daemonProcess{}}
	c.startJournalNodes()

	// 1. Format nn1, start it, bootstrap nn2 from it.
	if _, stderr, code := c.hdfsOn(0, "namenode", "-format", "-nonInteractive"); code != 0 {
		t.Fatalf("namenode -format on nn1: exit %d\n%s", code, stderr)
	}
	c.startNameNode(0, "standby")
	if out, stderr, code := c.hdfsOn(1, "namenode", "-bootstrapStandby", "-nonInteractive"); code != 0 {
		t.Fatalf("namenode -bootstrapStandby on nn2: exit %d\n%s%s", code, out, stderr)
	}

	// 2. Both standby.
	c.startNameNode(1, "standby")
	c.wantState("nn1", "standby")
	c.wantState("nn2", "standby")

	// 3. nn1 active, then 500 acknowledged mkdirs through hdfs://mycluster.
	if out, stderr, code := c.hdfs("haadmin", "-transitionToActive", "nn1"); code != 0 {
		t.Fatalf("haadmin -transitionToActive nn1: exit %d\n%s%s", code, out, stderr)
	}
	c.wantState("nn1", "active")
	c.wantState("nn2", "standby")
	cl, err := client.New(client.Config{Conf: ha.Conf(t), User: user, Logger: testcluster.Logger(t)}, "hdfs://"+ha.Nameservice)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	mkdirs := func(dirs []string) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, len(dirs))
		work := make(chan string)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for d := range work {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					resp := &hdfspb.MkdirsResponseProto{}
					err := cl.Call(ctx, "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(d), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, resp)
					cancel()
					if err == nil && !resp.GetResult() {
						err = fmt.Errorf("mkdirs %s: false", d)
					}
					if err != nil {
						errs <- err
					}
				}
			}()
		}
		for _, d := range dirs {
			work <- d
		}
		close(work)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	var acked []string
	for i := range 500 {
		acked = append(acked, fmt.Sprintf("/load/d%03d", i))
	}
	mkdirs(acked)
	if out, stderr, code := c.hdfs("dfs", "-mkdir", "/via-dfs"); code != 0 {
		t.Fatalf("dfs -mkdir /via-dfs: exit %d\n%s%s", code, out, stderr)
	}

	// 4. kill -9 the active. haadmin cannot reach it: a message on stderr, exit 255.
	c.daemons["nn1"].kill9()
	out, stderr, code := c.hdfs("haadmin", "-getServiceState", "nn1")
	if code != 255 || out != "" || strings.TrimSpace(stderr) == "" {
		t.Fatalf("haadmin -getServiceState on a dead nn1: exit %d, stdout %q, stderr %q; want a message and exit 255", code, out, stderr)
	}

	// 5. Fail over; nn1 cannot be asked to step down, so it is fenced by the script.
	out, stderr, code = c.hdfs("haadmin", "-failover", "nn1", "nn2")
	if code != 0 || !strings.Contains(out, "Failover from nn1 to nn2 successful") {
		t.Fatalf("haadmin -failover nn1 nn2: exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
	fenced, err := os.ReadFile(filepath.Join(fenceDir, "fenced.nn1"))
	if err != nil {
		t.Fatalf("the fencing script did not run for nn1: %v\nfailover stderr: %s", err, stderr)
	}
	nn1 := ha.NameNodes[0]
	host, port, _ := strings.Cut(nn1.RPCAddress, ":")
	for _, want := range []string{
		// Hadoop puts String.valueOf(InetSocketAddress): "/<ip>:<port>" for an address given as an IP.
		"target_address=/" + nn1.RPCAddress, "target_host=" + host, "target_port=" + port,
		"target_namenodeid=nn1", "target_nameserviceid=" + ha.Nameservice,
	} {
		if !slices.Contains(strings.Split(string(fenced), "\n"), want) {
			t.Errorf("fencing environment lacks %s:\n%s", want, fenced)
		}
	}

	// 6. Every acknowledged directory is on nn2, now active.
	c.wantState("nn2", "active")
	header, names := c.lsNames("/load")
	if header != "Found 500 items" || !slices.Equal(names, acked) {
		t.Fatalf("after failover: %q, %d names (first %q)", header, len(names), names[:min(3, len(names))])
	}
	if _, names := c.lsNames("/"); !slices.Contains(names, "/via-dfs") {
		t.Fatalf("/via-dfs lost: %q", names)
	}

	// nn1 restarted comes back as a standby and follows nn2's edits.
	c.startNameNode(0, "standby")
	more := []string{"/after/a", "/after/b", "/after/c"}
	mkdirs(more)
	want, err := c.lastTxID(1)
	if err != nil {
		t.Fatal(err)
	}
	c.daemons["nn1"].waitFor(fmt.Sprintf("nn1 tailing up to txid %d", want), func() error {
		got, err := c.lastTxID(0)
		if err == nil && got < want {
			err = fmt.Errorf("nn1 at txid %d", got)
		}
		return err
	})

	// A graceful failover back: nn2 steps down (no fencing), nn1 serves everything.
	if out, stderr, code := c.hdfs("haadmin", "-failover", "nn2", "nn1"); code != 0 {
		t.Fatalf("haadmin -failover nn2 nn1: exit %d\n%s%s", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(fenceDir, "fenced.nn2")); err == nil {
		t.Errorf("graceful failover fenced nn2")
	}
	c.wantState("nn1", "active")
	c.wantState("nn2", "standby")
	if _, names := c.lsNames("/after"); !slices.Equal(names, more) {
		t.Fatalf("/after on nn1: %q", names)
	}
	if header, _ := c.lsNames("/load"); header != "Found 500 items" {
		t.Fatalf("/load on nn1: %q", header)
	}

	for _, id := range []string{"nn1", "nn2", "jn1", "jn2", "jn3"} {
		c.daemons[id].term()
	}
}

// TestDemoScript runs `make demo`'s script with the real binary: it must succeed and leave
// no process behind; interrupted like a Ctrl-C halfway, it must stop everything it
// started and keep its directory for the logs. The default demo is automatic failover
// (ZooKeeper and two ZKFCs: it needs Debian's zookeeper package, else only the manual
// walkthrough, DEMO_MODE=manual, runs); the manual walkthrough must succeed too.
func TestDemoScript(t *testing.T) {
	bin := buildHDFS(t)
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script, err := filepath.Abs("../../scripts/demo.sh")
	if err != nil {
		t.Fatal(err)
	}
	mode := "auto"
	if _, err := os.Stat("/usr/share/java/zookeeper.jar"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the demo needs ZooKeeper: %v (scripts/install-test-deps.sh installs it)", err)
		}
		t.Logf("no ZooKeeper (%v): only the manual-failover demo runs", err)
		mode = "manual"
	}
	run := func(mode, interruptAt string) (string, error) {
		cmd := exec.Command(bash, script)
		cmd.Env = processEnv("HDFS="+bin, "DEMO_DIRS=20", "DEMO_MODE="+mode, "TMPDIR="+t.TempDir(), "HADOOP_USER_NAME="+currentUser())
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if interruptAt != "" {
			for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), interruptAt); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					<-done
					t.Fatalf("demo never reached %q:\n%s", interruptAt, out)
				}
			}
			// A terminal's Ctrl-C signals the whole foreground process group.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		}
		select {
		case err = <-done:
		case <-time.After(2 * time.Minute):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			t.Fatalf("demo hangs:\n%s", out)
		}
		return out.String(), err
	}
	clusterDir := func(out string) string {
		_, rest, ok := strings.Cut(out, "Cluster directory: ")
		dir, _, _ := strings.Cut(rest, "\n")
		if !ok || dir == "" {
			t.Fatalf("the demo does not print its directory:\n%s", out)
		}
		return dir
	}
	// leftovers lists the processes whose command line names dir.
	leftovers := func(dir string) []string {
		var found []string
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			b, err := os.ReadFile(p)
			if err == nil && strings.Contains(string(b), dir+"/") {
				found = append(found, p+": "+strings.ReplaceAll(string(b), "\x00", " "))
			}
		}
		return found
	}
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("needs /proc to look for leftover processes")
	}

	modes := []string{"manual"}
	if mode == "auto" {
		modes = append(modes, "auto")
	}
	for _, m := range modes {
		out, err := run(m, "")
		dir := clusterDir(out)
		if err != nil || !strings.Contains(out, "no acknowledged write was lost") || !strings.Contains(out, "20 directories under /demo (before the crash: 20)") {
			t.Fatalf("demo (%s): %v\n%s", m, err, out)
		}
		if m == "auto" && (!strings.Contains(out, "Automatic failover: ") || !strings.Contains(out, "Failover to NameNode at")) {
			t.Fatalf("demo (%s) shows no automatic then graceful failover:\n%s", m, out)
		}
		if m == "auto" && (!strings.Contains(out, "declared dead") || !strings.Contains(out, "Every block has 2 live replicas again") ||
			!strings.Contains(out, "the file read back unchanged after a DataNode loss and a NameNode failover")) {
			t.Fatalf("demo (%s) shows no DataNode loss, re-replication and read back:\n%s", m, out)
		}
		if left := leftovers(dir); len(left) > 0 {
			t.Fatalf("processes left after the demo (%s): %q", m, left)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("%s not removed after a successful demo (%s): %v", dir, m, err)
		}
	}

	// Interrupted once the cluster (with ZooKeeper and the ZKFCs, if any) runs.
	out, err := run(mode, "==> 5.")
	dir := clusterDir(out)
	if err == nil || !strings.Contains(out, "demo did not finish") || !strings.Contains(out, "files are kept in "+dir) {
		t.Fatalf("interrupted demo: %v\n%s", err, out)
	}
	if left := leftovers(dir); len(left) > 0 {
		t.Fatalf("processes left after Ctrl-C: %q", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "logs", "nn1.log")); err != nil {
		t.Fatalf("logs not kept after Ctrl-C: %v", err)
	}
}
