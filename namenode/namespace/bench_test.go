package namespace

import (
	"fmt"
	"testing"

	"github.com/hdfsha/hdfsha/proto/editpb"
)

// benchOps builds n ops creating /k<i/1000>/<kind><i%1000> (a directory or
// a file under construction), a new parent every 1000 ops, with the ids a
// NameNode would have allocated.
func benchOps(n int, file bool) []*editpb.Op {
	perm := &editpb.Permission{Mode: 0o755, Owner: "hdfs", Group: "supergroup"}
	next := RootINodeID
	ops := make([]*editpb.Op, n)
	for i := range ops {
		var parents []uint64
		if i%1000 == 0 {
			next++
			parents = []uint64{next}
		}
		next++
		p := fmt.Sprintf("/k%d/%d", i/1000, i%1000)
		ts := int64(1000 + i)
		if file {
			ops[i] = &editpb.Op{Body: &editpb.Op_Add{Add: &editpb.Add{Path: p, InodeId: next, Perm: perm, Mtime: ts, Atime: ts,
				Replication: 3, PreferredBlockSize: 128 << 20, ClientName: "DFSClient_bench", ClientMachine: "127.0.0.1",
				ParentInodeIds: parents, ParentPerm: perm}}}
		} else {
			ops[i] = &editpb.Op{Body: &editpb.Op_Mkdir{Mkdir: &editpb.Mkdir{Path: p, InodeId: next, Perm: perm, Timestamp: ts,
				ParentInodeIds: parents, ParentPerm: perm}}}
		}
	}
	return ops
}

func benchApply(b *testing.B, file bool) {
	ns := newTestNS(b, testOptions())
	ops := benchOps(b.N, file)
	b.ReportAllocs()
	b.ResetTimer()
	for i, op := range ops {
		if _, err := ns.Apply(int64(i)+1, op); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkApplyMkdir measures Apply of OP_MKDIR (one Pebble batch, no
// fsync, per op).
func BenchmarkApplyMkdir(b *testing.B) { benchApply(b, false) }

// BenchmarkApplyCreate measures Apply of OP_ADD.
func BenchmarkApplyCreate(b *testing.B) { benchApply(b, true) }

// BenchmarkPrepareApplyMkdirs measures what the NameNode spends in the
// namespace per mkdirs call: path checks, permission checks and Apply.
func BenchmarkPrepareApplyMkdirs(b *testing.B) {
	ns := newTestNS(b, testOptions())
	// alice may not write at the root: hdfs makes her home.
	op, err := ns.PrepareMkdirs(Call{User: "hdfs"}, "/user/alice", 0o777, true)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ns.Apply(1, op); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op, err := ns.PrepareMkdirs(Call{User: "alice", Now: int64(i)}, fmt.Sprintf("/user/alice/k%d/%d", i/1000, i%1000), 0o755, true)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ns.Apply(ns.LastAppliedTxID()+1, op); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkDeleteSubtree measures one recursive delete of a tree of 5,000
// directories under /k0../k4 (the NameNode holds its lock for all of it).
func BenchmarkDeleteSubtree(b *testing.B) {
	const n = 5000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ns := newTestNS(b, testOptions())
		for j, op := range benchOps(n, false) {
			if _, err := ns.Apply(int64(j)+1, op); err != nil {
				b.Fatal(err)
			}
		}
		ops := make([]*editpb.Op, 0, n/1000)
		for k := 0; k < n/1000; k++ {
			op, err := ns.PrepareDelete(Call{User: "hdfs", Now: 1}, fmt.Sprintf("/k%d", k), true)
			if err != nil || op == nil {
				b.Fatalf("prepare delete /k%d: %v", k, err)
			}
			ops = append(ops, op)
		}
		b.StartTimer()
		for _, op := range ops {
			if _, err := ns.Apply(ns.LastAppliedTxID()+1, op); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if c := ns.Counters(); c.Dirs != 1 {
			b.Fatalf("after delete: %+v", c)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "inodes/s")
}
