package fsck

import (
	"context"
	"strings"
	"testing"

	"github.com/hdfsha/hdfsha/namenode/namespace"
	"github.com/hdfsha/hdfsha/proto/editpb"
)

// realNS is a formatted namespace with /user (755), /user/private (700,
// hdfs's), /user/data (two closed blocks) and /user/open (being written).
func realNS(t *testing.T) *namespace.Namespace {
	t.Helper()
	ns, err := namespace.Open(t.TempDir(), namespace.Options{Permissions: namespace.Permissions{Enabled: true, Superuser: "hdfs"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	info := namespace.NamespaceInfo{NamespaceID: 42, ClusterID: "CID-test", BlockPoolID: bp, CTime: 1}
	if err := ns.Format(info, &editpb.Permission{Mode: 0o755, Owner: "hdfs", Group: "supergroup"}, 1000); err != nil {
		t.Fatal(err)
	}
	now := int64(2000)
	call := func() namespace.Call { now++; return namespace.Call{User: "hdfs", Now: now} }
	apply := func(op *editpb.Op, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if op == nil {
			return
		}
		if _, err := ns.Apply(ns.LastAppliedTxID()+1, op); err != nil {
			t.Fatal(err)
		}
	}
	apply(ns.PrepareMkdirs(call(), "/user", 0o755, true))
	apply(ns.PrepareMkdirs(call(), "/user/private", 0o700, true))
	create := func(p string) {
		apply(ns.PrepareCreate(call(), namespace.CreateRequest{Path: p, Mode: 0o644, ClientName: "DFSClient_1", ClientMachine: "127.0.0.1", Replication: 2, BlockSize: 1 << 20}))
	}
	addBlock := func(p string, prev *editpb.Block) *editpb.Block {
		op, b, err := ns.PrepareAddBlock(call(), p, "DFSClient_1", prev)
		apply(op, err)
		b.NumBytes = 1 << 20
		return b
	}
	create("/user/data")
	b := addBlock("/user/data", nil)
	b = addBlock("/user/data", b)
	apply(ns.PrepareComplete(call(), "/user/data", "DFSClient_1", b))
	create("/user/open")
	addBlock("/user/open", nil)
	return ns
}

// allLive answers two live replicas for every block; the last block of an
// open file is under construction.
type allLive struct{ open map[uint64]bool }

func (a allLive) Replicas(b Block) Replicas {
	return Replicas{Complete: !a.open[b.ID], Nodes: []Replica{live(dn(1, ""), "DS-1"), live(dn(2, ""), "DS-2")}}
}
func (allLive) Cluster() Cluster {
	return Cluster{LiveDatanodes: 2, Racks: 1, DefaultReplication: 2, MinReplication: 1, BlockPoolID: bp}
}
func (allLive) CorruptBlocks() []uint64 { return nil }

func TestNamespaceWalker(t *testing.T) {
	ns := realNS(t)
	reads := 0
	w := &NamespaceWalker{PageSize: 1, Read: func(_ context.Context, fn func(*namespace.Namespace) error) error {
		reads++
		return fn(ns)
	}}
	open, err := w.Stat(context.Background(), "hdfs", "/user/open")
	if err != nil || open == nil || !open.UnderConstruction || len(open.Blocks) != 1 {
		t.Fatalf("Stat /user/open = %+v, %v", open, err)
	}
	bm := allLive{open: map[uint64]bool{open.Blocks[0].ID: true}}

	got := run(w, bm, Request{Path: "/", User: "hdfs", Files: true, Blocks: true}, nil)
	for _, s := range []string{
		"\n/ <dir>\n/user <dir>\n",
		"/user/data 2097152 bytes, replicated: replication=2, 2 block(s):  OK\n0. " + bp + ":blk_",
		"/user/private <dir>\n",
		" Total size:\t2097152 B\n",
		" Total files:\t1 (Files currently being written: 1)\n",
		" Total dirs:\t\t\t3\n",
		"The filesystem under path '/' is HEALTHY",
	} {
		if !strings.Contains(got, s) {
			t.Fatalf("missing %q in:\n%s", s, got)
		}
	}
	if reads < 6 {
		t.Errorf("%d locked reads: the walk should take the lock per page", reads)
	}

	// bob may not list hdfs's private directory: the namespace's denial.
	got = run(w, bm, Request{Path: "/user", User: "bob"}, nil)
	if !strings.HasSuffix(got, "Permission denied: user=bob, access=READ_EXECUTE, inode=\"/user/private\":hdfs:supergroup:drwx------\n\n\nFsck on path '/user' FAILED") {
		t.Fatalf("denied walk:\n%s", got)
	}

	data, _ := w.Stat(context.Background(), "hdfs", "/user/data")
	p, err := w.FileOfBlock(context.Background(), data.Blocks[1].ID)
	if err != nil || p != "/user/data" {
		t.Fatalf("FileOfBlock = %q, %v", p, err)
	}
	if p, err := w.FileOfBlock(context.Background(), 1); err != nil || p != "" {
		t.Fatalf("FileOfBlock(unknown) = %q, %v", p, err)
	}
	if f, err := w.Stat(context.Background(), "hdfs", "/nope"); f != nil || err != nil {
		t.Fatalf("Stat(/nope) = %+v, %v", f, err)
	}
}
