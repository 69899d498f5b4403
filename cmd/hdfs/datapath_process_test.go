//go:build unix

package main

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/testcluster"
)

// dnLayout is one DataNode of a process test: its addresses and configuration dir.
type dnLayout struct {
	id, confDir, dataDir string
	xfer, ipc, http      string
}

// layoutDataNodes writes n DataNode configurations beside ha's: the shared
// hdfs-site.xml plus each DataNode's own addresses and data directory.
func layoutDataNodes(t *testing.T, ha *testcluster.HA, n int) []dnLayout {
	t.Helper()
	var out []dnLayout
	for i := 1; i <= n; i++ {
		d := dnLayout{id: fmt.Sprintf("dn%d", i)}
		d.confDir = filepath.Join(ha.Dir, d.id, "conf")
		d.dataDir = filepath.Join(ha.Dir, d.id, "data")
		for _, dir := range []string{d.confDir, d.dataDir} {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		d.xfer = testcluster.ReserveAddr(t, testcluster.DefaultHost)
		d.ipc = testcluster.ReserveAddr(t, testcluster.DefaultHost)
		d.http = testcluster.ReserveAddr(t, testcluster.DefaultHost)
		props := append(ha.HDFSSite(),
			testcluster.Property{Name: "dfs.datanode.address", Value: d.xfer},
			testcluster.Property{Name: "dfs.datanode.ipc.address", Value: d.ipc},
			testcluster.Property{Name: "dfs.datanode.http.address", Value: d.http},
			testcluster.Property{Name: "dfs.datanode.data.dir", Value: d.dataDir},
		)
		if err := testcluster.WriteSiteXML(filepath.Join(d.confDir, "hdfs-site.xml"), props); err != nil {
			t.Fatal(err)
		}
		if err := testcluster.WriteSiteXML(filepath.Join(d.confDir, "core-site.xml"), ha.CoreSite()); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func (c *haProcessCluster) startDataNode(d dnLayout) {
	c.t.Helper()
	p := startDaemon(c.t, d.id, c.bin, c.env, "--config", d.confDir, "datanode")
	c.daemons[d.id] = p
	p.waitListening(d.xfer)
}

// startManualHA formats nn1, starts it, bootstraps nn2 from it, starts
// nn2 and makes nn1 active with haadmin (the JournalNodes run).
func (c *haProcessCluster) startManualHA() {
	t := c.t
	if _, stderr, code := c.hdfsOn(0, "namenode", "-format", "-nonInteractive"); code != 0 {
		t.Fatalf("namenode -format: exit %d\n%s", code, stderr)
	}
	c.startNameNode(0, "standby")
	if out, stderr, code := c.hdfsOn(1, "namenode", "-bootstrapStandby", "-nonInteractive"); code != 0 {
		t.Fatalf("namenode -bootstrapStandby: exit %d\n%s%s", code, out, stderr)
	}
	c.startNameNode(1, "standby")
	if out, stderr, code := c.hdfs("haadmin", "-transitionToActive", "nn1"); code != 0 {
		t.Fatalf("haadmin -transitionToActive nn1: exit %d\n%s%s", code, out, stderr)
	}
}

// startLiveDataNodes lays out and starts n DataNodes and waits until the
// active reports them live.
func (c *haProcessCluster) startLiveDataNodes(n int) []dnLayout {
	dns := layoutDataNodes(c.t, c.ha, n)
	for _, d := range dns {
		c.startDataNode(d)
	}
	c.eventually(fmt.Sprintf("%d live DataNodes", n), func() error {
		out, stderr, code := c.hdfs("dfsadmin", "-report", "-live")
		if code != 0 || !strings.Contains(out, fmt.Sprintf("Live datanodes (%d):", n)) {
			return fmt.Errorf("dfsadmin -report -live: exit %d\n%s%s", code, out, stderr)
		}
		return nil
	})
	return dns
}

// eventually polls cond until it returns nil; the bound only guards against a hang.
func (c *haProcessCluster) eventually(what string, cond func() error) {
	c.t.Helper()
	var err error
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = cond(); err == nil {
			return
		}
	}
	c.t.Fatalf("%s: %v", what, err)
}

// fsck runs `hdfs fsck path -files -blocks -locations`.
func (c *haProcessCluster) fsck(path string) (string, int) {
	out, _, code := c.hdfs("fsck", path, "-files", "-blocks", "-locations")
	return out, code
}

var fsckBlockLine = regexp.MustCompile(`(?m)^\d+\. \S+:blk_\d+_\d+ len=\d+ Live_repl=(\d+)\s+\[(.*)\]$`)

// fsckHealthy checks an fsck answer: exit 0, HEALTHY, `blocks` blocks each with
// exactly `repl` live replicas, none of them on `not`.
func fsckHealthy(out string, code, blocks, repl int, not string) error {
	if code != 0 || !strings.Contains(out, "is HEALTHY") {
		return fmt.Errorf("fsck exit %d:\n%s", code, out)
	}
	lines := fsckBlockLine.FindAllStringSubmatch(out, -1)
	if len(lines) != blocks {
		return fmt.Errorf("%d block lines, want %d:\n%s", len(lines), blocks, out)
	}
	for _, l := range lines {
		if l[1] != fmt.Sprint(repl) || strings.Count(l[2], "DatanodeInfoWithStorage[") != repl {
			return fmt.Errorf("block line %q: want %d live replicas", l[0], repl)
		}
		if not != "" && strings.Contains(l[2], not+",") {
			return fmt.Errorf("block line %q still names %s", l[0], not)
		}
	}
	for _, want := range []string{" Over-replicated blocks:\t0 ", " Under-replicated blocks:\t0 ", " Missing replicas:\t\t0 "} {
		if !strings.Contains(out, want) {
			return fmt.Errorf("fsck summary lacks %q:\n%s", want, out)
		}
	}
	return nil
}

// finalizedReplicas counts the blk_<id> data files (not .meta) under a DataNode's
// finalized directories.
func finalizedReplicas(t *testing.T, dataDir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), "blk_") && !strings.HasSuffix(d.Name(), ".meta") &&
			strings.Contains(p, string(filepath.Separator)+"finalized"+string(filepath.Separator)) {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func sha256File(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestDataNodeLossProcessWalkthrough is the "HDFS Replication and DataNode Loss"
// walkthrough with the real binary: an HA pair, three DataNodes, dfs.replication=2 and
// 1 MiB blocks. A 3.5 MiB file is put; fsck shows 4 blocks with 2 live replicas each;
// a DataNode holding replicas is killed with SIGKILL; reads work at once; after dead-node
// detection `dfsadmin -report` lists it dead and re-replication brings every block back
// to 2 live replicas (fsck HEALTHY, none on the dead node); the DataNode restarts and
// its now excess replicas are deleted (exactly 8 replica files on disk again); a
// failover to nn2 serves the locations at once; and -get returns the original bytes.
func TestDataNodeLossProcessWalkthrough(t *testing.T) {
	testcluster.CheckLeaks(t)
	bin := buildHDFS(t)
	ha := testcluster.NewHA(t, testcluster.HAOptions{Extra: map[string]string{
		"dfs.ha.fencing.methods": "shell(true)",
		"dfs.replication":        "2",
		"dfs.blocksize":          "1048576",
		// Dead after 2 × 250 ms + 10 × 200 ms = 2.5 s instead of 10 min 30 s.
		"dfs.heartbeat.interval":                          "200ms",
		"dfs.namenode.heartbeat.recheck-interval":         "250",
		"dfs.namenode.redundancy.interval.seconds":        "200ms",
		"dfs.namenode.safemode.extension":                 "0",
		"dfs.client.failover.sleep.base.millis":           "20",
		"dfs.client.failover.sleep.max.millis":            "200",
		"dfs.namenode.reconstruction.pending.timeout-sec": "5",
	}})
	user := currentUser()
	c := &haProcessCluster{t: t, bin: bin, ha: ha, env: processEnv("HADOOP_USER_NAME=" + user), daemons: map[string]*daemonProcess{}}
	c.startJournalNodes()
	c.startManualHA()

	// 1. Three DataNodes, all live.
	dns := c.startLiveDataNodes(3)
	for i := range 2 { // the standby counts them too
		c.eventually(fmt.Sprintf("nn%d's FSNamesystem bean counts 3 live DataNodes", i+1), func() error {
			if b, err := c.fsNamesystemBean(i); err != nil || b.NumLiveDataNodes != 3 {
				return fmt.Errorf("%+v, %v", b, err)
			}
			return nil
		})
	}

	// 2. Put a multi-block file.
	local := filepath.Join(t.TempDir(), "data")
	data := make([]byte, 3<<20+512<<10)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(local, data, 0o644); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	if out, stderr, code := c.hdfs("dfs", "-mkdir", "-p", "/user/hadoop"); code != 0 {
		t.Fatalf("dfs -mkdir: exit %d\n%s%s", code, out, stderr)
	}
	if out, stderr, code := c.hdfs("dfs", "-put", local, "/user/hadoop/data"); code != 0 {
		t.Fatalf("dfs -put: exit %d\n%s%s", code, out, stderr)
	}

	// 3. fsck: 4 blocks, 2 replicas each, HEALTHY.
	out, code := c.fsck("/user/hadoop/data")
	if err := fsckHealthy(out, code, 4, 2, ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "/user/hadoop/data 3670016 bytes, replicated: replication=2, 4 block(s):  OK") {
		t.Fatalf("fsck file line:\n%s", out)
	}

	// 4. Kill -9 a DataNode holding replicas.
	var victim dnLayout
	for _, d := range dns {
		if strings.Contains(out, "DatanodeInfoWithStorage["+d.xfer+",") {
			victim = d
			break
		}
	}
	if victim.id == "" {
		t.Fatalf("no DataNode named in fsck:\n%s", out)
	}
	c.daemons[victim.id].kill9()

	// 5. Reads succeed at once (the reader skips the dead replica).
	got := filepath.Join(t.TempDir(), "cat")
	stdout, stderr, code := c.hdfs("dfs", "-cat", "/user/hadoop/data")
	if code != 0 || sha256.Sum256([]byte(stdout)) != want {
		t.Fatalf("dfs -cat with %s dead: exit %d, %d bytes\n%s", victim.id, code, len(stdout), stderr)
	}

	// 6. Dead detection, then re-replication: fsck HEALTHY with 2 live replicas per
	// block, none on the dead node.
	c.eventually("dfsadmin -report -dead lists "+victim.id, func() error {
		out, stderr, code := c.hdfs("dfsadmin", "-report", "-dead")
		if code != 0 || !strings.Contains(out, "Dead datanodes (1):") || !strings.Contains(out, "Name: "+victim.xfer+" ") {
			return fmt.Errorf("exit %d\n%s%s", code, out, stderr)
		}
		return nil
	})
	if b, err := c.fsNamesystemBean(0); err != nil || b.NumDeadDataNodes != 1 || b.NumLiveDataNodes != 2 {
		t.Fatalf("FSNamesystem bean with %s dead: %+v, %v", victim.id, b, err)
	}
	c.eventually("re-replication", func() error {
		out, code := c.fsck("/user/hadoop/data")
		return fsckHealthy(out, code, 4, 2, victim.xfer)
	})

	// 7. The DataNode returns: its replicas are now excess and get deleted, leaving
	// exactly 2 replicas of each of the 4 blocks on disk.
	c.startDataNode(victim)
	c.eventually("excess replicas removed", func() error {
		total := 0
		for _, d := range dns {
			total += finalizedReplicas(t, d.dataDir)
		}
		if total != 8 {
			return fmt.Errorf("%d replica files on disk, want 8", total)
		}
		out, code := c.fsck("/user/hadoop/data")
		return fsckHealthy(out, code, 4, 2, "")
	})

	// HA: after a failover the new active serves the locations at once.
	if out, stderr, code := c.hdfs("haadmin", "-failover", "nn1", "nn2"); code != 0 {
		t.Fatalf("haadmin -failover nn1 nn2: exit %d\n%s%s", code, out, stderr)
	}
	c.wantState("nn2", "active")
	if out, code := c.fsck("/user/hadoop/data"); fsckHealthy(out, code, 4, 2, "") != nil {
		t.Fatalf("fsck right after failover: %v", fsckHealthy(out, code, 4, 2, ""))
	}

	// 8. -get returns the original bytes.
	if out, stderr, code := c.hdfs("dfs", "-get", "/user/hadoop/data", got); code != 0 {
		t.Fatalf("dfs -get: exit %d\n%s%s", code, out, stderr)
	}
	if sha256File(t, got) != want {
		t.Fatal("dfs -get returned different bytes")
	}
	for _, id := range []string{"dn1", "dn2", "dn3", "nn1", "nn2"} {
		if d := c.daemons[id]; d != nil && d.running() {
			d.term()
		}
	}
}
