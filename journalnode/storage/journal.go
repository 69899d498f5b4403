package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/vfs"
)

// Options configure a Journal.
type Options struct {
	// FS is the filesystem; nil means vfs.Default.
	FS vfs.FS
	// Dir is the journal directory, <dfs.journalnode.edits.dir>/<journalId>.
	Dir string
	// JournalID names the journal in messages.
	JournalID string
	// CacheBytes bounds the in-memory edit cache that serves
	// GetJournaledEdits (Hadoop: dfs.journalnode.edit-cache-size.bytes,
	// default 1 MiB). 0 disables the cache, as
	// dfs.ha.tail-edits.in-progress=false does.
	CacheBytes int64
}

// RequestInfo accompanies every writer request: Hadoop's RequestInfo.
type RequestInfo struct {
	// Epoch is the writer's epoch.
	Epoch int64
	// IPCSerial increases with every request a writer sends in its epoch.
	IPCSerial int64
	// CommittedTxID, if HasCommittedTxID, is the highest txid the writer
	// knows to be durable on a quorum.
	CommittedTxID    int64
	HasCommittedTxID bool
	// Client is the writer's address, used only in messages.
	Client string
}

// JournalState answers getJournalState. The RPC layer fills in the HTTP
// port and URL it serves segments from.
type JournalState struct {
	LastPromisedEpoch int64
	HTTPPort          int32
	FromURL           string
}

// NewEpochResult answers newEpoch: the first txid of the latest segment
// holding any transaction, if there is one.
type NewEpochResult struct {
	LastSegmentTxID    int64
	HasLastSegmentTxID bool
}

// RemoteEditLog is one segment in a manifest. For the open segment EndTxID
// is the highest txid written so far.
type RemoteEditLog struct {
	StartTxID  int64
	EndTxID    int64
	InProgress bool
}

// Manifest answers getEditLogManifest.
type Manifest struct {
	Logs []RemoteEditLog
	// CommittedTxID is the journal's committed-txid (0 if unknown).
	CommittedTxID int64
}

// PrepareRecoveryResult answers prepareRecovery: Hadoop's
// PrepareRecoveryResponseProto.
type PrepareRecoveryResult struct {
	// Segment is the state of the segment (or of the accepted proposal),
	// nil if this node has no such segment.
	Segment *SegmentState
	// AcceptedInEpoch is the epoch of a proposal accepted for the segment
	// and not yet finalized, if HasAcceptedInEpoch.
	AcceptedInEpoch    int64
	HasAcceptedInEpoch bool
	LastWriterEpoch    int64
	// LastCommittedTxID is set when HasLastCommittedTxID.
	LastCommittedTxID    int64
	HasLastCommittedTxID bool
}

// JournaledEdits answers getJournaledEdits: TxnCount encoded records
// (package edits framing) back to back.
type JournaledEdits struct {
	TxnCount int
	Records  []byte
}

// Fetcher copies a segment, as a whole segment file (header and records),
// from the JournalNode the recovering writer named (Hadoop fetches it over
// HTTP from the fromURL of acceptRecovery) into w.
type Fetcher func(seg SegmentState, w io.Writer) error

// Journal is the storage of one journal on one JournalNode.
type Journal struct {
	fs        vfs.FS
	dir       string
	curDir    string
	paxosDir  string
	journalID string

	mu struct {
		sync.Mutex
		closed    bool
		formatted bool
		// ns is the namespace from VERSION; valid iff formatted.
		ns NamespaceInfo
		// lastPromisedEpoch mirrors last-promised-epoch.
		// Invariant: lastWriterEpoch <= lastPromisedEpoch.
		lastPromisedEpoch int64
		// lastWriterEpoch mirrors last-writer-epoch.
		lastWriterEpoch int64
		// committedTxID mirrors committed-txid; 0 when unknown.
		committedTxID int64
		// committedFile is committed-txid kept open for in-place writes;
		// nil until the first write after Open or Format.
		committedFile vfs.File
		// ipcSerial is the highest IPC serial seen from the writer of the
		// promised epoch; -1 after the promise changes.
		ipcSerial int64
		// seg is the open in-progress segment, nil when none. Every record
		// it holds is synced (Journal syncs before returning).
		seg *edits.Writer
		// highestWrittenTxID is the highest txid durable in the latest
		// segment, 0 if none.
		// Invariant: seg == nil || seg has no record ||
		// highestWrittenTxID >= seg.LastTxID(). (A node that missed
		// earlier segments starts a later one with a lower highest txid.)
		highestWrittenTxID int64
		// cache is nil when disabled.
		cache *editCache
	}
}

// Open opens the journal in opts.Dir, which need not exist yet. If it is
// formatted, the small state is loaded, leftover temporary files are
// removed and in-progress segments are repaired (see the package doc);
// corruption fails Open.
func Open(opts Options) (*Journal, error) {
	fs := opts.FS
	if fs == nil {
		fs = vfs.Default
	}
	j := &Journal{
		fs:        fs,
		dir:       opts.Dir,
		curDir:    vfs.Join(opts.Dir, "current"),
		journalID: opts.JournalID,
	}
	j.paxosDir = vfs.Join(j.curDir, paxosDirName)
	if opts.CacheBytes > 0 {
		j.mu.cache = newEditCache(opts.CacheBytes)
	}
	j.mu.ipcSerial = -1
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.loadLocked(); err != nil {
		return nil, fmt.Errorf("open journal %s in %s: %w", j.journalID, j.dir, err)
	}
	return j, nil
}

func (j *Journal) path(name string) string { return vfs.Join(j.curDir, name) }

func (j *Journal) paxosPath(segTxID int64) string {
	return vfs.Join(j.paxosDir, fmt.Sprint(segTxID))
}

func (j *Journal) loadLocked() error {
	data, err := vfs.ReadFile(j.fs, j.path(versionFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	ns, err := decodeVersion(j.path(versionFile), data)
	if err != nil {
		return err
	}
	if j.mu.lastPromisedEpoch, err = readLongFile(j.fs, j.path(lastPromisedFile), 0); err != nil {
		return err
	}
	if j.mu.lastWriterEpoch, err = readLongFile(j.fs, j.path(lastWriterFile), 0); err != nil {
		return err
	}
	if j.mu.committedTxID, err = readBestEffortLongFile(j.fs, j.path(committedTxIDFile), 0); err != nil {
		return err
	}
	if j.mu.lastWriterEpoch > j.mu.lastPromisedEpoch {
		return &edits.CorruptionError{File: j.path(lastWriterFile), Reason: fmt.Sprintf("writer epoch %d above promised epoch %d", j.mu.lastWriterEpoch, j.mu.lastPromisedEpoch)}
	}
	if err := j.fs.MkdirAll(j.paxosDir, 0o755); err != nil {
		return err
	}
	for _, dir := range []string{j.curDir, j.paxosDir} {
		names, err := j.fs.List(dir)
		if err != nil {
			return err
		}
		for _, n := range names {
			if strings.HasSuffix(n, tmpSuffix) {
				if err := j.fs.Remove(vfs.Join(dir, n)); err != nil {
					return err
				}
			}
		}
	}
	segs, err := listSegments(j.fs, j.curDir)
	if err != nil {
		return err
	}
	for _, s := range segs {
		if s.InProgress {
			if _, err := j.repairSegmentLocked(s.name); err != nil {
				return err
			}
		}
	}
	j.mu.ns = ns
	j.mu.formatted = true
	latest, err := j.latestSegmentLocked()
	if err != nil {
		return err
	}
	if latest != nil {
		j.mu.highestWrittenTxID = latest.EndTxID
	}
	j.checkInvariantsLocked()
	return nil
}

// repairSegmentLocked scans an in-progress segment. A torn tail is cut off
// after keeping a .broken copy; a segment with no valid record is moved
// aside to .empty and nil returned; corruption is returned.
func (j *Journal) repairSegmentLocked(name string) (*edits.ScanResult, error) {
	p := j.path(name)
	res, err := edits.ScanFile(j.fs, p)
	if err != nil {
		return nil, err
	}
	if res.Records == 0 {
		if err := j.fs.Rename(p, p+emptySuffix); err != nil {
			return nil, err
		}
		return nil, j.fs.SyncDir(j.curDir)
	}
	if !res.Torn {
		return &res, nil
	}
	data, err := vfs.ReadFile(j.fs, p)
	if err != nil {
		return nil, err
	}
	broken, err := j.freeBrokenName(p)
	if err != nil {
		return nil, err
	}
	bf, err := j.fs.Create(broken)
	if err != nil {
		return nil, err
	}
	if _, err := bf.Write(data); err != nil {
		bf.Close()
		return nil, err
	}
	if err := bf.Sync(); err != nil {
		bf.Close()
		return nil, err
	}
	if err := bf.Close(); err != nil {
		return nil, err
	}
	if err := j.fs.SyncDir(j.curDir); err != nil {
		return nil, err
	}
	f, err := j.fs.OpenReadWrite(p)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(res.ValidEnd); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	res.Size, res.Torn = res.ValidEnd, false
	return &res, nil
}

// freeBrokenName returns p.broken, or p.broken.N for the first N free, so
// a repeated repair never overwrites an earlier copy.
func (j *Journal) freeBrokenName(p string) (string, error) {
	name := p + brokenSuffix
	for i := 1; ; i++ {
		ok, err := vfs.Exists(j.fs, name)
		if err != nil || !ok {
			return name, err
		}
		name = fmt.Sprintf("%s%s.%d", p, brokenSuffix, i)
	}
}

// segmentInfoLocked describes the segment starting at txid, repairing it
// if it is in progress; nil if there is none (or it holds no record).
func (j *Journal) segmentInfoLocked(txid int64) (*SegmentState, error) {
	segs, err := listSegments(j.fs, j.curDir)
	if err != nil {
		return nil, err
	}
	var found []segmentFile
	for _, s := range segs {
		if s.First == txid {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, refusef(ErrIllegalState, "More than one log segment in %s starting at txid %d ; journal id: %s", j.curDir, txid, j.journalID)
	}
	s := found[0]
	if !s.InProgress {
		return &SegmentState{StartTxID: s.First, EndTxID: s.Last}, nil
	}
	res, err := j.repairSegmentLocked(s.name)
	if err != nil || res == nil {
		return nil, err
	}
	return &SegmentState{StartTxID: s.First, EndTxID: res.LastTxID, InProgress: true}, nil
}

// latestSegmentLocked returns the latest segment holding a transaction,
// moving aside empty in-progress ones on the way.
func (j *Journal) latestSegmentLocked() (*SegmentState, error) {
	segs, err := listSegments(j.fs, j.curDir)
	if err != nil {
		return nil, err
	}
	for i := len(segs) - 1; i >= 0; i-- {
		st, err := j.segmentInfoLocked(segs[i].First)
		if err != nil {
			return nil, err
		}
		if st != nil {
			return st, nil
		}
	}
	return nil, nil
}

func (j *Journal) storageDirString() string { return "Storage Directory " + j.dir }

func (j *Journal) checkFormattedLocked() error {
	if j.mu.closed {
		return refusef(ErrClosed, "Journal %s is closed ; journal id: %s", j.dir, j.journalID)
	}
	if !j.mu.formatted {
		return refusef(ErrNotFormatted, "Journal %s not formatted ; journal id: %s", j.storageDirString(), j.journalID)
	}
	return nil
}

// IsFormatted reports whether the journal has been formatted.
func (j *Journal) IsFormatted() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.mu.formatted
}

// JournalID returns the journal id.
func (j *Journal) JournalID() string { return j.journalID }

// Namespace returns the namespace recorded in VERSION, and false if the
// journal is not formatted.
func (j *Journal) Namespace() (NamespaceInfo, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.mu.ns, j.mu.formatted
}

// Format (re)creates the journal's storage for ns. Without force it refuses
// a journal that is already formatted. Formatting discards every segment,
// promise and paxos decision. VERSION is removed first and written last, so
// a crash in between leaves an unformatted journal.
func (j *Journal) Format(ns NamespaceInfo, force bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.mu.closed {
		return refusef(ErrClosed, "Journal %s is closed ; journal id: %s", j.dir, j.journalID)
	}
	if ns.NamespaceID == 0 {
		return refusef(ErrIllegalState, "can't format with uninitialized namespace info: %s", ns)
	}
	if j.mu.formatted && !force {
		return refusef(ErrAlreadyFormatted, "Journal %s is already formatted; use force to reformat ; journal id: %s", j.storageDirString(), j.journalID)
	}
	j.abortSegmentLocked()
	j.mu.formatted = false
	if err := j.clearLocked(); err != nil {
		return fmt.Errorf("format journal %s: %w", j.journalID, err)
	}
	if err := vfs.WriteFileAtomic(j.fs, j.path(versionFile), encodeVersion(ns)); err != nil {
		return fmt.Errorf("format journal %s: %w", j.journalID, err)
	}
	j.mu.ns = ns
	j.mu.formatted = true
	j.mu.lastPromisedEpoch, j.mu.lastWriterEpoch, j.mu.committedTxID = 0, 0, 0
	j.mu.ipcSerial = -1
	j.mu.highestWrittenTxID = 0
	if j.mu.cache != nil {
		j.mu.cache.reset()
	}
	return nil
}

// writeCommittedTxIDLocked overwrites committed-txid in place, best effort
// as Hadoop's BestEffortLongFile: no fsync and, after the first write, no
// metadata change, so the journal hot path pays one fsync (the segment's)
// and that fsync has no directory update to carry. The value is only a
// lower bound used for sanity checks, so a crash that loses it is safe.
func (j *Journal) writeCommittedTxIDLocked(v int64) error {
	if j.mu.committedFile == nil {
		p := j.path(committedTxIDFile)
		f, err := j.fs.OpenReadWrite(p)
		if errors.Is(err, os.ErrNotExist) {
			f, err = j.fs.Create(p)
		}
		if err != nil {
			return err
		}
		j.mu.committedFile = f
	}
	_, err := j.mu.committedFile.Seek(0, io.SeekStart)
	if err == nil {
		_, err = j.mu.committedFile.Write(encodeBestEffortLong(v))
	}
	if err != nil {
		j.closeCommittedFileLocked()
	}
	return err
}

// closeCommittedFileLocked drops the open committed-txid handle; the next
// write reopens the file.
func (j *Journal) closeCommittedFileLocked() {
	if j.mu.committedFile != nil {
		j.mu.committedFile.Close()
		j.mu.committedFile = nil
	}
}

// clearLocked empties current/ (VERSION first) and makes the empty
// current/ and paxos/ directories durable.
func (j *Journal) clearLocked() error {
	j.closeCommittedFileLocked()
	if err := j.removeIfExists(j.path(versionFile)); err != nil {
		return err
	}
	if err := vfs.MkdirAllDurable(j.fs, j.paxosDir, 0o755); err != nil {
		return err
	}
	for _, dir := range []string{j.paxosDir, j.curDir} {
		names, err := j.fs.List(dir)
		if err != nil {
			return err
		}
		for _, n := range names {
			if dir == j.curDir && n == paxosDirName {
				continue
			}
			if err := j.fs.Remove(vfs.Join(dir, n)); err != nil {
				return err
			}
		}
		if err := j.fs.SyncDir(dir); err != nil {
			return err
		}
	}
	return nil
}

func (j *Journal) removeIfExists(p string) error {
	err := j.fs.Remove(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Close closes the open segment (syncing it) and the journal.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.mu.closed {
		return nil
	}
	j.mu.closed = true
	j.closeCommittedFileLocked()
	if j.mu.seg != nil {
		err := j.mu.seg.Close()
		j.mu.seg = nil
		return err
	}
	return nil
}

// GetJournalState returns the last promised epoch.
func (j *Journal) GetJournalState() (JournalState, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.checkFormattedLocked(); err != nil {
		return JournalState{}, err
	}
	return JournalState{LastPromisedEpoch: j.mu.lastPromisedEpoch}, nil
}

// LastPromisedEpoch returns the promised epoch (0 if none).
func (j *Journal) LastPromisedEpoch() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.mu.lastPromisedEpoch
}

// LastWriterEpoch returns the epoch of the last writer (0 if none).
func (j *Journal) LastWriterEpoch() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.mu.lastWriterEpoch
}

// CommittedTxID returns the committed-txid lower bound (0 if unknown).
func (j *Journal) CommittedTxID() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.mu.committedTxID
}

// HighestWrittenTxID returns the highest durable txid of the latest
// segment (0 if none).
func (j *Journal) HighestWrittenTxID() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.mu.highestWrittenTxID
}

// NewEpoch promises to ignore every writer below epoch. The promise is
// durable before NewEpoch returns. Any open segment is aborted.
func (j *Journal) NewEpoch(ns NamespaceInfo, epoch int64) (NewEpochResult, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.checkFormattedLocked(); err != nil {
		return NewEpochResult{}, err
	}
	if err := j.checkNamespaceLocked(ns); err != nil {
		return NewEpochResult{}, err
	}
	if epoch <= j.mu.lastPromisedEpoch {
		return NewEpochResult{}, refusef(ErrEpochTooLow, "Proposed epoch %d <= last promise %d ; journal id: %s", epoch, j.mu.lastPromisedEpoch, j.journalID)
	}
	if err := j.updatePromiseLocked(epoch); err != nil {
		return NewEpochResult{}, err
	}
	j.abortSegmentLocked()
	latest, err := j.latestSegmentLocked()
	if err != nil {
		return NewEpochResult{}, err
	}
	if latest == nil {
		return NewEpochResult{}, nil
	}
	return NewEpochResult{LastSegmentTxID: latest.StartTxID, HasLastSegmentTxID: true}, nil
}

func (j *Journal) checkNamespaceLocked(ns NamespaceInfo) error {
	if ns.NamespaceID != j.mu.ns.NamespaceID {
		return refusef(ErrNamespaceMismatch, "Incompatible namespaceID for journal %s: NameNode has nsId %d but storage has nsId %d", j.storageDirString(), ns.NamespaceID, j.mu.ns.NamespaceID)
	}
	if ns.ClusterID != j.mu.ns.ClusterID {
		return refusef(ErrNamespaceMismatch, "Incompatible clusterID for journal %s: NameNode has clusterId '%s' but storage has clusterId '%s'", j.storageDirString(), ns.ClusterID, j.mu.ns.ClusterID)
	}
	return nil
}

func (j *Journal) updatePromiseLocked(epoch int64) error {
	if err := writeLongFile(j.fs, j.path(lastPromisedFile), epoch); err != nil {
		return fmt.Errorf("persist promise of epoch %d ; journal id: %s: %w", epoch, j.journalID, err)
	}
	j.mu.lastPromisedEpoch = epoch
	j.mu.ipcSerial = -1
	return nil
}

func (j *Journal) abortSegmentLocked() {
	if j.mu.seg != nil {
		j.mu.seg.Abort()
		j.mu.seg = nil
	}
}

// checkRequestLocked fences stale writers, orders IPCs and advances the
// committed txid, as Hadoop's Journal.checkRequest.
func (j *Journal) checkRequestLocked(req RequestInfo) error {
	if req.Epoch < j.mu.lastPromisedEpoch {
		return refusef(ErrEpochTooLow, "IPC's epoch %d is less than the last promised epoch %d ; journal id: %s", req.Epoch, j.mu.lastPromisedEpoch, j.journalID)
	}
	if req.Epoch > j.mu.lastPromisedEpoch {
		// A newer writer: fence the previous ones by promising.
		if err := j.updatePromiseLocked(req.Epoch); err != nil {
			return err
		}
	}
	if req.IPCSerial <= j.mu.ipcSerial {
		return refusef(ErrOutOfSync, "IPC serial %d from client %s was not higher than prior highest IPC serial %d ; journal id: %s", req.IPCSerial, req.Client, j.mu.ipcSerial, j.journalID)
	}
	j.mu.ipcSerial = req.IPCSerial
	if req.HasCommittedTxID {
		if req.CommittedTxID < j.mu.committedTxID {
			return refusef(ErrIllegalArgument, "Client trying to move committed txid backward from %d to %d ; journal id: %s", j.mu.committedTxID, req.CommittedTxID, j.journalID)
		}
		if req.CommittedTxID > j.mu.committedTxID {
			if err := j.writeCommittedTxIDLocked(req.CommittedTxID); err != nil {
				return fmt.Errorf("persist committed txid ; journal id: %s: %w", j.journalID, err)
			}
			j.mu.committedTxID = req.CommittedTxID
		}
	}
	return nil
}

func (j *Journal) checkWriteRequestLocked(req RequestInfo) error {
	if err := j.checkRequestLocked(req); err != nil {
		return err
	}
	if req.Epoch != j.mu.lastWriterEpoch {
		return refusef(ErrNotWriterEpoch, "IPC's epoch %d is not the current writer epoch  %d ; journal id: %s", req.Epoch, j.mu.lastWriterEpoch, j.journalID)
	}
	return nil
}

// Heartbeat checks the request (fencing and committed txid) and does
// nothing else.
func (j *Journal) Heartbeat(req RequestInfo) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.checkFormattedLocked(); err != nil {
		return err
	}
	return j.checkRequestLocked(req)
}

// Journal appends numTxns encoded records (package edits framing) starting
// at firstTxID to the open segment segmentTxID. Every record is checked
// (CRC, txid contiguity); the records are fsynced before Journal returns
// nil. numTxns == 0 only updates the committed txid.
func (j *Journal) Journal(req RequestInfo, segmentTxID, firstTxID int64, numTxns int, records []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.checkFormattedLocked(); err != nil {
		return err
	}
	if err := j.checkWriteRequestLocked(req); err != nil {
		return err
	}
	if numTxns == 0 {
		return nil
	}
	seg := j.mu.seg
	if seg == nil {
		return refusef(ErrOutOfSync, "Can't write, no segment open ; journal id: %s", j.journalID)
	}
	if seg.FirstTxID() != segmentTxID {
		// The writer missed a finalize and a start; writing on would put
		// its txids in the wrong segment.
		err := refusef(ErrOutOfSync, "Writer out of sync: it thinks it is writing segment %d but current segment is %d ; journal id: %s", segmentTxID, seg.FirstTxID(), j.journalID)
		j.abortSegmentLocked()
		return err
	}
	if seg.NextTxID() != firstTxID {
		return refusef(ErrOutOfSync, "Can't write txid %d expecting nextTxId=%d ; journal id: %s", firstTxID, seg.NextTxID(), j.journalID)
	}
	if numTxns < 0 {
		return refusef(ErrIllegalArgument, "negative numTxns %d ; journal id: %s", numTxns, j.journalID)
	}
	if err := seg.AppendBatch(records, firstTxID, numTxns); err != nil {
		return fmt.Errorf("journal txids %d-%d ; journal id: %s: %w", firstTxID, firstTxID+int64(numTxns)-1, j.journalID, err)
	}
	if err := seg.Sync(); err != nil {
		// The file may hold part of the batch; the segment is unusable and
		// the writer must start a new one (recovery will trim the tail).
		j.abortSegmentLocked()
		return fmt.Errorf("journal txids %d-%d ; journal id: %s: %w", firstTxID, firstTxID+int64(numTxns)-1, j.journalID, err)
	}
	last := firstTxID + int64(numTxns) - 1
	j.mu.highestWrittenTxID = last
	if j.mu.cache != nil {
		j.mu.cache.store(records, firstTxID, numTxns)
	}
	j.checkInvariantsLocked()
	return nil
}

// StartLogSegment opens a new in-progress segment at txid for the writer
// of req.Epoch, which becomes the last writer epoch. An open segment is
// aborted. An existing in-progress segment at txid is replaced only if it
// holds at most one transaction; a finalized one never is.
func (j *Journal) StartLogSegment(req RequestInfo, txid int64, layoutVersion int32) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.checkFormattedLocked(); err != nil {
		return err
	}
	if err := j.checkRequestLocked(req); err != nil {
		return err
	}
	if layoutVersion != edits.LayoutVersion {
		return refusef(ErrIllegalArgument, "Unsupported edits layout version %d (this JournalNode writes %d) ; journal id: %s", layoutVersion, edits.LayoutVersion, j.journalID)
	}
	if txid < 1 {
		return refusef(ErrIllegalArgument, "Bad segment txid %d ; journal id: %s", txid, j.journalID)
	}
	// The writer may have lost its connection and come back: drop our
	// view of its old segment.
	j.abortSegmentLocked()
	existing, err := j.segmentInfoLocked(txid)
	if err != nil {
		return err
	}
	if existing != nil {
		if !existing.InProgress {
			return refusef(ErrIllegalState, "Already have a finalized segment %s beginning at %d ; journal id: %s", edits.FinalizedName(existing.StartTxID, existing.EndTxID), txid, j.journalID)
		}
		// The writer crashed right after starting this segment: only its
		// first transaction can be there.
		if existing.EndTxID != existing.StartTxID {
			return refusef(ErrIllegalState, "The log file %s seems to contain valid transactions ; journal id: %s", j.path(edits.InProgressName(txid)), j.journalID)
		}
	}
	if j.mu.lastWriterEpoch != req.Epoch {
		if err := writeLongFile(j.fs, j.path(lastWriterFile), req.Epoch); err != nil {
			return fmt.Errorf("persist writer epoch ; journal id: %s: %w", j.journalID, err)
		}
		j.mu.lastWriterEpoch = req.Epoch
	}
	// A writer starting here means any earlier recovery of this segment
	// was abandoned.
	if err := j.purgePaxosLocked(txid); err != nil {
		return err
	}
	w, err := edits.CreateSegment(j.fs, j.path(edits.InProgressName(txid)), txid)
	if err != nil {
		return err
	}
	if err := w.Sync(); err != nil {
		w.Abort()
		return err
	}
	if err := j.fs.SyncDir(j.curDir); err != nil {
		w.Abort()
		return err
	}
	j.mu.seg = w
	j.checkInvariantsLocked()
	return nil
}

func (j *Journal) purgePaxosLocked(segTxID int64) error {
	err := j.fs.Remove(j.paxosPath(segTxID))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("Unable to delete paxos file %s ; journal id: %s: %w", j.paxosPath(segTxID), j.journalID, err)
	}
	return j.fs.SyncDir(j.paxosDir)
}

// FinalizeLogSegment closes the segment [startTxID, endTxID]: the open one
// the writer just wrote, or an in-progress one left by an earlier writer
// (validated against endTxID first). Finalizing an already finalized
// segment with the same end is a no-op.
func (j *Journal) FinalizeLogSegment(req RequestInfo, startTxID, endTxID int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.checkFormattedLocked(); err != nil {
		return err
	}
	if err := j.checkRequestLocked(req); err != nil {
		return err
	}
	if seg := j.mu.seg; seg != nil && seg.FirstTxID() == startTxID {
		next := seg.NextTxID()
		err := seg.Close()
		j.mu.seg = nil
		if err != nil {
			return err
		}
		if next != endTxID+1 {
			return refusef(ErrOutOfSync, "Trying to finalize in-progress log segment %d to end at txid %d but only written up to txid %d ; journal id: %s", startTxID, endTxID, next-1, j.journalID)
		}
	}
	st, err := j.segmentInfoLocked(startTxID)
	if err != nil {
		return err
	}
	if st == nil {
		return refusef(ErrOutOfSync, "No log file to finalize at transaction ID %d ; journal id: %s", startTxID, j.journalID)
	}
	if st.InProgress {
		if st.EndTxID != endTxID {
			return refusef(ErrOutOfSync, "Trying to finalize in-progress log segment %d to end at txid %d but log %s on disk only contains up to txid %d ; journal id: %s", startTxID, endTxID, j.path(edits.InProgressName(startTxID)), st.EndTxID, j.journalID)
		}
		if err := j.fs.Rename(j.path(edits.InProgressName(startTxID)), j.path(edits.FinalizedName(startTxID, endTxID))); err != nil {
			return err
		}
		if err := j.fs.SyncDir(j.curDir); err != nil {
			return err
		}
	} else if st.EndTxID != endTxID {
		return refusef(ErrIllegalArgument, "Trying to re-finalize already finalized log %s with different endTxId %d ; journal id: %s", edits.FinalizedName(st.StartTxID, st.EndTxID), endTxID, j.journalID)
	}
	// A finalized segment is as good as an accepted recovery: the paxos
	// record is no longer needed.
	return j.purgePaxosLocked(startTxID)
}

// PurgeLogsOlderThan removes finalized segments that end before
// minTxIDToKeep, in-progress files (of any suffix) that start before it,
// and their paxos files. The open segment is never removed.
func (j *Journal) PurgeLogsOlderThan(req RequestInfo, minTxIDToKeep int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.checkFormattedLocked(); err != nil {
		return err
	}
	if err := j.checkRequestLocked(req); err != nil {
		return err
	}
	names, err := j.fs.List(j.curDir)
	if err != nil {
		return err
	}
	for _, n := range names {
		txid, ok := purgeTxID(n)
		if !ok || txid >= minTxIDToKeep {
			continue
		}
		if j.mu.seg != nil && n == vfs.Base(j.mu.seg.Name()) {
			continue
		}
		if err := j.removeIfExists(j.path(n)); err != nil {
			return err
		}
	}
	if err := j.fs.SyncDir(j.curDir); err != nil {
		return err
	}
	pnames, err := j.fs.List(j.paxosDir)
	if err != nil {
		return err
	}
	for _, n := range pnames {
		if txid, ok := parseDecimal(n); ok && txid < minTxIDToKeep {
			if err := j.removeIfExists(vfs.Join(j.paxosDir, n)); err != nil {
				return err
			}
		}
	}
	return j.fs.SyncDir(j.paxosDir)
}

// purgeTxID returns the txid that decides whether a file in current/ is
// purged, as Hadoop's patterns edits_\d+-(\d+) and
// edits_inprogress_(\d+)(\..*)? do.
func purgeTxID(name string) (int64, bool) {
	if rest, ok := strings.CutPrefix(name, "edits_inprogress_"); ok {
		digits, _, _ := strings.Cut(rest, ".")
		return parseDecimal(digits)
	}
	if rest, ok := strings.CutPrefix(name, "edits_"); ok {
		a, b, ok := strings.Cut(rest, "-")
		if _, okA := parseDecimal(a); !ok || !okA {
			return 0, false
		}
		return parseDecimal(b)
	}
	return 0, false
}

func parseDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var v int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, v >= 0
}

// GetEditLogManifest lists the segments holding txids at or after
// sinceTxID, with in-progress ones only if inProgressOK (the open one ends
// at the highest written txid).
func (j *Journal) GetEditLogManifest(sinceTxID int64, inProgressOK bool) (Manifest, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.checkFormattedLocked(); err != nil {
		return Manifest{}, err
	}
	segs, err := listSegments(j.fs, j.curDir)
	if err != nil {
		return Manifest{}, err
	}
	m := Manifest{CommittedTxID: j.mu.committedTxID}
	for _, s := range segs {
		if !s.InProgress {
			if s.Last >= sinceTxID {
				m.Logs = append(m.Logs, RemoteEditLog{StartTxID: s.First, EndTxID: s.Last})
			}
			continue
		}
		if !inProgressOK {
			continue
		}
		var end int64
		if j.mu.seg != nil && j.mu.seg.FirstTxID() == s.First {
			end = j.mu.seg.LastTxID()
		} else {
			st, err := j.segmentInfoLocked(s.First)
			if err != nil {
				return Manifest{}, err
			}
			if st == nil {
				continue
			}
			end = st.EndTxID
		}
		if end >= sinceTxID && end >= s.First {
			m.Logs = append(m.Logs, RemoteEditLog{StartTxID: s.First, EndTxID: end, InProgress: true})
		}
	}
	return m, nil
}

// GetJournaledEdits returns up to maxTxns records starting at sinceTxID
// from the in-memory cache.
func (j *Journal) GetJournaledEdits(sinceTxID int64, maxTxns int) (JournaledEdits, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.mu.cache == nil {
		return JournaledEdits{}, refusef(ErrCacheDisabled, "The journal edits cache is not enabled, which is a requirement to fetch journaled edits via RPC. Please enable it via dfs.ha.tail-edits.in-progress")
	}
	highest := j.mu.highestWrittenTxID
	switch {
	case sinceTxID == highest+1:
		return JournaledEdits{}, nil
	case sinceTxID > highest+1:
		return JournaledEdits{}, refusef(ErrNewerTxID, "Highest txn ID available in the journal is %d, but requested txns starting at %d.", highest, sinceTxID)
	}
	data, n, err := j.mu.cache.retrieve(sinceTxID, maxTxns)
	if err != nil {
		return JournaledEdits{}, err
	}
	return JournaledEdits{TxnCount: n, Records: data}, nil
}

// OpenSegment opens the segment starting at startTxID for reading (to
// serve it to a recovering peer or a reader) and describes it. The caller
// closes the file.
func (j *Journal) OpenSegment(startTxID int64) (vfs.File, SegmentState, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.checkFormattedLocked(); err != nil {
		return nil, SegmentState{}, err
	}
	var st *SegmentState
	if seg := j.mu.seg; seg != nil && seg.FirstTxID() == startTxID {
		st = &SegmentState{StartTxID: startTxID, EndTxID: seg.LastTxID(), InProgress: true}
	} else {
		var err error
		if st, err = j.segmentInfoLocked(startTxID); err != nil {
			return nil, SegmentState{}, err
		}
	}
	if st == nil {
		return nil, SegmentState{}, fmt.Errorf("no edits file for segment starting at %d ; journal id: %s: %w", startTxID, j.journalID, os.ErrNotExist)
	}
	name := edits.FinalizedName(st.StartTxID, st.EndTxID)
	if st.InProgress {
		name = edits.InProgressName(st.StartTxID)
	}
	f, err := j.fs.Open(j.path(name))
	if err != nil {
		return nil, SegmentState{}, err
	}
	return f, *st, nil
}

// checkInvariantsLocked panics if the in-memory state broke an invariant
// documented on Journal.mu: that is a bug here, not a bad request.
func (j *Journal) checkInvariantsLocked() {
	if j.mu.lastWriterEpoch > j.mu.lastPromisedEpoch {
		panic(fmt.Sprintf("storage: writer epoch %d above promised epoch %d", j.mu.lastWriterEpoch, j.mu.lastPromisedEpoch))
	}
	if seg := j.mu.seg; seg != nil && seg.LastTxID() >= seg.FirstTxID() && j.mu.highestWrittenTxID < seg.LastTxID() {
		panic(fmt.Sprintf("storage: highest written txid %d below the open segment's last txid %d", j.mu.highestWrittenTxID, seg.LastTxID()))
	}
}
