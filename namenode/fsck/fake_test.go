package fsck

import (
	"context"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/hdfsha/hdfsha/internal/rpc"
)

// fakeNS is a namespace tree in memory. Directories named in denied refuse
// listing to every user but "hdfs", with Hadoop's message.
type fakeNS struct {
	files    map[string]File // by absolute path; Name is set by the fake
	denied   map[string]bool
	pageSize int
	lists    int
}

func newFakeNS() *fakeNS {
	ns := &fakeNS{files: map[string]File{"/": {Dir: true}}, denied: map[string]bool{}, pageSize: 2}
	return ns
}

func (ns *fakeNS) mkdir(p string) { ns.files[p] = File{Dir: true} }

func (ns *fakeNS) file(p string, repl uint32, blocks ...Block) {
	f := File{Replication: repl, Blocks: blocks}
	for _, b := range blocks {
		f.Length += b.NumBytes
	}
	ns.files[p] = f
}

func (ns *fakeNS) Stat(_ context.Context, _, p string) (*File, error) {
	f, ok := ns.files[p]
	if !ok {
		return nil, nil
	}
	f.Name = ""
	return &f, nil
}

func (ns *fakeNS) List(_ context.Context, user, dir, after string) ([]File, bool, error) {
	ns.lists++
	if ns.denied[dir] && user != "hdfs" {
		return nil, false, rpc.Errorf(rpc.ErrAccessControl, "Permission denied: user=%s, access=READ_EXECUTE, inode=\"%s\":hdfs:supergroup:drwx------", user, dir)
	}
	var names []string
	for p := range ns.files {
		if p != "/" && path.Dir(p) == dir && path.Base(p) > after {
			names = append(names, path.Base(p))
		}
	}
	slices.Sort(names)
	page := names[:min(ns.pageSize, len(names))]
	var out []File
	for _, n := range page {
		f := ns.files[path.Join(dir, n)]
		f.Name = n
		out = append(out, f)
	}
	return out, len(page) < len(names), nil
}

func (ns *fakeNS) FileOfBlock(_ context.Context, id uint64) (string, error) {
	for p, f := range ns.files {
		for _, b := range f.Blocks {
			if b.ID == id {
				return p, nil
			}
		}
	}
	return "", nil
}

// fakeBlocks is a block map in memory.
type fakeBlocks struct {
	replicas map[uint64]Replicas
	cluster  Cluster
	corrupt  []uint64
}

func (b *fakeBlocks) Replicas(blk Block) Replicas {
	rs, ok := b.replicas[blk.ID]
	if !ok {
		return Replicas{Complete: true}
	}
	return rs
}

func (b *fakeBlocks) Cluster() Cluster        { return b.cluster }
func (b *fakeBlocks) CorruptBlocks() []uint64 { return slices.Clone(b.corrupt) }

// dn is DataNode i (1-based) on 127.0.0.i:9866, in rack.
func dn(i int, rack string) Datanode {
	return Datanode{IP: "127.0.0." + string(rune('0'+i)), XferPort: 9866, Rack: rack}
}

func live(d Datanode, storage string) Replica {
	return Replica{Node: d, StorageID: storage, StorageType: "DISK", State: Live}
}

// stepClock returns t0, then t0 plus 7 ms at each call.
func stepClock() func() time.Time {
	t := time.Date(2026, time.November, 21, 6, 0, 0, 0, time.UTC)
	return func() time.Time {
		now := t
		t = t.Add(7 * time.Millisecond)
		return now
	}
}

func run(ns Namespace, bm Blocks, req Request, superuser func(string) bool) string {
	var b strings.Builder
	cfg := Config{Namespace: ns, Blocks: bm, Now: stepClock(), Superuser: superuser}
	if req.User == "" {
		req.User = "hadoop"
	}
	if req.RemoteIP == "" {
		req.RemoteIP = "127.0.0.1"
	}
	if err := Run(context.Background(), cfg, req, &b); err != nil {
		panic(err)
	}
	return b.String()
}
