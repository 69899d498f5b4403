package edits

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzDecodeRecord: DecodeRecord never panics, a decoded record re-encodes
// to the same bytes, and failures are either ErrTruncated or corruption.
func FuzzDecodeRecord(f *testing.F) {
	good, _ := AppendRecord(nil, 1, []byte("op"))
	f.Add(good)
	f.Add(good[:10])
	f.Add(make([]byte, 16))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := DecodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		enc, err := EncodeRecord(r)
		if err != nil {
			t.Fatalf("decoded record does not encode: %v", err)
		}
		if !bytes.Equal(enc, b[:n]) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// FuzzSegmentReader: reading arbitrary bytes as a segment never panics,
// ends in io.EOF, a torn tail or corruption, returns contiguous txids, and
// agrees with Scan.
func FuzzSegmentReader(f *testing.F) {
	seg := AppendSegmentHeader(nil)
	for i := int64(1); i <= 3; i++ {
		seg, _ = AppendRecord(seg, i, []byte("some op bytes"))
	}
	f.Add(seg, int64(0))
	f.Add(seg[:len(seg)-3], int64(1))
	f.Add(append(append([]byte(nil), seg...), make([]byte, 64)...), int64(1))
	f.Add([]byte("HSED"), int64(0))
	f.Fuzz(func(t *testing.T, b []byte, first int64) {
		if first < 0 {
			first = 0
		}
		r := NewReader(bytes.NewReader(b), int64(len(b)), "fuzz", first)
		var n, last int64
		var err error
		for {
			var rec Record
			rec, err = r.Next()
			if err != nil {
				break
			}
			if n > 0 && rec.TxID != last+1 {
				t.Fatalf("txid %d after %d", rec.TxID, last)
			}
			if n == 0 && first > 0 && rec.TxID != first {
				t.Fatalf("first txid %d, want %d", rec.TxID, first)
			}
			last = rec.TxID
			n++
		}
		if err != io.EOF && !errors.Is(err, ErrTornTail) && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("unexpected error class: %v", err)
		}
		if r.ValidEnd() > int64(len(b)) {
			t.Fatalf("valid end %d beyond size %d", r.ValidEnd(), len(b))
		}
		res, serr := Scan(bytes.NewReader(b), int64(len(b)), "fuzz", first)
		if (serr != nil) != errors.Is(err, ErrCorrupt) || res.Records != n || res.ValidEnd != r.ValidEnd() {
			t.Fatalf("scan %+v %v disagrees with reader (%d records, end %d, %v)", res, serr, n, r.ValidEnd(), err)
		}
		if res.Torn != errors.Is(err, ErrTornTail) {
			t.Fatalf("torn mismatch")
		}
		if err == io.EOF && r.ValidEnd() != int64(len(b)) {
			t.Fatalf("clean end at %d of %d", r.ValidEnd(), len(b))
		}
	})
}
