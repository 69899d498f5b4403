//go:build unix

package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
	"github.com/hdfsha/hdfsha/tablestore"
	"github.com/hdfsha/hdfsha/tablestore/filesink"
)

// readOnlyText is the message of every mutation refused in recovery mode (the issue's
// exact text).
const readOnlyText = "Namespace is under recovery mode, and is read-only."

// metaStatusLine runs `hdfs dfsadmin -metaStatus -detail` and returns the fields of nn's
// lines: "nn1 (127.0.0.1:8020): state=active committedTxId=10 mirroredTxId=10 _synced=1"
// gives {state: active, committedTxId: 10, ...}, plus the key=value fields of the
// indented -detail line below it (sink, lagTxns, newestMirroredImageTxId, ...); a
// recovery-mode line ("nn1 (...): recovery state=RUNNING loaded=5/10") also has the key
// "recovery". The command exits non-zero when any NameNode is unreachable, so the exit
// status is not checked here: nn's own line decides.
func (c *haProcessCluster) metaStatusLine(nn string) (map[string]string, error) {
	c.t.Helper()
	out, stderr, code := c.hdfs("dfsadmin", "-metaStatus", "-detail")
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, nn+" (") {
			continue
		}
		_, rest, ok := strings.Cut(l, "): ")
		if !ok {
			return nil, fmt.Errorf("dfsadmin -metaStatus: malformed line %q", l)
		}
		if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "  sink=") {
			rest += " " + lines[i+1]
		}
		f := map[string]string{}
		for _, w := range strings.Fields(rest) {
			k, v, _ := strings.Cut(w, "=")
			f[k] = v
		}
		return f, nil
	}
	return nil, fmt.Errorf("dfsadmin -metaStatus: no line for %s (exit %d)\nstdout: %s\nstderr: %s", nn, code, out, stderr)
}

// writeSiteFiles rewrites dir's core-site.xml and hdfs-site.xml: the layout's shared
// properties, then extra, which wins (a later property overrides an earlier one).
func writeSiteFiles(t *testing.T, ha *testcluster.HA, dir string, extra ...testcluster.Property) {
	t.Helper()
	if err := testcluster.WriteSiteXML(filepath.Join(dir, "core-site.xml"), ha.CoreSite()); err != nil {
		t.Fatal(err)
	}
	if err := testcluster.WriteSiteXML(filepath.Join(dir, "hdfs-site.xml"), append(ha.HDFSSite(), extra...)); err != nil {
		t.Fatal(err)
	}
}

// mirrorLoad is the write load of the mirror walkthrough: exactly ops namespace
// operations (mkdirs, creates of empty files, renames, setPermission, setOwner,
// setTimes, setReplication and recursive deletes; a create is counted once, though it
// is two edits: create, and complete when the file is closed) spread over workers
// goroutines, each in its own directory <root>/w<k>, through the Go client library.
// Every operation must succeed and change the namespace.
func mirrorLoad(t *testing.T, cl *client.Client, root string, ops, workers int, user string) {
	t.Helper()
	var next atomic.Int64 // operations handed out
	take := func() bool { return next.Add(1) <= int64(ops) }
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			// call makes one call; a boolean result (mkdirs, rename, delete) must be true.
			call := func(method string, req, resp proto.Message) error {
				if err := cl.Call(ctx, method, req, resp); err != nil {
					return fmt.Errorf("%s: %w", method, err)
				}
				if r, ok := resp.(interface{ GetResult() bool }); ok && !r.GetResult() {
					return fmt.Errorf("%s %v: false", method, req)
				}
				return nil
			}
			perm := func(p uint32) *hdfspb.FsPermissionProto { return &hdfspb.FsPermissionProto{Perm: proto.Uint32(p)} }
			base := fmt.Sprintf("%s/w%02d", root, w)
			for i := 0; ; i++ {
				dir := fmt.Sprintf("%s/d%05d", base, i)
				f, g := dir+"/f", dir+"/g"
				steps := []func() error{
					func() error {
						return call("mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(dir), Masked: perm(0o755), CreateParent: proto.Bool(true)}, &hdfspb.MkdirsResponseProto{})
					},
					func() error {
						fw, err := cl.Create(ctx, f, client.CreateOptions{})
						if err != nil {
							return fmt.Errorf("create %s: %w", f, err)
						}
						if err := fw.Close(); err != nil {
							return fmt.Errorf("close %s: %w", f, err)
						}
						return nil
					},
					func() error {
						return call("rename", &hdfspb.RenameRequestProto{Src: proto.String(f), Dst: proto.String(g)}, &hdfspb.RenameResponseProto{})
					},
					func() error {
						return call("setPermission", &hdfspb.SetPermissionRequestProto{Src: proto.String(g), Permission: perm(0o600 + uint32(i%8))}, &hdfspb.SetPermissionResponseProto{})
					},
					func() error {
						return call("setTimes", &hdfspb.SetTimesRequestProto{Src: proto.String(g), Mtime: proto.Uint64(uint64(1_700_000_000_000 + i)), Atime: proto.Uint64(uint64(1_700_000_000_000 + 2*i))}, &hdfspb.SetTimesResponseProto{})
					},
					func() error {
						return call("setReplication", &hdfspb.SetReplicationRequestProto{Src: proto.String(g), Replication: proto.Uint32(uint32(1 + i%3))}, &hdfspb.SetReplicationResponseProto{})
					},
					func() error {
						return call("setOwner", &hdfspb.SetOwnerRequestProto{Src: proto.String(dir), Username: proto.String(user), Groupname: proto.String(fmt.Sprintf("group%d", i%4))}, &hdfspb.SetOwnerResponseProto{})
					},
				}
				if i%3 == 2 { // a third of the directories go again
					steps = append(steps, func() error {
						return call("delete", &hdfspb.DeleteRequestProto{Src: proto.String(dir), Recursive: proto.Bool(true)}, &hdfspb.DeleteResponseProto{})
					})
				}
				for _, step := range steps {
					if !take() {
						return
					}
					if err := step(); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestMirrorProcessWalkthrough is the remote metadata mirror's end-to-end walkthrough
// with the real binary (issue 9, "End-to-end tests with processes"):
//
//  1. an HA cluster (3 JournalNodes, 2 NameNodes, 2 DataNodes) mirrors to a file sink;
//  2. 10,000 namespace operations, plus files with data; halfway an image saved on the
//     active reaches the mirror (periodic images);
//  3. writes stop; `dfsadmin -metaStatus` shows the active _synced=1;
//  4. the source namespace is dumped (safe mode and -saveNamespace on the standby once
//     it applied every txid, oiv of that image) and every JournalNode and NameNode is
//     killed with SIGKILL; the DataNodes keep running;
//  5. a new cluster on the same addresses (fresh name and JournalNode directories,
//     recovery mode on, no -format) recovers from the sink (the halfway image, then
//     the second half's edits): -metaStatus shows "recovery state=FINISH";
//  6. the recovered NameNode's image dumps (oiv XML and Indented) are identical to the
//     source's, and `dfs -count /` is equal;
//  7. the data files read back (the old DataNodes rejoined by themselves), mutations
//     fail with the exact read-only text, the recovered active refuses to step down, and
//     nothing was written to the fresh JournalNodes;
//  8. back to normal: recovery off, -initializeSharedEdits, start, -bootstrapStandby of
//     the other NameNode and start it, nn1 active; writes continue with txids after the
//     recovered one, and the mirror (still configured) continues its chain from there.
func TestMirrorProcessWalkthrough(t *testing.T) {
	testcluster.CheckLeaks(t)
	bin := buildHDFS(t)
	sinkDir := filepath.Join(t.TempDir(), "mirror")
	ha := testcluster.NewHA(t, testcluster.HAOptions{Extra: map[string]string{
		"namespace.mirror.uri":   "file://" + sinkDir,
		"dfs.replication":        "2",
		"dfs.blocksize":          "1048576",
		"dfs.heartbeat.interval": "200ms",
		// Leave safe mode as soon as the blocks are reported (the recovered NameNode).
		"dfs.namenode.safemode.extension":       "0",
		"dfs.client.failover.sleep.base.millis": "20",
		"dfs.client.failover.sleep.max.millis":  "200",
	}})
	user := currentUser()
	c := &haProcessCluster{t: t, bin: bin, ha: ha, env: processEnv("HADOOP_USER_NAME=" + user), daemons: map[string]*daemonProcess{}}

	// 1. The source cluster: format nn1, bootstrap nn2, nn1 active, two DataNodes.
	c.startJournalNodes()
	c.startManualHA()
	c.startLiveDataNodes(2)

	// 2. 10,000 operations in two halves, three files with data (two blocks each), and
	// between the halves an image (-saveNamespace on the active), which the shipper
	// mirrors too: recovery then starts from that image and replays the second half.
	cl, err := client.New(client.Config{Conf: ha.Conf(t), User: user, Logger: testcluster.Logger(t)}, "hdfs://"+ha.Nameservice)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	admin := func(args ...string) {
		t.Helper()
		if out, stderr, code := c.hdfs(args...); code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", strings.Join(args, " "), code, out, stderr)
		}
	}
	txid := func(f map[string]string, key string) int64 {
		t.Helper()
		v, err := strconv.ParseInt(f[key], 10, 64)
		if err != nil {
			t.Fatalf("-metaStatus %s: %v (%v)", key, err, f)
		}
		return v
	}
	// waitSynced waits until the active reports every committed txid mirrored.
	waitSynced := func(what string) map[string]string {
		t.Helper()
		var f map[string]string
		c.eventually(what, func() error {
			var err error
			if f, err = c.metaStatusLine("nn1"); err != nil {
				return err
			}
			if f["state"] != "active" || f["_synced"] != "1" || f["committedTxId"] != f["mirroredTxId"] {
				return fmt.Errorf("nn1: %v", f)
			}
			return nil
		})
		return f
	}
	loadStart := time.Now()
	mirrorLoad(t, cl, "/load/a", 5_000, 16, user)
	admin("dfsadmin", "-safemode", "enter")
	admin("dfsadmin", "-saveNamespace")
	admin("dfsadmin", "-safemode", "leave")
	imageTxID := txid(waitSynced("nn1 _synced=1 after the first half"), "committedTxId")
	c.eventually("the -saveNamespace image in the mirror", func() error {
		f, err := c.metaStatusLine("nn1")
		if err == nil && f["newestMirroredImageTxId"] != strconv.FormatInt(imageTxID, 10) {
			err = fmt.Errorf("nn1: %v; want newestMirroredImageTxId=%d", f, imageTxID)
		}
		return err
	})
	mirrorLoad(t, cl, "/load/b", 5_000, 16, user)
	t.Logf("10,000 operations in %v", time.Since(loadStart).Round(time.Millisecond))
	data := map[string][]byte{}
	for i := range 3 {
		p := fmt.Sprintf("/data/file%d", i)
		b := make([]byte, 1<<20+100_000*(i+1))
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		w, err := cl.Create(ctx, p, client.CreateOptions{CreateParent: true})
		if err == nil {
			_, err = w.Write(b)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
		cancel()
		if err != nil {
			t.Fatalf("write %s: %v", p, err)
		}
		data[p] = b
	}

	// 3. Writes stopped: the active reports every committed txid mirrored.
	stopped := time.Now()
	st := waitSynced("nn1 _synced=1 after the load")
	t.Logf("_synced=1 %v after the writes stopped (figure only, not asserted)", time.Since(stopped).Round(time.Millisecond))
	sourceTxID := txid(st, "committedTxId")
	if sourceTxID < imageTxID+5_000 {
		t.Fatalf("source committedTxId %d: want the second half's 5,000 operations after the image at %d", sourceTxID, imageTxID)
	}

	// 4. The source dump, from the standby once it has applied every txid (an image
	// saved on the active would be mirrored too, and recovery would replay nothing):
	// safe mode and -saveNamespace on nn2 alone, then oiv of its image. Then kill -9
	// everything but the DataNodes.
	c.eventually(fmt.Sprintf("nn2 tailing up to txid %d", sourceTxID), func() error {
		got, err := c.lastTxID(1)
		if err == nil && got != sourceTxID {
			err = fmt.Errorf("nn2 at txid %d", got)
		}
		return err
	})
	nn2FS := "hdfs://" + ha.NameNodes[1].RPCAddress
	admin("dfsadmin", "-fs", nn2FS, "-safemode", "enter")
	admin("dfsadmin", "-fs", nn2FS, "-saveNamespace")
	oiv := func(nameDir, processor string) string {
		t.Helper()
		out, stderr, code := c.hdfs("oiv", "-i", nameDir, "-p", processor, "-t", t.TempDir())
		if code != 0 || out == "" {
			t.Fatalf("oiv -i %s -p %s: exit %d\n%s", nameDir, processor, code, stderr)
		}
		return out
	}
	srcXML, srcIndented := oiv(ha.NameNodes[1].NameDir, "XML"), oiv(ha.NameNodes[1].NameDir, "Indented")
	if want := fmt.Sprintf("<txid>%d</txid>", sourceTxID); !strings.Contains(srcXML, want) {
		t.Fatalf("the source image is not at the mirrored txid %d:\n%.600s", sourceTxID, srcXML)
	}
	// The mirror's newest image is still the first half's: recovery must replay edits.
	if f, err := c.metaStatusLine("nn1"); err != nil || f["newestMirroredImageTxId"] != strconv.FormatInt(imageTxID, 10) || f["_synced"] != "1" {
		t.Fatalf("nn1 before the kill: %v, %v; want newestMirroredImageTxId=%d and _synced=1", f, err, imageTxID)
	}
	srcCount, stderr, code := c.hdfs("dfs", "-count", "/")
	if code != 0 {
		t.Fatalf("dfs -count /: exit %d\n%s", code, stderr)
	}
	for _, id := range []string{"nn1", "nn2", "jn1", "jn2", "jn3"} {
		c.daemons[id].kill9()
	}

	// 5. The new cluster: same addresses, fresh directories, recovery mode on nn1.
	fresh := func(elem ...string) string {
		dir := filepath.Join(append([]string{ha.Dir, "recovered"}, elem...)...)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	var nameDirs []testcluster.Property
	newNameDir := map[string]string{}
	for _, nn := range ha.NameNodes {
		newNameDir[nn.ID] = fresh(nn.ID, "name")
		nameDirs = append(nameDirs, testcluster.Property{Name: "dfs.namenode.name.dir." + ha.Nameservice + "." + nn.ID, Value: newNameDir[nn.ID]})
	}
	writeSiteFiles(t, ha, ha.ConfDir, nameDirs...)
	for _, jn := range ha.JournalNodes {
		writeSiteFiles(t, ha, jn.ConfDir, append(nameDirs,
			testcluster.Property{Name: "dfs.journalnode.rpc-address", Value: jn.RPCAddress},
			testcluster.Property{Name: "dfs.journalnode.http-address", Value: jn.HTTPAddress},
			testcluster.Property{Name: "dfs.journalnode.edits.dir", Value: fresh(jn.ID, "edits")})...)
	}
	nnConf := func(i int, recovery bool) {
		writeSiteFiles(t, ha, ha.NameNodes[i].ConfDir, append(nameDirs,
			testcluster.Property{Name: "dfs.ha.namenode.id", Value: ha.NameNodes[i].ID},
			testcluster.Property{Name: "namespace.backend.raft.recovery.mode", Value: strconv.FormatBool(recovery)})...)
	}
	nnConf(0, true)
	nnConf(1, false)
	c.startJournalNodes()
	nn1 := ha.NameNodes[0]
	recStart := time.Now()
	rec := startDaemon(t, "nn1 (recovery)", bin, c.env, "--config", nn1.ConfDir, "namenode")
	c.daemons["nn1"] = rec
	var recovered map[string]string
	rec.waitFor("recovery state=FINISH", func() error {
		f, err := c.metaStatusLine("nn1")
		if err != nil {
			return err
		}
		if _, ok := f["recovery"]; !ok || f["state"] != "FINISH" {
			return fmt.Errorf("nn1: %v", f)
		}
		recovered = f
		return nil
	})
	t.Logf("recovered to txid %s (image %d, then %d edits): state=FINISH %v after the NameNode started", recovered["txid"], imageTxID, sourceTxID-imageTxID, time.Since(recStart).Round(time.Millisecond))
	if recovered["txid"] != strconv.FormatInt(sourceTxID, 10) {
		t.Fatalf("recovered to txid %q, the source mirrored %d", recovered["txid"], sourceTxID)
	}
	c.wantState("nn1", "active")

	// 6. The dumps are identical; so are the counts.
	if got := oiv(newNameDir["nn1"], "XML"); got != srcXML {
		t.Fatalf("oiv XML of the recovered image differs from the source's\n%s", firstDiff(srcXML, got))
	}
	if got := oiv(newNameDir["nn1"], "Indented"); got != srcIndented {
		t.Fatalf("oiv Indented of the recovered image differs from the source's\n%s", firstDiff(srcIndented, got))
	}
	if got, stderr, code := c.hdfs("dfs", "-count", "/"); code != 0 || got != srcCount {
		t.Fatalf("dfs -count / on the recovered NameNode: exit %d, %q; the source printed %q\n%s", code, got, srcCount, stderr)
	}

	// 7. Reads work once the DataNodes have rejoined; mutations are refused.
	for p, want := range data {
		c.eventually("dfs -cat "+p+" on the recovered NameNode", func() error {
			out, stderr, code := c.hdfs("dfs", "-cat", p)
			if code != 0 || out != string(want) {
				return fmt.Errorf("exit %d, %d bytes (want %d)\n%s", code, len(out), len(want), stderr)
			}
			return nil
		})
	}
	for _, args := range [][]string{{"dfs", "-mkdir", "/x"}, {"dfs", "-rm", "-r", "/load"}, {"dfs", "-chmod", "700", "/data/file0"}} {
		out, stderr, code := c.hdfs(args...)
		if code == 0 || !strings.Contains(stderr, readOnlyText) {
			t.Fatalf("%s in recovery mode: exit %d, stdout %q, stderr %q; want a failure with %q", strings.Join(args, " "), code, out, stderr, readOnlyText)
		}
	}
	if got, _, _ := c.hdfs("dfs", "-count", "/"); got != srcCount {
		t.Fatalf("the refused mutations changed the namespace: %q, was %q", got, srcCount)
	}

	// The recovered active does not step down.
	if out, stderr, code := c.hdfs("haadmin", "-transitionToStandby", "nn1"); code == 0 || !strings.Contains(stderr, "recovery mode") {
		t.Fatalf("haadmin -transitionToStandby nn1 in recovery mode: exit %d, stdout %q, stderr %q; want a refusal naming recovery mode", code, out, stderr)
	}
	c.wantState("nn1", "active")

	// Recovery mode wrote nothing to the (fresh) JournalNodes.
	for _, jn := range ha.JournalNodes {
		if ents, err := os.ReadDir(filepath.Join(ha.Dir, "recovered", jn.ID, "edits")); err != nil || len(ents) != 0 {
			t.Fatalf("%s's edits directory after recovery: %v, %v; want it empty", jn.ID, ents, err)
		}
	}

	// 8. Back to normal: stop, recovery off, -initializeSharedEdits, start; bootstrap
	// and start nn2; nn1 active; write.
	rec.term()
	nnConf(0, false)
	if out, stderr, code := c.hdfsOn(0, "namenode", "-initializeSharedEdits", "-nonInteractive"); code != 0 {
		t.Fatalf("namenode -initializeSharedEdits: exit %d\n%s%s", code, out, stderr)
	}
	c.startNameNode(0, "standby")
	if out, stderr, code := c.hdfsOn(1, "namenode", "-bootstrapStandby", "-nonInteractive"); code != 0 {
		t.Fatalf("namenode -bootstrapStandby of nn2 after recovery: exit %d\n%s%s", code, out, stderr)
	}
	c.startNameNode(1, "standby")
	// haadmin asks every other NameNode first (Hadoop's), so nn2 runs by now.
	if out, stderr, code := c.hdfs("haadmin", "-transitionToActive", "nn1"); code != 0 {
		t.Fatalf("haadmin -transitionToActive nn1 after recovery: exit %d\n%s%s", code, out, stderr)
	}
	// A restarted NameNode is in safe mode until the DataNodes have reported again.
	c.eventually("nn1 out of safe mode after switching back", func() error {
		out, stderr, code := c.hdfs("dfsadmin", "-safemode", "get")
		if want := "Safe mode is OFF in " + nn1.RPCAddress + "\n"; code != 0 || !strings.Contains(out, want) {
			return fmt.Errorf("dfsadmin -safemode get: exit %d, %q (want %q)\n%s", code, out, want, stderr)
		}
		return nil
	})
	for _, d := range []string{"/after/a", "/after/b", "/after/c"} {
		if out, stderr, code := c.hdfs("dfs", "-mkdir", "-p", d); code != 0 {
			t.Fatalf("dfs -mkdir -p %s after switching back: exit %d\n%s%s", d, code, out, stderr)
		}
	}
	mirrorLoad(t, cl, "/load2", 200, 4, user)
	last, err := c.lastTxID(0)
	if err != nil {
		t.Fatal(err)
	}
	if last < sourceTxID+203 {
		t.Fatalf("nn1's last txid %d after 203 writes: want them after the recovered %d", last, sourceTxID)
	}
	c.daemons["nn2"].waitFor(fmt.Sprintf("nn2 tailing up to txid %d", last), func() error {
		got, err := c.lastTxID(1)
		if err == nil && got < last {
			err = fmt.Errorf("nn2 at txid %d", got)
		}
		return err
	})
	for p, want := range data {
		if out, stderr, code := c.hdfs("dfs", "-cat", p); code != 0 || out != string(want) {
			t.Fatalf("dfs -cat %s after switching back: exit %d, %d bytes\n%s", p, code, len(out), stderr)
		}
	}
	// Mirroring, still configured, continues: the sink follows the new txids.
	st = waitSynced("nn1 _synced=1 after switching back")
	if m, _ := strconv.ParseInt(st["mirroredTxId"], 10, 64); m < last {
		t.Fatalf("mirroredTxId %d after switching back, want at least %d", m, last)
	}

	for _, id := range []string{"dn1", "dn2", "nn2", "nn1", "jn1", "jn2", "jn3"} {
		c.daemons[id].term()
	}

	// The sink's edit chain has no gap and no overlap from its first batch to the last
	// txid, across the recovery: the new cluster's first batch starts at the recovered
	// txid + 1.
	checkSinkChain(t, sinkDir, sourceTxID, last)
}

// checkSinkChain opens the file sink at dir (no NameNode runs) and checks its batches
// form one contiguous chain ending at last or later, with a batch starting right after
// recovered.
func checkSinkChain(t *testing.T, dir string, recovered, last int64) {
	t.Helper()
	s, err := filesink.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	imgs, err := s.Images(ctx)
	if err != nil || len(imgs) == 0 {
		t.Fatalf("sink images: %v, %v", imgs, err)
	}
	var prev int64 = -1
	after := false
	err = s.ReadEdits(ctx, 0, func(b tablestore.Batch) error {
		if prev >= 0 && b.First != prev+1 {
			return fmt.Errorf("batch at %d follows one ending at %d", b.First, prev)
		}
		if b.First == recovered+1 {
			after = true
		}
		prev = b.Last()
		return nil
	})
	if err != nil {
		t.Fatalf("sink chain: %v", err)
	}
	if prev < last || !after {
		t.Fatalf("sink chain ends at %d (want >= %d); a batch starts at the recovered txid+1 %d: %v", prev, last, recovered+1, after)
	}
}

// firstDiff shows where two dumps part: the first differing line of each.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n source:    %.300q\n recovered: %.300q\n(%d and %d lines)", i+1, wl, gl, len(w), len(g))
		}
	}
	return "equal"
}
