package editlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/internal/vfs/errorfs"
)

const editsDir = "/nn/edits"

func openLocal(t *testing.T, fs vfs.FS) *LocalJournal {
	t.Helper()
	j, err := OpenLocal(fs, editsDir, testcluster.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// replay reads every edit from 1 and checks contiguity and op contents.
func replay(t *testing.T, l *EditLog) int64 {
	t.Helper()
	last, err := l.ReadFrom(context.Background(), 1, func(txid int64, op []byte) error {
		if !bytes.Equal(op, opFor(txid)) {
			return fmt.Errorf("txid %d holds %q", txid, op)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return last
}

func listDir(t *testing.T, fs vfs.FS) string {
	t.Helper()
	names, err := fs.List(editsDir + "/current")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(names, " ")
}

func logSync(t *testing.T, l *EditLog, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		want := l.LastLoggedTxID() + 1
		if tx := l.Log(opFor(want)); tx != want {
			t.Fatalf("txid %d, want %d", tx, want)
		}
	}
	if err := l.Sync(context.Background(), l.LastLoggedTxID()); err != nil {
		t.Fatal(err)
	}
}

// TestLocalRollFinalizePurgeReplay: segments are finalized on roll and
// close, replay crosses them, purge removes old ones.
func TestLocalRollFinalizePurgeReplay(t *testing.T) {
	testcluster.CheckLeaks(t)
	fs := vfs.NewMem()
	l := openWriting(t, openLocal(t, fs), Options{}, 1)
	ctx := context.Background()
	logSync(t, l, 100)
	if seg, err := l.Roll(ctx); err != nil || seg != 101 {
		t.Fatalf("Roll = %d, %v", seg, err)
	}
	logSync(t, l, 30)
	if got := replay(t, l); got != 130 {
		t.Fatalf("replay while writing ends at %d", got)
	}
	// Logged, not synced: not visible to replay.
	l.Log(opFor(131))
	if got := replay(t, l); got != 130 {
		t.Fatalf("replay saw unsynced txid: ends at %d", got)
	}
	if err := l.Sync(ctx, 131); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	want := edits.FinalizedName(1, 100) + " " + edits.FinalizedName(101, 131)
	if got := listDir(t, fs); got != want {
		t.Fatalf("files %q, want %q", got, want)
	}

	l2 := openWriting(t, openLocal(t, fs), Options{}, 132)
	if got := replay(t, l2); got != 131 {
		t.Fatalf("replay after reopen ends at %d", got)
	}
	var from []int64
	if last, err := l2.ReadFrom(ctx, 120, func(txid int64, _ []byte) error { from = append(from, txid); return nil }); err != nil || last != 131 || from[0] != 120 || len(from) != 12 {
		t.Fatalf("ReadFrom(120) = %d, %v, %v", last, err, from)
	}
	logSync(t, l2, 5)
	if _, err := l2.Roll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l2.Purge(ctx, 101); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(listDir(t, fs), edits.FinalizedName(1, 100)) {
		t.Fatalf("purge left %s", listDir(t, fs))
	}
	if _, err := l2.ReadFrom(ctx, 1, func(int64, []byte) error { return nil }); !errors.Is(err, ErrGap) {
		t.Fatalf("ReadFrom(1) after purge: %v, want ErrGap", err)
	}
	if _, err := l2.ReadFrom(ctx, 101, func(int64, []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestLocalStartWritingChecksContiguity: a new segment must follow the
// last one.
func TestLocalStartWritingChecksContiguity(t *testing.T) {
	fs := vfs.NewMem()
	l := openWriting(t, openLocal(t, fs), Options{}, 1)
	logSync(t, l, 10)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, _ := Open(openLocal(t, fs), Options{})
	defer l2.Close()
	if err := l2.StartWriting(context.Background(), 20); err == nil || !errors.Is(err, ErrGap) {
		t.Fatalf("StartWriting past a gap: %v", err)
	}
}

// TestLocalCrash: concurrent handlers log and sync while the filesystem
// is crash-cloned at many points (some with torn tails); after each
// crash, reopening and replaying finds every txid whose Sync returned
// nil, with its op, and writing can resume.
func TestLocalCrash(t *testing.T) {
	testcluster.CheckLeaks(t)
	fs := vfs.NewMem()
	l := openWriting(t, openLocal(t, fs), Options{}, 1)
	ctx := context.Background()

	var ackMu sync.Mutex
	acked := map[int64]bool{}
	var nsLock sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				nsLock.Lock()
				txid := l.LastLoggedTxID() + 1
				if got := l.Log(opFor(txid)); got != txid {
					nsLock.Unlock()
					t.Errorf("txid %d, want %d", got, txid)
					return
				}
				nsLock.Unlock()
				if err := l.Sync(ctx, txid); err != nil {
					t.Error(err)
					return
				}
				ackMu.Lock()
				acked[txid] = true
				ackMu.Unlock()
			}
		}()
	}
	rng := rand.New(rand.NewSource(1))
	type crash struct {
		fs    *vfs.MemFS
		acked int64 // highest acknowledged txid before the clone
	}
	var crashes []crash
	for i := 0; len(crashes) < 40; i++ {
		if i%10 == 9 {
			if _, err := l.Roll(ctx); err != nil {
				t.Fatal(err)
			}
		}
		// Let some edits through between crash points.
		target := l.SyncedTxID() + 20
		for l.SyncedTxID() < target {
			if err := l.WaitSynced(ctx, min(target, l.LastLoggedTxID())); err != nil {
				t.Fatal(err)
			}
		}
		ackMu.Lock()
		var hi int64
		for tx := range acked {
			hi = max(hi, tx)
		}
		ackMu.Unlock()
		// Acknowledged before the clone => durable before the clone.
		var c *vfs.MemFS
		if i%2 == 0 {
			c = fs.CrashClone()
		} else {
			c = fs.CrashCloneTorn(rng)
		}
		crashes = append(crashes, crash{c, hi})
	}
	close(stop)
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	for i, c := range crashes {
		j, err := OpenLocal(c.fs, editsDir, nil)
		if err != nil {
			t.Fatalf("crash %d: open: %v", i, err)
		}
		rl, _ := Open(j, Options{})
		last := replay(t, rl)
		if last < c.acked {
			t.Fatalf("crash %d: replay ends at txid %d, but %d was acknowledged", i, last, c.acked)
		}
		// Recover and write on from there; replay again.
		if err := rl.Recover(ctx); err != nil {
			t.Fatalf("crash %d: recover: %v", i, err)
		}
		if err := rl.StartWriting(ctx, last+1); err != nil {
			t.Fatalf("crash %d: start writing: %v", i, err)
		}
		logSync(t, rl, 3)
		if got := replay(t, rl); got != last+3 {
			t.Fatalf("crash %d: replay after resuming ends at %d, want %d", i, got, last+3)
		}
		if err := rl.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d crash points, %d edits acknowledged", len(crashes), len(acked))
}

// TestLocalCrashAtEveryMutation: crash clones taken right after every
// mutating filesystem operation of a short run (segment creates, writes,
// fsyncs, renames, directory syncs) all recover every acknowledged txid.
func TestLocalCrashAtEveryMutation(t *testing.T) {
	mem := vfs.NewMem()
	var clones []*vfs.MemFS
	var ackedAt []int64
	var acked int64
	var hook func(errorfs.Op, string) error
	fs := errorfs.Wrap(mem, injectorFunc{&hook})
	j, err := OpenLocal(fs, editsDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := openWriting(t, j, Options{}, 1)
	ctx := context.Background()
	snap := func() {
		clones = append(clones, mem.CrashClone())
		ackedAt = append(ackedAt, acked)
	}
	// The injector runs before each operation: a clone there is a crash
	// just before it.
	hook = func(op errorfs.Op, path string) error {
		if op&errorfs.Mutating != 0 {
			snap()
		}
		return nil
	}
	for round := 0; round < 4; round++ {
		for k := 0; k < 5; k++ {
			tx := l.Log(opFor(l.LastLoggedTxID() + 1))
			if k%2 == 1 {
				if err := l.Sync(ctx, tx); err != nil {
					t.Fatal(err)
				}
				acked = tx
			}
		}
		if _, err := l.Roll(ctx); err != nil {
			t.Fatal(err)
		}
		acked = l.SyncedTxID()
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	snap()
	for i, c := range clones {
		j, err := OpenLocal(c, editsDir, nil)
		if err != nil {
			t.Fatalf("clone %d: %v", i, err)
		}
		rl, _ := Open(j, Options{})
		last := replay(t, rl)
		if last < ackedAt[i] {
			t.Fatalf("clone %d: replay ends at %d, %d acknowledged", i, last, ackedAt[i])
		}
		if err := rl.Recover(ctx); err != nil {
			t.Fatalf("clone %d: %v", i, err)
		}
		if err := rl.StartWriting(ctx, last+1); err != nil {
			t.Fatalf("clone %d: %v", i, err)
		}
		rl.Close()
	}
	t.Logf("%d crash points", len(clones))
}

type injectorFunc struct {
	f *func(errorfs.Op, string) error
}

func (i injectorFunc) MaybeError(op errorfs.Op, path string) error {
	if i.f == nil || *i.f == nil {
		return nil
	}
	return (*i.f)(op, path)
}

// TestLocalTornTailRepair: garbage after the last record of the
// in-progress segment is cut off at open, a .broken copy is kept, and
// writing resumes after the last valid txid.
func TestLocalTornTailRepair(t *testing.T) {
	fs := vfs.NewMem()
	l := openWriting(t, openLocal(t, fs), Options{}, 1)
	logSync(t, l, 10)
	// Crash without close: the segment stays in progress.
	crashed := fs.CrashClone()
	l.Close()

	p := editsDir + "/current/" + edits.InProgressName(1)
	f, err := crashed.OpenReadWrite(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	good := fi.Size()
	rec, _ := edits.EncodeRecord(edits.Record{TxID: 11, Op: opFor(11)})
	f.Seek(good, 0)
	f.Write(rec[:len(rec)-3]) // a torn last record
	f.Sync()
	f.Close()

	j := openLocal(t, crashed)
	broken, err := vfs.ReadFile(crashed, p+".broken")
	if err != nil || int64(len(broken)) != good+int64(len(rec)-3) {
		t.Fatalf(".broken copy: %d bytes, %v", len(broken), err)
	}
	if fi, _ := crashed.Stat(p); fi.Size() != good {
		t.Fatalf("segment is %d bytes after repair, want %d", fi.Size(), good)
	}
	rl := openWriting(t, j, Options{}, 11)
	if got := replay(t, rl); got != 10 {
		t.Fatalf("replay ends at %d", got)
	}
	logSync(t, rl, 2)
	if err := rl.Close(); err != nil {
		t.Fatal(err)
	}
	want := edits.FinalizedName(1, 10) + " " + edits.FinalizedName(11, 12) + " " + edits.InProgressName(1) + ".broken"
	if got := listDir(t, crashed); got != want {
		t.Fatalf("files %q, want %q", got, want)
	}
}

// flipByte corrupts one byte of a file in fs.
func flipByte(t *testing.T, fs vfs.FS, p string, off int64) {
	t.Helper()
	f, err := fs.OpenReadWrite(p)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	f.ReadAt(b, off)
	b[0] ^= 0xff
	f.Seek(off, 0)
	f.Write(b)
	f.Sync()
	f.Close()
}

// TestLocalCorruption: a bad record in the middle of a segment is a
// named corruption error, at open for the in-progress segment and at
// replay for a finalized one; nothing is skipped or repaired.
func TestLocalCorruption(t *testing.T) {
	fs := vfs.NewMem()
	l := openWriting(t, openLocal(t, fs), Options{}, 1)
	logSync(t, l, 10)
	if _, err := l.Roll(context.Background()); err != nil {
		t.Fatal(err)
	}
	logSync(t, l, 10)
	crashed := fs.CrashClone()
	l.Close()

	// Record 3 of each segment: header 8 + 2 records.
	off := int64(edits.SegmentHeaderSize + 2*edits.EncodedSize(opFor(1)) + 20)
	fin := editsDir + "/current/" + edits.FinalizedName(1, 10)
	inprog := editsDir + "/current/" + edits.InProgressName(11)

	c1 := crashed.CrashClone()
	flipByte(t, c1, inprog, off)
	_, err := OpenLocal(c1, editsDir, nil)
	var ce *edits.CorruptionError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), edits.InProgressName(11)) {
		t.Fatalf("open with a corrupt in-progress segment: %v", err)
	}
	if ok, _ := vfs.Exists(c1, inprog+".broken"); ok {
		t.Fatal("corruption was treated as a torn tail")
	}

	c2 := crashed.CrashClone()
	flipByte(t, c2, fin, off)
	rl, _ := Open(openLocal(t, c2), Options{})
	defer rl.Close()
	var seen int64
	_, err = rl.ReadFrom(context.Background(), 1, func(txid int64, _ []byte) error { seen = txid; return nil })
	if !errors.Is(err, edits.ErrCorrupt) || !strings.Contains(err.Error(), edits.FinalizedName(1, 10)) {
		t.Fatalf("replay of a corrupt finalized segment: %v", err)
	}
	if seen != 2 {
		t.Fatalf("replay applied up to txid %d before the corrupt record 3", seen)
	}

	// A finalized segment cut short is corruption too, not a torn tail.
	c3 := crashed.CrashClone()
	f, _ := c3.OpenReadWrite(fin)
	f.Truncate(off)
	f.Sync()
	f.Close()
	rl3, _ := Open(openLocal(t, c3), Options{})
	defer rl3.Close()
	if _, err := rl3.ReadFrom(context.Background(), 1, func(int64, []byte) error { return nil }); !errors.Is(err, edits.ErrCorrupt) {
		t.Fatalf("replay of a truncated finalized segment: %v", err)
	}
}

// TestLocalGap: a missing segment in the middle is an error naming both
// neighbours.
func TestLocalGap(t *testing.T) {
	fs := vfs.NewMem()
	l := openWriting(t, openLocal(t, fs), Options{}, 1)
	for i := 0; i < 3; i++ {
		logSync(t, l, 5)
		if _, err := l.Roll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	if err := fs.Remove(editsDir + "/current/" + edits.FinalizedName(6, 10)); err != nil {
		t.Fatal(err)
	}
	rl, _ := Open(openLocal(t, fs), Options{})
	defer rl.Close()
	last, err := rl.ReadFrom(context.Background(), 1, func(int64, []byte) error { return nil })
	if !errors.Is(err, ErrGap) || !strings.Contains(err.Error(), edits.FinalizedName(11, 15)) || last != 5 {
		t.Fatalf("ReadFrom across a gap: %d, %v", last, err)
	}
}

// TestLocalFsyncFailureIsFatal: an fsync error latches the log.
func TestLocalFsyncFailureIsFatal(t *testing.T) {
	testcluster.CheckLeaks(t)
	mem := vfs.NewMem()
	var fail bool
	var mu sync.Mutex
	f := func(op errorfs.Op, path string) error {
		mu.Lock()
		defer mu.Unlock()
		if fail && op == errorfs.OpSync {
			fail = false // the disk "recovers" at once
			return errorfs.ErrInjected
		}
		return nil
	}
	fs := errorfs.Wrap(mem, injectorFunc{&f})
	var fatals int
	l := openWriting(t, openLocal(t, fs), Options{OnFatal: func(error) { fatals++ }}, 1)
	logSync(t, l, 3)
	mu.Lock()
	fail = true
	mu.Unlock()
	tx := l.Log(opFor(4))
	if err := l.Sync(context.Background(), tx); !errors.Is(err, ErrJournalFailed) || !errors.Is(err, errorfs.ErrInjected) {
		t.Fatalf("Sync: %v", err)
	}
	tx = l.Log(opFor(5))
	if err := l.Sync(context.Background(), tx); !errors.Is(err, ErrJournalFailed) {
		t.Fatalf("Sync after failure: %v", err)
	}
	if fatals != 1 {
		t.Fatalf("OnFatal called %d times", fatals)
	}
	l.Close()
	// What was acknowledged is there.
	rl, _ := Open(openLocal(t, mem.CrashClone()), Options{})
	defer rl.Close()
	if got := replay(t, rl); got < 3 {
		t.Fatalf("replay ends at %d", got)
	}
}

func TestEditsDirFromConf(t *testing.T) {
	c := conf.New()
	c.Set("dfs.namenode.name.dir", "file:///data/nn")
	if d, err := EditsDirFromConf(c); err != nil || d != "/data/nn" {
		t.Fatalf("default edits dir: %q, %v", d, err)
	}
	c.Set("dfs.namenode.edits.dir", "/e1,/e2")
	if d, err := EditsDirFromConf(c); err != nil || d != "/e1" {
		t.Fatalf("edits dir: %q, %v", d, err)
	}
	c.Set("dfs.namenode.edits.dir", "qjournal://h:8485/x")
	if _, err := EditsDirFromConf(c); err == nil {
		t.Fatal("qjournal:// accepted as a local edits dir")
	}
}

func TestJournalFromConf(t *testing.T) {
	testcluster.CheckLeaks(t)
	c := conf.New()
	c.Set("dfs.namenode.edits.dir", "file:///nn/e")
	j, err := JournalFromConf(c, "", "", testNS, vfs.NewMem(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if lj, ok := j.(*LocalJournal); !ok || lj.Dir() != "/nn/e/current" {
		t.Fatalf("non-HA journal: %v", j)
	}
	j.Close()
	c.Set("dfs.namenode.shared.edits.dir", "qjournal://127.0.0.1:1;127.0.0.1:2;127.0.0.1:3/mycluster")
	j, err = JournalFromConf(c, "", "", testNS, vfs.NewMem(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := j.(*QJMJournal); !ok {
		t.Fatalf("HA journal: %v", j)
	}
	j.Close()
}
