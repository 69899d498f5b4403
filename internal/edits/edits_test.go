package edits

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/hdfsha/hdfsha/internal/vfs"
)

func mustRecord(t testing.TB, txid int64, op string) []byte {
	t.Helper()
	b, err := EncodeRecord(Record{TxID: txid, Op: []byte(op)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// segment builds header + records txids first..first+len(ops)-1.
func segment(t testing.TB, first int64, ops ...string) []byte {
	t.Helper()
	b := AppendSegmentHeader(nil)
	for i, op := range ops {
		b = append(b, mustRecord(t, first+int64(i), op)...)
	}
	return b
}

func TestRecordLayout(t *testing.T) {
	b := mustRecord(t, 7, "\xaa\xbb")
	want := []byte{0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0xaa, 0xbb}
	copy(want[4:8], b[4:8]) // crc checked below
	if !bytes.Equal(b, want) {
		t.Fatalf("layout %x, want %x", b, want)
	}
	r, n, err := DecodeRecord(append(b, 0xff))
	if err != nil || n != 18 || r.TxID != 7 || string(r.Op) != "\xaa\xbb" {
		t.Fatalf("decode = %+v %d %v", r, n, err)
	}
	if got := string(segmentHeaderBytes()); got != "HSED\x00\x00\x00\x01" {
		t.Fatalf("header %q", got)
	}
}

func segmentHeaderBytes() []byte { return AppendSegmentHeader(nil) }

func TestDecodeErrors(t *testing.T) {
	good := mustRecord(t, 3, "op")
	flip := func(i int) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 0x01
		return b
	}
	zeroTxid, _ := AppendRecord(nil, 1, []byte("x"))
	copy(zeroTxid[8:16], make([]byte, 8)) // CRC no longer matches either
	for _, tc := range []struct {
		name      string
		b         []byte
		truncated bool
	}{
		{"empty", nil, true},
		{"short header", good[:10], true},
		{"short op", good[:len(good)-1], true},
		{"zero length", make([]byte, 20), false},
		{"huge length", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, false},
		{"crc bit", flip(5), false},
		{"txid bit", flip(15), false},
		{"op bit", flip(17), false},
		{"zero txid", zeroTxid, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := DecodeRecord(tc.b)
			if tc.truncated {
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("err = %v, want ErrTruncated", err)
				}
				return
			}
			var ce *CorruptionError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want corruption", err)
			}
		})
	}
	if _, err := AppendRecord(nil, 0, []byte("x")); err == nil {
		t.Fatal("txid 0 encoded")
	}
	if _, err := AppendRecord(nil, 1, nil); err == nil {
		t.Fatal("empty op encoded")
	}
}

func TestSegmentNames(t *testing.T) {
	if got := InProgressName(1); got != "edits_inprogress_0000000000000000001" {
		t.Fatal(got)
	}
	if got := FinalizedName(1, 42); got != "edits_0000000000000000001-0000000000000000042" {
		t.Fatal(got)
	}
	for _, tc := range []struct {
		in   string
		want SegmentName
		ok   bool
	}{
		{"edits_inprogress_0000000000000000001", SegmentName{First: 1, InProgress: true}, true},
		{"edits_0000000000000000001-0000000000000000042", SegmentName{First: 1, Last: 42}, true},
		{"edits_12-15", SegmentName{First: 12, Last: 15}, true},
		{"edits_inprogress_0000000000000000001.broken", SegmentName{}, false},
		{"edits_inprogress_0000000000000000001.epoch=3", SegmentName{}, false},
		{"edits_inprogress_0000000000000000001.empty", SegmentName{}, false},
		{"edits_0000000000000000005-0000000000000000004", SegmentName{}, false},
		{"edits_0000000000000000000-0000000000000000004", SegmentName{}, false},
		{"edits_inprogress_", SegmentName{}, false},
		{"edits_1-", SegmentName{}, false},
		{"edits_+1-2", SegmentName{}, false},
		{"fsimage_0000000000000000001", SegmentName{}, false},
		{"edits_99999999999999999999-99999999999999999999", SegmentName{}, false},
	} {
		got, ok := ParseSegmentName(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseSegmentName(%q) = %+v %v, want %+v %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if ok && got.String() != tc.in && len(tc.in) > 30 {
			t.Errorf("String() = %q, want %q", got.String(), tc.in)
		}
	}
}

func TestScan(t *testing.T) {
	three := segment(t, 10, "a", "bb", "ccc")
	end2 := int64(len(segment(t, 10, "a", "bb")))
	end3 := int64(len(three))
	withByte := func(b []byte, i int, v byte) []byte {
		b = append([]byte(nil), b...)
		b[i] = v
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	// Offset of the second record's CRC.
	rec2 := int(SegmentHeaderSize + EncodedSize([]byte("a")))
	type want struct {
		first, last, records, validEnd int64
		torn, headerValid              bool
		corruptAt                      int64 // -1: no corruption
	}
	for _, tc := range []struct {
		name  string
		b     []byte
		first int64
		want  want
	}{
		{"empty file", nil, 0, want{corruptAt: -1}},
		{"header only", AppendSegmentHeader(nil), 0, want{validEnd: 8, headerValid: true, corruptAt: -1}},
		{"torn header", []byte("HSE"), 0, want{torn: true, corruptAt: -1}},
		{"zeros instead of header", make([]byte, 100), 0, want{torn: true, corruptAt: -1}},
		{"bad magic", []byte("XXXX\x00\x00\x00\x01"), 0, want{corruptAt: 0}},
		{"bad version", []byte("HSED\x00\x00\x00\x09"), 0, want{corruptAt: 4, headerValid: false}},
		{"clean", three, 10, want{10, 12, 3, end3, false, true, -1}},
		{"clean, first unchecked", three, 0, want{10, 12, 3, end3, false, true, -1}},
		{"first txid mismatch", three, 9, want{corruptAt: 8, headerValid: true, validEnd: 8}},
		{"incomplete last record", three[:end3-1], 10, want{10, 11, 2, end2, true, true, -1}},
		{"incomplete last header", three[:end2+5], 10, want{10, 11, 2, end2, true, true, -1}},
		{"trailing zeros", cat(three, make([]byte, 4096)), 10, want{10, 12, 3, end3, true, true, -1}},
		{"zeroed last record", cat(three[:end2], make([]byte, end3-end2)), 10, want{10, 11, 2, end2, true, true, -1}},
		{"bad crc on last record", withByte(three, int(end3)-1, 'X'), 10, want{10, 11, 2, end2, true, true, -1}},
		{"bad crc mid segment", withByte(three, rec2+4, 0xee), 10, want{10, 10, 1, int64(rec2), false, true, int64(rec2)}},
		{"bad length mid segment", withByte(three, rec2, 0x7f), 10, want{10, 10, 1, int64(rec2), false, true, int64(rec2)}},
		{"zeros then valid record", cat(three[:end2], make([]byte, 40), mustRecord(t, 12, "ccc")), 10, want{10, 11, 2, end2, false, true, end2}},
		{"txid gap", cat(three, mustRecord(t, 14, "d")), 10, want{10, 12, 3, end3, false, true, end3}},
		{"txid repeat", cat(three, mustRecord(t, 12, "d")), 10, want{10, 12, 3, end3, false, true, end3}},
		{"stale lower txid after garbage is torn", cat(three, []byte("garbage!"), mustRecord(t, 11, "old")), 10, want{10, 12, 3, end3, true, true, -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Scan(bytes.NewReader(tc.b), int64(len(tc.b)), "seg", tc.first)
			if tc.want.corruptAt >= 0 {
				var ce *CorruptionError
				if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
					t.Fatalf("err = %v, want corruption", err)
				}
				if ce.Offset != tc.want.corruptAt || ce.File != "seg" {
					t.Fatalf("corruption at %s:%d, want seg:%d (%v)", ce.File, ce.Offset, tc.want.corruptAt, err)
				}
			} else if err != nil {
				t.Fatalf("err = %v", err)
			}
			got := want{res.FirstTxID, res.LastTxID, res.Records, res.ValidEnd, res.Torn, res.HeaderValid, tc.want.corruptAt}
			if got != tc.want {
				t.Fatalf("scan = %+v, want %+v", got, tc.want)
			}
			if res.Size != int64(len(tc.b)) {
				t.Fatalf("size %d", res.Size)
			}
		})
	}
}

func TestReaderReportsTornAndCorrupt(t *testing.T) {
	three := segment(t, 1, "a", "b", "c")
	r := NewReader(bytes.NewReader(three[:len(three)-2]), int64(len(three)-2), "seg", 1)
	var got []int64
	var err error
	for {
		var rec Record
		rec, err = r.Next()
		if err != nil {
			break
		}
		got = append(got, rec.TxID)
	}
	if !errors.Is(err, ErrTornTail) || len(got) != 2 {
		t.Fatalf("got %v, err %v", got, err)
	}
	if _, err2 := r.Next(); err2 != err {
		t.Fatal("terminal error not sticky")
	}
	r = NewReader(bytes.NewReader(three), int64(len(three)), "seg", 1)
	for i := 1; i <= 3; i++ {
		if rec, err := r.Next(); err != nil || rec.TxID != int64(i) {
			t.Fatalf("record %d: %v %v", i, rec, err)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

func TestValidateBatch(t *testing.T) {
	b := append(mustRecord(t, 5, "x"), mustRecord(t, 6, "y")...)
	if err := ValidateBatch(b, 5, 2); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		b     []byte
		first int64
		n     int
	}{
		{"wrong first", b, 4, 2},
		{"too few", b, 5, 3},
		{"too many bytes", b, 5, 1},
		{"bad crc", append(append([]byte(nil), b[:len(b)-1]...), 'z'), 5, 2},
	} {
		if err := ValidateBatch(tc.b, tc.first, tc.n); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
}

func TestWriterRoundTrip(t *testing.T) {
	fs := vfs.NewMem()
	name := "/" + InProgressName(100)
	w, err := CreateSegment(fs, name, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(100); i < 110; i++ {
		if err := w.Append(i, []byte(fmt.Sprintf("op-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Append(200, []byte("x")); err == nil {
		t.Fatal("non-contiguous append accepted")
	}
	var batch []byte
	for i := int64(110); i < 113; i++ {
		batch, _ = AppendRecord(batch, i, []byte("b"))
	}
	if err := w.AppendBatch(batch, 111, 3); err == nil {
		t.Fatal("batch at wrong txid accepted")
	}
	if err := w.AppendBatch(batch[:len(batch)-1], 110, 3); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bad batch: %v", err)
	}
	if err := w.AppendBatch(batch, 110, 3); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if w.LastTxID() != 112 || w.NextTxID() != 113 {
		t.Fatalf("last %d next %d", w.LastTxID(), w.NextTxID())
	}
	size := w.Size()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := ScanFile(fs, name)
	if err != nil || res.FirstTxID != 100 || res.LastTxID != 112 || res.Torn || res.ValidEnd != size {
		t.Fatalf("scan = %+v %v", res, err)
	}
	// Reopen and continue.
	w, err = OpenSegmentForAppend(fs, name, 100, 113, res.ValidEnd)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(113, []byte("more")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	res, err = ScanFile(fs, name)
	if err != nil || res.LastTxID != 113 {
		t.Fatalf("scan after reopen = %+v %v", res, err)
	}
	if _, err := OpenSegmentForAppend(fs, name, 100, 114, 3); err == nil {
		t.Fatal("append with wrong valid end accepted")
	}
}
