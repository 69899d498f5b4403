package storage

import (
	"testing"

	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/vfs"
)

// TestJournalOnOSFilesystem runs a writer's life cycle on a real directory.
func TestJournalOnOSFilesystem(t *testing.T) {
	dir := t.TempDir() + "/journal/myjournal"
	j, err := Open(Options{Dir: dir, JournalID: "myjournal", CacheBytes: 1 << 20})
	must(t, err)
	must(t, j.Format(testNS, false))
	w := newWriter(t, j, 1)
	must(t, j.StartLogSegment(w.req(), 1, edits.LayoutVersion))
	must(t, j.Journal(w.reqCommitted(0), 1, 1, 10, batch(t, 1, 10)))
	must(t, j.FinalizeLogSegment(w.reqCommitted(10), 1, 10))
	must(t, j.StartLogSegment(w.req(), 11, edits.LayoutVersion))
	must(t, j.Journal(w.req(), 11, 11, 5, batch(t, 11, 5)))
	must(t, j.Close())

	j, err = Open(Options{FS: vfs.Default, Dir: dir, JournalID: "myjournal"})
	must(t, err)
	if got := readAll(t, j); !equalTxIDs(got, seq(1, 15)) {
		t.Fatalf("after reopen: %v", got)
	}
	if j.CommittedTxID() != 10 || j.LastPromisedEpoch() != 1 || j.HighestWrittenTxID() != 15 {
		t.Fatalf("state: committed %d promised %d highest %d", j.CommittedTxID(), j.LastPromisedEpoch(), j.HighestWrittenTxID())
	}
	names, err := vfs.Default.List(dir + "/current")
	must(t, err)
	want := "[VERSION committed-txid edits_0000000000000000001-0000000000000000010 edits_inprogress_0000000000000000011 last-promised-epoch last-writer-epoch paxos]"
	if got := fmtNames(names); got != want {
		t.Fatalf("current/ = %s\nwant        %s", got, want)
	}
}

func fmtNames(n []string) string {
	s := "["
	for i, x := range n {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s + "]"
}
