package storage

import (
	"errors"
	"math/rand"
	"testing"

	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/internal/vfs/errorfs"
)

// crashOutcome is what the workload got acknowledged before it died.
type crashOutcome struct {
	formatted bool
	promised  int64
	acked     []int64 // txids Journal() returned nil for
	finalized [][2]int64
}

// crashWorkload drives a journal like a writer would, stopping at the first
// error (after an injected failure every later mutation fails too, as if
// the process had died).
func crashWorkload(t testing.TB, fs vfs.FS) crashOutcome {
	var out crashOutcome
	j, err := Open(Options{FS: fs, Dir: testDir, JournalID: "myjournal", CacheBytes: 1 << 12})
	if err != nil {
		return out
	}
	if j.Format(testNS, false) != nil {
		return out
	}
	out.formatted = true
	if _, err := j.NewEpoch(testNS, 1); err != nil {
		return out
	}
	out.promised = 1
	w := &writer{t: t, j: j, epoch: 1}
	next := int64(1)
	for _, segment := range [][]int{{1, 3, 2}, {4, 1}, {2, 2, 1}} {
		start := next
		if j.StartLogSegment(w.req(), start, edits.LayoutVersion) != nil {
			return out
		}
		for _, n := range segment {
			committed := int64(0)
			if len(out.acked) > 0 {
				committed = out.acked[len(out.acked)-1]
			}
			if j.Journal(w.reqCommitted(committed), start, next, n, batch(t, next, n)) != nil {
				return out
			}
			for i := 0; i < n; i++ {
				out.acked = append(out.acked, next)
				next++
			}
		}
		if j.FinalizeLogSegment(w.req(), start, next-1) != nil {
			return out
		}
		out.finalized = append(out.finalized, [2]int64{start, next - 1})
	}
	return out
}

// TestCrashAtEveryPoint crashes the journal at every mutating filesystem
// operation of a workload, and checks that after reopening the crash clone
// every acknowledged txid is there and readable, torn tails are repaired,
// and a new writer can recover and continue.
func TestCrashAtEveryPoint(t *testing.T) {
	count := errorfs.Count(errorfs.Mutating)
	full := crashWorkload(t, errorfs.Wrap(vfs.NewMem(), count))
	if len(full.acked) != 16 || len(full.finalized) != 3 {
		t.Fatalf("workload without failures: %+v", full)
	}
	points := count.N()
	t.Logf("%d crash points", points)
	for k := int64(1); k <= points+1; k++ {
		mem := vfs.NewMem()
		out := crashWorkload(t, errorfs.Wrap(mem, errorfs.AfterIndex(k, errorfs.Mutating)))
		clones := map[string]*vfs.MemFS{
			"clean": mem.CrashClone(),
			"torn":  mem.CrashCloneTorn(rand.New(rand.NewSource(k))),
		}
		for name, clone := range clones {
			checkAfterCrash(t, k, name, clone, out)
		}
	}
}

func checkAfterCrash(t *testing.T, k int64, variant string, fs *vfs.MemFS, out crashOutcome) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("crash at op %d (%s), acked %v: "+format, append([]any{k, variant, out.acked}, args...)...)
	}
	j, err := Open(Options{FS: fs, Dir: testDir, JournalID: "myjournal"})
	if err != nil {
		fail("reopen: %v", err)
	}
	if !j.IsFormatted() {
		if out.formatted {
			fail("acknowledged format lost")
		}
		return
	}
	if got := j.LastPromisedEpoch(); got < out.promised {
		fail("promise %d lost (have %d)", out.promised, got)
	}
	// No in-progress segment is left torn.
	names, err := fs.List(testDir + "/current")
	if err != nil {
		fail("%v", err)
	}
	for _, n := range names {
		if sn, ok := edits.ParseSegmentName(n); ok && sn.InProgress {
			res, err := edits.ScanFile(fs, testDir+"/current/"+n)
			if err != nil || res.Torn {
				fail("segment %s after reopen: %+v %v", n, res, err)
			}
		}
	}
	got := readAll(t, j)
	for i, txid := range got {
		if txid != int64(i+1) {
			fail("txids not contiguous from 1: %v", got)
		}
	}
	if len(got) < len(out.acked) {
		fail("acknowledged txids lost: have %v", got)
	}
	m, err := j.GetEditLogManifest(1, false)
	if err != nil {
		fail("%v", err)
	}
	for i, seg := range out.finalized {
		if i >= len(m.Logs) || m.Logs[i].StartTxID != seg[0] || m.Logs[i].EndTxID != seg[1] {
			fail("finalized segment %v lost: %v", seg, m.Logs)
		}
	}

	// A new writer recovers the latest segment and continues.
	res, err := j.NewEpoch(testNS, out.promised+1)
	if err != nil {
		fail("new epoch: %v", err)
	}
	w := &writer{t: t, j: j, epoch: out.promised + 1}
	next := int64(len(got)) + 1
	if res.HasLastSegmentTxID {
		p, err := j.PrepareRecovery(w.req(), res.LastSegmentTxID)
		if err != nil || p.Segment == nil {
			fail("prepare: %+v %v", p, err)
		}
		if p.Segment.InProgress {
			if err := j.AcceptRecovery(w.req(), *p.Segment, noFetch(t)); err != nil {
				fail("accept: %v", err)
			}
			if err := j.FinalizeLogSegment(w.req(), p.Segment.StartTxID, p.Segment.EndTxID); err != nil {
				fail("finalize: %v", err)
			}
		}
	}
	if err := j.StartLogSegment(w.req(), next, edits.LayoutVersion); err != nil {
		fail("start %d: %v", next, err)
	}
	if err := j.Journal(w.req(), next, next, 2, batch(t, next, 2)); err != nil {
		fail("journal after recovery: %v", err)
	}
	if got := readAll(t, j); int64(len(got)) != next+1 {
		fail("after recovery: %v", got)
	}
}

// TestCrashDuringRepair crashes while Open repairs a torn tail, at every
// point, and checks the next Open still finds every synced txid.
func TestCrashDuringRepair(t *testing.T) {
	base := vfs.NewMem()
	j := formatted(t, base)
	w := newWriter(t, j, 1)
	must(t, j.StartLogSegment(w.req(), 1, edits.LayoutVersion))
	must(t, j.Journal(w.req(), 1, 1, 4, batch(t, 1, 4)))
	seg := testDir + "/current/" + edits.InProgressName(1)
	f, _ := base.OpenReadWrite(seg)
	f.Seek(0, 2)
	tail := batch(t, 5, 1)
	f.Write(tail[:len(tail)-1])
	f.Sync()
	f.Close()

	count := errorfs.Count(errorfs.Mutating)
	if _, err := Open(Options{FS: errorfs.Wrap(base.CrashClone(), count), Dir: testDir}); err != nil {
		t.Fatal(err)
	}
	for k := int64(1); k <= count.N(); k++ {
		mem := base.CrashClone()
		_, err := Open(Options{FS: errorfs.Wrap(mem, errorfs.AfterIndex(k, errorfs.Mutating)), Dir: testDir})
		if !errors.Is(err, errorfs.ErrInjected) {
			t.Fatalf("op %d: %v", k, err)
		}
		j2, err := Open(Options{FS: mem.CrashClone(), Dir: testDir})
		if err != nil {
			t.Fatalf("op %d: reopen: %v", k, err)
		}
		if got := readAll(t, j2); !equalTxIDs(got, seq(1, 4)) {
			t.Fatalf("op %d: %v", k, got)
		}
	}
}
