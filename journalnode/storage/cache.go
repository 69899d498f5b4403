package storage

import (
	"fmt"

	"github.com/hdfsha/hdfsha/internal/edits"
)

// editCache keeps the most recent journaled records in memory, bounded by
// bytes, so standbys can tail an in-progress segment over RPC
// (getJournaledEdits) without reading files. It holds only records that
// are durable on this node. Not safe for concurrent use: the Journal's
// lock guards it.
type editCache struct {
	capacity int64
	// recs[head:] are cached records, each one encoded record.
	// Invariant: the txids of recs[head:] are contiguous and increasing.
	recs []cachedRecord
	head int
	// bytes is the total encoded size of recs[head:].
	// Invariant: bytes <= capacity after every store.
	bytes int64
}

type cachedRecord struct {
	txid int64
	data []byte
}

func newEditCache(capacity int64) *editCache { return &editCache{capacity: capacity} }

func (c *editCache) len() int { return len(c.recs) - c.head }

func (c *editCache) reset() {
	c.recs, c.head, c.bytes = nil, 0, 0
}

// bounds returns the first and last cached txids (0, -1 when empty).
func (c *editCache) bounds() (int64, int64) {
	if c.len() == 0 {
		return 0, -1
	}
	return c.recs[c.head].txid, c.recs[len(c.recs)-1].txid
}

// store adds n validated records starting at first. A batch that does not
// follow the cached records (a new writer, a recovered segment) replaces
// them.
func (c *editCache) store(records []byte, first int64, n int) {
	if _, last := c.bounds(); c.len() > 0 && first != last+1 {
		c.reset()
	}
	off := 0
	for i := 0; i < n; i++ {
		rec, k, err := edits.DecodeRecord(records[off:])
		if err != nil || rec.TxID != first+int64(i) {
			panic(fmt.Sprintf("storage: edit cache given an invalid batch: %v", err))
		}
		c.recs = append(c.recs, cachedRecord{txid: rec.TxID, data: append([]byte(nil), records[off:off+k]...)})
		c.bytes += int64(k)
		off += k
	}
	for c.bytes > c.capacity && c.len() > 0 {
		c.bytes -= int64(len(c.recs[c.head].data))
		c.recs[c.head] = cachedRecord{}
		c.head++
	}
	if c.head > len(c.recs)/2 && c.head > 64 {
		c.recs = append([]cachedRecord(nil), c.recs[c.head:]...)
		c.head = 0
	}
}

// retrieve returns up to max encoded records starting at since and their
// count; since must be at or after the oldest cached txid.
func (c *editCache) retrieve(since int64, max int) ([]byte, int, error) {
	first, last := c.bounds()
	if c.len() == 0 || since < first {
		return nil, 0, refusef(ErrCacheMiss,
			"Oldest txn ID available in the cache is %d, but requested txns starting at %d. "+
				"The cache size (dfs.journalnode.edit-cache-size.bytes) may need to be increased "+
				"to hold more transactions (currently %d bytes containing %d transactions)",
			first, since, c.capacity, c.len())
	}
	if since > last {
		return nil, 0, nil
	}
	var out []byte
	n := 0
	for i := c.head + int(since-first); i < len(c.recs) && n < max; i++ {
		out = append(out, c.recs[i].data...)
		n++
	}
	return out, n, nil
}
