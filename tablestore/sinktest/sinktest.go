package sinktest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/tablestore"
)

// Run is the conformance suite: every sink passes it. open returns a new,
// empty sink each time it is called (once per subtest); Run closes it at
// the end of the subtest (and the Close subtest closes it twice, so a
// second Close must not panic; its error is ignored).
func Run(t *testing.T, open func(t *testing.T) tablestore.Sink) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s tablestore.Sink)
	}{
		{"Info", testInfo},
		{"InfoConcurrent", testInfoConcurrent},
		{"EditsEmpty", testEditsEmpty},
		{"PutEditsExclusive", testPutEditsExclusive},
		{"PutEditsRejectsBadBatch", testPutEditsBad},
		{"LastTxIDHighestKey", testLastTxIDHighestKey},
		{"ReadEdits", testReadEdits},
		{"ReadEditsStops", testReadEditsStops},
		{"ReadEditsAtomicVisibility", testAtomicVisibility},
		{"EditsConcurrentSameKey", testEditsConcurrent},
		{"Images", testImages},
		{"ImageLarge", testImageLarge},
		{"ImageFailedWriteInvisible", testImageFailedWrite},
		{"ImagesConcurrentSameKey", testImagesConcurrent},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if s == nil {
				t.Fatal("open returned a nil sink")
			}
			t.Cleanup(func() { _ = s.Close() })
			if s.String() == "" {
				t.Error("String() is empty; it should name the sink")
			}
			tc.fn(t, s)
		})
	}
}

// Batch returns a batch of n ops from first whose op bytes encode their
// txid and salt, so batches written by different writers differ.
func Batch(first int64, n int, salt string) tablestore.Batch {
	b := tablestore.Batch{First: first, Ops: make([][]byte, n)}
	for i := range b.Ops {
		b.Ops[i] = fmt.Appendf(nil, "op txid=%d salt=%s", first+int64(i), salt)
	}
	return b
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func equalBatch(a, b tablestore.Batch) bool {
	return a.First == b.First && slices.EqualFunc(a.Ops, b.Ops, bytes.Equal)
}

func describe(b tablestore.Batch) string {
	if len(b.Ops) == 0 {
		return fmt.Sprintf("{first %d, no ops}", b.First)
	}
	return fmt.Sprintf("{first %d, %d ops, op0 %q}", b.First, len(b.Ops), b.Ops[0])
}

// readAll collects ReadEdits(from). Ops are copied: a sink may reuse
// buffers after fn returns.
func readAll(t *testing.T, s tablestore.Sink, from int64) []tablestore.Batch {
	t.Helper()
	var out []tablestore.Batch
	err := s.ReadEdits(ctxT(t), from, func(b tablestore.Batch) error {
		c := tablestore.Batch{First: b.First}
		for _, op := range b.Ops {
			c.Ops = append(c.Ops, bytes.Clone(op))
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		t.Fatalf("ReadEdits(%d): %v", from, err)
	}
	return out
}

func wantBatches(t *testing.T, what string, got []tablestore.Batch, want ...tablestore.Batch) {
	t.Helper()
	if len(got) != len(want) {
		var g []string
		for _, b := range got {
			g = append(g, describe(b))
		}
		t.Fatalf("%s: got %d batches %v, want %d", what, len(got), g, len(want))
	}
	for i := range want {
		if !equalBatch(got[i], want[i]) {
			t.Fatalf("%s: batch %d is %s, want %s", what, i, describe(got[i]), describe(want[i]))
		}
	}
}

func lastTxID(t *testing.T, s tablestore.Sink) int64 {
	t.Helper()
	v, err := s.LastTxID(ctxT(t))
	if err != nil {
		t.Fatalf("LastTxID: %v", err)
	}
	return v
}

func putEdits(t *testing.T, s tablestore.Sink, b tablestore.Batch) {
	t.Helper()
	if err := s.PutEdits(ctxT(t), b); err != nil {
		t.Fatalf("PutEdits%s: %v", describe(b), err)
	}
}

// oneWinner runs put(i) for n writers at once: exactly one must succeed
// and every other fail with an error matching lose. It returns the winner.
func oneWinner(t *testing.T, what string, n int, lose error, put func(i int) error) int {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = put(i)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("%s: writers %d and %d both succeeded", what, winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, lose):
			t.Fatalf("%s: writer %d: %v, want nil or %v", what, i, err, lose)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: no writer succeeded", what)
	}
	return winner
}

var infoA = tablestore.Info{NamespaceID: 123456789, ClusterID: "CID-6f1c2d4e-0000-4a8b-9c1d-2e3f4a5b6c7d",
	BlockPoolID: "BP-123456789-127.0.0.1-1700000000000", CTime: 1700000000000, LayoutVersion: -66}

func testInfo(t *testing.T, s tablestore.Sink) {
	ctx := ctxT(t)
	if _, err := s.GetInfo(ctx); !errors.Is(err, tablestore.ErrNotFound) {
		t.Fatalf("GetInfo on an empty sink: %v, want ErrNotFound", err)
	}
	if err := s.PutInfo(ctx, infoA); err != nil {
		t.Fatalf("PutInfo: %v", err)
	}
	got, err := s.GetInfo(ctx)
	if err != nil || got != infoA {
		t.Fatalf("GetInfo = %+v, %v; want %+v", got, err, infoA)
	}
	if err := s.PutInfo(ctx, infoA); err != nil {
		t.Fatalf("PutInfo of the same identity again: %v, want nil", err)
	}
	for _, other := range []tablestore.Info{
		{NamespaceID: infoA.NamespaceID + 1, ClusterID: infoA.ClusterID, BlockPoolID: infoA.BlockPoolID, CTime: infoA.CTime, LayoutVersion: infoA.LayoutVersion},
		{NamespaceID: infoA.NamespaceID, ClusterID: "CID-other", BlockPoolID: infoA.BlockPoolID, CTime: infoA.CTime, LayoutVersion: infoA.LayoutVersion},
		{NamespaceID: infoA.NamespaceID, ClusterID: infoA.ClusterID, BlockPoolID: "BP-other", CTime: infoA.CTime, LayoutVersion: infoA.LayoutVersion},
		{NamespaceID: infoA.NamespaceID, ClusterID: infoA.ClusterID, BlockPoolID: infoA.BlockPoolID, CTime: 1, LayoutVersion: infoA.LayoutVersion},
	} {
		if err := s.PutInfo(ctx, other); !errors.Is(err, tablestore.ErrMismatch) {
			t.Fatalf("PutInfo(%+v) over %+v: %v, want ErrMismatch", other, infoA, err)
		}
	}
	if got, err := s.GetInfo(ctx); err != nil || got != infoA {
		t.Fatalf("GetInfo after mismatches = %+v, %v; want %+v", got, err, infoA)
	}
}

func testInfoConcurrent(t *testing.T, s tablestore.Sink) {
	const n = 6
	ctx := ctxT(t)
	infos := make([]tablestore.Info, n)
	for i := range n {
		infos[i] = infoA
		infos[i].NamespaceID = int32(1000 + i)
	}
	winner := oneWinner(t, "PutInfo of different identities", n, tablestore.ErrMismatch, func(i int) error {
		return s.PutInfo(ctx, infos[i])
	})
	if got, err := s.GetInfo(ctx); err != nil || got != infos[winner] {
		t.Fatalf("GetInfo = %+v, %v; want the winner's %+v", got, err, infos[winner])
	}
}

func testEditsEmpty(t *testing.T, s tablestore.Sink) {
	if v := lastTxID(t, s); v != 0 {
		t.Fatalf("LastTxID of an empty sink = %d, want 0", v)
	}
	wantBatches(t, "ReadEdits(0) of an empty sink", readAll(t, s, 0))
	wantBatches(t, "ReadEdits(1) of an empty sink", readAll(t, s, 1))
}

func testPutEditsExclusive(t *testing.T, s tablestore.Sink) {
	ctx := ctxT(t)
	b1, b4 := Batch(1, 3, "a"), Batch(4, 2, "a")
	putEdits(t, s, b1)
	if v := lastTxID(t, s); v != 3 {
		t.Fatalf("LastTxID = %d, want 3", v)
	}
	putEdits(t, s, b4)
	if v := lastTxID(t, s); v != 5 {
		t.Fatalf("LastTxID = %d, want 5", v)
	}
	for _, dup := range []tablestore.Batch{Batch(4, 2, "b"), Batch(4, 1, "a"), Batch(1, 7, "b"), b1} {
		if err := s.PutEdits(ctx, dup); !errors.Is(err, tablestore.ErrExists) {
			t.Fatalf("PutEdits%s over a stored key: %v, want ErrExists", describe(dup), err)
		}
	}
	if v := lastTxID(t, s); v != 5 {
		t.Fatalf("LastTxID after refused writes = %d, want 5", v)
	}
	wantBatches(t, "ReadEdits(1) after refused writes", readAll(t, s, 1), b1, b4)
}

func testPutEditsBad(t *testing.T, s tablestore.Sink) {
	ctx := ctxT(t)
	for _, bad := range []tablestore.Batch{
		{First: 1},
		{First: 0, Ops: [][]byte{[]byte("x")}},
		{First: -5, Ops: [][]byte{[]byte("x")}},
		{First: 1, Ops: [][]byte{[]byte("x"), {}}},
	} {
		err := s.PutEdits(ctx, bad)
		if err == nil || errors.Is(err, tablestore.ErrExists) {
			t.Fatalf("PutEdits%s: %v, want a validation error", describe(bad), err)
		}
	}
	if v := lastTxID(t, s); v != 0 {
		t.Fatalf("LastTxID after refused batches = %d, want 0", v)
	}
}

func testLastTxIDHighestKey(t *testing.T, s tablestore.Sink) {
	// Written out of key order: LastTxID follows the highest key, not the
	// latest write. Keys above 10^9 check that keys sort as numbers.
	putEdits(t, s, Batch(7, 4, "a"))
	putEdits(t, s, Batch(1, 6, "a"))
	if v := lastTxID(t, s); v != 10 {
		t.Fatalf("LastTxID = %d, want 10", v)
	}
	putEdits(t, s, Batch(1_000_000_000_001, 2, "a"))
	putEdits(t, s, Batch(999_999_999_999, 2, "a"))
	if v := lastTxID(t, s); v != 1_000_000_000_002 {
		t.Fatalf("LastTxID = %d, want 1000000000002", v)
	}
}

func testReadEdits(t *testing.T, s tablestore.Sink) {
	b1, b4, b6, b10 := Batch(1, 3, "r"), Batch(4, 2, "r"), Batch(6, 4, "r"), Batch(10, 1, "r")
	for _, b := range []tablestore.Batch{b6, b1, b10, b4} {
		putEdits(t, s, b)
	}
	for _, c := range []struct {
		from int64
		want []tablestore.Batch
	}{
		{-1, []tablestore.Batch{b1, b4, b6, b10}},
		{0, []tablestore.Batch{b1, b4, b6, b10}},
		{1, []tablestore.Batch{b1, b4, b6, b10}},
		{3, []tablestore.Batch{b1, b4, b6, b10}},
		{4, []tablestore.Batch{b4, b6, b10}},
		{5, []tablestore.Batch{b4, b6, b10}}, // b4 (4..5) straddles 5
		{6, []tablestore.Batch{b6, b10}},
		{8, []tablestore.Batch{b6, b10}}, // b6 (6..9) straddles 8
		{9, []tablestore.Batch{b6, b10}},
		{10, []tablestore.Batch{b10}},
		{11, nil},
		{1 << 62, nil},
	} {
		wantBatches(t, fmt.Sprintf("ReadEdits(%d)", c.from), readAll(t, s, c.from), c.want...)
	}
}

func testReadEditsStops(t *testing.T, s tablestore.Sink) {
	for _, b := range []tablestore.Batch{Batch(1, 2, "s"), Batch(3, 2, "s"), Batch(5, 2, "s")} {
		putEdits(t, s, b)
	}
	stop := errors.New("sinktest: stop here")
	var seen []int64
	err := s.ReadEdits(ctxT(t), 1, func(b tablestore.Batch) error {
		seen = append(seen, b.First)
		if b.First == 3 {
			return fmt.Errorf("wrapped: %w", stop)
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("ReadEdits returned %v, want fn's error", err)
	}
	if !slices.Equal(seen, []int64{1, 3}) {
		t.Fatalf("fn saw batches %v, want [1 3] (the read stops at fn's error)", seen)
	}
}

// testAtomicVisibility: while one goroutine writes batches, readers never
// see a batch other than exactly as written.
func testAtomicVisibility(t *testing.T, s tablestore.Sink) {
	const batches = 40
	rng := rand.New(rand.NewPCG(1, 2))
	var want []tablestore.Batch
	next := int64(1)
	for range batches {
		n := 1 + rng.IntN(40)
		b := tablestore.Batch{First: next, Ops: make([][]byte, n)}
		for i := range b.Ops {
			b.Ops[i] = bytes.Repeat([]byte{byte('a' + i%26)}, 1+rng.IntN(3000))
		}
		want = append(want, b)
		next += int64(n)
	}
	byFirst := make(map[int64]tablestore.Batch)
	for _, b := range want {
		byFirst[b.First] = b
	}
	ctx := ctxT(t)
	done := make(chan struct{})
	var werr error
	go func() {
		defer close(done)
		for _, b := range want {
			if err := s.PutEdits(ctx, b); err != nil {
				werr = fmt.Errorf("PutEdits%s: %w", describe(b), err)
				return
			}
		}
	}()
	reads := 0
	for finished := false; !finished; reads++ {
		select {
		case <-done:
			finished = true // one more read after the writer is done
		default:
		}
		prev := int64(0)
		err := s.ReadEdits(ctx, 0, func(b tablestore.Batch) error {
			w, ok := byFirst[b.First]
			switch {
			case !ok:
				return fmt.Errorf("read a batch never written: %s", describe(b))
			case !equalBatch(b, w):
				return fmt.Errorf("read %s, written %s", describe(b), describe(w))
			case b.First <= prev:
				return fmt.Errorf("batch %d after batch %d", b.First, prev)
			}
			prev = b.First
			return nil
		})
		if err != nil {
			<-done
			t.Fatalf("read %d: %v", reads, err)
		}
	}
	if werr != nil {
		t.Fatal(werr)
	}
	wantBatches(t, "ReadEdits(0) after all writes", readAll(t, s, 0), want...)
	if v := lastTxID(t, s); v != next-1 {
		t.Fatalf("LastTxID = %d, want %d", v, next-1)
	}
}

func testEditsConcurrent(t *testing.T, s tablestore.Sink) {
	const n = 8
	ctx := ctxT(t)
	putEdits(t, s, Batch(1, 9, "base"))
	winner := oneWinner(t, "PutEdits of key 10", n, tablestore.ErrExists, func(i int) error {
		return s.PutEdits(ctx, Batch(10, 3+i, fmt.Sprint("writer", i)))
	})
	wb := Batch(10, 3+winner, fmt.Sprint("writer", winner))
	wantBatches(t, "ReadEdits(10)", readAll(t, s, 10), wb)
	if v := lastTxID(t, s); v != wb.Last() {
		t.Fatalf("LastTxID = %d, want the winner's %d", v, wb.Last())
	}
}

func images(t *testing.T, s tablestore.Sink) []int64 {
	t.Helper()
	ids, err := s.Images(ctxT(t))
	if err != nil {
		t.Fatalf("Images: %v", err)
	}
	return ids
}

func readImage(t *testing.T, s tablestore.Sink, txid int64) []byte {
	t.Helper()
	rc, err := s.OpenImage(ctxT(t), txid)
	if err != nil {
		t.Fatalf("OpenImage(%d): %v", txid, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read image %d: %v", txid, err)
	}
	return data
}

func imageBytes(txid int64, salt string) []byte {
	return bytes.Repeat(fmt.Appendf(nil, "image %d %s|", txid, salt), 100+int(txid%7))
}

func testImages(t *testing.T, s tablestore.Sink) {
	ctx := ctxT(t)
	if ids := images(t, s); len(ids) != 0 {
		t.Fatalf("Images of an empty sink = %v", ids)
	}
	if _, err := s.OpenImage(ctx, 5); !errors.Is(err, tablestore.ErrNotFound) {
		t.Fatalf("OpenImage of a missing image: %v, want ErrNotFound", err)
	}
	for _, txid := range []int64{500, 20, 1_000_000_000_000, 3} {
		if err := s.PutImage(ctx, txid, bytes.NewReader(imageBytes(txid, "a"))); err != nil {
			t.Fatalf("PutImage(%d): %v", txid, err)
		}
	}
	if ids := images(t, s); !slices.Equal(ids, []int64{3, 20, 500, 1_000_000_000_000}) {
		t.Fatalf("Images = %v, want [3 20 500 1000000000000]", ids)
	}
	for _, txid := range []int64{3, 20, 500, 1_000_000_000_000} {
		if got := readImage(t, s, txid); !bytes.Equal(got, imageBytes(txid, "a")) {
			t.Fatalf("image %d reads back %d bytes unlike the %d written", txid, len(got), len(imageBytes(txid, "a")))
		}
	}
	if err := s.PutImage(ctx, 20, bytes.NewReader(imageBytes(20, "b"))); !errors.Is(err, tablestore.ErrExists) {
		t.Fatalf("PutImage over a stored image: %v, want ErrExists", err)
	}
	if got := readImage(t, s, 20); !bytes.Equal(got, imageBytes(20, "a")) {
		t.Fatal("a refused PutImage changed the stored image")
	}
	if _, err := s.OpenImage(ctx, 21); !errors.Is(err, tablestore.ErrNotFound) {
		t.Fatalf("OpenImage of a missing image: %v, want ErrNotFound", err)
	}
	// Edits and images are separate key spaces.
	if v := lastTxID(t, s); v != 0 {
		t.Fatalf("LastTxID with only images = %d, want 0", v)
	}
}

// randReader is a deterministic stream of n pseudo-random bytes.
func randReader(seed uint64, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}), n)
}

func testImageLarge(t *testing.T, s tablestore.Sink) {
	const size = 6<<20 + 12345 // several MiB, not a multiple of any buffer
	ctx := ctxT(t)
	if err := s.PutImage(ctx, 77, randReader(77, size)); err != nil {
		t.Fatalf("PutImage of %d bytes: %v", size, err)
	}
	want := sha256.New()
	_, _ = io.Copy(want, randReader(77, size))
	rc, err := s.OpenImage(ctx, 77)
	if err != nil {
		t.Fatalf("OpenImage: %v", err)
	}
	defer rc.Close()
	got := sha256.New()
	n, err := io.Copy(got, rc)
	if err != nil {
		t.Fatalf("read image: %v", err)
	}
	if n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("image reads back as %d bytes with another digest, wrote %d", n, size)
	}
}

// failingReader returns n bytes, then err.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func testImageFailedWrite(t *testing.T, s tablestore.Sink) {
	ctx := ctxT(t)
	boom := errors.New("sinktest: the image source failed")
	err := s.PutImage(ctx, 42, &failingReader{r: randReader(42, 3<<20), err: boom})
	if err == nil {
		t.Fatal("PutImage from a failing reader succeeded")
	}
	if ids := images(t, s); len(ids) != 0 {
		t.Fatalf("a failed PutImage left images %v", ids)
	}
	if _, err := s.OpenImage(ctx, 42); !errors.Is(err, tablestore.ErrNotFound) {
		t.Fatalf("OpenImage after a failed PutImage: %v, want ErrNotFound", err)
	}
	// The key is still free.
	if err := s.PutImage(ctx, 42, bytes.NewReader(imageBytes(42, "retry"))); err != nil {
		t.Fatalf("PutImage after a failed one: %v", err)
	}
	if got := readImage(t, s, 42); !bytes.Equal(got, imageBytes(42, "retry")) {
		t.Fatal("image after retry differs")
	}
}

func testImagesConcurrent(t *testing.T, s tablestore.Sink) {
	const n = 6
	ctx := ctxT(t)
	winner := oneWinner(t, "PutImage(9)", n, tablestore.ErrExists, func(i int) error {
		return s.PutImage(ctx, 9, bytes.NewReader(imageBytes(9, fmt.Sprint("writer", i))))
	})
	if got := readImage(t, s, 9); !bytes.Equal(got, imageBytes(9, fmt.Sprint("writer", winner))) {
		t.Fatal("the stored image is not the winner's")
	}
}

func testClose(t *testing.T, s tablestore.Sink) {
	ctx := ctxT(t)
	putEdits(t, s, Batch(1, 1, "c"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.LastTxID(ctx); err == nil {
		t.Error("LastTxID after Close succeeded")
	}
	if err := s.PutEdits(ctx, Batch(2, 1, "c")); err == nil {
		t.Error("PutEdits after Close succeeded")
	}
	if _, err := s.GetInfo(ctx); err == nil {
		t.Error("GetInfo after Close succeeded")
	}
}
