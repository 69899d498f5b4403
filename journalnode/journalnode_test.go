package journalnode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/journalnode/storage"
	"github.com/hdfsha/hdfsha/proto/qjournalpb"
)

const (
	classIOE          = "java.io.IOException"
	classNotFormatted = "org.apache.hadoop.hdfs.qjournal.protocol.JournalNotFormattedException"
	classOutOfSync    = "org.apache.hadoop.hdfs.qjournal.protocol.JournalOutOfSyncException"
)

func TestFormatAndIsFormatted(t *testing.T) {
	testcluster.CheckLeaks(t)
	jn := startJN(t, testConfig(t, t.TempDir()))
	q := newQJ(t, newClient(t), jn)
	f, err := q.isFormatted()
	must(t, err)
	if f {
		t.Fatal("fresh journal reports formatted")
	}
	must(t, q.format())
	if f, err = q.isFormatted(); err != nil || !f {
		t.Fatalf("isFormatted = %v, %v after format", f, err)
	}
	wantRemote(t, q.format(), classIOE, "is already formatted")
	st, err := q.state()
	must(t, err)
	if st.GetLastPromisedEpoch() != 0 || st.GetFromURL() != "http://"+jn.HTTPAddress() || fmt.Sprint(st.GetHttpPort()) != jn.HTTPAddress()[strings.LastIndex(jn.HTTPAddress(), ":")+1:] {
		t.Fatalf("journal state %v; HTTP address %s", st, jn.HTTPAddress())
	}
}

func TestNotFormatted(t *testing.T) {
	testcluster.CheckLeaks(t)
	jn := startJN(t, testConfig(t, t.TempDir()))
	q := newQJ(t, newClient(t), jn)
	_, err := q.newEpoch(1)
	wantRemote(t, err, classNotFormatted, "not formatted ; journal id: mycluster")
	if !errors.Is(err, rpc.ErrJournalNotFormatted) {
		t.Fatalf("errors.Is(%v, rpc.ErrJournalNotFormatted) is false", err)
	}
	_, err = q.state()
	wantRemote(t, err, classNotFormatted, "not formatted")
}

func TestInvalidJournalID(t *testing.T) {
	testcluster.CheckLeaks(t)
	dir := t.TempDir()
	jn := startJN(t, testConfig(t, filepath.Join(dir, "edits")))
	q := newQJ(t, newClient(t), jn)
	for _, jid := range []string{"", "../escape", "a/b", ".hidden", `a\b`} {
		q.jid = jid
		_, err := q.isFormatted()
		wantRemote(t, err, "java.lang.IllegalArgumentException", "bad journal id: "+jid)
	}
	if _, err := os.Stat(filepath.Join(dir, "escape")); !os.IsNotExist(err) {
		t.Fatalf("a directory was created outside the edits dir: %v", err)
	}
}

func TestNewEpochFencing(t *testing.T) {
	testcluster.CheckLeaks(t)
	jn := startJN(t, testConfig(t, t.TempDir()))
	c := newClient(t)
	a, b := newQJ(t, c, jn), newQJ(t, c, jn)
	must(t, a.format())
	resp, err := a.newEpoch(1)
	must(t, err)
	if resp.LastSegmentTxId != nil {
		t.Fatalf("empty journal reports last segment %d", resp.GetLastSegmentTxId())
	}
	must(t, a.startSegment(1))
	must(t, a.journal(1, 1, 3, 0))

	// A second writer cannot take the same epoch.
	_, err = b.newEpoch(1)
	wantRemote(t, err, classIOE, "Proposed epoch 1 <= last promise 1 ; journal id: mycluster")
	resp, err = b.newEpoch(2)
	must(t, err)
	if resp.GetLastSegmentTxId() != 1 {
		t.Fatalf("lastSegmentTxId = %d, want 1", resp.GetLastSegmentTxId())
	}
	// The old writer is fenced.
	wantRemote(t, a.journal(1, 4, 1, 3), classIOE, "IPC's epoch 1 is less than the last promised epoch 2 ; journal id: mycluster")
	wantRemote(t, a.startSegment(4), classIOE, "IPC's epoch 1 is less than the last promised epoch 2")
	st, err := b.state()
	must(t, err)
	if st.GetLastPromisedEpoch() != 2 {
		t.Fatalf("promised epoch %d", st.GetLastPromisedEpoch())
	}
}

func TestOutOfSync(t *testing.T) {
	testcluster.CheckLeaks(t)
	jn := startJN(t, testConfig(t, t.TempDir()))
	q := newQJ(t, newClient(t), jn)
	must(t, q.format())
	_, err := q.newEpoch(1)
	must(t, err)
	must(t, q.startSegment(1))
	must(t, q.journal(1, 1, 3, 0))
	err = q.journal(1, 5, 1, 3)
	wantRemote(t, err, classOutOfSync, "Can't write txid 5 expecting nextTxId=4 ; journal id: mycluster")
	if !errors.Is(err, rpc.ErrJournalOutOfSync) {
		t.Fatalf("errors.Is(%v, rpc.ErrJournalOutOfSync) is false", err)
	}
	// A repeated IPC serial is out of sync too.
	q.serial--
	wantRemote(t, q.journal(1, 4, 1, 3), classOutOfSync, "was not higher than prior highest IPC serial")
	// Finalizing beyond what was written.
	wantRemote(t, q.finalize(1, 9), classOutOfSync, "but only written up to txid 3")
}

// TestJournalManifestAndFetch writes two segments over RPC, lists them,
// and fetches them over HTTP: the bytes are the segment files.
func TestJournalManifestAndFetch(t *testing.T) {
	testcluster.CheckLeaks(t)
	dir := t.TempDir()
	jn := startJN(t, testConfig(t, dir))
	q := newQJ(t, newClient(t), jn)
	must(t, q.format())
	_, err := q.newEpoch(1)
	must(t, err)
	must(t, q.startSegment(1))
	must(t, q.journal(1, 1, 3, 0))
	must(t, q.journal(1, 4, 2, 3))
	must(t, q.finalize(1, 5))
	must(t, q.startSegment(6))
	must(t, q.journal(6, 6, 2, 5))

	m, err := q.manifest(1, true)
	must(t, err)
	var got []string
	for _, l := range m.GetManifest().GetLogs() {
		got = append(got, fmt.Sprintf("%d-%d/%v", l.GetStartTxId(), l.GetEndTxId(), l.GetIsInProgress()))
	}
	if strings.Join(got, " ") != "1-5/false 6-7/true" || m.GetFromURL() != "http://"+jn.HTTPAddress() {
		t.Fatalf("manifest %v from %s", got, m.GetFromURL())
	}
	m, err = q.manifest(6, false)
	must(t, err)
	if len(m.GetManifest().GetLogs()) != 0 {
		t.Fatalf("manifest since 6 without in-progress: %v", m.GetManifest())
	}

	base := m.GetFromURL()
	body, resp := httpGet(t, base+"/getJournal?jid=mycluster&segmentTxId=1&storageInfo="+url.QueryEscape(testStorageInfo), http.StatusOK)
	want, err := os.ReadFile(filepath.Join(dir, testJID, "current", edits.FinalizedName(1, 5)))
	must(t, err)
	if !bytes.Equal(body, want) {
		t.Fatalf("fetched %d bytes, file has %d", len(body), len(want))
	}
	if resp.ContentLength != int64(len(want)) || resp.Header.Get(HeaderCRC32C) == "" || resp.Header.Get(HeaderSegmentState) != "1-5" {
		t.Fatalf("headers %v, length %d", resp.Header, resp.ContentLength)
	}
	res, err := edits.Scan(bytes.NewReader(body), int64(len(body)), "fetched", 1)
	must(t, err)
	if res.FirstTxID != 1 || res.LastTxID != 5 || res.Torn {
		t.Fatalf("fetched segment scans as %+v", res)
	}
	// The open segment is served too (what a recovering peer needs).
	body, resp = httpGet(t, SegmentURL(base, testJID, 6, testNSInfo), http.StatusOK)
	if res, err := edits.Scan(bytes.NewReader(body), int64(len(body)), "fetched", 6); err != nil || res.LastTxID != 7 {
		t.Fatalf("in-progress segment scans as %+v, %v", res, err)
	}
	if resp.Header.Get(HeaderSegmentState) != "6-7,inprogress" {
		t.Fatalf("segment header %q", resp.Header.Get(HeaderSegmentState))
	}
}

func TestGetJournaledEditsFromCache(t *testing.T) {
	testcluster.CheckLeaks(t)
	jn := startJN(t, testConfig(t, t.TempDir()))
	q := newQJ(t, newClient(t), jn)
	must(t, q.format())
	_, err := q.newEpoch(1)
	must(t, err)
	must(t, q.startSegment(1))
	must(t, q.journal(1, 1, 3, 0))
	must(t, q.journal(1, 4, 3, 3))
	get := func(since uint64, max uint32) (*qjournalpb.GetJournaledEditsResponseProto, error) {
		resp := &qjournalpb.GetJournaledEditsResponseProto{}
		err := q.call("getJournaledEdits", &qjournalpb.GetJournaledEditsRequestProto{Jid: q.jidProto(), SinceTxId: proto.Uint64(since), MaxTxns: proto.Uint32(max)}, resp)
		return resp, err
	}
	resp, err := get(2, 3)
	must(t, err)
	if resp.GetTxnCount() != 3 || !bytes.Equal(resp.GetEditLog(), records(t, 2, 3)) {
		t.Fatalf("got %d txns, %d bytes", resp.GetTxnCount(), len(resp.GetEditLog()))
	}
	resp, err = get(7, 10)
	must(t, err)
	if resp.GetTxnCount() != 0 {
		t.Fatalf("caught-up reader got %d txns", resp.GetTxnCount())
	}
	_, err = get(9, 10)
	wantRemote(t, err, "org.apache.hadoop.hdfs.qjournal.server.NewerTxnIdException", "Highest txn ID available in the journal is 6, but requested txns starting at 9.")

	// With the cache off the call is refused.
	jn2 := startJN(t, Config{EditsDir: t.TempDir(), RPCAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0"})
	q2 := newQJ(t, q.c, jn2)
	must(t, q2.format())
	resp2 := &qjournalpb.GetJournaledEditsResponseProto{}
	err = q2.call("getJournaledEdits", &qjournalpb.GetJournaledEditsRequestProto{Jid: q2.jidProto(), SinceTxId: proto.Uint64(1), MaxTxns: proto.Uint32(1)}, resp2)
	wantRemote(t, err, classIOE, "The journal edits cache is not enabled")
}

// TestRecoveryBetweenJournalNodes: a writer reached JN1 with txids 1-5 and
// JN2 with 1-3 only. A new writer recovers the segment: JN2 accepts JN1's
// version, downloading it over HTTP from the URL JN1 advertises.
func TestRecoveryBetweenJournalNodes(t *testing.T) {
	for _, fullURL := range []bool{false, true} {
		t.Run(fmt.Sprintf("fullURL=%v", fullURL), func(t *testing.T) {
			testcluster.CheckLeaks(t)
			dir2 := t.TempDir()
			jn1 := startJN(t, testConfig(t, t.TempDir()))
			jn2 := startJN(t, testConfig(t, dir2))
			c := newClient(t)
			w1, w2 := newQJ(t, c, jn1), newQJ(t, c, jn2)
			for _, w := range []*qj{w1, w2} {
				must(t, w.format())
				_, err := w.newEpoch(1)
				must(t, err)
				must(t, w.startSegment(1))
				must(t, w.journal(1, 1, 3, 0))
			}
			must(t, w1.journal(1, 4, 2, 3))

			// The new writer, epoch 2.
			r1, r2 := newQJ(t, c, jn1), newQJ(t, c, jn2)
			var states []*qjournalpb.PrepareRecoveryResponseProto
			for _, r := range []*qj{r1, r2} {
				resp, err := r.newEpoch(2)
				must(t, err)
				if resp.GetLastSegmentTxId() != 1 {
					t.Fatalf("lastSegmentTxId %d", resp.GetLastSegmentTxId())
				}
				pr := &qjournalpb.PrepareRecoveryResponseProto{}
				must(t, r.call("prepareRecovery", &qjournalpb.PrepareRecoveryRequestProto{ReqInfo: r.reqInfo(), SegmentTxId: proto.Uint64(1)}, pr))
				states = append(states, pr)
			}
			if s := states[0].GetSegmentState(); s.GetEndTxId() != 5 || !s.GetIsInProgress() || states[0].GetLastWriterEpoch() != 1 || states[0].GetLastCommittedTxId() != 3 {
				t.Fatalf("JN1 prepared %v", states[0])
			}
			if s := states[1].GetSegmentState(); s.GetEndTxId() != 3 || states[1].AcceptedInEpoch != nil {
				t.Fatalf("JN2 prepared %v", states[1])
			}
			st, err := r1.state()
			must(t, err)
			from := st.GetFromURL()
			if fullURL {
				from = SegmentURL(from, testJID, 1, testNSInfo)
			}
			accept := &qjournalpb.AcceptRecoveryRequestProto{ReqInfo: r2.reqInfo(), StateToAccept: states[0].GetSegmentState(), FromURL: proto.String(from)}
			must(t, r2.call("acceptRecovery", accept, &qjournalpb.AcceptRecoveryResponseProto{}))
			accept.ReqInfo = r1.reqInfo()
			must(t, r1.call("acceptRecovery", accept, &qjournalpb.AcceptRecoveryResponseProto{}))
			must(t, r1.finalize(1, 5))
			must(t, r2.finalize(1, 5))

			b1, _ := httpGet(t, SegmentURL("http://"+jn1.HTTPAddress(), testJID, 1, testNSInfo), http.StatusOK)
			b2, _ := httpGet(t, SegmentURL("http://"+jn2.HTTPAddress(), testJID, 1, testNSInfo), http.StatusOK)
			if !bytes.Equal(b1, b2) {
				t.Fatalf("JN2 holds %d bytes after recovery, JN1 %d", len(b2), len(b1))
			}
			if _, err := os.Stat(filepath.Join(dir2, testJID, "current", edits.FinalizedName(1, 5))); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestAcceptRecoveryFetchFailure: a peer that cannot serve the segment
// fails acceptRecovery with the reason, and the journal keeps its copy.
func TestAcceptRecoveryFetchFailure(t *testing.T) {
	testcluster.CheckLeaks(t)
	jn1 := startJN(t, testConfig(t, t.TempDir()))
	jn2 := startJN(t, testConfig(t, t.TempDir()))
	c := newClient(t)
	w := newQJ(t, c, jn2)
	must(t, w.format())
	_, err := w.newEpoch(1)
	must(t, err)
	must(t, w.startSegment(1))
	must(t, w.journal(1, 1, 3, 0))
	_, err = w.newEpoch(2)
	must(t, err)
	seg := &qjournalpb.SegmentStateProto{StartTxId: proto.Uint64(1), EndTxId: proto.Uint64(5), IsInProgress: proto.Bool(true)}
	// JN1 has no such journal.
	accept := &qjournalpb.AcceptRecoveryRequestProto{ReqInfo: w.reqInfo(), StateToAccept: seg, FromURL: proto.String("http://" + jn1.HTTPAddress())}
	wantRemote(t, w.call("acceptRecovery", accept, &qjournalpb.AcceptRecoveryResponseProto{}), classIOE, "404 Not Found: Journal mycluster does not exist")
	accept = &qjournalpb.AcceptRecoveryRequestProto{ReqInfo: w.reqInfo(), StateToAccept: seg, FromURL: proto.String("ftp://nowhere")}
	wantRemote(t, w.call("acceptRecovery", accept, &qjournalpb.AcceptRecoveryResponseProto{}), classIOE, `bad fromURL "ftp://nowhere"`)
	m, err := w.manifest(1, true)
	must(t, err)
	if l := m.GetManifest().GetLogs(); len(l) != 1 || l[0].GetEndTxId() != 3 {
		t.Fatalf("manifest after failed recovery: %v", m.GetManifest())
	}
}

func TestDirectoryLock(t *testing.T) {
	testcluster.CheckLeaks(t)
	dir := t.TempDir()
	jn1 := startJN(t, testConfig(t, dir))
	must(t, newQJ(t, newClient(t), jn1).format())

	jn2, err := New(testConfig(t, dir))
	must(t, err)
	err = jn2.Start(context.Background())
	must(t, jn2.Stop())
	if err == nil || !strings.Contains(err.Error(), "Cannot lock storage "+filepath.Join(dir, testJID)+". The directory is already locked") {
		t.Fatalf("second JournalNode on the same directory: %v", err)
	}
	// Once the first one stops, the directory is free.
	must(t, jn1.Stop())
	startJN(t, testConfig(t, dir))
}

func TestRestartKeepsState(t *testing.T) {
	testcluster.CheckLeaks(t)
	dir := t.TempDir()
	c := newClient(t)
	jn := startJN(t, testConfig(t, dir))
	q := newQJ(t, c, jn)
	must(t, q.format())
	_, err := q.newEpoch(3)
	must(t, err)
	must(t, q.startSegment(1))
	must(t, q.journal(1, 1, 4, 0))
	must(t, q.finalize(1, 4))
	must(t, q.startSegment(5))
	must(t, q.journal(5, 5, 2, 4))
	must(t, jn.Stop())

	jn = startJN(t, testConfig(t, dir))
	q.addr = jn.RPCAddress()
	if f, err := q.isFormatted(); err != nil || !f {
		t.Fatalf("isFormatted after restart: %v %v", f, err)
	}
	st, err := q.state()
	must(t, err)
	if st.GetLastPromisedEpoch() != 3 {
		t.Fatalf("promised epoch %d after restart", st.GetLastPromisedEpoch())
	}
	m, err := q.manifest(1, true)
	must(t, err)
	if l := m.GetManifest().GetLogs(); len(l) != 2 || l[0].GetEndTxId() != 4 || l[1].GetEndTxId() != 6 || !l[1].GetIsInProgress() {
		t.Fatalf("manifest after restart: %v", m.GetManifest())
	}
	// The promise still fences epoch 3's equals.
	_, err = newQJ(t, c, jn).newEpoch(3)
	wantRemote(t, err, classIOE, "Proposed epoch 3 <= last promise 3")
}

func TestHTTPBadRequests(t *testing.T) {
	testcluster.CheckLeaks(t)
	jn := startJN(t, testConfig(t, t.TempDir()))
	q := newQJ(t, newClient(t), jn)
	must(t, q.format())
	_, err := q.newEpoch(1)
	must(t, err)
	must(t, q.startSegment(1))
	must(t, q.journal(1, 1, 2, 0))
	base := "http://" + jn.HTTPAddress()
	for _, tc := range []struct {
		query string
		code  int
		msg   string
	}{
		{"segmentTxId=1", http.StatusBadRequest, "bad journal id: "},
		{"jid=../x&segmentTxId=1", http.StatusBadRequest, "bad journal id: ../x"},
		{"jid=mycluster", http.StatusBadRequest, `Invalid segmentTxId: ""`},
		{"jid=mycluster&segmentTxId=abc", http.StatusBadRequest, `Invalid segmentTxId: "abc"`},
		{"jid=other&segmentTxId=1", http.StatusNotFound, "Journal other does not exist"},
		{"jid=mycluster&segmentTxId=7", http.StatusNotFound, "No edit log found starting at txid 7"},
		{"jid=mycluster&segmentTxId=1&inProgressOk=false", http.StatusNotFound, "No edit log found starting at txid 1"},
		{"jid=mycluster&segmentTxId=1&storageInfo=-62:999:0:CID-test", http.StatusForbidden, "This node has namespaceId '4242 and clusterId 'CID-test' but the requesting node expected '999' and 'CID-test'"},
		{"jid=mycluster&segmentTxId=1&storageInfo=-62:4242:0:CID-other", http.StatusForbidden, "expected '4242' and 'CID-other'"},
		{"jid=mycluster&segmentTxId=1&storageInfo=garbage", http.StatusBadRequest, "is not layoutVersion:namespaceID:cTime:clusterID"},
	} {
		body, _ := httpGet(t, base+"/getJournal?"+tc.query, tc.code)
		if !strings.Contains(string(body), tc.msg) {
			t.Errorf("%s: body %q, want %q", tc.query, body, tc.msg)
		}
	}
	resp, err := http.Post(base+"/getJournal?jid=mycluster&segmentTxId=1", "text/plain", nil)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %s", resp.Status)
	}
	// A journal that exists but is not formatted.
	q.jid = "unformatted"
	_, err = q.isFormatted()
	must(t, err)
	body, _ := httpGet(t, base+"/getJournal?jid=unformatted&segmentTxId=1", http.StatusNotFound)
	if !strings.Contains(string(body), "Journal unformatted is not formatted") {
		t.Fatalf("body %q", body)
	}
}

// TestCrashKeepsAcknowledgedEdits runs a JournalNode over an in-memory
// filesystem, crashes it (dropping every unsynced byte and directory
// entry) and restarts it on what is left: every txid journal() acknowledged
// is still served.
func TestCrashKeepsAcknowledgedEdits(t *testing.T) {
	t.Run("clean", func(t *testing.T) { testCrashKeepsAcknowledgedEdits(t, 0) })
	for seed := int64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprintf("torn/%d", seed), func(t *testing.T) { testCrashKeepsAcknowledgedEdits(t, seed) })
	}
}

// testCrashKeepsAcknowledgedEdits crashes cleanly (seed 0) or with torn
// unsynced tails drawn from seed.
func testCrashKeepsAcknowledgedEdits(t *testing.T, seed int64) {
	testcluster.CheckLeaks(t)
	mem := vfs.NewMem()
	cfg := testConfig(t, "/jn/edits")
	cfg.FS = mem
	jn := startJN(t, cfg)
	c := newClient(t)
	q := newQJ(t, c, jn)
	must(t, q.format())
	_, err := q.newEpoch(1)
	must(t, err)
	must(t, q.startSegment(1))
	must(t, q.journal(1, 1, 3, 0))
	must(t, q.finalize(1, 3))
	must(t, q.startSegment(4))
	acked := uint64(3)
	for i := 0; i < 5; i++ {
		must(t, q.journal(4, acked+1, 2, acked))
		acked += 2
	}
	// Bytes of a batch never acknowledged (written, not synced): after a
	// crash none, all or a torn part of them may be on disk; a torn tail
	// is cut off at restart, whole records may stay (recovery decides).
	w, err := mem.OpenReadWrite(filepath.Join("/jn/edits", testJID, "current", edits.InProgressName(4)))
	must(t, err)
	_, err = w.Seek(0, io.SeekEnd)
	must(t, err)
	_, err = w.Write(records(t, acked+1, 3))
	must(t, err)
	must(t, w.Close())
	crashed := mem.CrashClone()
	if seed != 0 {
		crashed = mem.CrashCloneTorn(rand.New(rand.NewSource(seed)))
	}
	must(t, jn.Stop())

	cfg.FS = crashed
	jn = startJN(t, cfg)
	r := newQJ(t, c, jn)
	st, err := r.state()
	must(t, err)
	if st.GetLastPromisedEpoch() != 1 {
		t.Fatalf("promise lost: %d", st.GetLastPromisedEpoch())
	}
	_, err = r.newEpoch(2)
	must(t, err)
	pr := &qjournalpb.PrepareRecoveryResponseProto{}
	must(t, r.call("prepareRecovery", &qjournalpb.PrepareRecoveryRequestProto{ReqInfo: r.reqInfo(), SegmentTxId: proto.Uint64(4)}, pr))
	end := pr.GetSegmentState().GetEndTxId()
	if end < acked || end > acked+3 {
		t.Fatalf("after crash segment 4 ends at %d, acknowledged up to %d", end, acked)
	}
	for _, seg := range []struct{ start, end uint64 }{{1, 3}, {4, end}} {
		body, _ := httpGet(t, SegmentURL(st.GetFromURL(), testJID, int64(seg.start), testNSInfo), http.StatusOK)
		res, err := edits.Scan(bytes.NewReader(body), int64(len(body)), "fetched", int64(seg.start))
		if err != nil || uint64(res.LastTxID) != seg.end || res.Torn {
			t.Fatalf("segment %d after crash: %+v %v", seg.start, res, err)
		}
	}
}

func httpGet(t testing.TB, u string, wantCode int) ([]byte, *http.Response) {
	t.Helper()
	resp, err := http.Get(u)
	must(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(t, err)
	if resp.StatusCode != wantCode {
		t.Fatalf("GET %s: %s %q, want %d", u, resp.Status, body, wantCode)
	}
	return body, resp
}

// TestTestClusterLayout starts the JournalNodes of a testcluster HA layout
// from their configuration, as NameNode integration tests do, and checks
// heartbeat and purgeLogs over the wire.
func TestTestClusterLayout(t *testing.T) {
	testcluster.CheckLeaks(t)
	ha := testcluster.NewHA(t, testcluster.HAOptions{NameNodes: 2, JournalNodes: 3})
	g := testcluster.NewGroup(t)
	c := newClient(t)
	for i, l := range ha.JournalNodes {
		cfg, err := ConfigFromConf(ha.JournalNodeConf(t, i))
		must(t, err)
		if cfg.RPCAddress != l.RPCAddress || cfg.HTTPAddress != l.HTTPAddress || cfg.EditsDir != l.EditsDir || cfg.CacheBytes != 1<<20 {
			t.Fatalf("config %+v from layout %+v", cfg, l)
		}
		cfg.Logger = testcluster.Logger(t).Named(l.ID)
		jn, err := New(cfg)
		must(t, err)
		g.MustStart(l.ID, jn)
		if jn.RPCAddress() != l.RPCAddress {
			t.Fatalf("bound %s, configured %s", jn.RPCAddress(), l.RPCAddress)
		}
		q := newQJ(t, c, jn)
		q.jid = ha.JournalID
		must(t, q.format())
		_, err = q.newEpoch(1)
		must(t, err)
		must(t, q.call("heartbeat", &qjournalpb.HeartbeatRequestProto{ReqInfo: q.reqInfo()}, &qjournalpb.HeartbeatResponseProto{}))
		must(t, q.startSegment(1))
		must(t, q.journal(1, 1, 2, 0))
		must(t, q.finalize(1, 2))
		must(t, q.startSegment(3))
		must(t, q.journal(3, 3, 1, 2))
		must(t, q.call("purgeLogs", &qjournalpb.PurgeLogsRequestProto{ReqInfo: q.reqInfo(), MinTxIdToKeep: proto.Uint64(3)}, &qjournalpb.PurgeLogsResponseProto{}))
		m, err := q.manifest(1, true)
		must(t, err)
		if l := m.GetManifest().GetLogs(); len(l) != 1 || l[0].GetStartTxId() != 3 {
			t.Fatalf("manifest after purge: %v", m.GetManifest())
		}
	}
	must(t, g.Stop("jn2"))
}

func TestConfigValidation(t *testing.T) {
	good := Config{EditsDir: "/data/jn", RPCAddress: "0.0.0.0:8485", HTTPAddress: "0.0.0.0:8480"}
	must(t, good.Validate())
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.EditsDir = "" }, "dfs.journalnode.edits.dir is not set"},
		{func(c *Config) { c.EditsDir = "data/jn" }, "Journal dir 'data/jn' should be an absolute path"},
		{func(c *Config) { c.RPCAddress = "" }, "dfs.journalnode.rpc-address: address is empty"},
		{func(c *Config) { c.HTTPAddress = "host:http" }, `dfs.journalnode.http-address: bad port in address "host:http"`},
		{func(c *Config) { c.CacheBytes = -1 }, "dfs.journalnode.edit-cache-size.bytes: -1 must not be negative"},
	} {
		c := good
		tc.mod(&c)
		if _, err := New(c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", c, err, tc.want)
		}
	}
}

// TestStartSkipsForeignDirectories: only journal directories are opened
// at start; an unreadable stranger (lost+found on a mount) does not stop it.
func TestStartSkipsForeignDirectories(t *testing.T) {
	testcluster.CheckLeaks(t)
	dir := t.TempDir()
	must(t, os.Mkdir(filepath.Join(dir, "lost+found"), 0o500))
	t.Cleanup(func() { os.Chmod(filepath.Join(dir, "lost+found"), 0o700) })
	startJN(t, testConfig(t, dir))
	if _, err := os.Stat(filepath.Join(dir, "lost+found", vfs.LockFileName)); !os.IsNotExist(err) {
		t.Fatalf("lock file in a foreign directory: %v", err)
	}
}

func TestJMX(t *testing.T) {
	testcluster.CheckLeaks(t)
	jn := startJN(t, testConfig(t, t.TempDir()))
	q := newQJ(t, newClient(t), jn)
	must(t, q.format())
	_, err := q.newEpoch(4)
	must(t, err)
	body, resp := httpGet(t, "http://"+jn.HTTPAddress()+"/jmx", http.StatusOK)
	var got struct {
		Beans []struct {
			Name           string
			JournalsStatus string
			ClusterIds     []string
		} `json:"beans"`
	}
	must(t, json.Unmarshal(body, &got))
	if len(got.Beans) != 1 || got.Beans[0].Name != "Hadoop:service=JournalNode,name=JournalNodeInfo" || resp.Header.Get("Content-Type") == "" {
		t.Fatalf("jmx: %s", body)
	}
	var status map[string]map[string]any
	must(t, json.Unmarshal([]byte(got.Beans[0].JournalsStatus), &status))
	if s := status[testJID]; s["Formatted"] != "true" || s["LastPromisedEpoch"] != float64(4) || fmt.Sprint(got.Beans[0].ClusterIds) != "[CID-test]" {
		t.Fatalf("JournalsStatus %v, cluster ids %v", status, got.Beans[0].ClusterIds)
	}
}

// TestErrorClasses checks the kind → Java class table on every kind.
func TestErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		kind  error
		class string
	}{
		{storage.ErrNotFormatted, classNotFormatted},
		{storage.ErrOutOfSync, classOutOfSync},
		{storage.ErrEpochTooLow, classIOE},
		{storage.ErrNotWriterEpoch, classIOE},
		{storage.ErrNamespaceMismatch, classIOE},
		{storage.ErrAlreadyFormatted, classIOE},
		{storage.ErrIllegalState, "java.lang.IllegalStateException"},
		{storage.ErrIllegalArgument, "java.lang.IllegalArgumentException"},
		{storage.ErrAssertion, "java.lang.AssertionError"},
		{storage.ErrCacheDisabled, classIOE},
		{storage.ErrCacheMiss, "org.apache.hadoop.hdfs.qjournal.server.JournaledEditsCache$CacheMissException"},
		{storage.ErrNewerTxID, "org.apache.hadoop.hdfs.qjournal.server.NewerTxnIdException"},
		{storage.ErrClosed, classIOE},
	} {
		err := wireError(fmt.Errorf("context: %w", &storage.Error{Kind: tc.kind, Msg: "Hadoop's words"}))
		wantRemote(t, err, tc.class, "Hadoop's words")
	}
	wantRemote(t, wireError(errors.New("disk on fire")), classIOE, "disk on fire")
}

// TestReplaceWipedJournalNode follows docs/journalnode.md: a JournalNode
// whose disk was wiped rejoins once VERSION is copied from a healthy one.
func TestReplaceWipedJournalNode(t *testing.T) {
	testcluster.CheckLeaks(t)
	goodDir, wipedDir := t.TempDir(), t.TempDir()
	c := newClient(t)
	good := startJN(t, testConfig(t, goodDir))
	must(t, newQJ(t, c, good).format())

	wiped := startJN(t, testConfig(t, wipedDir))
	q := newQJ(t, c, wiped)
	_, err := q.newEpoch(1)
	wantRemote(t, err, classNotFormatted, "not formatted")
	must(t, wiped.Stop())

	version, err := os.ReadFile(filepath.Join(goodDir, testJID, "current", "VERSION"))
	must(t, err)
	must(t, os.MkdirAll(filepath.Join(wipedDir, testJID, "current"), 0o755))
	must(t, os.WriteFile(filepath.Join(wipedDir, testJID, "current", "VERSION"), version, 0o644))
	wiped = startJN(t, testConfig(t, wipedDir))
	q = newQJ(t, c, wiped)
	_, err = q.newEpoch(2)
	must(t, err)
	must(t, q.startSegment(10))
	must(t, q.journal(10, 10, 2, 9))
	must(t, q.finalize(10, 11))
	// format stays refused: the copy made it a formatted journal.
	wantRemote(t, q.format(), classIOE, "is already formatted")
}
