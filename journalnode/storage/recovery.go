package storage

import (
	"bufio"
	"errors"
	"fmt"
	"os"

	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/vfs"
)

// syncTmpName is where AcceptRecovery downloads a segment in epoch:
// Hadoop's edits_inprogress_<txid>.epoch=<epoch>.
func syncTmpName(segTxID, epoch int64) string {
	return fmt.Sprintf("%s%s%d", edits.InProgressName(segTxID), syncTmpEpochSuffix, epoch)
}

func (j *Journal) readPaxosLocked(segTxID int64) (*paxosData, error) {
	p := j.paxosPath(segTxID)
	b, err := vfs.ReadFile(j.fs, p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	pd, err := decodePaxos(p, b)
	if err != nil {
		return nil, err
	}
	if pd.Segment.StartTxID != segTxID {
		return nil, refusef(ErrIllegalState, "Bad persisted data for segment %d: %s ; journal id: %s", segTxID, pd, j.journalID)
	}
	return &pd, nil
}

// completeHalfDoneAcceptRecoveryLocked rolls forward an AcceptRecovery
// that persisted its decision but crashed before moving the downloaded
// segment into place.
func (j *Journal) completeHalfDoneAcceptRecoveryLocked(pd *paxosData) error {
	if pd == nil {
		return nil
	}
	tmp := j.path(syncTmpName(pd.Segment.StartTxID, pd.AcceptedInEpoch))
	ok, err := vfs.Exists(j.fs, tmp)
	if err != nil || !ok {
		return err
	}
	if err := j.fs.Rename(tmp, j.path(edits.InProgressName(pd.Segment.StartTxID))); err != nil {
		return err
	}
	return j.fs.SyncDir(j.curDir)
}

// PrepareRecovery is phase one of recovering segment segTxID: it aborts the
// open segment and reports what this node has for the segment, or the
// proposal it accepted earlier if the segment is not finalized.
func (j *Journal) PrepareRecovery(req RequestInfo, segTxID int64) (PrepareRecoveryResult, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var res PrepareRecoveryResult
	if err := j.checkFormattedLocked(); err != nil {
		return res, err
	}
	if err := j.checkRequestLocked(req); err != nil {
		return res, err
	}
	j.abortSegmentLocked()
	prev, err := j.readPaxosLocked(segTxID)
	if err != nil {
		return res, err
	}
	if err := j.completeHalfDoneAcceptRecoveryLocked(prev); err != nil {
		return res, err
	}
	seg, err := j.segmentInfoLocked(segTxID)
	if err != nil {
		return res, err
	}
	hasFinalized := seg != nil && !seg.InProgress
	switch {
	case prev != nil && !hasFinalized:
		if seg == nil || seg.EndTxID != prev.Segment.EndTxID {
			return res, refusef(ErrAssertion, "prev accepted: %s\non disk:       %v ; journal id: %s", prev, seg, j.journalID)
		}
		acc := prev.Segment
		res.Segment = &acc
		res.AcceptedInEpoch, res.HasAcceptedInEpoch = prev.AcceptedInEpoch, true
	case seg != nil:
		res.Segment = seg
	}
	res.LastWriterEpoch = j.mu.lastWriterEpoch
	if j.mu.committedTxID != 0 {
		res.LastCommittedTxID, res.HasLastCommittedTxID = j.mu.committedTxID, true
	}
	return res, nil
}

// AcceptRecovery is phase two: this node accepts seg as the recovered
// content of the segment in req.Epoch. If its own copy differs in length,
// it downloads seg with fetch, checks it, and replaces its copy. The
// decision is persisted (paxos/<txid>) before the downloaded file is moved
// into place.
func (j *Journal) AcceptRecovery(req RequestInfo, seg SegmentState, fetch Fetcher) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.checkFormattedLocked(); err != nil {
		return err
	}
	if err := j.checkRequestLocked(req); err != nil {
		return err
	}
	j.abortSegmentLocked()
	segTxID := seg.StartTxID
	if !(seg.EndTxID > 0 && seg.EndTxID >= segTxID && segTxID > 0) {
		return refusef(ErrIllegalArgument, "bad recovery state for segment %d: %s ; journal id: %s", segTxID, seg, j.journalID)
	}
	old, err := j.readPaxosLocked(segTxID)
	if err != nil {
		return err
	}
	newData := paxosData{AcceptedInEpoch: req.Epoch, Segment: seg}
	if old != nil && old.AcceptedInEpoch > req.Epoch {
		return refusef(ErrAssertion, "Bad paxos transition, out-of-order epochs.\nOld: %s\nNew: %s\nJournalId: %s\n", old, newData, j.journalID)
	}
	cur, err := j.segmentInfoLocked(segTxID)
	if err != nil {
		return err
	}
	var synced string
	if cur == nil || cur.EndTxID != seg.EndTxID {
		highest := j.mu.highestWrittenTxID
		if cur == nil {
			highest = max(highest, seg.EndTxID)
		} else {
			committed := j.mu.committedTxID
			if cur.contains(committed) && !seg.contains(committed) {
				return refusef(ErrAssertion, "Cannot replace segment %s with new segment %s: would discard already-committed txn %d ; journal id: %s", cur, seg, committed, j.journalID)
			}
			if !cur.InProgress {
				return refusef(ErrAssertion, "Should never be asked to synchronize a different log on top of an already-finalized segment ; journal id: %s", j.journalID)
			}
			if cur.contains(highest) {
				highest = seg.EndTxID
			}
		}
		if synced, err = j.syncLogLocked(req.Epoch, seg, fetch); err != nil {
			return err
		}
		j.mu.highestWrittenTxID = highest
	}
	// Commit point: once the decision is durable, a crash before the
	// rename below is rolled forward by the next PrepareRecovery.
	if err := j.fs.MkdirAll(j.paxosDir, 0o755); err != nil {
		return err
	}
	if err := vfs.WriteFileAtomic(j.fs, j.paxosPath(segTxID), encodePaxos(newData)); err != nil {
		return fmt.Errorf("persist paxos data for segment %d ; journal id: %s: %w", segTxID, j.journalID, err)
	}
	if synced != "" {
		if err := j.fs.Rename(synced, j.path(edits.InProgressName(segTxID))); err != nil {
			return err
		}
		if err := j.fs.SyncDir(j.curDir); err != nil {
			return err
		}
		if j.mu.cache != nil {
			j.mu.cache.reset()
		}
	}
	return nil
}

// syncLogLocked downloads seg into its temporary file, checks that it
// holds exactly the txids seg names, and makes it durable (contents and
// name). It returns the temporary path.
func (j *Journal) syncLogLocked(epoch int64, seg SegmentState, fetch Fetcher) (string, error) {
	if fetch == nil {
		return "", fmt.Errorf("accept recovery of segment %d: no fetcher to download it ; journal id: %s", seg.StartTxID, j.journalID)
	}
	tmp := j.path(syncTmpName(seg.StartTxID, epoch))
	err := j.downloadLocked(tmp, seg, fetch)
	if err != nil {
		j.removeIfExists(tmp)
		return "", fmt.Errorf("synchronize log %s ; journal id: %s: %w", seg, j.journalID, err)
	}
	return tmp, nil
}

func (j *Journal) downloadLocked(tmp string, seg SegmentState, fetch Fetcher) error {
	f, err := j.fs.Create(tmp)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = fetch(seg, bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	res, err := edits.ScanFile(j.fs, tmp)
	if err != nil {
		return err
	}
	if res.FirstTxID != seg.StartTxID || res.LastTxID < seg.EndTxID {
		return refusef(ErrOutOfSync, "downloaded segment holds txids %d-%d, want %d-%d", res.FirstTxID, res.LastTxID, seg.StartTxID, seg.EndTxID)
	}
	if res.LastTxID > seg.EndTxID || res.Torn {
		// Keep exactly the agreed txids: cut at the end of seg.EndTxID.
		end, err := endOfTxID(j.fs, tmp, seg)
		if err != nil {
			return err
		}
		tf, err := j.fs.OpenReadWrite(tmp)
		if err != nil {
			return err
		}
		err = tf.Truncate(end)
		if err == nil {
			err = tf.Sync()
		}
		if cerr := tf.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return j.fs.SyncDir(j.curDir)
}

// endOfTxID returns the offset just past the record of seg.EndTxID.
func endOfTxID(fs vfs.FS, path string, seg SegmentState) (int64, error) {
	f, err := fs.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	r := edits.NewReader(f, fi.Size(), path, seg.StartTxID)
	for {
		rec, err := r.Next()
		if err != nil {
			return 0, err
		}
		if rec.TxID == seg.EndTxID {
			return r.ValidEnd(), nil
		}
	}
}
