package edits

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/hdfsha/hdfsha/internal/vfs"
)

// window is a read buffer over an io.ReaderAt of known size.
type window struct {
	r    io.ReaderAt
	size int64
	// buf holds the file's bytes [bufOff, bufOff+len(buf)).
	buf    []byte
	bufOff int64
}

const windowSize = 64 << 10

// get returns the n bytes at off, or fewer if the file ends first. The
// slice is valid until the next call.
func (w *window) get(off int64, n int) ([]byte, error) {
	if off >= w.size || n <= 0 {
		return nil, nil
	}
	if rem := w.size - off; int64(n) > rem {
		n = int(rem)
	}
	if off >= w.bufOff && off+int64(n) <= w.bufOff+int64(len(w.buf)) {
		s := off - w.bufOff
		return w.buf[s : s+int64(n)], nil
	}
	want := max(n, windowSize)
	if rem := w.size - off; int64(want) > rem {
		want = int(rem)
	}
	if cap(w.buf) < want {
		w.buf = make([]byte, want)
	}
	w.buf = w.buf[:want]
	k, err := w.r.ReadAt(w.buf, off)
	if k < want {
		w.buf = w.buf[:0]
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("edits: reading at offset %d: %w", off, err)
	}
	w.bufOff = off
	return w.buf[:n], nil
}

// Reader iterates the records of a segment, checking the header, every
// CRC and the contiguity of txids.
type Reader struct {
	w    window
	name string
	// next is the txid the next record must carry; 0 before the first
	// record when the caller did not say where the segment starts.
	next int64
	// off is the offset of the next record. Invariant: off is the end of
	// the last valid record (or of the header) once the header is read.
	off         int64
	headerRead  bool
	headerValid bool
	lastTxID    int64
	// err is the terminal result (io.EOF, torn tail or corruption)
	// returned by every call once set.
	err error
}

// NewReader reads the segment in r, which is size bytes long and named
// name in errors. If firstTxID is positive the first record must carry it.
func NewReader(r io.ReaderAt, size int64, name string, firstTxID int64) *Reader {
	return &Reader{w: window{r: r, size: size}, name: name, next: firstTxID}
}

// Next returns the next record. Its Op is valid until the next call. At the
// end it returns io.EOF after a clean end, an error wrapping ErrTornTail if
// the file ends in a torn tail, or a *CorruptionError.
func (r *Reader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	rec, err := r.next1()
	if err != nil {
		r.err = err
	}
	return rec, err
}

// ValidEnd is the offset just past the last valid record returned, or past
// the header, or 0 if no valid header was read.
func (r *Reader) ValidEnd() int64 { return r.off }

// HeaderValid reports whether the segment header was read and valid.
func (r *Reader) HeaderValid() bool { return r.headerValid }

func (r *Reader) torn(off int64, why string) error {
	return fmt.Errorf("%w: %s at offset %d of %s (%d bytes): %s", ErrTornTail, "tail", off, r.name, r.w.size, why)
}

func (r *Reader) readHeader() error {
	r.headerRead = true
	h, err := r.w.get(0, SegmentHeaderSize)
	if err != nil {
		return err
	}
	if len(h) == 0 {
		return io.EOF // empty file: no header, nothing torn
	}
	var want [SegmentHeaderSize]byte
	AppendSegmentHeader(want[:0])
	if len(h) < SegmentHeaderSize {
		if string(h) == string(want[:len(h)]) || allZero(h) {
			return r.torn(0, "incomplete segment header")
		}
		return corruptf(r.name, 0, "bad segment header %x", h)
	}
	if allZero(h) {
		// Preallocated but never written; torn if all of it is zeros.
		zero, err := r.zeroFrom(0)
		if err != nil {
			return err
		}
		if zero {
			return r.torn(0, "zeros instead of a segment header")
		}
	}
	if [4]byte(h[0:4]) != Magic {
		return corruptf(r.name, 0, "bad magic %x", h[0:4])
	}
	if v := binary.BigEndian.Uint32(h[4:8]); v != LayoutVersion {
		return corruptf(r.name, 4, "unsupported layout version %d", v)
	}
	r.headerValid = true
	r.off = SegmentHeaderSize
	return nil
}

func (r *Reader) next1() (Record, error) {
	if !r.headerRead {
		if err := r.readHeader(); err != nil {
			return Record{}, err
		}
	}
	off := r.off
	if off == r.w.size {
		return Record{}, io.EOF
	}
	h, err := r.w.get(off, RecordHeaderSize)
	if err != nil {
		return Record{}, err
	}
	if len(h) < RecordHeaderSize {
		return Record{}, r.torn(off, "incomplete record header")
	}
	length := binary.BigEndian.Uint32(h[0:4])
	if length == 0 || length > MaxOpSize {
		return Record{}, r.classify(off, fmt.Sprintf("bad op length %d", length))
	}
	b, err := r.w.get(off, RecordHeaderSize+int(length))
	if err != nil {
		return Record{}, err
	}
	rec, n, reason := decode(b)
	if reason != "" {
		return Record{}, r.classify(off, reason)
	}
	if r.next != 0 && rec.TxID != r.next {
		return Record{}, corruptf(r.name, off, "record has txid %d, want %d", rec.TxID, r.next)
	}
	r.next = rec.TxID + 1
	r.lastTxID = rec.TxID
	r.off = off + int64(n)
	return rec, nil
}

// classify decides whether a bad record at off starts a torn tail or is
// corruption: it is corruption if any later offset holds a valid record
// with a txid beyond the last good one.
func (r *Reader) classify(off int64, reason string) error {
	for p := off + 1; p+RecordHeaderSize < r.w.size; p++ {
		h, err := r.w.get(p, RecordHeaderSize)
		if err != nil {
			return err
		}
		length := binary.BigEndian.Uint32(h[0:4])
		if length == 0 || length > MaxOpSize || p+RecordHeaderSize+int64(length) > r.w.size {
			continue
		}
		b, err := r.w.get(p, RecordHeaderSize+int(length))
		if err != nil {
			return err
		}
		rec, _, bad := decode(b)
		if bad == "" && rec.TxID > r.lastTxID {
			return corruptf(r.name, off, "%s, followed by a valid record (txid %d) at offset %d", reason, rec.TxID, p)
		}
	}
	return r.torn(off, reason)
}

func (r *Reader) zeroFrom(off int64) (bool, error) {
	for off < r.w.size {
		b, err := r.w.get(off, windowSize)
		if err != nil {
			return false, err
		}
		if !allZero(b) {
			return false, nil
		}
		off += int64(len(b))
	}
	return true, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// ScanResult describes a segment file as Scan found it.
type ScanResult struct {
	// HeaderValid is false if the file is empty or its header is torn.
	HeaderValid bool
	// FirstTxID and LastTxID are the txids of the first and last valid
	// records, both 0 if there are none.
	FirstTxID, LastTxID int64
	// Records is the number of valid records.
	Records int64
	// ValidEnd is the offset just past the last valid record (or past the
	// header when there are no records, or 0 without a valid header).
	ValidEnd int64
	// Size is the file size.
	Size int64
	// Torn reports a torn tail: the Size-ValidEnd bytes after ValidEnd are
	// an incomplete or failed last record, or zeros.
	Torn bool
}

// Scan reads every record of a segment and reports where the valid data
// ends. A torn tail is reported in the result, not as an error; corruption
// is a *CorruptionError. If firstTxID is positive the first record must
// carry it.
func Scan(r io.ReaderAt, size int64, name string, firstTxID int64) (ScanResult, error) {
	rd := NewReader(r, size, name, firstTxID)
	res := ScanResult{Size: size}
	for {
		rec, err := rd.Next()
		if err == nil {
			if res.Records == 0 {
				res.FirstTxID = rec.TxID
			}
			res.LastTxID = rec.TxID
			res.Records++
			continue
		}
		res.HeaderValid = rd.HeaderValid()
		res.ValidEnd = rd.ValidEnd()
		switch {
		case errors.Is(err, io.EOF):
			return res, nil
		case errors.Is(err, ErrTornTail):
			res.Torn = true
			return res, nil
		default:
			return res, err
		}
	}
}

// ScanFile scans the segment at path; if its base name is a segment name
// the first record must carry the name's first txid.
func ScanFile(fs vfs.FS, path string) (ScanResult, error) {
	f, err := fs.Open(path)
	if err != nil {
		return ScanResult{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ScanResult{}, err
	}
	var first int64
	if sn, ok := ParseSegmentName(vfs.Base(path)); ok {
		first = sn.First
	}
	return Scan(f, fi.Size(), path, first)
}
