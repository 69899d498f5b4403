package namespace

import (
	"errors"
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
// iterator per component. A key known to be missing is cached as a nil
// value. It is bounded by bytes: a full shard drops arbitrary entries, so
// the namespace stays usable when it is larger than memory.
//
// Consistency: every commit goes through commit, which advances gen to odd
// before the batch commits, then stores every key the batch wrote with the
// value it committed (nil for a deletion; a failed commit clears the
// cache), and advances gen to even. Writing through matters: each create
// or mkdirs rewrites its parent's inode, which the next call in that
// directory reads. A read fills the cache only when gen
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

// put caches a copy of v (nil: key is missing) for key if no commit
// started since gen was g.
func (c *readCache) put(key, v []byte, g uint64) { c.store(key, v, true, g) }

// store caches a copy of v for key; with check, only if gen is still g.
func (c *readCache) store(key, v []byte, check bool, g uint64) {
	cost := int64(len(key) + len(v) + readCacheEntryOverhead)
	s := c.shard(key)
	if cost > c.perShard {
		s.mu.Lock()
		s.dropLocked(key)
		s.mu.Unlock()
		return
	}
	kv := make([]byte, len(key)+len(v), len(key)+len(v)+1)
	copy(kv, key)
	copy(kv[len(key):], v)
	val := kv[len(key):len(kv):cap(kv)] // never nil: nil marks a missing key
	if v == nil {
		val = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if check && c.gen.Load() != g {
		return
	}
	s.dropLocked(key)
	for k, old := range s.m {
		if s.bytes+cost <= c.perShard {
			break
		}
		delete(s.m, k)
		s.bytes -= int64(len(k) + len(old) + readCacheEntryOverhead)
	}
	s.m[string(kv[:len(key)])] = val
	s.bytes += cost
}

func (s *readCacheShard) dropLocked(key []byte) {
	if old, ok := s.m[string(key)]; ok {
		delete(s.m, string(key))
		s.bytes -= int64(len(key) + len(old) + readCacheEntryOverhead)
	}
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

// storeBatch stores what a committed batch b wrote to cached key spaces; a
// write it cannot name by key (a range deletion, anything unexpected)
// clears the whole cache.
func (c *readCache) storeBatch(b *pebble.Batch) {
	r := batchrepr.Read(b.Repr())
	for {
		kind, ukey, value, ok, err := r.Next()
		if err != nil {
			c.clear()
			return
		}
		if !ok {
			return
		}
		switch kind {
		case pebble.InternalKeyKindSet, pebble.InternalKeyKindSetWithDelete:
			if cacheable(ukey) {
				if value == nil {
					value = []byte{}
				}
				c.store(ukey, value, false, 0)
			}
		case pebble.InternalKeyKindDelete, pebble.InternalKeyKindSingleDelete:
			if cacheable(ukey) {
				c.store(ukey, nil, false, 0)
			}
		case pebble.InternalKeyKindLogData:
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
	if err := b.Commit(opts); err != nil {
		c.clear()
		return err
	}
	c.storeBatch(b)
	return nil
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
		if v == nil {
			return nil, nil, pebble.ErrNotFound
		}
		return v, nopCloser{}, nil
	}
	g := r.c.gen.Load()
	v, cl, err := r.db.Get(key)
	switch {
	case g&1 != 0:
	case err == nil:
		r.c.put(key, v, g)
	case errors.Is(err, pebble.ErrNotFound):
		r.c.put(key, nil, g)
	}
	return v, cl, err
}

func (r cachedReader) NewIter(o *pebble.IterOptions) (*pebble.Iterator, error) {
	return r.db.NewIter(o)
}
