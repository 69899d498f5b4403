package editlog

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hdfsha/hdfsha/namenode/qjm"
)

// QJMJournal writes the shared edit log to a quorum of JournalNodes
// through a qjm.Manager (HA mode, dfs.namenode.shared.edits.dir). An edit
// is durable once a majority of JournalNodes fsynced it.
type QJMJournal struct {
	m *qjm.Manager
}

var _ Journal = (*QJMJournal)(nil)

// NewQJMJournal adapts m. The journal owns m: Close closes it.
func NewQJMJournal(m *qjm.Manager) *QJMJournal { return &QJMJournal{m: m} }

// Manager returns the underlying quorum journal manager.
func (j *QJMJournal) Manager() *qjm.Manager { return j.m }

func (j *QJMJournal) String() string { return "quorum journal " + j.m.String() }

// Recover takes a new epoch and recovers the segment the previous writer
// left open (qjm.Manager.Recover).
func (j *QJMJournal) Recover(ctx context.Context) error { return j.m.Recover(ctx) }

// StartSegment starts a segment on a quorum.
func (j *QJMJournal) StartSegment(ctx context.Context, txid int64) (SegmentWriter, error) {
	w, err := j.m.StartLogSegment(ctx, txid)
	if err != nil {
		return nil, err
	}
	return qjmSegment{w}, nil
}

// FinalizeSegment finalizes [first, last] on a quorum.
func (j *QJMJournal) FinalizeSegment(ctx context.Context, first, last int64) error {
	return j.m.FinalizeLogSegment(ctx, first, last)
}

// Purge purges old segments on a quorum.
func (j *QJMJournal) Purge(ctx context.Context, minTxIDToKeep int64) error {
	return j.m.PurgeLogsOlderThan(ctx, minTxIDToKeep)
}

// ReadFrom reads finalized segments and the in-progress one up to the txid
// a majority holds (qjm.Manager.SelectInputStreams).
func (j *QJMJournal) ReadFrom(ctx context.Context, fromTxID int64, fn func(txid int64, op []byte) error) (int64, error) {
	s, err := j.m.SelectInputStreams(ctx, fromTxID, true)
	if err != nil {
		return fromTxID - 1, fmt.Errorf("editlog: select edits from txid %d on %s: %w", fromTxID, j, err)
	}
	defer s.Close()
	last := fromTxID - 1
	for {
		r, err := s.Next(ctx)
		if errors.Is(err, io.EOF) {
			return last, nil
		}
		if err != nil {
			return last, fmt.Errorf("editlog: read edits after txid %d from %s: %w", last, j, err)
		}
		if r.TxID < fromTxID {
			continue
		}
		if err := fn(r.TxID, r.Op); err != nil {
			return last, err
		}
		last = r.TxID
	}
}

// Close closes the manager; an open segment stays in progress on the
// JournalNodes, for the next writer's recovery.
func (j *QJMJournal) Close() error { return j.m.Close() }

type qjmSegment struct{ w *qjm.SegmentWriter }

func (s qjmSegment) Append(txid int64, op []byte) error { return s.w.Append(txid, op) }
func (s qjmSegment) Sync(ctx context.Context, upToTxID int64) error {
	return s.w.Sync(ctx, upToTxID)
}

// Close does nothing: a quorum segment cannot be abandoned explicitly;
// the next writer recovers it.
func (s qjmSegment) Close() error { return nil }
