package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/vfs"
)

// State is a replica's state, with Hadoop's ReplicaState numbers (the
// values ReplicaStateProto carries on the wire).
type State uint8

const (
	// StateFinalized: complete; its files are in finalized/ and never change
	// again (but for Append and block recovery, which take it out first).
	StateFinalized State = 0
	// StateRBW: being written by a pipeline; files in rbw/.
	StateRBW State = 1
	// StateRWR: an rbw replica found at startup, waiting to be recovered
	// (its writer is gone); files in rbw/.
	StateRWR State = 2
	// StateRUR: under block recovery (InitReplicaRecovery); files wherever
	// the original state kept them.
	StateRUR State = 3
	// StateTemporary: being copied in by a transfer (replication); files in
	// tmp/; invisible to readers and block reports.
	StateTemporary State = 4
)

func (s State) String() string {
	switch s {
	case StateFinalized:
		return "FINALIZED"
	case StateRBW:
		return "RBW"
	case StateRWR:
		return "RWR"
	case StateRUR:
		return "RUR"
	case StateTemporary:
		return "TEMPORARY"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Replica describes one stored replica at one moment (a copy; it does not
// change when the replica does).
type Replica struct {
	BlockPoolID string
	BlockID     uint64
	GenStamp    uint64
	// NumBytes is the number of valid bytes on disk: data whose checksums
	// are written (the whole block once finalized).
	NumBytes int64
	// BytesAcked is, for RBW, what the pipeline acknowledged
	// (ReplicaWriter.SetBytesAcked): the visible length readers get.
	BytesAcked int64
	State      State
	// OriginalState is, for RUR, the state before recovery began.
	OriginalState State
	// RecoveryID is, for RUR, the recovery id InitReplicaRecovery recorded.
	RecoveryID uint64
	StorageID  string
	// Dir is the data directory (volume) that holds the replica.
	Dir       string
	BlockFile string
	MetaFile  string
	Checksum  Checksum
}

// Name is blk_<id>_<gs>.
func (r Replica) Name() string { return BlockName(r.BlockID, r.GenStamp) }

func (r Replica) String() string {
	return fmt.Sprintf("%s, %s, numBytes=%d, storage=%s", r.Name(), r.State, r.NumBytes, r.StorageID)
}

// DiskStats is what statfs says about the filesystem of a data directory.
type DiskStats struct {
	Total     int64 // size of the filesystem
	Free      int64 // free bytes, including those reserved for root
	Available int64 // bytes available to this process
}

// Options configures a Store. The zero value works: no logging, 512 bytes
// per checksum, the OS filesystem, a fresh DataNode uuid if no directory has
// one.
type Options struct {
	// Logger receives startup repairs and torn-file reports; nil for none.
	Logger *zap.Logger
	// BytesPerChecksum is dfs.bytes-per-checksum (512 when 0), used for
	// replicas created with a zero Checksum.
	BytesPerChecksum int
	// DatanodeUUID is used when no data directory is formatted yet (the
	// uuid of a DataNode that already registered elsewhere, say); the uuid
	// in the directories' VERSION files wins otherwise. Empty: a random one.
	DatanodeUUID string
	// Reserved is dfs.datanode.du.reserved: bytes per volume kept for
	// non-HDFS use, subtracted from capacity and remaining.
	Reserved int64
	// FS is the filesystem (vfs.Default when nil). With the OS filesystem
	// Open locks every data directory (in_use.lock) until Close.
	FS vfs.FS
	// Statfs reports the filesystem of a directory; nil uses statfs(2).
	// Tests with a MemFS pass their own.
	Statfs func(dir string) (DiskStats, error)
	// NoSyncOnClose is dfs.datanode.synconclose=false (Hadoop's default):
	// Finalize does not fsync the replica's files, only the directories
	// of its renames; a power failure may then tear a replica that was
	// finalized, and the startup scan or a reader's checksum finds it.
	NoSyncOnClose bool
}

// volume is one data directory.
type volume struct {
	root      string
	storageID string
	unlock    func() error
	// Guarded by Store.mu:
	clusterID string // "" until formatted
	pools     map[string]bool
}

type blockPool struct {
	added    bool
	replicas map[uint64]*replicaInfo
}

// replicaInfo is a replica's in-memory record. Every field is guarded by
// Store.mu.
type replicaInfo struct {
	bpid       string
	id         uint64
	gs         uint64
	state      State
	origState  State // for RUR
	recoveryID uint64
	vol        *volume
	numBytes   int64
	bytesAcked int64
	ackTracked bool // the writer reports acks (SetBytesAcked)
	cs         Checksum
	dataPath   string
	metaPath   string
	// writer is the ReplicaWriter that owns the replica's files, if any.
	// Invariant: writer != nil only for RBW and TEMPORARY.
	writer *ReplicaWriter
}

func (r *replicaInfo) snapshot() Replica {
	return Replica{
		BlockPoolID: r.bpid, BlockID: r.id, GenStamp: r.gs, NumBytes: r.numBytes,
		BytesAcked: r.bytesAcked, State: r.state, OriginalState: r.origState,
		RecoveryID: r.recoveryID, StorageID: r.vol.storageID, Dir: r.vol.root,
		BlockFile: r.dataPath, MetaFile: r.metaPath, Checksum: r.cs,
	}
}

// Store is a DataNode's block storage over its data directories. It is safe
// for concurrent use by many goroutines.
//
// Lock order: ReplicaWriter.mu before Store.mu. Store methods never wait for
// a writer's lock while holding Store.mu.
type Store struct {
	fs        vfs.FS
	log       *zap.Logger
	statfs    func(string) (DiskStats, error)
	reserved  int64
	noSync    bool // Options.NoSyncOnClose
	defaultCS Checksum
	uuid      string
	vols      []*volume

	mu struct {
		sync.Mutex
		closed bool
		pools  map[string]*blockPool
		next   int // round-robin volume choice
	}
}

// Open opens the data directories (dfs.datanode.data.dir entries; file://
// and [TYPE] prefixes allowed), creating missing ones, and rebuilds the
// replica map from what is on disk: finalized replicas, rbw replicas (which
// become RWR), with torn files repaired or ignored and logged; tmp/ is
// emptied. Directories not formatted yet are formatted by AddBlockPool.
func Open(dirs []string, opts Options) (*Store, error) {
	if len(dirs) == 0 {
		return nil, errors.New("no data directories (dfs.datanode.data.dir is empty)")
	}
	s := &Store{fs: opts.FS, log: opts.Logger, statfs: opts.Statfs, reserved: opts.Reserved, noSync: opts.NoSyncOnClose}
	if s.fs == nil {
		s.fs = vfs.Default
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.statfs == nil {
		s.statfs = statfs
	}
	bpc := opts.BytesPerChecksum
	if bpc == 0 {
		bpc = DefaultBytesPerChecksum
	}
	s.defaultCS = Checksum{Type: ChecksumCRC32C, BytesPerChecksum: bpc}
	if err := s.defaultCS.Validate(); err != nil {
		return nil, fmt.Errorf("dfs.bytes-per-checksum: %w", err)
	}
	s.mu.pools = map[string]*blockPool{}

	ok := false
	defer func() {
		if !ok {
			s.unlockAll()
		}
	}()
	seen := map[string]bool{}
	var versions []*dnVersion
	for _, d := range dirs {
		root, err := NormalizeDataDir(d)
		if err != nil {
			return nil, err
		}
		if seen[root] {
			continue
		}
		seen[root] = true
		if err := vfs.MkdirAllDurable(s.fs, root, 0o700); err != nil {
			return nil, fmt.Errorf("data directory %s: %w", root, err)
		}
		v := &volume{root: root, pools: map[string]bool{}}
		s.vols = append(s.vols, v)
		if s.fs == vfs.Default {
			if v.unlock, err = vfs.LockDir(root, "DataNode"); err != nil {
				return nil, err
			}
		}
		data, err := vfs.ReadFile(s.fs, volVersion(root))
		switch {
		case errors.Is(err, os.ErrNotExist):
			versions = append(versions, nil)
		case err != nil:
			return nil, fmt.Errorf("data directory %s: %w", root, err)
		default:
			dv, err := decodeDNVersion(volVersion(root), data)
			if err != nil {
				return nil, err
			}
			versions = append(versions, &dv)
			v.storageID, v.clusterID = dv.StorageID, dv.ClusterID
		}
	}
	for i, dv := range versions {
		if dv == nil {
			continue
		}
		if s.uuid == "" {
			s.uuid = dv.DatanodeUUID
		} else if dv.DatanodeUUID != s.uuid {
			return nil, fmt.Errorf("%w: Root %s: DatanodeUuid=%s, does not match %s from other StorageDirectory.",
				ErrIncompatibleStorage, s.vols[i].root, dv.DatanodeUUID, s.uuid)
		}
	}
	if s.uuid == "" {
		s.uuid = opts.DatanodeUUID
	}
	if s.uuid == "" {
		u, err := newUUID()
		if err != nil {
			return nil, err
		}
		s.uuid = u
	}
	for _, v := range s.vols {
		if v.storageID == "" {
			u, err := newUUID()
			if err != nil {
				return nil, err
			}
			v.storageID = "DS-" + u
		}
	}
	for _, v := range s.vols {
		if v.clusterID == "" {
			continue
		}
		names, err := s.fs.List(volCurrent(v.root))
		if err != nil {
			return nil, fmt.Errorf("data directory %s: %w", v.root, err)
		}
		for _, bpid := range names {
			if !strings.HasPrefix(bpid, blockPoolIDPfx) {
				continue
			}
			if err := s.loadBlockPool(v, bpid); err != nil {
				return nil, err
			}
		}
	}
	ok = true
	return s, nil
}

func (s *Store) unlockAll() {
	for _, v := range s.vols {
		if v.unlock != nil {
			if err := v.unlock(); err != nil {
				s.log.Warn("releasing data directory lock", zap.String("dir", v.root), zap.Error(err))
			}
			v.unlock = nil
		}
	}
}

// Close stops every open ReplicaWriter (their later calls fail with
// ErrWriterStopped; unfinalized replicas stay in rbw/ for recovery) and
// releases the data directories. Open ReplicaReaders keep working until
// closed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.closed = true
	var writers []*ReplicaWriter
	for _, p := range s.mu.pools {
		for _, r := range p.replicas {
			if r.writer != nil {
				writers = append(writers, r.writer)
				r.writer = nil
			}
		}
	}
	s.mu.Unlock()
	for _, w := range writers {
		w.stop()
	}
	s.unlockAll()
	return nil
}

// DatanodeUUID is the DataNode's uuid (datanodeUuid in VERSION).
func (s *Store) DatanodeUUID() string { return s.uuid }

// StorageIDs are the storage ids (DS-<uuid>) of the data directories, in the
// order the directories were given.
func (s *Store) StorageIDs() []string {
	ids := make([]string, len(s.vols))
	for i, v := range s.vols {
		ids[i] = v.storageID
	}
	return ids
}

// Dirs are the data directories (normalized), in the order given.
func (s *Store) Dirs() []string {
	dirs := make([]string, len(s.vols))
	for i, v := range s.vols {
		dirs[i] = v.root
	}
	return dirs
}

// AddBlockPool makes the block pool usable, on the first contact with a
// NameNode of the namespace (its NamespaceInfo: clusterID, namespaceID,
// cTime). An unformatted data directory is formatted (current/VERSION with
// this clusterID); a formatted one must have this clusterID. The block pool
// directories are created with their VERSION, or checked against it. It is
// idempotent: every NameNode of an HA nameservice may call it. Any refused
// directory fails the call (dfs.datanode.failed.volumes.tolerated is 0).
func (s *Store) AddBlockPool(bpid, clusterID string, namespaceID uint32, cTime int64) error {
	if !strings.HasPrefix(bpid, blockPoolIDPfx) || strings.ContainsAny(bpid, "/\\") {
		return fmt.Errorf("%w: bad block pool id %q", ErrBadRequest, bpid)
	}
	if clusterID == "" {
		return fmt.Errorf("%w: empty clusterID", ErrBadRequest)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return ErrClosed
	}
	for _, v := range s.vols {
		if err := s.addBlockPoolToVolumeLocked(v, bpid, clusterID, namespaceID, cTime); err != nil {
			return err
		}
	}
	p := s.poolLocked(bpid)
	p.added = true
	return nil
}

func (s *Store) poolLocked(bpid string) *blockPool {
	p := s.mu.pools[bpid]
	if p == nil {
		p = &blockPool{replicas: map[uint64]*replicaInfo{}}
		s.mu.pools[bpid] = p
	}
	return p
}

func (s *Store) addBlockPoolToVolumeLocked(v *volume, bpid, clusterID string, nsid uint32, cTime int64) error {
	if v.pools[bpid] {
		return nil
	}
	if v.clusterID == "" {
		if err := vfs.MkdirAllDurable(s.fs, volCurrent(v.root), 0o700); err != nil {
			return fmt.Errorf("formatting %s: %w", v.root, err)
		}
		dv := dnVersion{StorageID: v.storageID, ClusterID: clusterID, DatanodeUUID: s.uuid, LayoutVersion: LayoutVersion}
		if err := vfs.WriteFileAtomic(s.fs, volVersion(v.root), dv.encode()); err != nil {
			return fmt.Errorf("formatting %s: %w", v.root, err)
		}
		v.clusterID = clusterID
		s.log.Info("formatted data directory", zap.String("dir", v.root), zap.String("storageID", v.storageID),
			zap.String("clusterID", clusterID), zap.String("datanodeUuid", s.uuid))
	} else if v.clusterID != clusterID {
		return fmt.Errorf("%w: Incompatible clusterIDs in %s: namenode clusterID = %s; datanode clusterID = %s",
			ErrIncompatibleStorage, v.root, clusterID, v.clusterID)
	}
	vp := bpVersion(v.root, bpid)
	data, err := vfs.ReadFile(s.fs, vp)
	switch {
	case errors.Is(err, os.ErrNotExist):
		for _, d := range []string{finalizedRoot(v.root, bpid), rbwDir(v.root, bpid), tmpDir(v.root, bpid)} {
			if err := vfs.MkdirAllDurable(s.fs, d, 0o700); err != nil {
				return fmt.Errorf("block pool %s in %s: %w", bpid, v.root, err)
			}
		}
		bv := bpVersionInfo{NamespaceID: nsid, CTime: cTime, BlockPoolID: bpid, LayoutVersion: LayoutVersion}
		if err := vfs.WriteFileAtomic(s.fs, vp, bv.encode()); err != nil {
			return fmt.Errorf("block pool %s in %s: %w", bpid, v.root, err)
		}
		s.log.Info("formatted block pool", zap.String("dir", v.root), zap.String("bpid", bpid), zap.Uint32("namespaceID", nsid))
	case err != nil:
		return fmt.Errorf("block pool %s in %s: %w", bpid, v.root, err)
	default:
		bv, err := decodeBPVersion(vp, data)
		if err != nil {
			return err
		}
		if bv.NamespaceID != nsid {
			return fmt.Errorf("%w: Incompatible namespaceIDs in %s: namenode namespaceID = %d; datanode namespaceID = %d",
				ErrIncompatibleStorage, bpDir(v.root, bpid), int32(nsid), int32(bv.NamespaceID))
		}
		if bv.BlockPoolID != bpid {
			return fmt.Errorf("%w: Incompatible blockpoolIDs in %s: namenode blockpoolID = %s; datanode blockpoolID = %s",
				ErrIncompatibleStorage, bpDir(v.root, bpid), bpid, bv.BlockPoolID)
		}
		if bv.LayoutVersion != LayoutVersion {
			return fmt.Errorf("%w: %s: layoutVersion %d, this DataNode supports %d only", ErrIncompatibleStorage, vp, bv.LayoutVersion, LayoutVersion)
		}
		for _, d := range []string{finalizedRoot(v.root, bpid), rbwDir(v.root, bpid), tmpDir(v.root, bpid)} {
			if err := vfs.MkdirAllDurable(s.fs, d, 0o700); err != nil {
				return fmt.Errorf("block pool %s in %s: %w", bpid, v.root, err)
			}
		}
	}
	v.pools[bpid] = true
	return nil
}

// Get returns the replica of a block, if stored (in any state).
func (s *Store) Get(bpid string, blockID uint64) (Replica, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.mu.pools[bpid]; p != nil {
		if r := p.replicas[blockID]; r != nil {
			return r.snapshot(), true
		}
	}
	return Replica{}, false
}

// Report lists the replicas of a block pool for a full block report,
// ordered by block id: finalized ones, and RBW and RWR ones (which the
// NameNode files as under construction). A replica under recovery (RUR) is
// reported as its original state, as Hadoop does; TEMPORARY replicas are
// left out. Group by StorageID for per-storage reports.
func (s *Store) Report(bpid string) []Replica {
	s.mu.Lock()
	p := s.mu.pools[bpid]
	if p == nil {
		s.mu.Unlock()
		return nil
	}
	out := make([]Replica, 0, len(p.replicas))
	for _, r := range p.replicas {
		if r.state == StateTemporary {
			continue
		}
		rep := r.snapshot()
		if r.state == StateRUR {
			rep.State = r.origState
		}
		out = append(out, rep)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].BlockID < out[j].BlockID })
	return out
}

// NumReplicas is len(Report(bpid)) without building the report.
func (s *Store) NumReplicas(bpid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	if p := s.mu.pools[bpid]; p != nil {
		for _, r := range p.replicas {
			if r.state != StateTemporary {
				n++
			}
		}
	}
	return n
}

// BlockPools lists the block pools with replicas or added, sorted.
func (s *Store) BlockPools() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.mu.pools {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// lookupLocked finds a replica; nil when absent.
func (s *Store) lookupLocked(bpid string, id uint64) *replicaInfo {
	if p := s.mu.pools[bpid]; p != nil {
		return p.replicas[id]
	}
	return nil
}

// lockReplicaStopped returns with s.mu held and the replica (nil if absent)
// without a writer: a writer that owned it is stopped first (without s.mu,
// as the lock order requires), like Hadoop's stopWriter. check, when not
// nil, runs under s.mu before any writer is stopped and again after: its
// error is returned (without the lock) and leaves the writer alone, so a
// refused request never disturbs a write in progress.
func (s *Store) lockReplicaStopped(bpid string, id uint64, check func(r *replicaInfo) error) (*replicaInfo, error) {
	for {
		s.mu.Lock()
		if s.mu.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		r := s.lookupLocked(bpid, id)
		if check != nil {
			if err := check(r); err != nil {
				s.mu.Unlock()
				return nil, err
			}
		}
		if r == nil || r.writer == nil {
			return r, nil
		}
		w := r.writer
		s.mu.Unlock()
		w.stop()
		s.mu.Lock()
		if s.lookupLocked(bpid, id) == r && r.writer == w {
			r.writer = nil
			if check != nil {
				if err := check(r); err != nil {
					s.mu.Unlock()
					return nil, err
				}
			}
			return r, nil
		}
		s.mu.Unlock()
	}
}

// Invalidate deletes a replica (the NameNode's DNA_INVALIDATE), stopping its
// writer if it has one. It returns what was deleted, for the incremental
// block report (DELETED_BLOCK with its storage id). A replica with another
// generation stamp is not deleted.
func (s *Store) Invalidate(bpid string, blockID, genStamp uint64) (Replica, error) {
	r, err := s.lockReplicaStopped(bpid, blockID, func(r *replicaInfo) error {
		if r == nil {
			return fmt.Errorf("%w: Failed to delete replica %s: ReplicaInfo not found.", ErrReplicaNotFound, BlockName(blockID, genStamp))
		}
		if r.gs != genStamp {
			return fmt.Errorf("%w: Failed to delete replica %s: GenerationStamp not matched, existing replica is %s",
				ErrBadRequest, BlockName(blockID, genStamp), r.snapshot())
		}
		return nil
	})
	if err != nil {
		return Replica{}, err
	}
	defer s.mu.Unlock()
	rep := r.snapshot()
	if err := s.removeFiles(r.dataPath, r.metaPath); err != nil {
		return Replica{}, fmt.Errorf("deleting %s: %w", rep.Name(), err)
	}
	delete(s.mu.pools[bpid].replicas, blockID)
	return rep, nil
}

// removeFiles removes a replica's data then meta file; missing ones are fine.
func (s *Store) removeFiles(paths ...string) error {
	for _, p := range paths {
		if err := s.fs.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// VolumeUsage is the space of one data directory, as a DataNode reports it
// in StorageReports (Hadoop's FsVolumeImpl arithmetic).
type VolumeUsage struct {
	Dir       string
	StorageID string
	// Capacity is the filesystem size less dfs.datanode.du.reserved.
	Capacity int64
	// DfsUsed is what replicas take (data and meta files).
	DfsUsed int64
	// Remaining is what new replicas may still take.
	Remaining int64
	// NonDfsUsed is other files' usage beyond the reserved space.
	NonDfsUsed int64
}

// Usage reports the space of every data directory and their sum.
func (s *Store) Usage() (total VolumeUsage, volumes []VolumeUsage, err error) {
	used := map[*volume]int64{}
	s.mu.Lock()
	for _, p := range s.mu.pools {
		for _, r := range p.replicas {
			used[r.vol] += r.numBytes + r.cs.MetaLength(r.numBytes)
		}
	}
	s.mu.Unlock()
	for _, v := range s.vols {
		st, err := s.statfs(v.root)
		if err != nil {
			return VolumeUsage{}, nil, fmt.Errorf("statfs %s: %w", v.root, err)
		}
		u := volumeUsage(st, used[v], s.reserved)
		u.Dir, u.StorageID = v.root, v.storageID
		volumes = append(volumes, u)
		total.Capacity += u.Capacity
		total.DfsUsed += u.DfsUsed
		total.Remaining += u.Remaining
		total.NonDfsUsed += u.NonDfsUsed
	}
	return total, volumes, nil
}

// volumeUsage is the pure arithmetic of Usage.
func volumeUsage(st DiskStats, dfsUsed, reserved int64) VolumeUsage {
	capacity := max(st.Total-reserved, 0)
	actualNonDfs := max(st.Total-st.Free-dfsUsed, 0)
	remainingReserved := max(reserved-actualNonDfs, 0)
	remaining := capacity - dfsUsed
	if avail := st.Available - remainingReserved; avail < remaining {
		remaining = avail
	}
	return VolumeUsage{
		Capacity:   capacity,
		DfsUsed:    dfsUsed,
		Remaining:  max(remaining, 0),
		NonDfsUsed: max(actualNonDfs-reserved, 0),
	}
}

// chooseVolumeLocked picks the volume for a new replica: round robin over
// the volumes that hold the block pool (Hadoop's default
// RoundRobinVolumeChoosingPolicy, without its space check).
func (s *Store) chooseVolumeLocked(bpid string) (*volume, error) {
	for i := 0; i < len(s.vols); i++ {
		v := s.vols[(s.mu.next+i)%len(s.vols)]
		if v.pools[bpid] {
			s.mu.next = (s.mu.next + i + 1) % len(s.vols)
			return v, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrBlockPoolNotAdded, bpid)
}

// readFull reads len(p) bytes at off, or fails.
func readFull(f vfs.File, p []byte, off int64) error {
	n, err := f.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
