package journalnode

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/journalnode/storage"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
	"github.com/hdfsha/hdfsha/proto/qjournalpb"
)

const testJID = "mycluster"

func testConfig(t testing.TB, dir string) Config {
	return Config{
		EditsDir:    dir,
		RPCAddress:  "127.0.0.1:0",
		HTTPAddress: "127.0.0.1:0",
		CacheBytes:  1 << 20,
		Logger:      testcluster.Logger(t),
	}
}

// startJN starts a JournalNode and stops it at cleanup.
func startJN(t testing.TB, cfg Config) *JournalNode {
	t.Helper()
	jn, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := jn.Start(context.Background()); err != nil {
		jn.Stop()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := jn.Stop(); err != nil {
			t.Error(err)
		}
	})
	return jn
}

func newClient(t testing.TB) *rpc.Client {
	t.Helper()
	c, err := rpc.NewClient(rpc.DefaultClientConfig("hdfs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

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

const testStorageInfo = "-62:4242:0:CID-test"

var testNSInfo = storage.NamespaceInfo{NamespaceID: 4242, ClusterID: "CID-test", LayoutVersion: -62}

// qj talks QJournalProtocol to one JournalNode as a writer would.
type qj struct {
	t      testing.TB
	c      *rpc.Client
	addr   string
	jid    string
	epoch  uint64
	serial uint64
}

func newQJ(t testing.TB, c *rpc.Client, jn *JournalNode) *qj {
	return &qj{t: t, c: c, addr: jn.RPCAddress(), jid: testJID}
}

func (q *qj) call(method string, req, resp proto.Message) error {
	return q.c.Call(context.Background(), q.addr, Protocol, method, req, resp)
}

func (q *qj) jidProto() *qjournalpb.JournalIdProto {
	return &qjournalpb.JournalIdProto{Identifier: proto.String(q.jid)}
}

func (q *qj) reqInfo(committed ...uint64) *qjournalpb.RequestInfoProto {
	q.serial++
	ri := &qjournalpb.RequestInfoProto{JournalId: q.jidProto(), Epoch: proto.Uint64(q.epoch), IpcSerialNumber: proto.Uint64(q.serial)}
	if len(committed) > 0 {
		ri.CommittedTxId = proto.Uint64(committed[0])
	}
	return ri
}

func (q *qj) format() error {
	return q.call("format", &qjournalpb.FormatRequestProto{Jid: q.jidProto(), NsInfo: testNS}, &qjournalpb.FormatResponseProto{})
}

func (q *qj) isFormatted() (bool, error) {
	resp := &qjournalpb.IsFormattedResponseProto{}
	err := q.call("isFormatted", &qjournalpb.IsFormattedRequestProto{Jid: q.jidProto()}, resp)
	return resp.GetIsFormatted(), err
}

func (q *qj) newEpoch(e uint64) (*qjournalpb.NewEpochResponseProto, error) {
	resp := &qjournalpb.NewEpochResponseProto{}
	err := q.call("newEpoch", &qjournalpb.NewEpochRequestProto{Jid: q.jidProto(), NsInfo: testNS, Epoch: proto.Uint64(e)}, resp)
	if err == nil {
		q.epoch, q.serial = e, 0
	}
	return resp, err
}

func (q *qj) startSegment(txid uint64) error {
	return q.call("startLogSegment", &qjournalpb.StartLogSegmentRequestProto{ReqInfo: q.reqInfo(), Txid: proto.Uint64(txid), LayoutVersion: proto.Int32(edits.LayoutVersion)}, &qjournalpb.StartLogSegmentResponseProto{})
}

func (q *qj) journal(seg, first uint64, n int, committed uint64) error {
	return q.call("journal", &qjournalpb.JournalRequestProto{
		ReqInfo: q.reqInfo(committed), FirstTxnId: proto.Uint64(first), NumTxns: proto.Uint32(uint32(n)),
		Records: records(q.t, first, n), SegmentTxnId: proto.Uint64(seg),
	}, &qjournalpb.JournalResponseProto{})
}

func (q *qj) finalize(start, end uint64) error {
	return q.call("finalizeLogSegment", &qjournalpb.FinalizeLogSegmentRequestProto{ReqInfo: q.reqInfo(), StartTxId: proto.Uint64(start), EndTxId: proto.Uint64(end)}, &qjournalpb.FinalizeLogSegmentResponseProto{})
}

func (q *qj) manifest(since uint64, inProgress bool) (*qjournalpb.GetEditLogManifestResponseProto, error) {
	resp := &qjournalpb.GetEditLogManifestResponseProto{}
	err := q.call("getEditLogManifest", &qjournalpb.GetEditLogManifestRequestProto{Jid: q.jidProto(), SinceTxId: proto.Uint64(since), InProgressOk: proto.Bool(inProgress)}, resp)
	return resp, err
}

func (q *qj) state() (*qjournalpb.GetJournalStateResponseProto, error) {
	resp := &qjournalpb.GetJournalStateResponseProto{}
	err := q.call("getJournalState", &qjournalpb.GetJournalStateRequestProto{Jid: q.jidProto()}, resp)
	return resp, err
}

func opOf(txid uint64) []byte { return []byte(fmt.Sprintf("op-%d", txid)) }

func records(t testing.TB, first uint64, n int) []byte {
	t.Helper()
	var b []byte
	for i := 0; i < n; i++ {
		var err error
		if b, err = edits.AppendRecord(b, int64(first)+int64(i), opOf(first+uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantRemote checks the Java class and a part of the message of an error
// that came over the wire.
func wantRemote(t testing.TB, err error, class, msgPart string) {
	t.Helper()
	var re *rpc.RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v (%T), want a remote %s", err, err, class)
	}
	if re.Class != class || !strings.Contains(re.Message, msgPart) {
		t.Fatalf("remote error %s: %q\nwant %s containing %q", re.Class, re.Message, class, msgPart)
	}
}
