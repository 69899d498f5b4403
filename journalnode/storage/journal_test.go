package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/internal/vfs/errorfs"
)

var testNS = NamespaceInfo{NamespaceID: 12345, ClusterID: "CID-test", CTime: 0, LayoutVersion: -66}

const testDir = "/jn/edits/myjournal"

func opOf(txid int64) []byte { return []byte(fmt.Sprintf("op-%d", txid)) }

// batch encodes txids first..first+n-1.
func batch(t testing.TB, first int64, n int) []byte {
	t.Helper()
	var b []byte
	for i := 0; i < n; i++ {
		var err error
		if b, err = edits.AppendRecord(b, first+int64(i), opOf(first+int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// writer plays a QJM writer against one journal.
type writer struct {
	t      testing.TB
	j      *Journal
	epoch  int64
	serial int64
}

func (w *writer) req() RequestInfo {
	w.serial++
	return RequestInfo{Epoch: w.epoch, IPCSerial: w.serial, Client: "127.0.0.1"}
}

func (w *writer) reqCommitted(c int64) RequestInfo {
	r := w.req()
	r.CommittedTxID, r.HasCommittedTxID = c, true
	return r
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantKind(t testing.TB, err, kind error, msgPart string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want kind %v", err, kind)
	}
	if !strings.Contains(err.Error(), msgPart) {
		t.Fatalf("err = %q, want it to contain %q", err, msgPart)
	}
}

func openMem(t testing.TB, fs vfs.FS, cache int64) *Journal {
	t.Helper()
	j, err := Open(Options{FS: fs, Dir: testDir, JournalID: "myjournal", CacheBytes: cache})
	must(t, err)
	return j
}

func formatted(t testing.TB, fs vfs.FS) *Journal {
	t.Helper()
	j := openMem(t, fs, 1<<20)
	must(t, j.Format(testNS, false))
	return j
}

// newWriter runs newEpoch(epoch) and returns a writer for it.
func newWriter(t testing.TB, j *Journal, epoch int64) *writer {
	t.Helper()
	if _, err := j.NewEpoch(testNS, epoch); err != nil {
		t.Fatal(err)
	}
	return &writer{t: t, j: j, epoch: epoch}
}

// readAll returns every txid readable from finalized and in-progress
// segments, checking op bytes.
func readAll(t testing.TB, j *Journal) []int64 {
	t.Helper()
	m, err := j.GetEditLogManifest(1, true)
	must(t, err)
	var txids []int64
	for _, l := range m.Logs {
		f, st, err := j.OpenSegment(l.StartTxID)
		must(t, err)
		fi, err := f.Stat()
		must(t, err)
		r := edits.NewReader(f, fi.Size(), "seg", st.StartTxID)
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			must(t, err)
			if !bytes.Equal(rec.Op, opOf(rec.TxID)) {
				t.Fatalf("txid %d has op %q", rec.TxID, rec.Op)
			}
			txids = append(txids, rec.TxID)
		}
		f.Close()
		if txids[len(txids)-1] != st.EndTxID {
			t.Fatalf("segment %v ends at txid %d", st, txids[len(txids)-1])
		}
	}
	return txids
}

func seq(a, b int64) []int64 {
	var s []int64
	for i := a; i <= b; i++ {
		s = append(s, i)
	}
	return s
}

func equalTxIDs(a, b []int64) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestNotFormatted(t *testing.T) {
	j := openMem(t, vfs.NewMem(), 0)
	if j.IsFormatted() {
		t.Fatal("fresh journal formatted")
	}
	_, err := j.NewEpoch(testNS, 1)
	wantKind(t, err, ErrNotFormatted, "Journal Storage Directory /jn/edits/myjournal not formatted ; journal id: myjournal")
	_, err = j.GetJournalState()
	wantKind(t, err, ErrNotFormatted, "not formatted")
	wantKind(t, j.StartLogSegment(RequestInfo{Epoch: 1}, 1, edits.LayoutVersion), ErrNotFormatted, "not formatted")
	_, err = j.GetEditLogManifest(1, true)
	wantKind(t, err, ErrNotFormatted, "not formatted")
	wantKind(t, j.Format(NamespaceInfo{}, false), ErrIllegalState, "can't format with uninitialized namespace info")
}

func TestFormat(t *testing.T) {
	fs := vfs.NewMem()
	j := formatted(t, fs)
	wantKind(t, j.Format(testNS, false), ErrAlreadyFormatted, "already formatted")
	w := newWriter(t, j, 3)
	must(t, j.StartLogSegment(w.req(), 1, edits.LayoutVersion))
	must(t, j.Journal(w.req(), 1, 1, 2, batch(t, 1, 2)))
	must(t, j.Format(testNS, true))
	if st, _ := j.GetJournalState(); st.LastPromisedEpoch != 0 {
		t.Fatalf("promise survived forced format: %d", st.LastPromisedEpoch)
	}
	if m, _ := j.GetEditLogManifest(1, true); len(m.Logs) != 0 {
		t.Fatalf("segments survived forced format: %v", m.Logs)
	}
	v, err := vfs.ReadFile(fs, testDir+"/current/VERSION")
	must(t, err)
	for _, line := range []string{"namespaceID=12345", "clusterID=CID-test", "cTime=0", "storageType=JOURNAL_NODE", "layoutVersion=-66"} {
		if !strings.Contains(string(v), line+"\n") {
			t.Fatalf("VERSION lacks %q:\n%s", line, v)
		}
	}
	// Formatting is durable: a crash clone is formatted.
	j2 := openMem(t, fs.CrashClone(), 0)
	if !j2.IsFormatted() {
		t.Fatal("format not durable")
	}
}

func TestNewEpoch(t *testing.T) {
	fs := vfs.NewMem()
	j := formatted(t, fs)
	res, err := j.NewEpoch(testNS, 5)
	must(t, err)
	if res.HasLastSegmentTxID {
		t.Fatalf("fresh journal reports a segment: %+v", res)
	}
	_, err = j.NewEpoch(testNS, 5)
	wantKind(t, err, ErrEpochTooLow, "Proposed epoch 5 <= last promise 5 ; journal id: myjournal")
	_, err = j.NewEpoch(testNS, 4)
	wantKind(t, err, ErrEpochTooLow, "Proposed epoch 4 <= last promise 5")
	bad := testNS
	bad.NamespaceID = 999
	_, err = j.NewEpoch(bad, 6)
	wantKind(t, err, ErrNamespaceMismatch, "Incompatible namespaceID for journal Storage Directory /jn/edits/myjournal: NameNode has nsId 999 but storage has nsId 12345")
	bad = testNS
	bad.ClusterID = "CID-other"
	_, err = j.NewEpoch(bad, 6)
	wantKind(t, err, ErrNamespaceMismatch, "NameNode has clusterId 'CID-other' but storage has clusterId 'CID-test'")
	// The promise is durable the moment NewEpoch returns.
	j2 := openMem(t, fs.CrashClone(), 0)
	if st, err := j2.GetJournalState(); err != nil || st.LastPromisedEpoch != 5 {
		t.Fatalf("after crash: %+v %v", st, err)
	}
}

func TestFencingAndOrdering(t *testing.T) {
	j := formatted(t, vfs.NewMem())
	w1 := newWriter(t, j, 1)
	must(t, j.StartLogSegment(w1.req(), 1, edits.LayoutVersion))
	must(t, j.Journal(w1.req(), 1, 1, 3, batch(t, 1, 3)))

	w2 := newWriter(t, j, 2)
	err := j.Journal(w1.req(), 1, 4, 1, batch(t, 4, 1))
	wantKind(t, err, ErrEpochTooLow, "IPC's epoch 1 is less than the last promised epoch 2 ; journal id: myjournal")
	// Writer 2 promised but has not started a segment: it may not write.
	err = j.Journal(w2.req(), 1, 4, 1, batch(t, 4, 1))
	wantKind(t, err, ErrNotWriterEpoch, "IPC's epoch 2 is not the current writer epoch  1 ; journal id: myjournal")
	// A request from a higher epoch than promised raises the promise.
	w3 := &writer{t: t, j: j, epoch: 3}
	must(t, j.Heartbeat(w3.req()))
	if j.LastPromisedEpoch() != 3 {
		t.Fatalf("promise = %d", j.LastPromisedEpoch())
	}
	// IPC serials must increase within an epoch.
	w3.serial = 0
	wantKind(t, j.Heartbeat(w3.req()), ErrOutOfSync, "IPC serial 1 from client 127.0.0.1 was not higher than prior highest IPC serial 1 ; journal id: myjournal")
}

func TestJournalWriteChecks(t *testing.T) {
	fs := vfs.NewMem()
	j := formatted(t, fs)
	w := newWriter(t, j, 1)
	err := j.Journal(w.req(), 1, 1, 1, batch(t, 1, 1))
	wantKind(t, err, ErrNotWriterEpoch, "is not the current writer epoch")
	wantKind(t, j.StartLogSegment(w.req(), 1, 99), ErrIllegalArgument, "Unsupported edits layout version 99")
	must(t, j.StartLogSegment(w.req(), 1, edits.LayoutVersion))
	if j.LastWriterEpoch() != 1 {
		t.Fatal("writer epoch not set")
	}
	must(t, j.Journal(w.req(), 1, 1, 3, batch(t, 1, 3)))
	wantKind(t, j.Journal(w.req(), 1, 5, 1, batch(t, 5, 1)), ErrOutOfSync, "Can't write txid 5 expecting nextTxId=4 ; journal id: myjournal")
	// A corrupt batch is refused and nothing is written.
	bad := batch(t, 4, 2)
	bad[len(bad)-1] ^= 0xff
	if err := j.Journal(w.req(), 1, 4, 2, bad); !errors.Is(err, edits.ErrCorrupt) {
		t.Fatalf("corrupt batch: %v", err)
	}
	wantKind(t, j.Journal(w.req(), 1, 4, 3, batch(t, 4, 2)), edits.ErrCorrupt, "record 3 of 3")
	must(t, j.Journal(w.req(), 1, 4, 2, batch(t, 4, 2)))
	// numTxns == 0 only moves the committed txid.
	must(t, j.Journal(w.reqCommitted(5), 1, 6, 0, nil))
	if j.CommittedTxID() != 5 {
		t.Fatalf("committed = %d", j.CommittedTxID())
	}
	wantKind(t, j.Heartbeat(w.reqCommitted(4)), ErrIllegalArgument, "Client trying to move committed txid backward from 5 to 4 ; journal id: myjournal")
	// Writing to a segment the node does not have open aborts it.
	wantKind(t, j.Journal(w.req(), 7, 6, 1, batch(t, 6, 1)), ErrOutOfSync, "Writer out of sync: it thinks it is writing segment 7 but current segment is 1 ; journal id: myjournal")
	wantKind(t, j.Journal(w.req(), 1, 6, 1, batch(t, 6, 1)), ErrOutOfSync, "Can't write, no segment open ; journal id: myjournal")
	if j.HighestWrittenTxID() != 5 {
		t.Fatalf("highest = %d", j.HighestWrittenTxID())
	}
	// Everything acknowledged survives a crash. The committed txid is
	// best effort: it may lag (it was never synced) but never leads.
	j2 := openMem(t, fs.CrashClone(), 0)
	if got := readAll(t, j2); !equalTxIDs(got, seq(1, 5)) {
		t.Fatalf("after crash: %v", got)
	}
	if j2.CommittedTxID() > 5 || j2.LastWriterEpoch() != 1 || j2.HighestWrittenTxID() != 5 {
		t.Fatalf("after crash: committed %d writer %d highest %d", j2.CommittedTxID(), j2.LastWriterEpoch(), j2.HighestWrittenTxID())
	}
}

func TestStartAndFinalize(t *testing.T) {
	fs := vfs.NewMem()
	j := formatted(t, fs)
	w := newWriter(t, j, 1)
	must(t, j.StartLogSegment(w.req(), 1, edits.LayoutVersion))
	must(t, j.Journal(w.req(), 1, 1, 3, batch(t, 1, 3)))
	wantKind(t, j.FinalizeLogSegment(w.req(), 1, 5), ErrOutOfSync, "Trying to finalize in-progress log segment 1 to end at txid 5 but only written up to txid 3 ; journal id: myjournal")
	must(t, j.FinalizeLogSegment(w.req(), 1, 3))
	must(t, j.FinalizeLogSegment(w.req(), 1, 3)) // idempotent
	wantKind(t, j.FinalizeLogSegment(w.req(), 1, 4), ErrIllegalArgument, "Trying to re-finalize already finalized log edits_0000000000000000001-0000000000000000003 with different endTxId 4")
	wantKind(t, j.FinalizeLogSegment(w.req(), 9, 10), ErrOutOfSync, "No log file to finalize at transaction ID 9 ; journal id: myjournal")
	wantKind(t, j.StartLogSegment(w.req(), 1, edits.LayoutVersion), ErrIllegalState, "Already have a finalized segment edits_0000000000000000001-0000000000000000003 beginning at 1")

	must(t, j.StartLogSegment(w.req(), 4, edits.LayoutVersion))
	must(t, j.Journal(w.req(), 4, 4, 1, batch(t, 4, 1)))
	// The writer crashed after the first txid and restarts the segment:
	// one transaction may be overwritten.
	w2 := newWriter(t, j, 2)
	must(t, j.StartLogSegment(w2.req(), 4, edits.LayoutVersion))
	must(t, j.Journal(w2.req(), 4, 4, 2, batch(t, 4, 2)))
	w3 := newWriter(t, j, 3)
	wantKind(t, j.StartLogSegment(w3.req(), 4, edits.LayoutVersion), ErrIllegalState, "seems to contain valid transactions")
	// Finalizing an in-progress segment left by an earlier writer validates it.
	wantKind(t, j.FinalizeLogSegment(w3.req(), 4, 6), ErrOutOfSync, "on disk only contains up to txid 5")
	must(t, j.FinalizeLogSegment(w3.req(), 4, 5))

	m, err := j.GetEditLogManifest(2, true)
	must(t, err)
	want := []RemoteEditLog{{1, 3, false}, {4, 5, false}}
	if fmt.Sprint(m.Logs) != fmt.Sprint(want) {
		t.Fatalf("manifest %v, want %v", m.Logs, want)
	}
	if got := readAll(t, openMem(t, fs.CrashClone(), 0)); !equalTxIDs(got, seq(1, 5)) {
		t.Fatalf("after crash: %v", got)
	}
}

func TestManifestAndPurge(t *testing.T) {
	j := formatted(t, vfs.NewMem())
	w := newWriter(t, j, 1)
	for _, seg := range [][2]int64{{1, 10}, {11, 20}, {21, 30}} {
		must(t, j.StartLogSegment(w.req(), seg[0], edits.LayoutVersion))
		must(t, j.Journal(w.req(), seg[0], seg[0], int(seg[1]-seg[0]+1), batch(t, seg[0], int(seg[1]-seg[0]+1))))
		must(t, j.FinalizeLogSegment(w.req(), seg[0], seg[1]))
	}
	must(t, j.StartLogSegment(w.req(), 31, edits.LayoutVersion))
	must(t, j.Journal(w.req(), 31, 31, 2, batch(t, 31, 2)))
	for _, tc := range []struct {
		since int64
		inPr  bool
		want  string
	}{
		{1, false, "[{1 10 false} {11 20 false} {21 30 false}]"},
		{15, false, "[{11 20 false} {21 30 false}]"},
		{15, true, "[{11 20 false} {21 30 false} {31 32 true}]"},
		{33, true, "[]"},
	} {
		m, err := j.GetEditLogManifest(tc.since, tc.inPr)
		must(t, err)
		if fmt.Sprint(m.Logs) != tc.want {
			t.Errorf("manifest(%d, %v) = %v, want %s", tc.since, tc.inPr, m.Logs, tc.want)
		}
	}
	must(t, j.PurgeLogsOlderThan(w.req(), 21))
	m, _ := j.GetEditLogManifest(1, true)
	if fmt.Sprint(m.Logs) != "[{21 30 false} {31 32 true}]" {
		t.Fatalf("after purge: %v", m.Logs)
	}
	must(t, j.PurgeLogsOlderThan(w.req(), 100))
	m, _ = j.GetEditLogManifest(1, true)
	if fmt.Sprint(m.Logs) != "[{31 32 true}]" {
		t.Fatalf("open segment purged: %v", m.Logs)
	}
}

func TestPurgeTxID(t *testing.T) {
	for _, tc := range []struct {
		name string
		txid int64
		ok   bool
	}{
		{"edits_0000000000000000001-0000000000000000010", 10, true},
		{"edits_inprogress_0000000000000000011", 11, true},
		{"edits_inprogress_0000000000000000011.broken", 11, true},
		{"edits_inprogress_0000000000000000011.epoch=4", 11, true},
		{"VERSION", 0, false},
		{"edits_x-1", 0, false},
	} {
		txid, ok := purgeTxID(tc.name)
		if txid != tc.txid || ok != tc.ok {
			t.Errorf("purgeTxID(%q) = %d %v", tc.name, txid, ok)
		}
	}
}

func TestJournaledEditsCache(t *testing.T) {
	j := openMem(t, vfs.NewMem(), 0)
	must(t, j.Format(testNS, false))
	_, err := j.GetJournaledEdits(1, 10)
	wantKind(t, err, ErrCacheDisabled, "The journal edits cache is not enabled")

	// Each record "op-N" (N < 10) is 20 bytes: a 100-byte cache holds 5.
	j = openMem(t, vfs.NewMem(), 100)
	must(t, j.Format(testNS, false))
	w := newWriter(t, j, 1)
	must(t, j.StartLogSegment(w.req(), 1, edits.LayoutVersion))
	if got, err := j.GetJournaledEdits(1, 10); err != nil || got.TxnCount != 0 {
		t.Fatalf("empty journal: %+v %v", got, err)
	}
	must(t, j.Journal(w.req(), 1, 1, 3, batch(t, 1, 3)))
	got, err := j.GetJournaledEdits(2, 10)
	must(t, err)
	if got.TxnCount != 2 || !bytes.Equal(got.Records, batch(t, 2, 2)) {
		t.Fatalf("got %d records %x", got.TxnCount, got.Records)
	}
	got, _ = j.GetJournaledEdits(1, 2)
	if got.TxnCount != 2 || !bytes.Equal(got.Records, batch(t, 1, 2)) {
		t.Fatalf("maxTxns: %d", got.TxnCount)
	}
	got, _ = j.GetJournaledEdits(4, 2)
	if got.TxnCount != 0 {
		t.Fatalf("since = highest+1: %d", got.TxnCount)
	}
	_, err = j.GetJournaledEdits(5, 2)
	wantKind(t, err, ErrNewerTxID, "Highest txn ID available in the journal is 3, but requested txns starting at 5.")
	must(t, j.Journal(w.req(), 1, 4, 4, batch(t, 4, 4)))
	_, err = j.GetJournaledEdits(1, 10)
	wantKind(t, err, ErrCacheMiss, "Oldest txn ID available in the cache is 3, but requested txns starting at 1")
	got, _ = j.GetJournaledEdits(3, 100)
	if got.TxnCount != 5 || !bytes.Equal(got.Records, batch(t, 3, 5)) {
		t.Fatalf("after eviction: %d", got.TxnCount)
	}
}

func TestOpenRepairsTornTail(t *testing.T) {
	fs := vfs.NewMem()
	j := formatted(t, fs)
	w := newWriter(t, j, 1)
	must(t, j.StartLogSegment(w.req(), 1, edits.LayoutVersion))
	must(t, j.Journal(w.req(), 1, 1, 3, batch(t, 1, 3)))
	must(t, j.Close())
	seg := testDir + "/current/" + edits.InProgressName(1)
	f, err := fs.OpenReadWrite(seg)
	must(t, err)
	f.Seek(0, io.SeekEnd)
	torn := batch(t, 4, 1)
	f.Write(torn[:len(torn)-2])
	f.Write(make([]byte, 100))
	f.Close()
	before, _ := vfs.ReadFile(fs, seg)

	j = openMem(t, fs, 0)
	if got := readAll(t, j); !equalTxIDs(got, seq(1, 3)) {
		t.Fatalf("after repair: %v", got)
	}
	broken, err := vfs.ReadFile(fs, seg+".broken")
	must(t, err)
	if !bytes.Equal(broken, before) {
		t.Fatal(".broken copy differs from the torn file")
	}
	after, _ := vfs.ReadFile(fs, seg)
	if int64(len(after)) != int64(len(before))-int64(len(torn)-2)-100 {
		t.Fatalf("truncated to %d bytes of %d", len(after), len(before))
	}
	// A second torn tail of the same segment keeps the first copy.
	must(t, j.Close())
	f, err = fs.OpenReadWrite(seg)
	must(t, err)
	f.Seek(0, io.SeekEnd)
	f.Write(make([]byte, 10))
	f.Close()
	j = openMem(t, fs, 0)
	if first, _ := vfs.ReadFile(fs, seg+".broken"); !bytes.Equal(first, before) {
		t.Fatal("first .broken copy overwritten")
	}
	if ok, _ := vfs.Exists(fs, seg+".broken.1"); !ok {
		t.Fatal("second repair kept no copy")
	}
	// The repaired segment can be continued by a new writer after recovery.
	w2 := newWriter(t, j, 2)
	pr, err := j.PrepareRecovery(w2.req(), 1)
	must(t, err)
	if pr.Segment == nil || *pr.Segment != (SegmentState{1, 3, true}) {
		t.Fatalf("prepare: %+v", pr)
	}
}

func TestOpenReportsCorruption(t *testing.T) {
	fs := vfs.NewMem()
	j := formatted(t, fs)
	w := newWriter(t, j, 1)
	must(t, j.StartLogSegment(w.req(), 1, edits.LayoutVersion))
	must(t, j.Journal(w.req(), 1, 1, 3, batch(t, 1, 3)))
	must(t, j.Close())
	seg := testDir + "/current/" + edits.InProgressName(1)
	f, _ := fs.OpenReadWrite(seg)
	f.Seek(edits.SegmentHeaderSize+edits.RecordHeaderSize, io.SeekStart) // op bytes of txid 1
	f.Write([]byte("XX"))
	f.Close()
	_, err := Open(Options{FS: fs, Dir: testDir, JournalID: "myjournal"})
	var ce *edits.CorruptionError
	if !errors.As(err, &ce) || !errors.Is(err, edits.ErrCorrupt) || !strings.HasSuffix(ce.File, edits.InProgressName(1)) || ce.Offset != edits.SegmentHeaderSize {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenMovesAsideEmptySegment(t *testing.T) {
	fs := vfs.NewMem()
	j := formatted(t, fs)
	w := newWriter(t, j, 1)
	must(t, j.StartLogSegment(w.req(), 1, edits.LayoutVersion))
	must(t, j.Journal(w.req(), 1, 1, 2, batch(t, 1, 2)))
	must(t, j.FinalizeLogSegment(w.req(), 1, 2))
	must(t, j.StartLogSegment(w.req(), 3, edits.LayoutVersion))
	must(t, j.Close())
	j = openMem(t, fs, 0)
	if ok, _ := vfs.Exists(fs, testDir+"/current/"+edits.InProgressName(3)+".empty"); !ok {
		t.Fatal("empty segment not moved aside")
	}
	res, err := j.NewEpoch(testNS, 2)
	must(t, err)
	if !res.HasLastSegmentTxID || res.LastSegmentTxID != 1 {
		t.Fatalf("newEpoch: %+v", res)
	}
}

func TestSmallStateCodecs(t *testing.T) {
	p := paxosData{AcceptedInEpoch: 7, Segment: SegmentState{StartTxID: 101, EndTxID: 150, InProgress: true}}
	b := encodePaxos(p)
	got, err := decodePaxos("f", b)
	if err != nil || got != p {
		t.Fatalf("paxos round trip: %+v %v", got, err)
	}
	if !strings.Contains(string(b[paxosSize:]), "acceptedInEpoch: 7") {
		t.Fatalf("no readable text: %q", b[paxosSize:])
	}
	for i := 0; i < paxosSize; i++ {
		c := append([]byte(nil), b...)
		c[i] ^= 0x10
		if _, err := decodePaxos("f", c); !errors.Is(err, edits.ErrCorrupt) {
			t.Fatalf("flipped byte %d accepted: %v", i, err)
		}
	}
	if _, err := decodePaxos("f", b[:20]); !errors.Is(err, edits.ErrCorrupt) {
		t.Fatal("truncated paxos accepted")
	}
	ns, err := decodeVersion("V", encodeVersion(testNS))
	if err != nil || ns != testNS {
		t.Fatalf("version round trip: %+v %v", ns, err)
	}
	// Hadoop's own VERSION shape (date comment, any order) parses too.
	hadoop := "#Thu Jan 01 00:00:00 UTC 2026\nnamespaceID=12345\nclusterID=CID-test\ncTime=0\nstorageType=JOURNAL_NODE\nlayoutVersion=-66\n"
	if ns, err := decodeVersion("V", []byte(hadoop)); err != nil || ns != testNS {
		t.Fatalf("hadoop VERSION: %+v %v", ns, err)
	}
	if _, err := decodeVersion("V", []byte("storageType=NAME_NODE\n")); !errors.Is(err, edits.ErrCorrupt) {
		t.Fatalf("wrong storage type: %v", err)
	}
}

func TestInjectedErrorsAreReturned(t *testing.T) {
	// Every failure point of a small workload returns an error wrapping
	// the injected one (or a refusal caused by an earlier failure), never
	// a panic or a silent success of the failed step.
	workload := func(fs vfs.FS) error {
		j, err := Open(Options{FS: fs, Dir: testDir, JournalID: "myjournal", CacheBytes: 1 << 10})
		if err != nil {
			return err
		}
		if err := j.Format(testNS, false); err != nil {
			return err
		}
		if _, err := j.NewEpoch(testNS, 1); err != nil {
			return err
		}
		w := &writer{j: j, epoch: 1}
		if err := j.StartLogSegment(w.req(), 1, edits.LayoutVersion); err != nil {
			return err
		}
		if err := j.Journal(w.req(), 1, 1, 3, batch(t, 1, 3)); err != nil {
			return err
		}
		return j.FinalizeLogSegment(w.req(), 1, 3)
	}
	// Close of a file only read is not checked (a failed close of a read
	// handle loses nothing).
	ops := errorfs.All &^ errorfs.OpClose
	count := errorfs.Count(ops)
	must(t, workload(errorfs.Wrap(vfs.NewMem(), count)))
	for k := int64(1); k <= count.N(); k++ {
		inj := errorfs.OnIndex(k, ops)
		err := workload(errorfs.Wrap(vfs.NewMem(), inj))
		if !errors.Is(err, errorfs.ErrInjected) {
			t.Fatalf("failure at op %d: workload returned %v", k, err)
		}
	}
}

// TestCommittedTxIDBestEffort: advancing the committed txid costs no
// fsync; a crash may leave it lagging or unreadable, which reads as 0.
func TestCommittedTxIDBestEffort(t *testing.T) {
	mem := vfs.NewMem()
	syncs := errorfs.Count(errorfs.OpSync | errorfs.OpSyncDir)
	j := formatted(t, errorfs.Wrap(mem, syncs))
	w := newWriter(t, j, 1)
	must(t, j.StartLogSegment(w.req(), 1, edits.LayoutVersion))
	must(t, j.Journal(w.reqCommitted(0), 1, 1, 3, batch(t, 1, 3)))
	before := syncs.N()
	must(t, j.Journal(w.reqCommitted(3), 1, 4, 2, batch(t, 4, 2)))
	if got := syncs.N() - before; got != 1 {
		t.Fatalf("journal() with a new committed txid did %d syncs, want 1 (the segment)", got)
	}
	if j.CommittedTxID() != 3 {
		t.Fatalf("committed = %d", j.CommittedTxID())
	}
	// Never synced: a crash now loses it.
	if j2 := openMem(t, mem.CrashClone(), 0); j2.CommittedTxID() != 0 {
		t.Fatalf("committed after crash = %d, want 0 (unsynced)", j2.CommittedTxID())
	}
	// The finalize syncs the directory: the name is durable, the contents
	// are not. The empty file reads as 0 and does not stop Open.
	must(t, j.FinalizeLogSegment(w.reqCommitted(5), 1, 5))
	j3 := openMem(t, mem.CrashClone(), 0)
	if j3.CommittedTxID() != 0 || j3.HighestWrittenTxID() != 5 {
		t.Fatalf("after crash: committed %d highest %d", j3.CommittedTxID(), j3.HighestWrittenTxID())
	}
	// A clean restart reads the value back.
	must(t, j.Close())
	if j4 := openMem(t, mem, 0); j4.CommittedTxID() != 5 {
		t.Fatalf("after restart: committed %d, want 5", j4.CommittedTxID())
	}
}

// TestLaggingNodeStartsLaterSegment: a node that missed segments (it was
// down, or its disk was replaced) takes the writer's next segment.
func TestLaggingNodeStartsLaterSegment(t *testing.T) {
	fs := vfs.NewMem()
	j := formatted(t, fs)
	w := newWriter(t, j, 1)
	must(t, j.StartLogSegment(w.req(), 10, edits.LayoutVersion))
	if m, err := j.GetEditLogManifest(1, true); err != nil || len(m.Logs) != 0 {
		t.Fatalf("manifest of an empty open segment: %+v %v", m, err)
	}
	must(t, j.Journal(w.reqCommitted(9), 10, 10, 2, batch(t, 10, 2)))
	if j.HighestWrittenTxID() != 11 {
		t.Fatalf("highest = %d", j.HighestWrittenTxID())
	}
	e, err := j.GetJournaledEdits(10, 5)
	if err != nil || e.TxnCount != 2 {
		t.Fatalf("journaled edits %+v %v", e, err)
	}
	must(t, j.FinalizeLogSegment(w.req(), 10, 11))
}

// TestCommittedTxIDTornFile: a committed-txid file that a crash left short
// or with a bad CRC reads as 0 (unknown) and does not stop Open; a good one
// reads back its value.
func TestCommittedTxIDTornFile(t *testing.T) {
	good := encodeBestEffortLong(42)
	flipped := append([]byte(nil), good...)
	flipped[3] ^= 0x40
	for name, tc := range map[string]struct {
		data []byte
		want int64
	}{
		"good":    {good, 42},
		"short":   {good[:7], 0},
		"bad crc": {flipped, 0},
		"text":    {[]byte("42\n"), 0},
	} {
		t.Run(name, func(t *testing.T) {
			mem := vfs.NewMem()
			j := formatted(t, mem)
			must(t, j.Close())
			must(t, vfs.WriteFileAtomic(mem, j.path(committedTxIDFile), tc.data))
			if j2 := openMem(t, mem, 0); j2.CommittedTxID() != tc.want {
				t.Fatalf("committed = %d, want %d", j2.CommittedTxID(), tc.want)
			}
		})
	}
}
