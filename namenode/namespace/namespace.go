package namespace

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/editpb"
)

// Well-known values, as in Hadoop.
const (
	// RootINodeID is Hadoop's INodeId.ROOT_INODE_ID.
	RootINodeID uint64 = 16385
	// LastReservedBlockID is Hadoop's SequentialBlockIdGenerator
	// LAST_RESERVED_BLOCK_ID: the first allocated block id is one more.
	LastReservedBlockID uint64 = 1 << 30
	// LastReservedGenStamp is Hadoop's GenerationStamp.LAST_RESERVED_STAMP.
	LastReservedGenStamp uint64 = 1000
	// LayoutVersion is the version of the key layout drawn in doc.go.
	// Version 1 had no open-file index; Open adds it (upgradeLayout).
	LayoutVersion = 2

	// imageTxIDFile names the file Checkpoint writes next to the Pebble
	// files: the txid of the checkpoint in decimal.
	imageTxIDFile = "IMAGE_TXID"
)

// ErrCorrupt marks an edit that does not apply to the namespace (its path
// is missing, a parent is a file, ...) or a store that does not decode: a bug
// or a bad disk, never a client error. The NameNode must stop.
var ErrCorrupt = errors.New("namespace: corrupt")

// ErrNotFormatted is returned by Open on an empty store.
var ErrNotFormatted = errors.New("namespace: not formatted")

// Options configures a Namespace. The zero value is usable: permissions
// disabled, Hadoop's default limits.
type Options struct {
	Permissions Permissions
	Limits      Limits
	// Logger receives Pebble's log lines; nil discards them.
	Logger pebble.Logger
	// FS is the filesystem of the store and of checkpoints; nil is the
	// operating system's. Tests pass a crashable memory filesystem.
	FS vfs.FS
	// CacheSize is Pebble's block cache in bytes (default 256 MiB): the
	// namespace is read on every call, so it should hold the hot inodes.
	CacheSize int64
	// ReadCacheSize bounds the cache of decoded-path values (inodes and
	// directory entries) in front of Pebble, in bytes (default
	// DefaultReadCacheSize); negative turns it off.
	ReadCacheSize int64
}

// DefaultCacheSize is the block cache size Open uses when Options has none.
const DefaultCacheSize = 256 << 20

// Limits are the HDFS argument limits Prepare enforces.
type Limits struct {
	// MinReplication and MaxReplication bound a file's replication
	// (dfs.namenode.replication.min = 1, dfs.replication.max = 512).
	MinReplication uint32
	MaxReplication uint32
	// MinBlockSize is dfs.namenode.fs-limits.min-block-size (1 MiB).
	MinBlockSize uint64
	// MaxXAttrsPerINode is dfs.namenode.fs-limits.max-xattrs-per-inode (32);
	// MaxXAttrSize is dfs.namenode.fs-limits.max-xattr-size (16384), the
	// name plus value in bytes.
	MaxXAttrsPerINode int
	MaxXAttrSize      int
	// MaxComponentLength is dfs.namenode.fs-limits.max-component-length
	// (255 bytes) and MaxDirectoryItems dfs.namenode.fs-limits.max-directory-items
	// (1048576), checked on the names a call creates.
	MaxComponentLength int
	MaxDirectoryItems  int64
}

// DefaultLimits returns Hadoop's defaults.
func DefaultLimits() Limits {
	return Limits{MinReplication: 1, MaxReplication: 512, MinBlockSize: 1 << 20, MaxXAttrsPerINode: 32, MaxXAttrSize: 16384,
		MaxComponentLength: 255, MaxDirectoryItems: 1048576}
}

// NamespaceInfo identifies a formatted namespace; Format writes it with the
// root directory.
type NamespaceInfo struct {
	NamespaceID int32
	ClusterID   string
	BlockPoolID string
	CTime       int64
}

// Namespace is the Pebble-backed namespace. See doc.go for what callers
// must do.
type Namespace struct {
	db   *pebble.DB
	opts Options
	// cache (nil when off) and rd, the reader through it: every read of
	// the committed store that resolves paths uses rd, and every write
	// commits through commit, which keeps cache consistent.
	cache *readCache
	rd    cachedReader

	// mu serialises Apply, Format and Checkpoint, and guards m.
	mu sync.Mutex
	// m mirrors the metadata keys; written to the store in the same batch
	// as every change, replaced in memory only after that batch commits.
	m meta
}

// meta is the namespace metadata. Invariant: equals the meta keys in the
// store whenever mu is not held.
type meta struct {
	lastTxID    int64
	lastINodeID uint64
	lastBlockID uint64
	genStamp    uint64
	files       int64
	dirs        int64
	info        NamespaceInfo
	formatted   bool
}

type discardLogger struct{}

func (discardLogger) Infof(string, ...any)         {}
func (discardLogger) Errorf(string, ...any)        {}
func (discardLogger) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

// Open opens (creating when missing) the namespace store in dir. An empty
// store must be formatted with Format before use; other methods return
// ErrNotFormatted until then.
func Open(dir string, opts Options) (*Namespace, error) {
	if opts.Limits == (Limits{}) {
		opts.Limits = DefaultLimits()
	}
	logger := opts.Logger
	if logger == nil {
		logger = discardLogger{}
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	db, err := pebble.Open(dir, &pebble.Options{Logger: logger, CacheSize: opts.CacheSize, FS: opts.FS})
	if err != nil {
		return nil, fmt.Errorf("namespace: open %s: %w", dir, err)
	}
	ns := &Namespace{db: db, opts: opts, cache: newReadCache(opts.ReadCacheSize)}
	ns.rd = cachedReader{db: db, c: ns.cache}
	if err := ns.loadMeta(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return ns, nil
}

// OpenCheckpoint replaces dir with a copy of the checkpoint in image (made by
// Checkpoint) and opens it. dir is disposable working state: whatever it
// held is removed. The image is copied, not linked, and never changes.
func OpenCheckpoint(image, dir string, opts Options) (*Namespace, error) {
	fs := opts.FS
	if fs == nil {
		fs = vfs.Default
	}
	want, err := CheckpointTxID(fs, image)
	if err != nil {
		return nil, fmt.Errorf("namespace: checkpoint %s: %w", image, err)
	}
	if err := fs.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("namespace: remove %s: %w", dir, err)
	}
	if _, err := vfs.Clone(fs, fs, image, dir); err != nil {
		return nil, fmt.Errorf("namespace: copy checkpoint %s: %w", image, err)
	}
	ns, err := Open(dir, opts)
	if err != nil {
		return nil, err
	}
	if got := ns.LastAppliedTxID(); got != want {
		_ = ns.Close()
		return nil, fmt.Errorf("%w: checkpoint %s is stamped txid %d but holds txid %d", ErrCorrupt, image, want, got)
	}
	return ns, nil
}

// Close closes the store.
func (ns *Namespace) Close() error {
	return ns.db.Close()
}

func (ns *Namespace) loadMeta() error {
	getU := func(k []byte) (uint64, bool, error) {
		v, c, err := ns.db.Get(k)
		if errors.Is(err, pebble.ErrNotFound) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, err
		}
		defer c.Close()
		if len(v) != 8 {
			return 0, false, fmt.Errorf("%w: meta key %q has %d bytes", ErrCorrupt, k[1:], len(v))
		}
		return binary.BigEndian.Uint64(v), true, nil
	}
	getS := func(k []byte) (string, error) {
		v, c, err := ns.db.Get(k)
		if errors.Is(err, pebble.ErrNotFound) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		defer c.Close()
		return string(v), nil
	}
	lv, ok, err := getU(metaLayoutVersion)
	if err != nil || !ok {
		return err
	}
	if lv == 1 {
		if err := ns.upgradeLayout(); err != nil {
			return err
		}
	} else if lv != LayoutVersion {
		return fmt.Errorf("%w: layout version %d, want %d", ErrCorrupt, lv, LayoutVersion)
	}
	var m meta
	m.formatted = true
	for _, f := range []struct {
		k []byte
		p *uint64
	}{{metaLastINodeID, &m.lastINodeID}, {metaLastBlockID, &m.lastBlockID}, {metaGenStamp, &m.genStamp}} {
		if *f.p, _, err = getU(f.k); err != nil {
			return err
		}
	}
	var u uint64
	if u, _, err = getU(metaLastTxID); err != nil {
		return err
	}
	m.lastTxID = int64(u)
	if u, _, err = getU(metaFiles); err != nil {
		return err
	}
	m.files = int64(u)
	if u, _, err = getU(metaDirs); err != nil {
		return err
	}
	m.dirs = int64(u)
	if u, _, err = getU(metaNamespaceID); err != nil {
		return err
	}
	m.info.NamespaceID = int32(u)
	if u, _, err = getU(metaCTime); err != nil {
		return err
	}
	m.info.CTime = int64(u)
	if m.info.ClusterID, err = getS(metaClusterID); err != nil {
		return err
	}
	if m.info.BlockPoolID, err = getS(metaBlockPoolID); err != nil {
		return err
	}
	if root, err := getINode(ns.db, RootINodeID); err != nil {
		return err
	} else if root == nil {
		return fmt.Errorf("%w: no root inode", ErrCorrupt)
	}
	ns.m = m
	return nil
}

// writeMeta puts every metadata key of m into b.
func writeMeta(b *pebble.Batch, m *meta) error {
	for _, kv := range []struct {
		k []byte
		v []byte
	}{
		{metaLastTxID, u64(uint64(m.lastTxID))},
		{metaLastINodeID, u64(m.lastINodeID)},
		{metaLastBlockID, u64(m.lastBlockID)},
		{metaGenStamp, u64(m.genStamp)},
		{metaFiles, u64(uint64(m.files))},
		{metaDirs, u64(uint64(m.dirs))},
	} {
		if err := b.Set(kv.k, kv.v, nil); err != nil {
			return err
		}
	}
	return nil
}

// Format writes an empty namespace with txid 0 as its last applied txid:
// the root directory with permission root (Hadoop: the formatting user, the
// superuser group, 0755) and mtime now (ms). The store must be empty.
func (ns *Namespace) Format(info NamespaceInfo, root *editpb.Permission, now int64) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.m.formatted {
		return fmt.Errorf("namespace: already formatted (namespace id %d)", ns.m.info.NamespaceID)
	}
	m := meta{
		lastINodeID: RootINodeID,
		lastBlockID: LastReservedBlockID,
		genStamp:    LastReservedGenStamp,
		dirs:        1,
		info:        info,
		formatted:   true,
	}
	b := ns.db.NewBatch()
	defer b.Close()
	rootINode := &editpb.INode{
		Id:    RootINodeID,
		Type:  editpb.INodeType_DIRECTORY,
		Perm:  clonePerm(root),
		Mtime: now,
		Atime: now,
	}
	if err := putINode(b, rootINode, false); err != nil {
		return err
	}
	for _, kv := range []struct {
		k []byte
		v []byte
	}{
		{metaLayoutVersion, u64(LayoutVersion)},
		{metaNamespaceID, u64(uint64(uint32(info.NamespaceID)))},
		{metaClusterID, []byte(info.ClusterID)},
		{metaBlockPoolID, []byte(info.BlockPoolID)},
		{metaCTime, u64(uint64(info.CTime))},
	} {
		if err := b.Set(kv.k, kv.v, nil); err != nil {
			return err
		}
	}
	if err := writeMeta(b, &m); err != nil {
		return err
	}
	// Format is the one write that is synced: an unformatted directory is
	// not a valid working directory to rebuild from.
	if err := ns.commit(b, pebble.Sync); err != nil {
		return fmt.Errorf("namespace: format: %w", err)
	}
	ns.m = m
	return nil
}

// Info returns the identity written by Format.
func (ns *Namespace) Info() NamespaceInfo {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.m.info
}

// LastAppliedTxID returns the txid of the last applied op (0 after Format).
func (ns *Namespace) LastAppliedTxID() int64 {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.m.lastTxID
}

// Counters are the namespace's counters.
type Counters struct {
	LastINodeID uint64
	LastBlockID uint64
	GenStamp    uint64
	Files       int64
	Dirs        int64
}

// Counters returns the current counters.
func (ns *Namespace) Counters() Counters {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return Counters{ns.m.lastINodeID, ns.m.lastBlockID, ns.m.genStamp, ns.m.files, ns.m.dirs}
}

func (ns *Namespace) snapshotMeta() meta {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.m
}

// Checkpoint writes a consistent Pebble checkpoint of the namespace into dir
// (which must not exist) and returns the txid it holds: the image of that
// txid. The txid is also written to dir/IMAGE_TXID (see CheckpointTxID).
func (ns *Namespace) Checkpoint(dir string) (int64, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if !ns.m.formatted {
		return 0, ErrNotFormatted
	}
	txid := ns.m.lastTxID
	if err := ns.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return 0, fmt.Errorf("namespace: checkpoint %s: %w", dir, err)
	}
	f, err := ns.opts.FS.Create(ns.opts.FS.PathJoin(dir, imageTxIDFile), vfs.WriteCategoryUnspecified)
	if err == nil {
		_, err = f.Write([]byte(strconv.FormatInt(txid, 10) + "\n"))
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return 0, fmt.Errorf("namespace: checkpoint %s: %w", dir, err)
	}
	return txid, nil
}

// CheckpointTxID returns the txid a checkpoint directory is stamped with;
// fs nil is the operating system's filesystem.
func CheckpointTxID(fs vfs.FS, dir string) (int64, error) {
	if fs == nil {
		fs = vfs.Default
	}
	f, err := fs.Open(fs.PathJoin(dir, imageTxIDFile))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// Checksum returns a SHA-256 over every key and value of the store in key
// order (each as uvarint length + bytes). Two namespaces that applied the
// same ops from the same image have equal checksums.
func (ns *Namespace) Checksum() ([32]byte, error) {
	var sum [32]byte
	snap := ns.db.NewSnapshot()
	defer snap.Close()
	it, err := snap.NewIter(nil)
	if err != nil {
		return sum, err
	}
	h := sha256.New()
	var lb [binary.MaxVarintLen64]byte
	for ok := it.First(); ok; ok = it.Next() {
		h.Write(lb[:binary.PutUvarint(lb[:], uint64(len(it.Key())))])
		h.Write(it.Key())
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return sum, err
		}
		h.Write(lb[:binary.PutUvarint(lb[:], uint64(len(v)))])
		h.Write(v)
	}
	if err := it.Close(); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// reader is what both the DB (reads) and an indexed batch (Apply) offer.
type reader interface {
	Get(key []byte) ([]byte, io.Closer, error)
	NewIter(o *pebble.IterOptions) (*pebble.Iterator, error)
}

var marshalOpts = proto.MarshalOptions{Deterministic: true}

func getINode(r reader, id uint64) (*editpb.INode, error) {
	v, c, err := r.Get(inodeKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer c.Close()
	n := &editpb.INode{}
	if err := proto.Unmarshal(v, n); err != nil {
		return nil, fmt.Errorf("%w: inode %d: %v", ErrCorrupt, id, err)
	}
	return n, nil
}

// writer is a batch, or a txn that notes what it writes.
type writer interface {
	Set(key, value []byte, o *pebble.WriteOptions) error
	Delete(key []byte, o *pebble.WriteOptions) error
}

// putINode writes n and keeps the open-file index in step with it: a file
// with a client name has an openKey, any other file has none. wasOpen says
// whether the stored copy of n (none for a new inode) had a client name;
// the index is written only when that changes, so closed files and every
// addBlock of an open one cost no index write.
func putINode(b writer, n *editpb.INode, wasOpen bool) error {
	v, err := marshalOpts.Marshal(n)
	if err != nil {
		return err
	}
	if err := b.Set(inodeKey(n.Id), v, nil); err != nil {
		return err
	}
	switch open := isFile(n) && n.ClientName != ""; {
	case open && !wasOpen:
		return b.Set(openKey(n.Id), nil, nil)
	case !open && wasOpen:
		return b.Delete(openKey(n.Id), nil)
	}
	return nil
}

// upgradeLayout turns a layout-1 store (no open-file index) into layout
// 2: one scan of the inodes writes the index and the new version in one
// batch. It runs at Open, before anything else reads the store.
func (ns *Namespace) upgradeLayout() error {
	it, err := ns.db.NewIter(iterPrefix([]byte{prefixINode}))
	if err != nil {
		return err
	}
	b := ns.db.NewBatch()
	defer b.Close()
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return err
		}
		n := &editpb.INode{}
		if err := proto.Unmarshal(v, n); err != nil {
			_ = it.Close()
			return corruptf("inode key %x: %v", it.Key(), err)
		}
		if isFile(n) && n.ClientName != "" {
			if err := b.Set(openKey(n.Id), nil, nil); err != nil {
				_ = it.Close()
				return err
			}
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	if err := b.Set(metaLayoutVersion, u64(LayoutVersion), nil); err != nil {
		return err
	}
	return ns.db.Apply(b, pebble.Sync)
}

// lookup returns the inode id of name in directory parent, or 0.
func lookup(r reader, parent uint64, name string) (uint64, error) {
	v, c, err := r.Get(direntKey(parent, name))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: entry %d/%q has %d bytes", ErrCorrupt, parent, name, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}
