package qjm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/journalnode/storage"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
	"github.com/hdfsha/hdfsha/proto/qjournalpb"
)

var testNS = &hdfspb.NamespaceInfoProto{
	BuildVersion:    proto.String("test"),
	Unused:          proto.Uint32(0),
	BlockPoolID:     proto.String("BP-1"),
	SoftwareVersion: proto.String("3.3.6"),
	StorageInfo: &hdfspb.StorageInfoProto{
		LayoutVersion: proto.Uint32(uint32(0xffffffc2)), // -62
		NamespceID:    proto.Uint32(4242),
		ClusterID:     proto.String("CID-test"),
		CTime:         proto.Uint64(0),
	},
}

// fakeJN is an in-memory JournalNode: journalnode/storage on a MemFS
// behind the transport interface, with fault injection. It maps calls as
// the journalnode daemon does, without sockets.
type fakeJN struct {
	name  string
	j     *storage.Journal
	peers []*fakeJN // for acceptRecovery downloads, by node

	mu     sync.Mutex
	down   bool                      // every call fails at once
	block  chan struct{}             // non-nil: calls wait for it to close
	failOn map[string]error          // method -> error
	calls  []string                  // methods run, in order
	serial []uint64                  // ipc serials seen
	hook   func(method string) error // optional, before the call
	reqs   []*qjournalpb.RequestInfoProto
	errs   map[string]error // last error of each method
	// corruptAt, if > 0, flips a bit at that offset of served segments.
	corruptAt int
}

func newFakeJN(t testing.TB, name string) *fakeJN {
	j, err := storage.Open(storage.Options{FS: vfs.NewMem(), Dir: "/jn/" + name, JournalID: "test", CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return &fakeJN{name: name, j: j, failOn: map[string]error{}, errs: map[string]error{}}
}

func (f *fakeJN) setDown(d bool) {
	f.mu.Lock()
	f.down = d
	f.mu.Unlock()
}

// pause makes calls wait until the returned func is called.
func (f *fakeJN) pause() (resume func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	f.block = ch
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			f.block = nil
			f.mu.Unlock()
			close(ch)
		})
	}
}

func (f *fakeJN) fail(method string, err error) {
	f.mu.Lock()
	if err == nil {
		delete(f.failOn, method)
	} else {
		f.failOn[method] = err
	}
	f.mu.Unlock()
}

func (f *fakeJN) methods() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func nsInfo(ns *hdfspb.NamespaceInfoProto) storage.NamespaceInfo {
	si := ns.GetStorageInfo()
	return storage.NamespaceInfo{NamespaceID: int32(si.GetNamespceID()), ClusterID: si.GetClusterID(),
		CTime: int64(si.GetCTime()), LayoutVersion: int32(si.GetLayoutVersion())}
}

func reqInfo(ri *qjournalpb.RequestInfoProto) storage.RequestInfo {
	r := storage.RequestInfo{Epoch: int64(ri.GetEpoch()), IPCSerial: int64(ri.GetIpcSerialNumber()), Client: "fake"}
	if ri.CommittedTxId != nil {
		r.CommittedTxID, r.HasCommittedTxID = int64(ri.GetCommittedTxId()), true
	}
	return r
}

func (f *fakeJN) Call(ctx context.Context, method string, req, resp proto.Message) error {
	f.mu.Lock()
	block, down, ferr, hook := f.block, f.down, f.failOn[method], f.hook
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if down {
		return fmt.Errorf("call to %s: connection refused", f.name)
	}
	if hook != nil {
		if err := hook(method); err != nil {
			return err
		}
	}
	if ferr != nil {
		return ferr
	}
	f.mu.Lock()
	f.calls = append(f.calls, method)
	if ri, ok := proto.Message(req).(interface {
		GetReqInfo() *qjournalpb.RequestInfoProto
	}); ok {
		f.serial = append(f.serial, ri.GetReqInfo().GetIpcSerialNumber())
		f.reqs = append(f.reqs, ri.GetReqInfo())
	}
	f.mu.Unlock()
	err := f.safeCall(method, req, resp)
	f.mu.Lock()
	f.errs[method] = err
	f.mu.Unlock()
	var se *storage.Error
	if errors.As(err, &se) {
		// As on the wire: the message is all that travels.
		return errors.New(se.Error())
	}
	return err
}

// safeCall turns a storage panic into an error, as the RPC server does
// (ERROR_RPC_SERVER).
func (f *fakeJN) safeCall(method string, req, resp proto.Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: RPC server error: panic: %v", f.name, r)
		}
	}()
	return f.call(method, req, resp)
}

func (f *fakeJN) call(method string, req, resp proto.Message) error {
	switch method {
	case "isFormatted":
		resp.(*qjournalpb.IsFormattedResponseProto).IsFormatted = proto.Bool(f.j.IsFormatted())
	case "format":
		return f.j.Format(nsInfo(req.(*qjournalpb.FormatRequestProto).GetNsInfo()), false)
	case "getJournalState":
		st, err := f.j.GetJournalState()
		if err != nil {
			return err
		}
		r := resp.(*qjournalpb.GetJournalStateResponseProto)
		r.LastPromisedEpoch, r.HttpPort, r.FromURL = proto.Uint64(uint64(st.LastPromisedEpoch)), proto.Uint32(0), proto.String("fake://"+f.name)
	case "newEpoch":
		q := req.(*qjournalpb.NewEpochRequestProto)
		res, err := f.j.NewEpoch(nsInfo(q.GetNsInfo()), int64(q.GetEpoch()))
		if err != nil {
			return err
		}
		if res.HasLastSegmentTxID {
			resp.(*qjournalpb.NewEpochResponseProto).LastSegmentTxId = proto.Uint64(uint64(res.LastSegmentTxID))
		}
	case "journal":
		q := req.(*qjournalpb.JournalRequestProto)
		return f.j.Journal(reqInfo(q.GetReqInfo()), int64(q.GetSegmentTxnId()), int64(q.GetFirstTxnId()), int(q.GetNumTxns()), q.GetRecords())
	case "heartbeat":
		return f.j.Heartbeat(reqInfo(req.(*qjournalpb.HeartbeatRequestProto).GetReqInfo()))
	case "startLogSegment":
		q := req.(*qjournalpb.StartLogSegmentRequestProto)
		return f.j.StartLogSegment(reqInfo(q.GetReqInfo()), int64(q.GetTxid()), q.GetLayoutVersion())
	case "finalizeLogSegment":
		q := req.(*qjournalpb.FinalizeLogSegmentRequestProto)
		return f.j.FinalizeLogSegment(reqInfo(q.GetReqInfo()), int64(q.GetStartTxId()), int64(q.GetEndTxId()))
	case "purgeLogs":
		q := req.(*qjournalpb.PurgeLogsRequestProto)
		return f.j.PurgeLogsOlderThan(reqInfo(q.GetReqInfo()), int64(q.GetMinTxIdToKeep()))
	case "getEditLogManifest":
		q := req.(*qjournalpb.GetEditLogManifestRequestProto)
		m, err := f.j.GetEditLogManifest(int64(q.GetSinceTxId()), q.GetInProgressOk())
		if err != nil {
			return err
		}
		mp := &hdfspb.RemoteEditLogManifestProto{}
		for _, l := range m.Logs {
			mp.Logs = append(mp.Logs, &hdfspb.RemoteEditLogProto{StartTxId: proto.Uint64(uint64(l.StartTxID)), EndTxId: proto.Uint64(uint64(l.EndTxID)), IsInProgress: proto.Bool(l.InProgress)})
		}
		r := resp.(*qjournalpb.GetEditLogManifestResponseProto)
		r.Manifest, r.HttpPort, r.FromURL = mp, proto.Uint32(0), proto.String("fake://"+f.name)
	case "getJournaledEdits":
		q := req.(*qjournalpb.GetJournaledEditsRequestProto)
		e, err := f.j.GetJournaledEdits(int64(q.GetSinceTxId()), int(q.GetMaxTxns()))
		if err != nil {
			return err
		}
		r := resp.(*qjournalpb.GetJournaledEditsResponseProto)
		r.TxnCount, r.EditLog = proto.Uint32(uint32(e.TxnCount)), e.Records
	case "prepareRecovery":
		q := req.(*qjournalpb.PrepareRecoveryRequestProto)
		res, err := f.j.PrepareRecovery(reqInfo(q.GetReqInfo()), int64(q.GetSegmentTxId()))
		if err != nil {
			return err
		}
		r := resp.(*qjournalpb.PrepareRecoveryResponseProto)
		r.LastWriterEpoch = proto.Uint64(uint64(res.LastWriterEpoch))
		if res.Segment != nil {
			r.SegmentState = &qjournalpb.SegmentStateProto{StartTxId: proto.Uint64(uint64(res.Segment.StartTxID)),
				EndTxId: proto.Uint64(uint64(res.Segment.EndTxID)), IsInProgress: proto.Bool(res.Segment.InProgress)}
		}
		if res.HasAcceptedInEpoch {
			r.AcceptedInEpoch = proto.Uint64(uint64(res.AcceptedInEpoch))
		}
		if res.HasLastCommittedTxID {
			r.LastCommittedTxId = proto.Uint64(uint64(res.LastCommittedTxID))
		}
	case "acceptRecovery":
		q := req.(*qjournalpb.AcceptRecoveryRequestProto)
		s := q.GetStateToAccept()
		seg := storage.SegmentState{StartTxID: int64(s.GetStartTxId()), EndTxID: int64(s.GetEndTxId()), InProgress: s.GetIsInProgress()}
		return f.j.AcceptRecovery(reqInfo(q.GetReqInfo()), seg, func(seg storage.SegmentState, w io.Writer) error {
			body, err := f.fetchPeer(q.GetFromURL())
			if err != nil {
				return err
			}
			defer body.Close()
			_, err = io.Copy(w, body)
			return err
		})
	default:
		return fmt.Errorf("fake: no method %s", method)
	}
	return nil
}

// fetchPeer serves a URL built by Manager.segmentURL on a "fake://name" base.
func (f *fakeJN) fetchPeer(u string) (io.ReadCloser, error) {
	rest, ok := strings.CutPrefix(u, "fake://")
	if !ok {
		return nil, fmt.Errorf("fake: bad URL %q", u)
	}
	name, query, _ := strings.Cut(rest, "/getJournal?")
	var seg int64
	for _, kv := range strings.Split(query, "&") {
		if v, ok := strings.CutPrefix(kv, "segmentTxId="); ok {
			seg, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	for _, p := range f.peers {
		if p.name == name {
			return p.serve(seg)
		}
	}
	return nil, fmt.Errorf("fake: no node %q", name)
}

func (f *fakeJN) serve(seg int64) (io.ReadCloser, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return nil, fmt.Errorf("GET from %s: connection refused", f.name)
	}
	file, st, err := f.j.OpenSegment(seg)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, fi.Size())
	if _, err := file.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, err
	}
	_ = st
	f.mu.Lock()
	if at := f.corruptAt; at > 0 && at < len(b) {
		b[at] ^= 0x40
	}
	f.mu.Unlock()
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (f *fakeJN) Fetch(ctx context.Context, u string) (io.ReadCloser, error) { return f.fetchPeer(u) }

// fakeCluster is n fake JournalNodes.
type fakeCluster struct {
	t   testing.TB
	jns []*fakeJN
}

func newFakeCluster(t testing.TB, n int) *fakeCluster {
	fc := &fakeCluster{t: t}
	for i := 0; i < n; i++ {
		fc.jns = append(fc.jns, newFakeJN(t, fmt.Sprintf("jn%d", i)))
	}
	for _, j := range fc.jns {
		j.peers = fc.jns
	}
	return fc
}

func (fc *fakeCluster) config() Config {
	q := conf.QJournal{JournalID: "test"}
	for _, j := range fc.jns {
		q.Hosts = append(q.Hosts, j.name+":8485")
	}
	cfg := DefaultConfig(q, testNS)
	cfg.User = "hdfs"
	cfg.Logger = testcluster.Logger(fc.t)
	short := 5 * time.Second
	cfg.Timeouts = Timeouts{short, short, short, short, short, short, short, short, short, short}
	cfg.newTransport = func(node int, _ string) transport { return fc.jns[node] }
	return cfg
}

// manager returns a manager over the fakes, closed at cleanup.
func (fc *fakeCluster) manager(mod ...func(*Config)) *Manager {
	cfg := fc.config()
	for _, f := range mod {
		f(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		fc.t.Fatal(err)
	}
	fc.t.Cleanup(func() { m.Close() })
	return m
}

// formatted returns a formatted cluster's writer after recovery.
func (fc *fakeCluster) writer(mod ...func(*Config)) *Manager {
	m := fc.manager(mod...)
	ctx := context.Background()
	if ok, _ := m.IsFormatted(ctx); !ok {
		if err := m.Format(ctx, false); err != nil {
			fc.t.Fatal(err)
		}
	}
	if err := m.Recover(ctx); err != nil {
		fc.t.Fatal(err)
	}
	return m
}

// mustHaveRejoined fails a test whose node could not start the next segment
// after missing txids: a lagging JournalNode must rejoin at a segment start.
func mustHaveRejoined(t testing.TB, f *fakeJN) {
	t.Helper()
	f.mu.Lock()
	err := f.errs["startLogSegment"]
	f.mu.Unlock()
	if err != nil {
		t.Fatalf("a node that missed txids could not start the next segment: %v", err)
	}
}
