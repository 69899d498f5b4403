package namespace

import (
	"hash/maphash"
	"io"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"
)

// DefaultReadCacheSize is the read cache budget Open uses when Options has
// none.
const DefaultReadCacheSize = 64 << 20

const readCacheShards = 64

// readCacheEntryOverhead is what one entry costs beyond its key and value
// bytes (map slot, string and slice headers), counted against the budget.
const readCacheEntryOverhead = 64

// readCache holds copies of inode and directory-entry values as they are in
// the committed store, so that path resolution does not build a Pebble
// iterator per component. It caches only keys that exist (a miss is always
// read from Pebble) and is bounded by bytes: a full shard drops arbitrary
// entries, so the namespace stays usable when it is larger than memory.
//
// Consistency: every commit goes through commit, which advances gen to odd
// before the batch commits, drops every key the batch wrote after it
// commits, and advances gen to even. A read fills the cache only when gen
// was even before its Pebble read and is unchanged when it inserts, so a
// value read before or during a commit is never inserted after that commit
// dropped its key. Invariant: when gen is even, every cached value equals
// the committed value of its key.
type readCache struct {
	seed     maphash.Seed
	perShard int64
	gen      atomic.Uint64
	shards   [readCacheShards]readCacheShard
}

type readCacheShard struct {
	mu    sync.Mutex
	m     map[string][]byte
	bytes int64
	_     [40]byte // keep shards on separate cache lines
}

// newReadCache returns a cache of about size bytes, or nil (no cache) when
// size is negative.
func newReadCache(size int64) *readCache {
	if size < 0 {
		return nil
	}
	if size == 0 {
		size = DefaultReadCacheSize
	}
	c := &readCache{seed: maphash.MakeSeed(), perShard: size / readCacheShards}
	for i := range c.shards {
		c.shards[i].m = make(map[string][]byte)
	}
	return c
}

func (c *readCache) shard(key []byte) *readCacheShard {
	return &c.shards[maphash.Bytes(c.seed, key)%readCacheShards]
}

// cacheable reports whether key is in a key space the cache holds.
func cacheable(key []byte) bool {
	return len(key) > 0 && (key[0] == prefixINode || key[0] == prefixDirent)
}

func (c *readCache) get(key []byte) ([]byte, bool) {
	s := c.shard(key)
	s.mu.Lock()
	v, ok := s.m[string(key)]
	s.mu.Unlock()
	return v, ok
}

// put caches a copy of v for key if no commit started since gen was g.
func (c *readCache) put(key, v []byte, g uint64) {
	cost := int64(len(key) + len(v) + readCacheEntryOverhead)
	if cost > c.perShard {
		return
	}
	kv := make([]byte, len(key)+len(v))
	copy(kv, key)
	copy(kv[len(key):], v)
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.gen.Load() != g {
		return
	}
	if old, ok := s.m[string(key)]; ok {
		s.bytes -= int64(len(key) + len(old) + readCacheEntryOverhead)
	}
	for k, old := range s.m {
		if s.bytes+cost <= c.perShard {
			break
		}
		delete(s.m, k)
		s.bytes -= int64(len(k) + len(old) + readCacheEntryOverhead)
	}
	s.m[string(kv[:len(key)])] = kv[len(key):len(kv):len(kv)]
	s.bytes += cost
}

func (c *readCache) drop(key []byte) {
	s := c.shard(key)
	s.mu.Lock()
	if old, ok := s.m[string(key)]; ok {
		delete(s.m, string(key))
		s.bytes -= int64(len(key) + len(old) + readCacheEntryOverhead)
	}
	s.mu.Unlock()
}

func (c *readCache) clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.bytes = 0
		s.mu.Unlock()
	}
}

// dropBatch drops every cached key b writes; a write it cannot name by key
// (a range deletion, anything unexpected) clears the whole cache.
func (c *readCache) dropBatch(b *pebble.Batch) {
	r := batchrepr.Read(b.Repr())
	for {
		kind, ukey, _, ok, err := r.Next()
		if err != nil {
			c.clear()
			return
		}
		if !ok {
			return
		}
		switch kind {
		case pebble.InternalKeyKindSet, pebble.InternalKeyKindDelete, pebble.InternalKeyKindSingleDelete,
			pebble.InternalKeyKindSetWithDelete, pebble.InternalKeyKindLogData:
			if cacheable(ukey) {
				c.drop(ukey)
			}
		default:
			c.clear()
			return
		}
	}
}

// commit commits b to db, keeping the cache consistent with the store
// (see readCache). Every write to db goes through it.
func (ns *Namespace) commit(b *pebble.Batch, opts *pebble.WriteOptions) error {
	c := ns.cache
	if c == nil {
		return b.Commit(opts)
	}
	c.gen.Add(1)
	defer c.gen.Add(1)
	err := b.Commit(opts)
	c.dropBatch(b)
	return err
}

// cachedReader reads the committed store through the cache.
type cachedReader struct {
	db *pebble.DB
	c  *readCache
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// Get returns the value of key. A cached value is shared: callers must not
// modify or keep it (getINode and lookup decode it).
func (r cachedReader) Get(key []byte) ([]byte, io.Closer, error) {
	if r.c == nil || !cacheable(key) {
		return r.db.Get(key)
	}
	if v, ok := r.c.get(key); ok {
		return v, nopCloser{}, nil
	}
	g := r.c.gen.Load()
	v, cl, err := r.db.Get(key)
	if err == nil && g&1 == 0 {
		r.c.put(key, v, g)
	}
	return v, cl, err
}

func (r cachedReader) NewIter(o *pebble.IterOptions) (*pebble.Iterator, error) {
	return r.db.NewIter(o)
}
