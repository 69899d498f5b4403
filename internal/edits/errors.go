package edits

import (
	"errors"
	"fmt"
)

// ErrCorrupt is the class of every corruption error: errors.Is(err,
// ErrCorrupt) holds for a *CorruptionError.
var ErrCorrupt = errors.New("edits: corruption")

// ErrTornTail reports that a segment ends in a torn tail: bytes after the
// last valid record that are an incomplete, zeroed or failed final record.
// It is not corruption: a crash while appending produces it.
var ErrTornTail = errors.New("edits: torn tail")

// ErrTruncated is returned by DecodeRecord when the buffer ends before the
// record does.
var ErrTruncated = errors.New("edits: truncated record")

// CorruptionError describes corrupt data: a record that fails its checks
// while valid data follows it, a broken txid sequence, or a bad header.
type CorruptionError struct {
	// File names the segment (or "journal batch" for bytes received from a
	// writer).
	File string
	// Offset is the byte offset of the bad record or field in File.
	Offset int64
	// Reason says what check failed.
	Reason string
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("edits: corruption in %s at offset %d: %s", e.File, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorrupt }

func corruptf(file string, off int64, format string, args ...any) error {
	return &CorruptionError{File: file, Offset: off, Reason: fmt.Sprintf(format, args...)}
}
