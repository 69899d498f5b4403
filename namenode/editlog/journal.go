package editlog

import (
	"context"
	"errors"
	"fmt"
)

// Journal is where the edit log writes its segments: the quorum of
// JournalNodes in HA mode (QJMJournal), a local directory otherwise
// (LocalJournal). The EditLog is its only writer; an implementation need
// not support concurrent writers, but ReadFrom may run while a segment is
// being written.
type Journal interface {
	// Recover makes the journal ready for a new writer: QJM takes a new
	// epoch (fencing older writers) and recovers the segment a previous
	// writer left open; the local journal finalizes its in-progress
	// segment (repaired when opened). Edits recovered here are readable
	// with ReadFrom afterwards.
	Recover(ctx context.Context) error
	// StartSegment opens a new in-progress segment whose first txid is
	// txid. At most one segment is open at a time.
	StartSegment(ctx context.Context, txid int64) (SegmentWriter, error)
	// FinalizeSegment closes the open segment [first, last] (every txid up
	// to last synced) and renames it finalized.
	FinalizeSegment(ctx context.Context, first, last int64) error
	// Purge removes finalized segments that end before minTxIDToKeep.
	Purge(ctx context.Context, minTxIDToKeep int64) error
	// ReadFrom calls fn for every durable txid from fromTxID on, in order,
	// across finalized and in-progress segments, and returns the last txid
	// read (fromTxID-1 if none). A gap or a corrupt record is an error
	// naming the segment; nothing is skipped.
	ReadFrom(ctx context.Context, fromTxID int64, fn func(txid int64, op []byte) error) (int64, error)
	// Close releases the journal. An open segment stays in progress.
	Close() error
	// String names the journal in logs and errors.
	String() string
}

// SegmentWriter writes one open segment. The EditLog calls it from one
// goroutine at a time.
type SegmentWriter interface {
	// Append buffers the edit txid; txids follow each other from the
	// segment's first. Nothing is durable until Sync.
	Append(txid int64, op []byte) error
	// Sync returns once every edit up to upToTxID is durable. An error
	// is final for the writer.
	Sync(ctx context.Context, upToTxID int64) error
	// Close abandons the segment without finalizing it (it stays in
	// progress, to be recovered).
	Close() error
}

// ErrJournalFailed is wrapped by every error of a failed EditLog: a
// journal write (segment start, sync, finalize) failed, so the edit log
// is permanently failed and nothing more is acknowledged. The error also
// unwraps to the journal's cause.
var ErrJournalFailed = errors.New("editlog: journal failed")

// ErrClosed is returned by Sync and Roll after Close.
var ErrClosed = errors.New("editlog: closed")

// ErrGap reports missing txids between the segments of a journal.
var ErrGap = errors.New("editlog: gap in edits")

type journalFailedError struct{ cause error }

func (e *journalFailedError) Error() string {
	return fmt.Sprintf("%v: %v", ErrJournalFailed, e.cause)
}
func (e *journalFailedError) Is(target error) bool { return target == ErrJournalFailed }
func (e *journalFailedError) Unwrap() error        { return e.cause }
