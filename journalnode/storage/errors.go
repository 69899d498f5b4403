package storage

import (
	"errors"
	"fmt"
)

// Sentinel kinds of refusal. Each *Error wraps one; the RPC layer maps the
// kind to the Java exception class noted here and sends Error.Msg, which
// is Hadoop's message text.
var (
	// ErrNotFormatted: org.apache.hadoop.hdfs.qjournal.protocol.JournalNotFormattedException.
	ErrNotFormatted = errors.New("journal not formatted")
	// ErrOutOfSync: org.apache.hadoop.hdfs.qjournal.protocol.JournalOutOfSyncException.
	ErrOutOfSync = errors.New("journal out of sync")
	// ErrEpochTooLow: java.io.IOException. A request or newEpoch from an
	// epoch below (or, for newEpoch, not above) the promise: the fence.
	ErrEpochTooLow = errors.New("epoch too low")
	// ErrNotWriterEpoch: java.io.IOException. A write from an epoch that
	// promised but did not start the current segment.
	ErrNotWriterEpoch = errors.New("not the current writer epoch")
	// ErrNamespaceMismatch: java.io.IOException.
	ErrNamespaceMismatch = errors.New("namespace mismatch")
	// ErrAlreadyFormatted: java.io.IOException.
	ErrAlreadyFormatted = errors.New("journal already formatted")
	// ErrIllegalState: java.lang.IllegalStateException.
	ErrIllegalState = errors.New("illegal state")
	// ErrIllegalArgument: java.lang.IllegalArgumentException.
	ErrIllegalArgument = errors.New("illegal argument")
	// ErrAssertion: java.lang.AssertionError. A writer asked for something
	// the protocol says cannot happen (Hadoop's alwaysAssert).
	ErrAssertion = errors.New("assertion failed")
	// ErrCacheDisabled: java.io.IOException.
	ErrCacheDisabled = errors.New("edit cache disabled")
	// ErrCacheMiss: org.apache.hadoop.hdfs.qjournal.server.JournaledEditsCache$CacheMissException.
	ErrCacheMiss = errors.New("edit cache miss")
	// ErrNewerTxID: org.apache.hadoop.hdfs.qjournal.server.NewerTxnIdException.
	ErrNewerTxID = errors.New("requested txid beyond the journal")
	// ErrClosed: java.io.IOException.
	ErrClosed = errors.New("journal closed")
)

// Error is a refusal with Hadoop's message text.
type Error struct {
	// Kind is one of the sentinel errors above.
	Kind error
	// Msg is the message, as Hadoop words it.
	Msg string
	// Err is an underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

// Is matches the kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func refusef(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}
