package tablestore

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Info is the identity of the mirrored namespace: what a recovered
// NameNode writes into its VERSION instead of formatting.
type Info struct {
	NamespaceID   int32
	ClusterID     string
	BlockPoolID   string
	CTime         int64
	LayoutVersion int32
}

// Batch is a run of consecutive committed edits: Ops[i] is the edit of
// txid First+i (opaque bytes: a serialized editpb.Op).
type Batch struct {
	First int64
	Ops   [][]byte
}

// Last is the txid of the batch's last edit (First-1 when empty).
func (b Batch) Last() int64 { return b.First + int64(len(b.Ops)) - 1 }

// Sink is where the mirror lives: the namespace identity, batches of
// committed edits keyed by their first txid, and images keyed by their
// txid. Every sink passes the conformance suite in package sinktest.
//
// Batches form a chain: the shipper writes the batch starting at the
// chain's end + 1 (or at an image's txid + 1), and PutEdits creates it
// only if no batch with that first txid exists. A writer with a stale view
// of the chain therefore always meets ErrExists at the next key it tries,
// so two shippers (an old and a new active) can never store overlapping
// batches.
type Sink interface {
	// PutInfo stores the namespace identity. Storing the same identity
	// again is a no-op; a different one is ErrMismatch (the sink belongs
	// to another namespace).
	PutInfo(ctx context.Context, info Info) error
	// GetInfo returns the stored identity, ErrNotFound when none.
	GetInfo(ctx context.Context) (Info, error)

	// PutEdits stores b (non-empty) under key b.First, atomically: a
	// reader sees all of it or none. ErrExists when that key is taken.
	PutEdits(ctx context.Context, b Batch) error
	// LastTxID is the last txid of the batch with the highest key (0 when
	// there is none).
	LastTxID(ctx context.Context) (int64, error)
	// ReadEdits calls fn with every stored batch whose last txid is >=
	// from, in key order. A batch that fails its checksum or does not
	// decode is a *CorruptError naming it; fn is not called with it. An
	// error from fn stops the read and is returned.
	ReadEdits(ctx context.Context, from int64, fn func(Batch) error) error

	// PutImage stores the image stream (package image's Stream format) of
	// txid, atomically. ErrExists when that image is stored already.
	PutImage(ctx context.Context, txid int64, r io.Reader) error
	// Images lists the txids of the stored images, ascending.
	Images(ctx context.Context) ([]int64, error)
	// OpenImage opens the stored image stream of txid (ErrNotFound when
	// absent). The stream carries its own checksums; the reader verifies
	// them (image.Receive).
	OpenImage(ctx context.Context, txid int64) (io.ReadCloser, error)

	// String names the sink for logs and errors ("file:///mnt/mirror").
	String() string
	Close() error
}

var (
	// ErrExists: the key (batch first txid, image txid) is taken.
	ErrExists = errors.New("tablestore: already exists in the sink")
	// ErrNotFound: no such object (or no identity yet).
	ErrNotFound = errors.New("tablestore: not found in the sink")
	// ErrMismatch: the sink holds another namespace's identity.
	ErrMismatch = errors.New("tablestore: the sink belongs to another namespace")
	// ErrCorrupt is matched (errors.Is) by every *CorruptError.
	ErrCorrupt = errors.New("tablestore: corrupt sink object")
)

// CorruptError names a sink object that failed its checks. Recovery
// stops on it: a corrupt edit is never applied, and never skipped.
type CorruptError struct {
	// Sink and Object name the object ("file:///m", "edits/0000000000000000101").
	Sink, Object string
	Reason       string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("tablestore: corrupt object %s in %s: %s", e.Object, e.Sink, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// HighWater is what a sink covers, from its last edit txid and its image
// txids (ascending): hw is the later of the last edit txid and the newest
// image's (0 for an empty sink), newest the newest image's txid (-1 when
// none). The chain resumes at hw+1.
func HighWater(lastTxID int64, images []int64) (hw, newest int64) {
	newest = -1
	if len(images) > 0 {
		newest = images[len(images)-1]
	}
	return max(lastTxID, newest, 0), newest
}

// SameInfo is what a sink's PutInfo returns once the identity row exists:
// nil when the stored identity (have) is the one being put (want), else an
// error wrapping ErrMismatch that names both.
func SameInfo(sink string, have, want Info) error {
	if have == want {
		return nil
	}
	return fmt.Errorf("%s holds namespace %d of cluster %s (block pool %s), not namespace %d of cluster %s (block pool %s): %w",
		sink, have.NamespaceID, have.ClusterID, have.BlockPoolID, want.NamespaceID, want.ClusterID, want.BlockPoolID, ErrMismatch)
}
