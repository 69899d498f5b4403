package qjm

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of the quorum journal client. Each is wrapped with the detail of
// what failed; test with errors.Is.
var (
	// ErrQuorum: a call could not gather a quorum of successes, because
	// too many JournalNodes failed or the per-operation timeout passed.
	// The error is a *QuorumError naming each node's failure.
	ErrQuorum = errors.New("qjm: no quorum")
	// ErrFenced: a JournalNode refused this writer because it promised a
	// newer epoch to another writer. A writer that sees it from a quorum
	// has lost the journal for good (Hadoop's shared-storage fence).
	ErrFenced = errors.New("qjm: fenced by a newer writer epoch")
	// ErrWriterFailed: an earlier write could not be made durable on a
	// quorum; the writer acknowledges nothing any more. The NameNode must
	// stop serving (Hadoop terminates), then recover with a new epoch.
	ErrWriterFailed = errors.New("qjm: writer failed")
	// ErrLoggerTooFarBehind: one JournalNode's queue of unsent edits would
	// exceed dfs.qjournal.queued-edits.limit.mb (Hadoop's
	// LoggerTooFarBehindException). Only that node's vote fails.
	ErrLoggerTooFarBehind = errors.New("qjm: JournalNode too far behind")
	// ErrOutOfSync: the channel to one JournalNode missed a batch and
	// writes nothing to it until the next segment starts (Hadoop: "Journal
	// disabled until next roll"). Only that node's vote fails.
	ErrOutOfSync = errors.New("qjm: JournalNode out of sync until the next segment")
	// ErrClosed: the manager or channel is closed.
	ErrClosed = errors.New("qjm: closed")
	// ErrNotWriter: a writer operation before Recover succeeded.
	ErrNotWriter = errors.New("qjm: not the active writer (call Recover first)")
	// ErrGap: the JournalNodes do not hold a contiguous run of txids from
	// the requested one.
	ErrGap = errors.New("qjm: gap in the edit log")
	// ErrEditsUnavailable: no JournalNode could serve a segment the
	// manifests listed.
	ErrEditsUnavailable = errors.New("qjm: edits unavailable")
)

// NodeError is one JournalNode's failure in a quorum call.
type NodeError struct {
	// Node is the node's index in the qjournal URI; Addr its RPC address.
	Node int
	Addr string
	Err  error
}

func (e NodeError) Error() string { return e.Addr + ": " + e.Err.Error() }

// QuorumError is a quorum call that failed: Hadoop's QuorumException. It
// matches ErrQuorum, every node's error (errors.Is(err,
// rpc.ErrJournalOutOfSync) holds if one node sent that), and ErrFenced if
// some node refused the writer's epoch.
type QuorumError struct {
	// Op names the call ("journal", "newEpoch", ...).
	Op string
	// Majority is the number of successes needed out of N.
	Majority, N int
	// Succeeded lists the addresses of the nodes that succeeded.
	Succeeded []string
	// Failures lists the nodes that failed, in node order.
	Failures []NodeError
	// Timeout is the per-operation timeout, if it passed (TimedOut).
	TimedOut bool
	Timeout  time.Duration
	// Cause is set when the caller's context ended the wait.
	Cause error
}

func (e *QuorumError) Error() string {
	var b strings.Builder
	switch {
	case e.Cause != nil:
		fmt.Fprintf(&b, "%s: gave up waiting for a quorum of %d/%d: %v; %d succeeded", e.Op, e.Majority, e.N, e.Cause, len(e.Succeeded))
	case e.TimedOut:
		fmt.Fprintf(&b, "%s: timed out waiting %dms for a quorum of nodes to respond (quorum size %d/%d, %d succeeded)", e.Op, e.Timeout.Milliseconds(), e.Majority, e.N, len(e.Succeeded))
	default:
		fmt.Fprintf(&b, "%s: got too many exceptions to achieve quorum size %d/%d", e.Op, e.Majority, e.N)
	}
	if len(e.Succeeded) > 0 {
		fmt.Fprintf(&b, ". %d successful responses: %s", len(e.Succeeded), strings.Join(e.Succeeded, ", "))
	}
	fmt.Fprintf(&b, ". %d exceptions thrown:", len(e.Failures))
	for _, f := range e.Failures {
		b.WriteString("\n")
		b.WriteString(f.Error())
	}
	return b.String()
}

// Is matches ErrQuorum, and ErrFenced when a node refused the epoch.
func (e *QuorumError) Is(target error) bool {
	switch target {
	case ErrQuorum:
		return true
	case ErrFenced:
		return e.Fenced()
	}
	return false
}

// Unwrap returns the node errors (and the context's, if it ended the wait).
func (e *QuorumError) Unwrap() []error {
	out := make([]error, 0, len(e.Failures)+1)
	for _, f := range e.Failures {
		out = append(out, f.Err)
	}
	if e.Cause != nil {
		out = append(out, e.Cause)
	}
	return out
}

// Fenced reports whether some node refused the caller's epoch.
func (e *QuorumError) Fenced() bool {
	for _, f := range e.Failures {
		if isEpochRefusal(f.Err) {
			return true
		}
	}
	return false
}

// isEpochRefusal recognises a JournalNode's refusal of a stale writer.
// It travels as a plain java.io.IOException, so only its text (Hadoop's,
// kept by journalnode/storage) tells it apart.
func isEpochRefusal(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "is less than the last promised epoch") ||
		strings.Contains(s, "is not the current writer epoch") ||
		(strings.Contains(s, "Proposed epoch") && strings.Contains(s, "<= last promise"))
}
