package namespace

import (
	"errors"
	"testing"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/editpb"
)

var testGroups = map[string][]string{
	"hdfs":  {"hadoop", "supergroup"},
	"alice": {"alice", "staff"},
	"bob":   {"bob", "staff"},
	"carol": {"carol"},
	"admin": {"admin", "supergroup"},
}

func testOptions() Options {
	return Options{Permissions: Permissions{
		Enabled:    true,
		Superuser:  "hdfs",
		SuperGroup: "supergroup",
		Groups:     func(u string) []string { return testGroups[u] },
	}}
}

func testInfo() NamespaceInfo {
	return NamespaceInfo{NamespaceID: 42, ClusterID: "CID-test", BlockPoolID: "BP-1-127.0.0.1-1", CTime: 1}
}

func newTestNS(t testing.TB, opts Options) *Namespace {
	t.Helper()
	ns, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	if err := ns.Format(testInfo(), testRoot(), 1000); err != nil {
		t.Fatal(err)
	}
	return ns
}

// env drives a namespace like the NameNode would: prepare, apply with the
// next txid, and record the ops.
type env struct {
	t   testing.TB
	ns  *Namespace
	now int64
	ops []*editpb.Op
}

func newEnv(t testing.TB) *env {
	return &env{t: t, ns: newTestNS(t, testOptions()), now: 2000}
}

func (e *env) call(user string) Call {
	e.now++
	return Call{User: user, Now: e.now}
}

// apply applies op (nil: nothing to log) and returns what Apply reports.
func (e *env) apply(op *editpb.Op, err error) (Applied, error) {
	e.t.Helper()
	if err != nil || op == nil {
		return Applied{}, err
	}
	a, aerr := e.ns.Apply(e.ns.LastAppliedTxID()+1, op)
	if aerr != nil {
		e.t.Fatalf("apply %v: %v", op, aerr)
	}
	e.ops = append(e.ops, op)
	return a, nil
}

func (e *env) must(op *editpb.Op, err error) Applied {
	e.t.Helper()
	a, err := e.apply(op, err)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) mkdirs(user, p string, mode uint32) error {
	_, err := e.apply(e.ns.PrepareMkdirs(e.call(user), p, mode, true))
	return err
}

func (e *env) create(user, p string, overwrite bool) error {
	_, err := e.apply(e.ns.PrepareCreate(e.call(user), CreateRequest{
		Path: p, Mode: 0o644, ClientName: "DFSClient_" + user, ClientMachine: "127.0.0.1",
		Overwrite: overwrite, CreateParent: true, Replication: 3, BlockSize: 128 << 20,
	}))
	return err
}

// writeFile creates p as user with n blocks of size bytes and closes it.
func (e *env) writeFile(user, p string, n int, size uint64) {
	e.t.Helper()
	if err := e.create(user, p, true); err != nil {
		e.t.Fatal(err)
	}
	holder := "DFSClient_" + user
	var prev *editpb.Block
	for i := 0; i < n; i++ {
		op, b, err := e.ns.PrepareAddBlock(e.call(user), p, holder, prev)
		e.must(op, err)
		b.NumBytes = size
		prev = b
	}
	e.must(e.ns.PrepareComplete(e.call(user), p, holder, prev))
}

func (e *env) stat(p string) *FileStatus {
	e.t.Helper()
	s, err := e.ns.ResolvePath(p)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// wantErr checks that err is the Hadoop exception kind with exactly msg.
func wantErr(t testing.TB, err, kind error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", msg)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %q is %s, want kind %v", err, rpc.ClassOf(err), kind)
	}
	if err.Error() != msg {
		t.Errorf("error text\n got: %s\nwant: %s", err, msg)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func testRoot() *editpb.Permission {
	return &editpb.Permission{Mode: 0o755, Owner: "hdfs", Group: "supergroup"}
}
