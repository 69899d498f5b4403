package fsck

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

const (
	bp     = "BP-42-127.0.0.1-1700000000000"
	header = "FSCK started by hadoop (auth:SIMPLE) from /127.0.0.1 for path %s at Sat Nov 21 06:00:00 UTC 2026\n"
	ended  = "FSCK ended at Sat Nov 21 06:00:00 UTC 2026 in 7 milliseconds\n"
	// ecZero is the erasure-coded section, always empty here.
	ecZero = "\nErasure Coded Block Groups:\n" +
		" Total size:\t0 B\n" +
		" Total files:\t0\n" +
		" Total block groups (validated):\t0\n" +
		" Minimally erasure-coded block groups:\t0\n" +
		" Over-erasure-coded block groups:\t0\n" +
		" Under-erasure-coded block groups:\t0\n" +
		" Unsatisfactory placement block groups:\t0\n" +
		" Average block group size:\t0.0\n" +
		" Missing block groups:\t\t0\n" +
		" Corrupt block groups:\t\t0\n" +
		" Missing internal blocks:\t0\n" +
		" Blocks queued for replication:\t0\n"
)

var (
	b1 = Block{ID: 1073741825, GenStamp: 1001, NumBytes: 1048576}
	b2 = Block{ID: 1073741826, GenStamp: 1002, NumBytes: 524288}
)

// cluster3 is three DataNodes on one rack, dfs.replication 2.
func cluster3() (*fakeNS, *fakeBlocks) {
	ns := newFakeNS()
	ns.mkdir("/user")
	ns.mkdir("/user/hadoop")
	ns.file("/user/hadoop/data", 2, b1, b2)
	bm := &fakeBlocks{
		cluster: Cluster{LiveDatanodes: 3, Racks: 1, DefaultReplication: 2, MinReplication: 1, BlockPoolID: bp},
		replicas: map[uint64]Replicas{
			b1.ID: {Complete: true, Nodes: []Replica{live(dn(1, ""), "DS-1"), live(dn(2, ""), "DS-2")}},
			b2.ID: {Complete: true, Nodes: []Replica{live(dn(2, ""), "DS-2"), live(dn(3, ""), "DS-3")}},
		},
	}
	return ns, bm
}

func summary(status string, nodes, racks, dirs int, repl string) string {
	return "\nStatus: " + status + "\n" +
		" Number of data-nodes:\t" + itoa(nodes) + "\n" +
		" Number of racks:\t\t" + itoa(racks) + "\n" +
		" Total dirs:\t\t\t" + itoa(dirs) + "\n" +
		" Total symlinks:\t\t0\n" +
		"\nReplicated Blocks:\n" + repl + ecZero + ended
}

func itoa(i int) string { return strconv.Itoa(i) }

func want(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("line %d:\n got %q\nwant %q", i+1, g, w)
				break
			}
		}
		t.Fatalf("whole output:\n%s", got)
	}
}

// A healthy file, every option: the shape Hadoop 3 prints, byte for byte.
func TestHealthyFilesBlocksLocations(t *testing.T) {
	ns, bm := cluster3()
	got := run(ns, bm, Request{Path: "/user", Files: true, Blocks: true, Locations: true}, nil)
	want(t, got, strings.ReplaceAll(header, "%s", "/user")+
		"\n"+
		"/user <dir>\n"+
		"/user/hadoop <dir>\n"+
		"/user/hadoop/data 1572864 bytes, replicated: replication=2, 2 block(s):  OK\n"+
		"0. "+bp+":blk_1073741825_1001 len=1048576 Live_repl=2  [DatanodeInfoWithStorage[127.0.0.1:9866,DS-1,DISK], DatanodeInfoWithStorage[127.0.0.2:9866,DS-2,DISK]]\n"+
		"1. "+bp+":blk_1073741826_1002 len=524288 Live_repl=2  [DatanodeInfoWithStorage[127.0.0.2:9866,DS-2,DISK], DatanodeInfoWithStorage[127.0.0.3:9866,DS-3,DISK]]\n"+
		"\n"+
		summary("HEALTHY", 3, 1, 2,
			" Total size:\t1572864 B\n"+
				" Total files:\t1\n"+
				" Total blocks (validated):\t2 (avg. block size 786432 B)\n"+
				" Minimally replicated blocks:\t2 (100.0 %)\n"+
				" Over-replicated blocks:\t0 (0.0 %)\n"+
				" Under-replicated blocks:\t0 (0.0 %)\n"+
				" Mis-replicated blocks:\t\t0 (0.0 %)\n"+
				" Default replication factor:\t2\n"+
				" Average block replication:\t2.0\n"+
				" Missing blocks:\t\t0\n"+
				" Corrupt blocks:\t\t0\n"+
				" Missing replicas:\t\t0 (0.0 %)\n"+
				" Blocks queued for replication:\t0\n")+
		"\n\nThe filesystem under path '/user' is HEALTHY")
}

// Without options only the summary shows; -racks prints rack/ip:port.
func TestHealthyQuietAndRacks(t *testing.T) {
	ns, bm := cluster3()
	got := run(ns, bm, Request{Path: "/"}, nil)
	if !strings.HasPrefix(got, strings.ReplaceAll(header, "%s", "/")+"\n\nStatus: HEALTHY\n") {
		t.Fatalf("quiet output:\n%s", got)
	}
	if !strings.Contains(got, " Total dirs:\t\t\t3\n") || !strings.HasSuffix(got, "\n\nThe filesystem under path '/' is HEALTHY") {
		t.Fatalf("quiet output:\n%s", got)
	}
	got = run(ns, bm, Request{Path: "/user/hadoop/data", Files: true, Blocks: true, Racks: true}, nil)
	if !strings.Contains(got, "\n/user/hadoop/data 1572864 bytes, replicated: replication=2, 2 block(s):  OK\n"+
		"0. "+bp+":blk_1073741825_1001 len=1048576 Live_repl=2  [/default-rack/127.0.0.1:9866, /default-rack/127.0.0.2:9866]\n") {
		t.Fatalf("-racks output:\n%s", got)
	}
	// A file path has no directory.
	if !strings.Contains(got, " Total dirs:\t\t\t0\n") {
		t.Fatalf("-racks output:\n%s", got)
	}
}

// One replica lost: the block is under-replicated, the path stays HEALTHY.
func TestUnderReplicated(t *testing.T) {
	ns, bm := cluster3()
	bm.replicas[b2.ID] = Replicas{Complete: true, Nodes: []Replica{live(dn(3, ""), "DS-3")}}
	got := run(ns, bm, Request{Path: "/user/hadoop/data", Files: true, Blocks: true}, nil)
	want(t, got, strings.ReplaceAll(header, "%s", "/user/hadoop/data")+
		"\n"+
		"/user/hadoop/data 1572864 bytes, replicated: replication=2, 2 block(s):  Under replicated "+bp+":blk_1073741826_1002. Target Replicas is 2 but found 1 live replica(s), 0 decommissioned replica(s), 0 decommissioning replica(s).\n"+
		"0. "+bp+":blk_1073741825_1001 len=1048576 Live_repl=2\n"+
		"1. "+bp+":blk_1073741826_1002 len=524288 Live_repl=1\n"+
		"\n"+
		summary("HEALTHY", 3, 1, 0,
			" Total size:\t1572864 B\n"+
				" Total files:\t1\n"+
				" Total blocks (validated):\t2 (avg. block size 786432 B)\n"+
				" Minimally replicated blocks:\t2 (100.0 %)\n"+
				" Over-replicated blocks:\t0 (0.0 %)\n"+
				" Under-replicated blocks:\t1 (50.0 %)\n"+
				" Mis-replicated blocks:\t\t0 (0.0 %)\n"+
				" Default replication factor:\t2\n"+
				" Average block replication:\t1.5\n"+
				" Missing blocks:\t\t0\n"+
				" Corrupt blocks:\t\t0\n"+
				" Missing replicas:\t\t1 (25.0 %)\n"+
				" Blocks queued for replication:\t0\n")+
		"\n\nThe filesystem under path '/user/hadoop/data' is HEALTHY")

	// Without -files the problem line names the file.
	got = run(ns, bm, Request{Path: "/"}, nil)
	if !strings.Contains(got, "\n\n/user/hadoop/data:  Under replicated "+bp+":blk_1073741826_1002. Target Replicas is 2 but found 1 live replica(s), 0 decommissioned replica(s), 0 decommissioning replica(s).\n\nStatus: HEALTHY\n") {
		t.Fatalf("quiet output:\n%s", got)
	}
}

// Every replica gone: MISSING, CORRUPT status, the starred block.
func TestMissing(t *testing.T) {
	ns, bm := cluster3()
	delete(bm.replicas, b1.ID)
	bm.replicas[b1.ID] = Replicas{Complete: true}
	got := run(ns, bm, Request{Path: "/user", Files: true, Blocks: true, Locations: true}, nil)
	want(t, got, strings.ReplaceAll(header, "%s", "/user")+
		"\n"+
		"/user <dir>\n"+
		"/user/hadoop <dir>\n"+
		"/user/hadoop/data 1572864 bytes, replicated: replication=2, 2 block(s):  MISSING 1 blocks of total size 1048576 B\n"+
		"0. "+bp+":blk_1073741825_1001 len=1048576 MISSING!\n"+
		"1. "+bp+":blk_1073741826_1002 len=524288 Live_repl=2  [DatanodeInfoWithStorage[127.0.0.2:9866,DS-2,DISK], DatanodeInfoWithStorage[127.0.0.3:9866,DS-3,DISK]]\n"+
		"\n"+
		summary("CORRUPT", 3, 1, 2,
			" Total size:\t1572864 B\n"+
				" Total files:\t1\n"+
				" Total blocks (validated):\t2 (avg. block size 786432 B)\n"+
				"  ********************************\n"+
				"  UNDER MIN REPL'D BLOCKS:\t1 (50.0 %)\n"+
				"  MINIMAL BLOCK REPLICATION:\t1\n"+
				"  CORRUPT FILES:\t1\n"+
				"  MISSING BLOCKS:\t1\n"+
				"  MISSING SIZE:\t\t1048576 B\n"+
				"  ********************************\n"+
				" Minimally replicated blocks:\t1 (50.0 %)\n"+
				" Over-replicated blocks:\t0 (0.0 %)\n"+
				" Under-replicated blocks:\t0 (0.0 %)\n"+
				" Mis-replicated blocks:\t\t0 (0.0 %)\n"+
				" Default replication factor:\t2\n"+
				" Average block replication:\t1.0\n"+
				" Missing blocks:\t\t1\n"+
				" Corrupt blocks:\t\t0\n"+
				" Missing replicas:\t\t0 (0.0 %)\n"+
				" Blocks queued for replication:\t0\n")+
		"\n\nThe filesystem under path '/user' is CORRUPT")

	got = run(ns, bm, Request{Path: "/"}, nil)
	if !strings.Contains(got, "\n\n/user/hadoop/data: MISSING 1 blocks of total size 1048576 B.\nStatus: CORRUPT\n") {
		t.Fatalf("quiet output:\n%s", got)
	}
}

// Every replica corrupt: the block is CORRUPT, not MISSING; one good replica
// left beside a corrupt one is only under-replicated.
func TestCorrupt(t *testing.T) {
	ns, bm := cluster3()
	bad := func(r Replica) Replica { r.State = Corrupt; return r }
	bm.replicas[b1.ID] = Replicas{Complete: true, Nodes: []Replica{bad(live(dn(1, ""), "DS-1")), bad(live(dn(2, ""), "DS-2"))}}
	bm.replicas[b2.ID] = Replicas{Complete: true, Nodes: []Replica{bad(live(dn(2, ""), "DS-2")), live(dn(3, ""), "DS-3")}}
	got := run(ns, bm, Request{Path: "/user/hadoop/data", Files: true, Blocks: true}, nil)
	want(t, got, strings.ReplaceAll(header, "%s", "/user/hadoop/data")+
		"\n"+
		"/user/hadoop/data 1572864 bytes, replicated: replication=2, 2 block(s): \n"+
		"/user/hadoop/data: CORRUPT blockpool "+bp+" block blk_1073741825\n"+
		" Under replicated "+bp+":blk_1073741826_1002. Target Replicas is 2 but found 1 live replica(s), 0 decommissioned replica(s), 0 decommissioning replica(s).\n"+
		" CORRUPT 1 blocks of total size 1048576 B\n"+
		"0. "+bp+":blk_1073741825_1001 len=1048576 Live_repl=0\n"+
		"1. "+bp+":blk_1073741826_1002 len=524288 Live_repl=1\n"+
		"\n"+
		summary("CORRUPT", 3, 1, 0,
			" Total size:\t1572864 B\n"+
				" Total files:\t1\n"+
				" Total blocks (validated):\t2 (avg. block size 786432 B)\n"+
				"  ********************************\n"+
				"  UNDER MIN REPL'D BLOCKS:\t1 (50.0 %)\n"+
				"  MINIMAL BLOCK REPLICATION:\t1\n"+
				"  CORRUPT FILES:\t1\n"+
				"  CORRUPT BLOCKS: \t1\n"+
				"  CORRUPT SIZE:\t\t1048576 B\n"+
				"  ********************************\n"+
				" Minimally replicated blocks:\t1 (50.0 %)\n"+
				" Over-replicated blocks:\t0 (0.0 %)\n"+
				" Under-replicated blocks:\t1 (50.0 %)\n"+
				" Mis-replicated blocks:\t\t0 (0.0 %)\n"+
				" Default replication factor:\t2\n"+
				" Average block replication:\t0.5\n"+
				" Missing blocks:\t\t0\n"+
				" Corrupt blocks:\t\t1\n"+
				" Missing replicas:\t\t1 (25.0 %)\n"+
				" Blocks queued for replication:\t0\n")+
		"\n\nThe filesystem under path '/user/hadoop/data' is CORRUPT")
}

// A returning DataNode leaves three live replicas of a 2-replica block.
func TestOverReplicated(t *testing.T) {
	ns, bm := cluster3()
	bm.replicas[b1.ID] = Replicas{Complete: true, Nodes: []Replica{live(dn(1, ""), "DS-1"), live(dn(2, ""), "DS-2"), live(dn(3, ""), "DS-3")}}
	got := run(ns, bm, Request{Path: "/"}, nil)
	for _, s := range []string{
		" Over-replicated blocks:\t1 (50.0 %)\n",
		" Average block replication:\t2.5\n",
		" Missing replicas:\t\t0 (0.0 %)\n",
		"Status: HEALTHY\n",
	} {
		if !strings.Contains(got, s) {
			t.Fatalf("missing %q in:\n%s", s, got)
		}
	}
	// An excess replica (chosen for deletion) is not live.
	bm.replicas[b1.ID].Nodes[2] = Replica{Node: dn(3, ""), StorageID: "DS-3", State: Excess}
	got = run(ns, bm, Request{Path: "/"}, nil)
	if !strings.Contains(got, " Over-replicated blocks:\t0 (0.0 %)\n") || !strings.Contains(got, " Average block replication:\t2.0\n") {
		t.Fatalf("excess counted as live:\n%s", got)
	}
}

// Two racks: a block on one rack only breaks the placement policy.
func TestMisReplicated(t *testing.T) {
	ns, bm := cluster3()
	bm.cluster.Racks, bm.cluster.MultiRack = 2, true
	bm.replicas[b1.ID] = Replicas{Complete: true, Nodes: []Replica{live(dn(1, "/r1"), "DS-1"), live(dn(2, "/r1"), "DS-2")}}
	bm.replicas[b2.ID] = Replicas{Complete: true, Nodes: []Replica{live(dn(2, "/r1"), "DS-2"), live(dn(3, "/r2"), "DS-3")}}
	got := run(ns, bm, Request{Path: "/user/hadoop/data", Files: true, Blocks: true, Racks: true}, nil)
	want(t, got, strings.ReplaceAll(header, "%s", "/user/hadoop/data")+
		"\n"+
		"/user/hadoop/data 1572864 bytes, replicated: replication=2, 2 block(s):  Replica placement policy is violated for "+bp+":blk_1073741825_1001. Block should be additionally replicated on 1 more rack(s). Total number of racks in the cluster: 2\n"+
		"0. "+bp+":blk_1073741825_1001 len=1048576 Live_repl=2  [/r1/127.0.0.1:9866, /r1/127.0.0.2:9866]\n"+
		"1. "+bp+":blk_1073741826_1002 len=524288 Live_repl=2  [/r1/127.0.0.2:9866, /r2/127.0.0.3:9866]\n"+
		"\n"+
		summary("HEALTHY", 3, 2, 0,
			" Total size:\t1572864 B\n"+
				" Total files:\t1\n"+
				" Total blocks (validated):\t2 (avg. block size 786432 B)\n"+
				" Minimally replicated blocks:\t2 (100.0 %)\n"+
				" Over-replicated blocks:\t0 (0.0 %)\n"+
				" Under-replicated blocks:\t0 (0.0 %)\n"+
				" Mis-replicated blocks:\t\t1 (50.0 %)\n"+
				" Default replication factor:\t2\n"+
				" Average block replication:\t2.0\n"+
				" Missing blocks:\t\t0\n"+
				" Corrupt blocks:\t\t0\n"+
				" Missing replicas:\t\t0 (0.0 %)\n"+
				" Blocks queued for replication:\t0\n")+
		"\n\nThe filesystem under path '/user/hadoop/data' is HEALTHY")

	got = run(ns, bm, Request{Path: "/"}, nil)
	if !strings.Contains(got, "\n\n/user/hadoop/data:  Replica placement policy is violated for "+bp+":blk_1073741825_1001.") {
		t.Fatalf("quiet output:\n%s", got)
	}
}

// An open file is left out unless -openforwrite, which shows its block
// being written apart.
func TestOpenForWrite(t *testing.T) {
	ns, bm := cluster3()
	b3 := Block{ID: 1073741827, GenStamp: 1003, NumBytes: 0}
	f := File{Replication: 2, UnderConstruction: true, Length: b1.NumBytes, Blocks: []Block{b1, b3}}
	ns.files["/user/hadoop/open"] = f
	bm.replicas[b3.ID] = Replicas{Complete: false, Nodes: []Replica{live(dn(1, ""), "DS-1"), live(dn(3, ""), "DS-3")}}

	got := run(ns, bm, Request{Path: "/user/hadoop", Files: true}, nil)
	for _, s := range []string{
		" Total size:\t1572864 B (Total open files size: 1048576 B)\n",
		" Total files:\t1 (Files currently being written: 1)\n",
		" Total blocks (validated):\t2 (avg. block size 786432 B) (Total open file blocks (not validated): 2)\n",
	} {
		if !strings.Contains(got, s) {
			t.Fatalf("missing %q in:\n%s", s, got)
		}
	}
	if strings.Contains(got, "/user/hadoop/open") {
		t.Fatalf("open file shown without -openforwrite:\n%s", got)
	}

	got = run(ns, bm, Request{Path: "/user/hadoop", Files: true, Blocks: true, Locations: true, OpenForWrite: true}, nil)
	wantLines := "/user/hadoop/open 1048576 bytes, replicated: replication=2, 2 block(s), OPENFORWRITE:  OK\n" +
		"0. " + bp + ":blk_1073741825_1001 len=1048576 Live_repl=2  [DatanodeInfoWithStorage[127.0.0.1:9866,DS-1,DISK], DatanodeInfoWithStorage[127.0.0.2:9866,DS-2,DISK]]\n" +
		"\n" +
		"Under Construction Block:\n" +
		"1. " + bp + ":blk_1073741827_1003 len=0 Expected_repl=2  [DatanodeInfoWithStorage[127.0.0.1:9866,DS-1,DISK], DatanodeInfoWithStorage[127.0.0.3:9866,DS-3,DISK]]\n"
	if !strings.Contains(got, wantLines) {
		t.Fatalf("missing\n%s\nin:\n%s", wantLines, got)
	}
	if !strings.Contains(got, " Total files:\t2\n") || !strings.Contains(got, " Total blocks (validated):\t4 (avg. block size 655360 B)\n") {
		t.Fatalf("open file not counted:\n%s", got)
	}
}

// A path that does not exist: no summary, the last line DFSck reads.
func TestMissingPath(t *testing.T) {
	ns, bm := cluster3()
	got := run(ns, bm, Request{Path: "/nope", Files: true}, nil)
	want(t, got, strings.ReplaceAll(header, "%s", "/nope")+"\n\nPath '/nope' does not exist")
}

// A directory the user may not list ends the run with Hadoop's FAILED lines.
func TestPermissionDenied(t *testing.T) {
	ns, bm := cluster3()
	ns.denied["/user/hadoop"] = true
	got := run(ns, bm, Request{Path: "/user", User: "bob", Files: true}, nil)
	want(t, got, strings.Replace(strings.ReplaceAll(header, "%s", "/user"), "hadoop", "bob", 1)+
		"\n"+
		"/user <dir>\n"+
		"/user/hadoop <dir>\n"+
		"FSCK ended at Sat Nov 21 06:00:00 UTC 2026 in 7 milliseconds\n"+
		"Permission denied: user=bob, access=READ_EXECUTE, inode=\"/user/hadoop\":hdfs:supergroup:drwx------\n"+
		"\n\nFsck on path '/user' FAILED")
}

// -list-corruptfileblocks: a page, the cookie, the next (empty) page.
func TestListCorruptFileBlocks(t *testing.T) {
	ns, bm := cluster3()
	ns.file("/tmp/other", 1, Block{ID: 1073741830, GenStamp: 1010, NumBytes: 5})
	bm.corrupt = []uint64{1073741830, b2.ID, b1.ID}
	su := func(u string) bool { return u == "hdfs" }

	got := run(ns, bm, Request{Path: "/user", User: "hdfs", ListCorruptFileBlocks: true}, su)
	want(t, got, strings.Replace(strings.ReplaceAll(header, "%s", "/user"), "hadoop", "hdfs", 1)+
		"Cookie:\t3\n"+
		"blk_1073741825\t/user/hadoop/data\n"+
		"blk_1073741826\t/user/hadoop/data\n"+
		"\n\nThe filesystem under path '/user' has 2 CORRUPT files\n\n")

	got = run(ns, bm, Request{Path: "/user", User: "hdfs", ListCorruptFileBlocks: true, StartBlockAfter: "3"}, su)
	if !strings.HasSuffix(got, "Cookie:\t3\n\n\nThe filesystem under path '/user' has no more CORRUPT files\n\n") {
		t.Fatalf("second page:\n%s", got)
	}
	bm.corrupt = nil
	got = run(ns, bm, Request{Path: "/", User: "hdfs", ListCorruptFileBlocks: true}, su)
	if !strings.HasSuffix(got, "Cookie:\t0\n\n\nThe filesystem under path '/' has no CORRUPT files\n\n") {
		t.Fatalf("empty list:\n%s", got)
	}
	// Only the superuser may list them.
	got = run(ns, bm, Request{Path: "/", User: "bob", ListCorruptFileBlocks: true}, su)
	if !strings.HasSuffix(got, "Access denied for user bob. Superuser privilege is required\n\n\nFsck on path '/' FAILED") {
		t.Fatalf("non-superuser:\n%s", got)
	}
}

// Every 100th file prints a progress dot, every 1000th entry a blank line.
func TestProgress(t *testing.T) {
	ns, bm := cluster3()
	ns.pageSize = 500
	for i := range 1200 {
		ns.file(fmt.Sprintf("/many/f%04d", i), 2, b1)
	}
	ns.mkdir("/many")
	got := run(ns, bm, Request{Path: "/many"}, nil)
	body := strings.TrimPrefix(got, strings.ReplaceAll(header, "%s", "/many"))
	// The blank line of entry 0 (the directory), a dot per 100 files, the
	// blank line of entry 1000 (the 1000th file), three more dots.
	if !strings.HasPrefix(body, "\n.........\n...\nStatus: HEALTHY\n") {
		t.Fatalf("progress:\n%q", body[:min(60, len(body))])
	}
}

func TestJavaFloat(t *testing.T) {
	for _, c := range []struct {
		f    float32
		want string
	}{
		{0, "0.0"}, {100, "100.0"}, {2, "2.0"}, {0.5, "0.5"},
		{float32(1*100) / float32(19), "5.263158"},
		{float32(18*100) / float32(19), "94.73684"},
		{float32(1) / float32(3), "0.33333334"},
		{1e7, "1.0E7"}, {1.5e-4, "1.5E-4"}, {0.001, "0.001"},
	} {
		if got := javaFloat(c.f); got != c.want {
			t.Errorf("javaFloat(%v) = %q, want %q", c.f, got, c.want)
		}
	}
}

func TestIsParentEntry(t *testing.T) {
	for _, c := range []struct {
		path, parent string
		want         bool
	}{
		{"/a/b", "/", true}, {"/a/b", "/a", true}, {"/a", "/a", true},
		{"/ab", "/a", false}, {"/b", "/a", false},
	} {
		if got := isParentEntry(c.path, c.parent); got != c.want {
			t.Errorf("isParentEntry(%q, %q) = %v", c.path, c.parent, got)
		}
	}
}

// flushRecorder records how much had been written at each Flush.
type flushRecorder struct {
	strings.Builder
	flushes []int
}

func (f *flushRecorder) Flush() { f.flushes = append(f.flushes, f.Len()) }

// The report reaches the client at every progress line, not only at the end: a long
// walk keeps the client's read timeout alive.
func TestFlushesAtProgress(t *testing.T) {
	ns, bm := cluster3()
	ns.pageSize = 500
	ns.mkdir("/many")
	for i := range 1200 {
		ns.file(fmt.Sprintf("/many/f%04d", i), 2, b1)
	}
	var w flushRecorder
	if err := Run(t.Context(), Config{Namespace: ns, Blocks: bm, Now: stepClock()}, Request{User: "hadoop", RemoteIP: "127.0.0.1", Path: "/many"}, &w); err != nil {
		t.Fatal(err)
	}
	head := len(strings.ReplaceAll(header, "%s", "/many")) + 1
	if len(w.flushes) != 2 || w.flushes[0] != head || w.flushes[1] != head+9+1 {
		t.Fatalf("flushed at %v (header and first blank line: %d bytes)", w.flushes, head)
	}
}
