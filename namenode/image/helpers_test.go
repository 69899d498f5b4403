package image

import (
	"path/filepath"
	"testing"

	"github.com/hdfsha/hdfsha/namenode/namespace"
	"github.com/hdfsha/hdfsha/proto/editpb"
)

// testNS is a formatted namespace driven like the NameNode drives it.
type testNS struct {
	t   testing.TB
	ns  *namespace.Namespace
	now int64
}

func newTestNS(t testing.TB) *testNS {
	t.Helper()
	ns, err := namespace.Open(filepath.Join(t.TempDir(), "work"), namespace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	info := namespace.NamespaceInfo{NamespaceID: 42, ClusterID: "CID-test", BlockPoolID: "BP-1-127.0.0.1-1", CTime: 1}
	if err := ns.Format(info, &editpb.Permission{Mode: 0o755, Owner: "hadoop", Group: "supergroup"}, 1409403918000); err != nil {
		t.Fatal(err)
	}
	return &testNS{t: t, ns: ns, now: 1409403918690}
}

func (n *testNS) call() namespace.Call {
	n.now++
	return namespace.Call{User: "hadoop", Now: n.now}
}

func (n *testNS) apply(op *editpb.Op, err error) {
	n.t.Helper()
	if err != nil {
		n.t.Fatal(err)
	}
	if op == nil {
		return
	}
	if _, err := n.ns.Apply(n.ns.LastAppliedTxID()+1, op); err != nil {
		n.t.Fatalf("apply %v: %v", op, err)
	}
}

func (n *testNS) mkdirs(p string, mode uint32) {
	n.t.Helper()
	n.apply(n.ns.PrepareMkdirs(n.call(), p, mode, true))
}

// file creates p with one block of size bytes, completed unless open.
func (n *testNS) file(p string, size uint64, open bool) {
	n.t.Helper()
	n.apply(n.ns.PrepareCreate(n.call(), namespace.CreateRequest{Path: p, Mode: 0o644, ClientName: "DFSClient_1",
		ClientMachine: "127.0.0.1", CreateParent: true, Replication: 3, BlockSize: 128 << 20}))
	if size == 0 && open {
		return
	}
	op, b, err := n.ns.PrepareAddBlock(n.call(), p, "DFSClient_1", nil)
	n.apply(op, err)
	if open {
		return
	}
	last := &editpb.Block{BlockId: b.BlockId, GenStamp: b.GenStamp, NumBytes: size}
	n.apply(n.ns.PrepareComplete(n.call(), p, "DFSClient_1", last))
}

// populate builds a small tree: /user/hadoop/{a.txt,b.txt}, /tmp (sticky),
// /user/hadoop/open (under construction).
func (n *testNS) populate() {
	n.mkdirs("/user/hadoop", 0o755)
	n.mkdirs("/tmp", 0o1777)
	n.file("/user/hadoop/a.txt", 5, false)
	n.file("/user/hadoop/b.txt", 1234, false)
	n.file("/user/hadoop/open", 0, true)
}

func checksum(t testing.TB, ns *namespace.Namespace) [32]byte {
	t.Helper()
	s, err := ns.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
