package storage

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/internal/vfs/errorfs"
)

// fetchFrom serves segments from another journal, as the HTTP fetch from
// fromURL does between JournalNodes.
func fetchFrom(t testing.TB, src *Journal) Fetcher {
	return func(seg SegmentState, w io.Writer) error {
		f, _, err := src.OpenSegment(seg.StartTxID)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	}
}

func noFetch(t testing.TB) Fetcher {
	return func(SegmentState, io.Writer) error {
		t.Fatal("fetch called although the local copy was up to date")
		return nil
	}
}

// threeJNs: epoch-1 writer wrote txids 1-3 of segment 1 everywhere and 4-5
// only on JN1, then died.
func threeJNs(t *testing.T) ([]*Journal, []*vfs.MemFS) {
	var js []*Journal
	var fss []*vfs.MemFS
	for i := 0; i < 3; i++ {
		fs := vfs.NewMem()
		j := formatted(t, fs)
		w := newWriter(t, j, 1)
		must(t, j.StartLogSegment(w.req(), 1, edits.LayoutVersion))
		must(t, j.Journal(w.reqCommitted(0), 1, 1, 3, batch(t, 1, 3)))
		if i == 0 {
			must(t, j.Journal(w.reqCommitted(3), 1, 4, 2, batch(t, 4, 2)))
		}
		js = append(js, j)
		fss = append(fss, fs)
	}
	return js, fss
}

func TestRecoverySyncsShorterLogs(t *testing.T) {
	js, fss := threeJNs(t)
	ws := make([]*writer, 3)
	for i, j := range js {
		ws[i] = newWriter(t, j, 2)
		res, _ := j.NewEpoch(testNS, 3) // a rival raced us: a higher promise
		_ = res
	}
	// Our epoch-2 requests are now fenced everywhere.
	_, err := js[0].PrepareRecovery(ws[0].req(), 1)
	wantKind(t, err, ErrEpochTooLow, "IPC's epoch 2 is less than the last promised epoch 3")
	for i := range ws {
		ws[i] = &writer{t: t, j: js[i], epoch: 4}
	}
	p0, err := js[0].PrepareRecovery(ws[0].req(), 1)
	must(t, err)
	p1, err := js[1].PrepareRecovery(ws[1].req(), 1)
	must(t, err)
	if *p0.Segment != (SegmentState{1, 5, true}) || p0.HasAcceptedInEpoch || p0.LastWriterEpoch != 1 || p0.LastCommittedTxID != 3 {
		t.Fatalf("JN1 prepare: %+v", p0)
	}
	if *p1.Segment != (SegmentState{1, 3, true}) || p1.HasLastCommittedTxID {
		t.Fatalf("JN2 prepare: %+v", p1)
	}
	// The writer picks JN1's longer log; JN1 already has it.
	chosen := *p0.Segment
	must(t, js[0].AcceptRecovery(ws[0].req(), chosen, noFetch(t)))
	must(t, js[1].AcceptRecovery(ws[1].req(), chosen, fetchFrom(t, js[0])))
	if js[1].HighestWrittenTxID() != 5 {
		t.Fatalf("JN2 highest = %d", js[1].HighestWrittenTxID())
	}
	// Accepted but not finalized: a later prepare reports the proposal.
	p1, err = js[1].PrepareRecovery(ws[1].req(), 1)
	must(t, err)
	if !p1.HasAcceptedInEpoch || p1.AcceptedInEpoch != 4 || *p1.Segment != chosen {
		t.Fatalf("JN2 after accept: %+v", p1)
	}
	for i := 0; i < 2; i++ {
		must(t, js[i].FinalizeLogSegment(ws[i].req(), 1, 5))
		if ok, _ := vfs.Exists(fss[i], testDir+"/current/paxos/1"); ok {
			t.Fatalf("JN%d kept paxos data after finalize", i+1)
		}
		if got := readAll(t, js[i]); !equalTxIDs(got, seq(1, 5)) {
			t.Fatalf("JN%d: %v", i+1, got)
		}
	}
	// A finalized segment beats any accepted proposal in prepare.
	p0, err = js[0].PrepareRecovery(ws[0].req(), 1)
	must(t, err)
	if p0.HasAcceptedInEpoch || *p0.Segment != (SegmentState{1, 5, false}) {
		t.Fatalf("finalized prepare: %+v", p0)
	}
	// Never synchronize over a finalized segment.
	wantKind(t, js[0].AcceptRecovery(ws[0].req(), SegmentState{1, 4, true}, noFetch(t)), ErrAssertion,
		"Should never be asked to synchronize a different log on top of an already-finalized segment")
	// A JN that has no segment at all reports none.
	fresh := formatted(t, vfs.NewMem())
	w := newWriter(t, fresh, 4)
	p, err := fresh.PrepareRecovery(w.req(), 1)
	must(t, err)
	if p.Segment != nil || p.HasAcceptedInEpoch {
		t.Fatalf("empty JN prepare: %+v", p)
	}
	must(t, fresh.AcceptRecovery(w.req(), SegmentState{1, 5, true}, fetchFrom(t, js[1])))
	must(t, fresh.FinalizeLogSegment(w.req(), 1, 5))
	if got := readAll(t, fresh); !equalTxIDs(got, seq(1, 5)) {
		t.Fatalf("fresh JN: %v", got)
	}
}

func TestAcceptRecoveryChecks(t *testing.T) {
	js, _ := threeJNs(t)
	w := newWriter(t, js[0], 2)
	wantKind(t, js[0].AcceptRecovery(w.req(), SegmentState{5, 4, true}, noFetch(t)), ErrIllegalArgument, "bad recovery state for segment 5")
	// JN1 knows txid 3 is committed: shortening below it is refused.
	wantKind(t, js[0].AcceptRecovery(w.req(), SegmentState{1, 2, true}, noFetch(t)), ErrAssertion,
		"would discard already-committed txn 3")
	// A fetch that delivers the wrong txids leaves nothing behind.
	w1 := newWriter(t, js[1], 2)
	badFetch := func(seg SegmentState, out io.Writer) error {
		b := edits.AppendSegmentHeader(nil)
		b = append(b, batch(t, 1, 4)...)
		_, err := out.Write(b)
		return err
	}
	err := js[1].AcceptRecovery(w1.req(), SegmentState{1, 5, true}, badFetch)
	wantKind(t, err, ErrOutOfSync, "downloaded segment holds txids 1-4, want 1-5")
	names, _ := js[1].fs.List(testDir + "/current")
	for _, n := range names {
		if strings.Contains(n, ".epoch=") {
			t.Fatalf("temporary download left behind: %s", n)
		}
	}
	failFetch := func(SegmentState, io.Writer) error { return errors.New("connection refused") }
	if err := js[1].AcceptRecovery(w1.req(), SegmentState{1, 5, true}, failFetch); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("failed fetch: %v", err)
	}
	// A longer download is cut to the agreed end.
	longFetch := func(seg SegmentState, out io.Writer) error {
		b := edits.AppendSegmentHeader(nil)
		b = append(b, batch(t, 1, 7)...)
		_, err := out.Write(b)
		return err
	}
	must(t, js[1].AcceptRecovery(w1.req(), SegmentState{1, 5, true}, longFetch))
	must(t, js[1].FinalizeLogSegment(w1.req(), 1, 5))
	if got := readAll(t, js[1]); !equalTxIDs(got, seq(1, 5)) {
		t.Fatalf("after long fetch: %v", got)
	}
}

func TestHalfDoneAcceptRecoveryRollsForward(t *testing.T) {
	js, _ := threeJNs(t)
	// JN3 crashes right after persisting the decision, before moving the
	// downloaded segment into place: fail the first rename of the download.
	mem := vfs.NewMem()
	inj := &failRename{match: ".epoch="}
	j3 := openMem(t, errorfs.Wrap(mem, inj), 0)
	must(t, j3.Format(testNS, false))
	w := newWriter(t, j3, 1)
	must(t, j3.StartLogSegment(w.req(), 1, edits.LayoutVersion))
	must(t, j3.Journal(w.req(), 1, 1, 3, batch(t, 1, 3)))
	w = newWriter(t, j3, 2)
	if _, err := j3.PrepareRecovery(w.req(), 1); err != nil {
		t.Fatal(err)
	}
	err := j3.AcceptRecovery(w.req(), SegmentState{1, 5, true}, fetchFrom(t, js[0]))
	if !errors.Is(err, errorfs.ErrInjected) {
		t.Fatalf("accept: %v", err)
	}
	crashed := openMem(t, mem.CrashClone(), 0)
	w = newWriter(t, crashed, 3)
	p, err := crashed.PrepareRecovery(w.req(), 1)
	must(t, err)
	if !p.HasAcceptedInEpoch || p.AcceptedInEpoch != 2 || *p.Segment != (SegmentState{1, 5, true}) {
		t.Fatalf("after roll forward: %+v", p)
	}
	must(t, crashed.FinalizeLogSegment(w.req(), 1, 5))
	if got := readAll(t, crashed); !equalTxIDs(got, seq(1, 5)) {
		t.Fatalf("after roll forward: %v", got)
	}
}

// failRename fails renames of paths containing match.
type failRename struct{ match string }

func (f *failRename) MaybeError(op errorfs.Op, path string) error {
	if op == errorfs.OpRename && strings.Contains(path, f.match) {
		return errorfs.ErrInjected
	}
	return nil
}

func TestStartLogSegmentPurgesAbandonedRecovery(t *testing.T) {
	js, fss := threeJNs(t)
	j := js[1]
	w := newWriter(t, j, 2)
	_, err := j.PrepareRecovery(w.req(), 1)
	must(t, err)
	must(t, j.AcceptRecovery(w.req(), SegmentState{1, 3, true}, noFetch(t)))
	must(t, j.FinalizeLogSegment(w.req(), 1, 3))
	must(t, j.StartLogSegment(w.req(), 4, edits.LayoutVersion))
	must(t, j.Journal(w.req(), 4, 4, 1, batch(t, 4, 1)))
	// Epoch 3 recovers segment 4 (one txn) here, then abandons that
	// recovery and restarts segment 4 itself.
	w3 := newWriter(t, j, 3)
	_, err = j.PrepareRecovery(w3.req(), 4)
	must(t, err)
	must(t, j.AcceptRecovery(w3.req(), SegmentState{4, 4, true}, noFetch(t)))
	if ok, _ := vfs.Exists(fss[1], testDir+"/current/paxos/4"); !ok {
		t.Fatal("no paxos file after accept")
	}
	must(t, j.StartLogSegment(w3.req(), 4, edits.LayoutVersion))
	if ok, _ := vfs.Exists(fss[1], testDir+"/current/paxos/4"); ok {
		t.Fatal("paxos file of an abandoned recovery kept")
	}
	must(t, j.Journal(w3.req(), 4, 4, 2, batch(t, 4, 2)))
	if got := readAll(t, j); !equalTxIDs(got, seq(1, 5)) {
		t.Fatalf("%v", got)
	}
}
