package namespace

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
)

// TestReadCacheDifferential drives the same random calls into a namespace
// with no read cache and into ones with a tiny cache (constant eviction) and
// the default one: every Prepare must decide the same (the ops logged are
// identical), every path must stat the same, and the stores must hold the
// same bytes. A stale cached inode or entry would change a decision.
func TestReadCacheDifferential(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			off := testOptions()
			off.ReadCacheSize = -1
			tiny := testOptions()
			tiny.ReadCacheSize = readCacheShards * 256
			envs := []*env{
				{t: t, ns: newTestNS(t, off), now: 2000},
				{t: t, ns: newTestNS(t, tiny), now: 2000},
				{t: t, ns: newTestNS(t, testOptions()), now: 2000},
			}
			if envs[0].ns.cache != nil || envs[1].ns.cache == nil {
				t.Fatal("ReadCacheSize not honoured")
			}
			for _, e := range envs {
				e.must(e.ns.PrepareSetPermission(e.call("hdfs"), "/", 0o777))
				randomOps(e, rand.New(rand.NewSource(seed)), 3000)
			}
			want, _ := envs[0].ns.Checksum()
			for i, e := range envs[1:] {
				if len(e.ops) != len(envs[0].ops) {
					t.Fatalf("env %d logged %d ops, uncached %d", i+1, len(e.ops), len(envs[0].ops))
				}
				for j := range e.ops {
					if !proto.Equal(e.ops[j], envs[0].ops[j]) {
						t.Fatalf("env %d op %d: %v, uncached %v", i+1, j, e.ops[j], envs[0].ops[j])
					}
				}
				if got, _ := e.ns.Checksum(); got != want {
					t.Fatalf("env %d checksum differs", i+1)
				}
			}
			names := []string{"a", "b", "c"}
			var paths []string
			for _, x := range names {
				paths = append(paths, "/"+x)
				for _, y := range names {
					paths = append(paths, "/"+x+"/"+y)
					for _, z := range names {
						paths = append(paths, "/"+x+"/"+y+"/"+z)
					}
				}
			}
			for _, p := range paths {
				for _, user := range []string{"hdfs", "alice", "bob"} {
					w, werr := envs[0].ns.GetFileInfo(user, p)
					for i, e := range envs[1:] {
						g, gerr := e.ns.GetFileInfo(user, p)
						if fmt.Sprint(gerr) != fmt.Sprint(werr) || fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
							t.Fatalf("env %d GetFileInfo(%s, %s) = %+v, %v; uncached %+v, %v", i+1, user, p, g, gerr, w, werr)
						}
					}
				}
			}
			if c := envs[1].ns.cache; c != nil {
				for i := range c.shards {
					if c.shards[i].bytes > c.perShard {
						t.Fatalf("shard %d holds %d bytes, bound %d", i, c.shards[i].bytes, c.perShard)
					}
				}
			}
		})
	}
}

// TestReadCacheNoStaleFill: a value read before a commit is not cached
// after it, a commit writes its values (and deletions) through, and a range
// deletion empties the cache.
func TestReadCacheNoStaleFill(t *testing.T) {
	ns := newTestNS(t, testOptions())
	c := ns.cache
	key := inodeKey(RootINodeID)
	g := c.gen.Load()
	b := ns.db.NewBatch()
	if err := b.Set(direntKey(RootINodeID, "x"), u64(7), nil); err != nil {
		t.Fatal(err)
	}
	if err := ns.commit(b, nil); err != nil {
		t.Fatal(err)
	}
	b.Close()
	c.put(key, []byte("stale"), g)
	if v, ok := c.get(key); ok && string(v) == "stale" {
		t.Fatal("value read before a commit was cached after it")
	}
	if v, ok := c.get(direntKey(RootINodeID, "x")); !ok || string(v) != string(u64(7)) {
		t.Fatalf("committed write not in the cache: %q, %v", v, ok)
	}
	b = ns.db.NewBatch()
	if err := b.Delete(direntKey(RootINodeID, "x"), nil); err != nil {
		t.Fatal(err)
	}
	if err := ns.commit(b, nil); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if v, ok := c.get(direntKey(RootINodeID, "x")); !ok || v != nil {
		t.Fatalf("committed deletion not cached as missing: %q, %v", v, ok)
	}
	if _, _, err := ns.rd.Get(direntKey(RootINodeID, "x")); !errors.Is(err, pebble.ErrNotFound) {
		t.Fatalf("read of a deleted key: %v", err)
	}
	c.put(key, []byte("v"), c.gen.Load())
	if _, ok := c.get(key); !ok {
		t.Fatal("fill with the current generation not cached")
	}
	b = ns.db.NewBatch()
	if err := b.DeleteRange([]byte{prefixXAttr}, []byte{prefixXAttr + 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := ns.commit(b, nil); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, ok := c.get(key); ok {
		t.Fatal("range deletion left the cache full")
	}
}

// TestReadCacheBound: replacing and evicting keep the byte count exact and
// under the bound.
func TestReadCacheBound(t *testing.T) {
	c := newReadCache(readCacheShards * 1024)
	for i := 0; i < 20000; i++ {
		k := inodeKey(uint64(i % 500))
		v := make([]byte, i%300)
		if i%7 == 0 {
			v = nil
		}
		c.put(k, v, c.gen.Load())
	}
	for i := range c.shards {
		s := &c.shards[i]
		var n int64
		for k, v := range s.m {
			n += int64(len(k) + len(v) + readCacheEntryOverhead)
		}
		if n != s.bytes || n > c.perShard {
			t.Fatalf("shard %d: counted %d bytes, holds %d, bound %d", i, s.bytes, n, c.perShard)
		}
	}
}
