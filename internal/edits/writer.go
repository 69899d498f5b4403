package edits

import (
	"errors"
	"fmt"
	"io"

	"github.com/hdfsha/hdfsha/internal/vfs"
)

// Writer appends records to a segment file. Appends are buffered; Flush
// writes them to the file and Sync also makes them durable. A Writer is not
// safe for concurrent use.
//
// After any write or sync error the Writer is broken: the file may hold a
// partial record, and every later call returns the first error. The owner
// must abort it; a later Scan reports the partial record as a torn tail.
type Writer struct {
	f    vfs.File
	name string
	// first is the segment's first txid.
	first int64
	// next is the txid the next record must carry. Invariant: next >= first.
	next int64
	// flushed is the file size that has been written to f; buf holds the
	// bytes after it.
	flushed int64
	buf     []byte
	// synced is the offset up to which the file is known durable.
	// Invariant: synced <= flushed.
	synced int64
	err    error
}

// CreateSegment creates the segment file name (truncating any existing
// file) for records starting at firstTxID and buffers its header. Neither
// the file nor its directory entry is synced: call Sync, and SyncDir on the
// directory.
func CreateSegment(fs vfs.FS, name string, firstTxID int64) (*Writer, error) {
	if firstTxID < 1 {
		return nil, fmt.Errorf("edits: create %s: first txid %d must be positive", name, firstTxID)
	}
	f, err := fs.Create(name)
	if err != nil {
		return nil, fmt.Errorf("edits: create segment: %w", err)
	}
	w := &Writer{f: f, name: name, first: firstTxID, next: firstTxID}
	w.buf = AppendSegmentHeader(w.buf)
	return w, nil
}

// OpenSegmentForAppend opens an existing segment whose valid data ends at
// validEnd (the file must be exactly that long: repair a torn tail first)
// and whose next record must carry nextTxID.
func OpenSegmentForAppend(fs vfs.FS, name string, firstTxID, nextTxID, validEnd int64) (*Writer, error) {
	f, err := fs.OpenReadWrite(name)
	if err != nil {
		return nil, fmt.Errorf("edits: open segment for append: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() != validEnd {
		err = fmt.Errorf("edits: %s is %d bytes, want %d (repair the tail first)", name, fi.Size(), validEnd)
	}
	if err == nil {
		_, err = f.Seek(validEnd, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Writer{f: f, name: name, first: firstTxID, next: nextTxID, flushed: validEnd, synced: validEnd}, nil
}

// Name returns the file name.
func (w *Writer) Name() string { return w.name }

// FirstTxID returns the segment's first txid.
func (w *Writer) FirstTxID() int64 { return w.first }

// NextTxID returns the txid the next appended record must carry.
func (w *Writer) NextTxID() int64 { return w.next }

// LastTxID returns the txid of the last appended record, or first-1.
func (w *Writer) LastTxID() int64 { return w.next - 1 }

// Size returns the segment size including buffered bytes.
func (w *Writer) Size() int64 { return w.flushed + int64(len(w.buf)) }

// Append buffers one record, which must carry NextTxID.
func (w *Writer) Append(txid int64, op []byte) error {
	if w.err != nil {
		return w.err
	}
	if txid != w.next {
		return fmt.Errorf("edits: append to %s: txid %d, want %d", w.name, txid, w.next)
	}
	buf, err := AppendRecord(w.buf, txid, op)
	if err != nil {
		return err
	}
	w.buf = buf
	w.next++
	return nil
}

// AppendBatch buffers n already encoded records that must start at
// NextTxID; every record is checked first (see ValidateBatch) and nothing
// is buffered if any check fails.
func (w *Writer) AppendBatch(records []byte, firstTxID int64, n int) error {
	if w.err != nil {
		return w.err
	}
	if firstTxID != w.next {
		return fmt.Errorf("edits: append to %s: batch starts at txid %d, want %d", w.name, firstTxID, w.next)
	}
	if err := ValidateBatch(records, firstTxID, n); err != nil {
		return err
	}
	w.buf = append(w.buf, records...)
	w.next += int64(n)
	return nil
}

// Flush writes buffered records to the file without syncing.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	n, err := w.f.Write(w.buf)
	w.flushed += int64(n)
	if err != nil {
		w.err = fmt.Errorf("edits: write %s: %w", w.name, err)
		return w.err
	}
	w.buf = w.buf[:0]
	return nil
}

// Sync flushes and fsyncs the file: when it returns nil every appended
// record is durable.
func (w *Writer) Sync() error {
	if err := w.Flush(); err != nil {
		return err
	}
	if w.synced == w.flushed {
		return nil
	}
	if err := w.f.Sync(); err != nil {
		w.err = fmt.Errorf("edits: sync %s: %w", w.name, err)
		return w.err
	}
	w.synced = w.flushed
	return nil
}

// Close flushes, syncs and closes the file.
func (w *Writer) Close() error {
	err := w.Sync()
	cerr := w.f.Close()
	if w.err == nil {
		w.err = errors.New("edits: writer closed")
	}
	if err != nil {
		return err
	}
	return cerr
}

// Abort closes the file, dropping buffered records and ignoring errors.
func (w *Writer) Abort() {
	w.buf = nil
	w.f.Close()
	if w.err == nil {
		w.err = errors.New("edits: writer aborted")
	}
}
