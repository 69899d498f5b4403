package editlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/vfs"
)

// LocalJournal keeps segments in one directory, <edits dir>/current/, in
// the format of package edits: the non-HA NameNode's edit log
// (dfs.namenode.edits.dir). Every Sync is an fsync of the segment; segment
// creation, finalization and removal fsync the directory.
type LocalJournal struct {
	fs  vfs.FS
	dir string // <edits dir>/current
	log *zap.Logger

	mu struct {
		sync.Mutex
		// w is the open segment, nil if none.
		w *localSegment
		// closed is set by Close.
		closed bool
	}
}

var _ Journal = (*LocalJournal)(nil)

// EditsDirFromConf returns the first directory of dfs.namenode.edits.dir
// (default ${dfs.namenode.name.dir}), without its file:// scheme. Only
// one local edits directory is supported.
func EditsDirFromConf(c *conf.Conf) (string, error) {
	dirs := c.GetStrings("dfs.namenode.edits.dir")
	if len(dirs) == 0 {
		return "", errors.New("editlog: dfs.namenode.edits.dir is not set")
	}
	d := dirs[0]
	if rest, ok := strings.CutPrefix(d, "file://"); ok {
		d = rest
	} else if strings.Contains(d, "://") {
		return "", fmt.Errorf("editlog: dfs.namenode.edits.dir %q: only file:// directories are supported", d)
	}
	if d == "" {
		return "", fmt.Errorf("editlog: dfs.namenode.edits.dir %q is empty", dirs[0])
	}
	return d, nil
}

// OpenLocal opens (creating if needed) the local journal in
// editsDir/current. It repairs a torn tail of the in-progress segment: the
// file is copied to <name>.broken, then truncated at the end of its last
// valid record. A segment corrupt in the middle is a *edits.CorruptionError
// naming it; OpenLocal does not touch it and fails. log may be nil.
func OpenLocal(fs vfs.FS, editsDir string, log *zap.Logger) (*LocalJournal, error) {
	if log == nil {
		log = zap.NewNop()
	}
	j := &LocalJournal{fs: fs, dir: vfs.Join(editsDir, "current"), log: log}
	if err := vfs.MkdirAllDurable(fs, j.dir, 0o755); err != nil {
		return nil, fmt.Errorf("editlog: %w", err)
	}
	segs, err := j.segments()
	if err != nil {
		return nil, err
	}
	for _, s := range segs {
		if s.InProgress {
			if err := j.repair(s); err != nil {
				return nil, err
			}
		}
	}
	return j, nil
}

// Dir is the directory holding the segments.
func (j *LocalJournal) Dir() string { return j.dir }

func (j *LocalJournal) String() string { return "local journal " + j.dir }

func (j *LocalJournal) path(name string) string { return vfs.Join(j.dir, name) }

// segments lists the segment files, ordered by first txid (a finalized
// segment before an in-progress one with the same first).
func (j *LocalJournal) segments() ([]edits.SegmentName, error) {
	names, err := j.fs.List(j.dir)
	if err != nil {
		return nil, fmt.Errorf("editlog: list %s: %w", j.dir, err)
	}
	var segs []edits.SegmentName
	for _, n := range names {
		if s, ok := edits.ParseSegmentName(n); ok {
			segs = append(segs, s)
		}
	}
	sort.Slice(segs, func(a, b int) bool {
		if segs[a].First != segs[b].First {
			return segs[a].First < segs[b].First
		}
		return !segs[a].InProgress && segs[b].InProgress
	})
	return segs, nil
}

// repair truncates a torn tail of in-progress segment s, keeping a
// .broken copy of the whole file first.
func (j *LocalJournal) repair(s edits.SegmentName) error {
	p := j.path(s.String())
	res, err := edits.ScanFile(j.fs, p)
	if err != nil {
		return fmt.Errorf("editlog: in-progress segment %s: %w", p, err)
	}
	if !res.Torn {
		return nil
	}
	j.log.Warn("repairing torn tail of in-progress edit segment", zap.String("segment", p),
		zap.Int64("validEnd", res.ValidEnd), zap.Int64("size", res.Size), zap.Int64("lastTxId", res.LastTxID))
	data, err := vfs.ReadFile(j.fs, p)
	if err != nil {
		return fmt.Errorf("editlog: repair %s: %w", p, err)
	}
	if err := vfs.WriteFileAtomic(j.fs, p+".broken", data); err != nil {
		return fmt.Errorf("editlog: repair %s: keep broken copy: %w", p, err)
	}
	f, err := j.fs.OpenReadWrite(p)
	if err != nil {
		return fmt.Errorf("editlog: repair %s: %w", p, err)
	}
	err = f.Truncate(res.ValidEnd)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("editlog: repair %s: truncate to %d: %w", p, res.ValidEnd, err)
	}
	return nil
}

// Recover finalizes the in-progress segments left by an earlier writer
// (their tails were repaired by OpenLocal); one without records is
// removed.
func (j *LocalJournal) Recover(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.mu.w != nil {
		return fmt.Errorf("editlog: recover %s while segment %d is open", j.dir, j.mu.w.first)
	}
	return j.finalizeLeftoversLocked()
}

func (j *LocalJournal) finalizeLeftoversLocked() error {
	segs, err := j.segments()
	if err != nil {
		return err
	}
	changed := false
	for _, s := range segs {
		if !s.InProgress {
			continue
		}
		p := j.path(s.String())
		res, err := edits.ScanFile(j.fs, p)
		if err == nil && res.Torn {
			err = fmt.Errorf("torn tail at offset %d not repaired", res.ValidEnd)
		}
		if err != nil {
			return fmt.Errorf("editlog: recover in-progress segment %s: %w", p, err)
		}
		changed = true
		if res.Records == 0 {
			j.log.Info("removing empty in-progress edit segment", zap.String("segment", p))
			if err := j.fs.Remove(p); err != nil {
				return fmt.Errorf("editlog: %w", err)
			}
			continue
		}
		fin := j.path(edits.FinalizedName(s.First, res.LastTxID))
		j.log.Info("finalizing in-progress edit segment", zap.String("segment", p), zap.Int64("lastTxId", res.LastTxID))
		if err := j.fs.Rename(p, fin); err != nil {
			return fmt.Errorf("editlog: finalize %s: %w", p, err)
		}
	}
	if changed {
		if err := j.fs.SyncDir(j.dir); err != nil {
			return fmt.Errorf("editlog: sync %s: %w", j.dir, err)
		}
	}
	return nil
}

// StartSegment creates edits_inprogress_<txid>, writes and fsyncs its
// header, then fsyncs the directory so the segment's name is durable
// before any edit in it is acknowledged. A leftover in-progress segment
// is finalized first; txid must follow the last finalized segment.
func (j *LocalJournal) StartSegment(ctx context.Context, txid int64) (SegmentWriter, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.mu.closed {
		return nil, fmt.Errorf("editlog: %s is closed", j.dir)
	}
	if j.mu.w != nil {
		return nil, fmt.Errorf("editlog: segment %d is still open; finalize it before starting %d", j.mu.w.first, txid)
	}
	if err := j.finalizeLeftoversLocked(); err != nil {
		return nil, err
	}
	segs, err := j.segments()
	if err != nil {
		return nil, err
	}
	for _, s := range segs {
		if s.Last >= txid {
			return nil, fmt.Errorf("editlog: start segment %d: segment %s already holds it", txid, s)
		}
	}
	if n := len(segs); n > 0 && segs[n-1].Last != txid-1 {
		return nil, fmt.Errorf("%w: start segment %d after segment %s", ErrGap, txid, segs[n-1])
	}
	p := j.path(edits.InProgressName(txid))
	w, err := edits.CreateSegment(j.fs, p, txid)
	if err != nil {
		return nil, fmt.Errorf("editlog: %w", err)
	}
	if err := w.Sync(); err != nil {
		w.Abort()
		return nil, fmt.Errorf("editlog: %w", err)
	}
	if err := j.fs.SyncDir(j.dir); err != nil {
		w.Abort()
		return nil, fmt.Errorf("editlog: sync %s: %w", j.dir, err)
	}
	s := &localSegment{j: j, w: w, first: txid}
	s.synced.Store(txid - 1)
	j.mu.w = s
	return s, nil
}

// FinalizeSegment closes the open segment (which must end at last, all
// synced), renames it edits_<first>-<last> and fsyncs the directory. A
// segment that is not open but in progress on disk is finalized too.
func (j *LocalJournal) FinalizeSegment(ctx context.Context, first, last int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if last < first {
		return fmt.Errorf("editlog: finalize empty segment %d-%d", first, last)
	}
	p := j.path(edits.InProgressName(first))
	if s := j.mu.w; s != nil && s.first == first {
		s.mu.Lock()
		err := s.err
		if err == nil && (s.w.LastTxID() != last || s.synced.Load() != last) {
			err = fmt.Errorf("editlog: finalize segment %d at txid %d, but txids up to %d are appended and %d synced", first, last, s.w.LastTxID(), s.synced.Load())
		}
		if err == nil {
			err = s.w.Close()
			s.err = errors.New("editlog: segment finalized")
		}
		s.mu.Unlock()
		if err != nil {
			return err
		}
		j.mu.w = nil
	} else {
		res, err := edits.ScanFile(j.fs, p)
		if err != nil {
			return fmt.Errorf("editlog: finalize %s: %w", p, err)
		}
		if res.LastTxID != last {
			return fmt.Errorf("editlog: finalize %s at txid %d, but it ends at %d", p, last, res.LastTxID)
		}
	}
	if err := j.fs.Rename(p, j.path(edits.FinalizedName(first, last))); err != nil {
		return fmt.Errorf("editlog: finalize %s: %w", p, err)
	}
	if err := j.fs.SyncDir(j.dir); err != nil {
		return fmt.Errorf("editlog: sync %s: %w", j.dir, err)
	}
	return nil
}

// Purge removes finalized segments ending before minTxIDToKeep, and fsyncs
// the directory.
func (j *LocalJournal) Purge(ctx context.Context, minTxIDToKeep int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	segs, err := j.segments()
	if err != nil {
		return err
	}
	removed := false
	for _, s := range segs {
		if s.InProgress || s.Last >= minTxIDToKeep {
			continue
		}
		if err := j.fs.Remove(j.path(s.String())); err != nil {
			return fmt.Errorf("editlog: purge: %w", err)
		}
		removed = true
	}
	if removed {
		if err := j.fs.SyncDir(j.dir); err != nil {
			return fmt.Errorf("editlog: sync %s: %w", j.dir, err)
		}
	}
	return nil
}

// ReadFrom reads segments in order from fromTxID. A finalized segment
// must hold exactly the txids its name says. The in-progress segment is
// read up to its last valid record; while this journal writes it, only up
// to the last synced txid. Segments must chain without gaps or overlaps.
func (j *LocalJournal) ReadFrom(ctx context.Context, fromTxID int64, fn func(txid int64, op []byte) error) (int64, error) {
	j.mu.Lock()
	segs, err := j.segments()
	var open *localSegment
	if j.mu.w != nil {
		open = j.mu.w
	}
	j.mu.Unlock()
	if err != nil {
		return fromTxID - 1, err
	}
	next := fromTxID
	var prev *edits.SegmentName
	for i := range segs {
		s := segs[i]
		if !s.InProgress && s.Last < next {
			prev = &segs[i]
			continue
		}
		if s.First > next {
			if prev == nil && next == fromTxID {
				return next - 1, fmt.Errorf("%w: no segment in %s holds txid %d; the next is %s", ErrGap, j.dir, next, s)
			}
			return next - 1, fmt.Errorf("%w: segment %s is followed by %s in %s; txid %d is missing", ErrGap, prev, s, j.dir, next)
		}
		limit := int64(-1) // no cap
		if s.InProgress && open != nil && open.first == s.First {
			limit = open.syncedTxID()
		}
		if err := ctx.Err(); err != nil {
			return next - 1, err
		}
		n, err := j.readSegment(s, next, limit, fn)
		if err != nil {
			return n - 1, err
		}
		next = n
		prev = &segs[i]
		if s.InProgress {
			// Nothing may follow the open segment; a later one would be a
			// writer's bug, and reading on would skip the torn end.
			if i+1 < len(segs) {
				return next - 1, fmt.Errorf("editlog: in-progress segment %s is followed by %s in %s", s, segs[i+1], j.dir)
			}
			break
		}
	}
	return next - 1, nil
}

// readSegment calls fn for txids next.. of segment s (up to limit if >= 0)
// and returns the txid after the last one read.
func (j *LocalJournal) readSegment(s edits.SegmentName, next, limit int64, fn func(int64, []byte) error) (int64, error) {
	p := j.path(s.String())
	f, err := j.fs.Open(p)
	if err != nil {
		return next, fmt.Errorf("editlog: segment %s: %w", p, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return next, fmt.Errorf("editlog: segment %s: %w", p, err)
	}
	r := edits.NewReader(f, fi.Size(), p, s.First)
	for limit < 0 || next <= limit {
		rec, err := r.Next()
		if err != nil {
			switch {
			case errors.Is(err, io.EOF) || errors.Is(err, edits.ErrTornTail):
				if s.InProgress {
					return next, nil
				}
				if next <= s.Last {
					return next, &edits.CorruptionError{File: p, Offset: r.ValidEnd(),
						Reason: fmt.Sprintf("finalized segment ends at txid %d, its name says %d: %v", next-1, s.Last, err)}
				}
				return next, nil
			default:
				return next, fmt.Errorf("editlog: segment %s: %w", p, err)
			}
		}
		if !s.InProgress && rec.TxID > s.Last {
			return next, &edits.CorruptionError{File: p, Offset: r.ValidEnd(),
				Reason: fmt.Sprintf("record txid %d past the segment's last txid %d", rec.TxID, s.Last)}
		}
		if rec.TxID < next {
			continue
		}
		if rec.TxID != next {
			return next, fmt.Errorf("%w: segment %s has txid %d, want %d", ErrGap, p, rec.TxID, next)
		}
		if err := fn(rec.TxID, rec.Op); err != nil {
			return next, err
		}
		next++
	}
	return next, nil
}

// Close closes the journal; an open segment stays in progress (its synced
// edits are recovered at the next open).
func (j *LocalJournal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.mu.closed = true
	if s := j.mu.w; s != nil {
		j.mu.w = nil
		return s.close()
	}
	return nil
}

// localSegment is the open in-progress segment of a LocalJournal.
type localSegment struct {
	j     *LocalJournal
	first int64
	w     *edits.Writer
	mu    struct{ sync.Mutex }
	// synced is the last txid fsynced, written under mu (an atomic so
	// that readers need not wait for an fsync in progress).
	synced atomic.Int64
	// err is set once the writer failed or was closed; under mu.
	err error
}

func (s *localSegment) syncedTxID() int64 { return s.synced.Load() }

// Append buffers the record in memory; Sync writes and fsyncs.
func (s *localSegment) Append(txid int64, op []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if err := s.w.Append(txid, op); err != nil {
		return fmt.Errorf("editlog: %w", err)
	}
	return nil
}

// Sync writes what is buffered and fsyncs the segment file. The file's
// name was made durable when the segment started.
func (s *localSegment) Sync(ctx context.Context, upToTxID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if upToTxID > s.w.LastTxID() {
		return fmt.Errorf("editlog: sync to txid %d, but only %d was appended to %s", upToTxID, s.w.LastTxID(), s.w.Name())
	}
	if err := s.w.Sync(); err != nil {
		s.err = err
		return err
	}
	s.synced.Store(s.w.LastTxID())
	return nil
}

// Close abandons the segment: what was synced stays, in progress.
func (s *localSegment) Close() error {
	s.j.mu.Lock()
	if s.j.mu.w == s {
		s.j.mu.w = nil
	}
	s.j.mu.Unlock()
	return s.close()
}

func (s *localSegment) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil
	}
	s.err = errors.New("editlog: segment closed")
	s.w.Abort()
	return nil
}
