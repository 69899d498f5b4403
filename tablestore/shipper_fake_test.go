package tablestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memSink is an in-memory Sink for the shipper's tests, with an outage
// switch and a record of every PutEdits key tried.
type memSink struct {
	mu      sync.Mutex
	info    *Info
	batches map[int64]Batch
	images  map[int64][]byte
	fail    error // every call fails with it while set
	puts    int
}

func newMemSink() *memSink {
	return &memSink{batches: map[int64]Batch{}, images: map[int64][]byte{}}
}

func (m *memSink) setFail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

func (m *memSink) PutInfo(ctx context.Context, info Info) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if m.info != nil && *m.info != info {
		return ErrMismatch
	}
	m.info = &info
	return nil
}

func (m *memSink) GetInfo(ctx context.Context) (Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.info == nil {
		return Info{}, ErrNotFound
	}
	return *m.info, nil
}

func (m *memSink) PutEdits(ctx context.Context, b Batch) error {
	if len(b.Ops) == 0 {
		return errors.New("memsink: empty batch")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.puts++
	if _, ok := m.batches[b.First]; ok {
		return ErrExists
	}
	ops := make([][]byte, len(b.Ops))
	for i, op := range b.Ops {
		ops[i] = slices.Clone(op)
	}
	m.batches[b.First] = Batch{First: b.First, Ops: ops}
	return nil
}

func (m *memSink) keys() []int64 {
	var ks []int64
	for k := range m.batches {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (m *memSink) LastTxID(ctx context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return 0, m.fail
	}
	ks := m.keys()
	if len(ks) == 0 {
		return 0, nil
	}
	return m.batches[ks[len(ks)-1]].Last(), nil
}

func (m *memSink) ReadEdits(ctx context.Context, from int64, fn func(Batch) error) error {
	m.mu.Lock()
	var bs []Batch
	for _, k := range m.keys() {
		if b := m.batches[k]; b.Last() >= from {
			bs = append(bs, b)
		}
	}
	m.mu.Unlock()
	for _, b := range bs {
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

func (m *memSink) PutImage(ctx context.Context, txid int64, r io.Reader) error {
	m.mu.Lock()
	fail := m.fail
	_, exists := m.images[txid]
	m.mu.Unlock()
	if fail != nil {
		return fail
	}
	if exists {
		return ErrExists
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err // a broken stream stores nothing
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.images[txid]; ok {
		return ErrExists
	}
	m.images[txid] = b
	return nil
}

func (m *memSink) Images(ctx context.Context) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	var ts []int64
	for t := range m.images {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts, nil
}

func (m *memSink) OpenImage(ctx context.Context, txid int64) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.images[txid]
	if !ok {
		return nil, ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memSink) String() string { return "mem://test" }
func (m *memSink) Close() error   { return nil }

var _ Sink = (*memSink)(nil)

// fakeSource is a journal of generated edits: txids first..last are
// readable (earlier ones purged), committed is what may be shipped.
type fakeSource struct {
	mu        sync.Mutex
	info      Info
	first     int64 // first txid still in the journal
	last      int64 // last txid written (may exceed committed)
	committed atomic.Int64
	images    []int64
	readErr   error
	reads     int
}

func newFakeSource(last, committed int64) *fakeSource {
	s := &fakeSource{info: Info{NamespaceID: 7, ClusterID: "CID-test", BlockPoolID: "BP-7", CTime: 1, LayoutVersion: -66},
		first: 1, last: last, images: []int64{0}}
	s.committed.Store(committed)
	return s
}

func opOf(txid int64) []byte { return []byte(fmt.Sprintf("op-%d", txid)) }

func (s *fakeSource) Info() (Info, error)  { return s.info, nil }
func (s *fakeSource) CommittedTxID() int64 { return s.committed.Load() }

// write appends edits up to last and commits them.
func (s *fakeSource) write(last int64) {
	s.mu.Lock()
	s.last = last
	s.mu.Unlock()
	s.committed.Store(last)
}

func (s *fakeSource) ReadEdits(ctx context.Context, from int64, fn func(int64, []byte) error) error {
	s.mu.Lock()
	first, last, rerr := s.first, s.last, s.readErr
	s.reads++
	s.mu.Unlock()
	if rerr != nil {
		return rerr
	}
	if from < first {
		return fmt.Errorf("fake journal starts at %d: %w", first, ErrEditsPurged)
	}
	for t := from; t <= last; t++ {
		if err := fn(t, opOf(t)); err != nil {
			return err
		}
	}
	return nil
}

func (s *fakeSource) Images() ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.images), nil
}

func (s *fakeSource) addImage(txid int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.images = append(s.images, txid)
	sort.Slice(s.images, func(i, j int) bool { return s.images[i] < s.images[j] })
}

func (s *fakeSource) WriteImage(ctx context.Context, txid int64, w io.Writer) error {
	_, err := fmt.Fprintf(w, "image-%d", txid)
	return err
}

// checkChain checks that the sink's batches are contiguous from the
// oldest image on (a jump only onto an image's txid+1), never overlap,
// hold the source's ops, and end at want.
func checkChain(t *testing.T, m *memSink, want int64) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.images) == 0 {
		t.Fatal("the sink holds no image")
	}
	next := int64(-1)
	for _, k := range m.keys() {
		b := m.batches[k]
		if next >= 0 && b.First != next {
			if _, ok := m.images[b.First-1]; !ok || b.First < next {
				t.Fatalf("batch %d-%d follows a chain ending at %d (gap or overlap)", b.First, b.Last(), next-1)
			}
		}
		if next < 0 {
			if _, ok := m.images[b.First-1]; !ok {
				t.Fatalf("the first batch %d-%d does not follow an image", b.First, b.Last())
			}
		}
		for i, op := range b.Ops {
			if txid := b.First + int64(i); !bytes.Equal(op, opOf(txid)) {
				t.Fatalf("txid %d holds %q", txid, op)
			}
		}
		next = b.Last() + 1
	}
	if next-1 != want {
		t.Fatalf("the chain ends at %d, want %d", next-1, want)
	}
}

func testConfig() Config {
	c := DefaultConfig()
	c.Kind, c.Dir, c.Enabled = "file", "/m", true
	c.BatchMaxOps = 100
	c.PollInterval = time.Millisecond
	c.RetryMax = 200 * time.Millisecond
	return c
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func startShipper(t *testing.T, cfg Config, src Source, sink Sink) *Shipper {
	t.Helper()
	s, err := NewShipper(cfg, src, sink, ShipperOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}
