package namespace

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/editpb"
)

// randomOps drives e with n random calls from several users over a small
// tree, so that most calls hit existing paths and many are refused.
func randomOps(e *env, rng *rand.Rand, n int) {
	names := []string{"a", "b", "c"}
	users := []string{"hdfs", "alice", "bob"}
	randPath := func() string {
		p := ""
		for d := rng.Intn(3) + 1; d > 0; d-- {
			p += "/" + names[rng.Intn(len(names))]
		}
		return p
	}
	for i := 0; i < n; i++ {
		user := users[rng.Intn(len(users))]
		p := randPath()
		c := e.call(user)
		var op *editpb.Op
		var err error
		switch rng.Intn(17) {
		case 0, 1:
			op, err = e.ns.PrepareMkdirs(c, p, uint32(rng.Intn(0o1000)|0o700), rng.Intn(4) != 0)
		case 2, 3:
			op, err = e.ns.PrepareCreate(c, CreateRequest{Path: p, Mode: 0o644, ClientName: "DFSClient_" + user,
				ClientMachine: "m", Overwrite: rng.Intn(2) == 0, CreateParent: rng.Intn(2) == 0, Replication: 3, BlockSize: 1 << 20})
		case 4, 5:
			s, _ := e.ns.ResolvePath(p)
			if s == nil || !s.UnderConstruction() {
				continue
			}
			var last *editpb.Block
			if len(s.Blocks) > 0 {
				last = cloneBlock(s.Blocks[len(s.Blocks)-1])
				last.NumBytes = uint64(rng.Intn(1000))
			}
			if rng.Intn(3) == 0 {
				op, err = e.ns.PrepareComplete(c, p, s.ClientName, last)
			} else {
				op, _, err = e.ns.PrepareAddBlock(c, p, s.ClientName, last)
			}
		case 6:
			op, err = e.ns.PrepareDelete(c, p, rng.Intn(2) == 0)
		case 7:
			op, _, err = e.ns.PrepareRenameOld(c, p, randPath())
		case 8:
			op, err = e.ns.PrepareRename(c, p, randPath(), rng.Intn(2) == 0)
		case 9:
			op, err = e.ns.PrepareSetPermission(c, p, uint32(rng.Intn(0o2000)))
		case 10:
			op, err = e.ns.PrepareSetOwner(c, p, users[rng.Intn(len(users))], []string{"", "staff", "alice"}[rng.Intn(3)])
		case 11:
			op, err = e.ns.PrepareSetTimes(c, p, int64(rng.Intn(100000)), -1)
		case 12:
			op, _, err = e.ns.PrepareSetReplication(c, p, uint32(rng.Intn(4)+1))
		case 13:
			x := &editpb.XAttr{Namespace: editpb.XAttrNamespace_USER, Name: names[rng.Intn(3)], Value: []byte{byte(i)}}
			if rng.Intn(3) == 0 {
				op, err = e.ns.PrepareRemoveXAttr(c, p, x)
			} else {
				op, err = e.ns.PrepareSetXAttr(c, p, x, XAttrCreate|XAttrReplace)
			}
		case 14:
			op, err = e.ns.PrepareAppend(c, p, "DFSClient_"+user, "m")
		case 15:
			s, _ := e.ns.ResolvePath(p)
			if s == nil || s.Dir || len(s.Blocks) == 0 {
				continue
			}
			op, _, err = e.ns.PrepareTruncate(c, p, s.Length-s.Blocks[len(s.Blocks)-1].NumBytes, "DFSClient_"+user, "m")
		case 16:
			s, _ := e.ns.ResolvePath(p)
			if s == nil || !s.UnderConstruction() || len(s.Blocks) == 0 {
				continue
			}
			gsOp, gs := e.ns.PrepareNextGenStamp(c)
			e.must(gsOp, nil)
			last := s.Blocks[len(s.Blocks)-1]
			op, err = e.ns.PrepareUpdatePipeline(c, p, s.ClientName, last,
				&editpb.Block{BlockId: last.BlockId, GenStamp: gs, NumBytes: last.NumBytes + uint64(rng.Intn(10))})
		}
		if err == nil && op != nil {
			e.must(op, nil)
		}
	}
}

// verify checks the namespace's structural invariants against a full walk:
// entry counts, parent links, counters, the block map, no orphan keys.
func verify(t *testing.T, ns *Namespace) {
	t.Helper()
	var files, dirs int64
	blocks := map[uint64]uint64{}
	var walk func(n *editpb.INode)
	walk = func(n *editpb.INode) {
		if isFile(n) {
			files++
			for _, b := range n.Blocks {
				blocks[b.BlockId] = n.Id
			}
			return
		}
		dirs++
		var entries int64
		err := forEachChild(ns.db, n.Id, "", func(name string, id uint64) (bool, error) {
			entries++
			c, err := getINode(ns.db, id)
			if err != nil || c == nil {
				t.Fatalf("entry %q of %d: inode %d missing (%v)", name, n.Id, id, err)
			}
			if c.ParentId != n.Id || c.Name != name {
				t.Fatalf("inode %d says parent %d name %q, entry says %d %q", id, c.ParentId, c.Name, n.Id, name)
			}
			walk(c)
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if entries != n.Children {
			t.Fatalf("inode %d has %d entries, counts %d", n.Id, entries, n.Children)
		}
	}
	root, err := getINode(ns.db, RootINodeID)
	if err != nil {
		t.Fatal(err)
	}
	walk(root)
	c := ns.Counters()
	if c.Files != files || c.Dirs != dirs {
		t.Fatalf("counters %+v, walk found %d files %d dirs", c, files, dirs)
	}
	it, _ := ns.db.NewIter(iterPrefix([]byte{prefixINode}))
	var inodes int64
	for ok := it.First(); ok; ok = it.Next() {
		inodes++
		if id := binary.BigEndian.Uint64(it.Key()[1:]); id > c.LastINodeID {
			t.Fatalf("inode %d above last inode id %d", id, c.LastINodeID)
		}
	}
	it.Close()
	if inodes != files+dirs {
		t.Fatalf("%d inode keys, %d reachable", inodes, files+dirs)
	}
	it, _ = ns.db.NewIter(iterPrefix([]byte{prefixBlock}))
	mapped := 0
	for ok := it.First(); ok; ok = it.Next() {
		mapped++
		id := binary.BigEndian.Uint64(it.Key()[1:])
		if blocks[id] != beUint64(it.Value()) {
			t.Fatalf("block %d maps to %d, held by %d", id, beUint64(it.Value()), blocks[id])
		}
		if id > c.LastBlockID {
			t.Fatalf("block %d above last block id %d", id, c.LastBlockID)
		}
	}
	it.Close()
	if mapped != len(blocks) {
		t.Fatalf("%d blocks mapped, %d held", mapped, len(blocks))
	}
}

// TestReplayDeterminism applies random prepared ops to A, replays the
// recorded ops (through their wire encoding, as from the edit log) into a
// fresh B, and into a checkpoint of A taken halfway: all must hold the same
// bytes.
func TestReplayDeterminism(t *testing.T) {
	kinds := map[string]int{}
	for seed := int64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			a := newEnv(t)
			// Let every user work at the top, so fewer calls are refused.
			a.must(a.ns.PrepareSetPermission(a.call("hdfs"), "/", 0o777))
			randomOps(a, rng, 1500)
			mid := len(a.ops)
			img := filepath.Join(t.TempDir(), "img")
			if _, err := a.ns.Checkpoint(img); err != nil {
				t.Fatal(err)
			}
			randomOps(a, rng, 1500)
			for _, op := range a.ops {
				kinds[fmt.Sprintf("%T", op.Body)]++
			}
			verify(t, a.ns)

			b := newTestNS(t, testOptions())
			replay(t, b, a.ops, 1)
			cp, err := OpenCheckpoint(img, filepath.Join(t.TempDir(), "work"), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			defer cp.Close()
			replay(t, cp, a.ops[mid:], int64(mid)+1)

			want, _ := a.ns.Checksum()
			for name, ns := range map[string]*Namespace{"replay": b, "checkpoint+replay": cp} {
				got, err := ns.Checksum()
				if err != nil {
					t.Fatal(err)
				}
				if got != want || ns.LastAppliedTxID() != a.ns.LastAppliedTxID() || ns.Counters() != a.ns.Counters() {
					t.Fatalf("%s differs: txid %d/%d counters %+v/%+v", name, ns.LastAppliedTxID(), a.ns.LastAppliedTxID(), ns.Counters(), a.ns.Counters())
				}
				verify(t, ns)
			}
		})
	}
	// Every op kind that a Prepare produces must have been replayed.
	if len(kinds) < 17 {
		t.Fatalf("random calls produced only %d kinds of op: %v", len(kinds), kinds)
	}
	t.Logf("ops replayed: %v", kinds)
}

func replay(t *testing.T, ns *Namespace, ops []*editpb.Op, first int64) {
	t.Helper()
	for i, op := range ops {
		raw, err := proto.Marshal(op)
		if err != nil {
			t.Fatal(err)
		}
		dec := &editpb.Op{}
		if err := proto.Unmarshal(raw, dec); err != nil {
			t.Fatal(err)
		}
		if _, err := ns.Apply(first+int64(i), dec); err != nil {
			t.Fatalf("replay txid %d: %v", first+int64(i), err)
		}
	}
}
