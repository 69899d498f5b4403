package vfs

import (
	"errors"
	"io"
	"math/rand"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemFS is an in-memory FS that remembers, for every file and directory,
// what would survive a crash under the durability model of this package
// (see the package doc). CrashClone returns the filesystem a machine would
// find after losing power at this instant.
//
// Paths are slash-separated after cleaning; relative paths are taken from
// the root. MemFS is safe for concurrent use.
type MemFS struct {
	mu struct {
		sync.Mutex
		// root is the root directory. The root itself always exists and is
		// durable; its entries are durable once SyncDir("/") ran.
		root *memNode
	}
}

// memNode is a file or a directory (an inode). A node may be reachable
// from several names only after a crash clone of an unsynced rename (see
// CrashClone), like a hard link.
type memNode struct {
	isDir bool

	// File state.
	// data is the current contents. synced is the contents as of the last
	// Sync; it is never aliased with data (a Sync copies).
	data   []byte
	synced []byte

	// Directory state. children is the current set of entries;
	// syncedChildren is the set as of the last SyncDir of this directory.
	// Invariant: for directories both maps are non-nil; for files both are
	// nil.
	children       map[string]*memNode
	syncedChildren map[string]*memNode
}

func newMemDir() *memNode {
	return &memNode{isDir: true, children: map[string]*memNode{}, syncedChildren: map[string]*memNode{}}
}

// NewMem returns an empty in-memory filesystem.
func NewMem() *MemFS {
	fs := &MemFS{}
	fs.mu.root = newMemDir()
	return fs
}

var _ FS = (*MemFS)(nil)

// splitPath cleans name into its components below the root.
func splitPath(name string) []string {
	p := path.Clean("/" + filepath.ToSlash(name))
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

func pathErr(op, name string, err error) error {
	return &os.PathError{Op: op, Path: name, Err: err}
}

// lookupLocked returns the node at the given components.
func (fs *MemFS) lookupLocked(parts []string) (*memNode, bool) {
	n := fs.mu.root
	for _, p := range parts {
		if !n.isDir {
			return nil, false
		}
		c, ok := n.children[p]
		if !ok {
			return nil, false
		}
		n = c
	}
	return n, true
}

// parentLocked returns the directory that holds the last component of name.
func (fs *MemFS) parentLocked(op, name string) (*memNode, string, error) {
	parts := splitPath(name)
	if len(parts) == 0 {
		return nil, "", pathErr(op, name, errors.New("is the root directory"))
	}
	dir, ok := fs.lookupLocked(parts[:len(parts)-1])
	if !ok {
		return nil, "", pathErr(op, name, os.ErrNotExist)
	}
	if !dir.isDir {
		return nil, "", pathErr(op, name, errors.New("not a directory"))
	}
	return dir, parts[len(parts)-1], nil
}

// Create implements FS.
func (fs *MemFS) Create(name string) (File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	dir, base, err := fs.parentLocked("create", name)
	if err != nil {
		return nil, err
	}
	if n, ok := dir.children[base]; ok {
		if n.isDir {
			return nil, pathErr("create", name, errors.New("is a directory"))
		}
		// Truncating an existing file changes its contents, not its
		// directory entry: the data loss is undone by a crash until Sync.
		n.data = nil
		return &memFile{fs: fs, n: n, name: name, writable: true}, nil
	}
	n := &memNode{}
	dir.children[base] = n
	return &memFile{fs: fs, n: n, name: name, writable: true}, nil
}

func (fs *MemFS) open(op, name string, writable bool) (File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n, ok := fs.lookupLocked(splitPath(name))
	if !ok {
		return nil, pathErr(op, name, os.ErrNotExist)
	}
	if n.isDir && writable {
		return nil, pathErr(op, name, errors.New("is a directory"))
	}
	return &memFile{fs: fs, n: n, name: name, writable: writable}, nil
}

// Open implements FS.
func (fs *MemFS) Open(name string) (File, error) { return fs.open("open", name, false) }

// OpenReadWrite implements FS.
func (fs *MemFS) OpenReadWrite(name string) (File, error) { return fs.open("open", name, true) }

// Remove implements FS.
func (fs *MemFS) Remove(name string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	dir, base, err := fs.parentLocked("remove", name)
	if err != nil {
		return err
	}
	n, ok := dir.children[base]
	if !ok {
		return pathErr("remove", name, os.ErrNotExist)
	}
	if n.isDir && len(n.children) > 0 {
		return pathErr("remove", name, errors.New("directory not empty"))
	}
	delete(dir.children, base)
	return nil
}

// Rename implements FS.
func (fs *MemFS) Rename(oldname, newname string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	odir, obase, err := fs.parentLocked("rename", oldname)
	if err != nil {
		return err
	}
	n, ok := odir.children[obase]
	if !ok {
		return pathErr("rename", oldname, os.ErrNotExist)
	}
	ndir, nbase, err := fs.parentLocked("rename", newname)
	if err != nil {
		return err
	}
	if old, ok := ndir.children[nbase]; ok {
		if old == n {
			return nil
		}
		if old.isDir {
			return pathErr("rename", newname, errors.New("is a directory"))
		}
	}
	delete(odir.children, obase)
	ndir.children[nbase] = n
	return nil
}

// MkdirAll implements FS.
func (fs *MemFS) MkdirAll(dir string, perm os.FileMode) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := fs.mu.root
	for _, p := range splitPath(dir) {
		c, ok := n.children[p]
		if !ok {
			c = newMemDir()
			n.children[p] = c
		} else if !c.isDir {
			return pathErr("mkdir", dir, errors.New("not a directory"))
		}
		n = c
	}
	return nil
}

// List implements FS.
func (fs *MemFS) List(dir string) ([]string, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n, ok := fs.lookupLocked(splitPath(dir))
	if !ok {
		return nil, pathErr("open", dir, os.ErrNotExist)
	}
	if !n.isDir {
		return nil, pathErr("readdirent", dir, errors.New("not a directory"))
	}
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// Stat implements FS.
func (fs *MemFS) Stat(name string) (os.FileInfo, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n, ok := fs.lookupLocked(splitPath(name))
	if !ok {
		return nil, pathErr("stat", name, os.ErrNotExist)
	}
	return n.infoLocked(name), nil
}

// SyncDir implements FS.
func (fs *MemFS) SyncDir(dir string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n, ok := fs.lookupLocked(splitPath(dir))
	if !ok {
		return pathErr("open", dir, os.ErrNotExist)
	}
	if !n.isDir {
		return pathErr("sync", dir, errors.New("not a directory"))
	}
	n.syncedChildren = make(map[string]*memNode, len(n.children))
	for k, v := range n.children {
		n.syncedChildren[k] = v
	}
	return nil
}

// CrashClone returns the filesystem as it would be found after a crash
// now: every file holds exactly its contents as of its last Sync (empty if
// never synced), and every directory holds exactly its entries as of its
// last SyncDir. A directory that is not reachable through synced entries
// is gone with everything below it. The receiver is not changed.
//
// A file renamed from one directory to another where only one of the two
// was synced may appear under both names in the clone, sharing one inode
// as a hard link would.
func (fs *MemFS) CrashClone() *MemFS {
	return fs.crashClone(nil)
}

// CrashCloneTorn is CrashClone where a file that was only appended to
// since its last Sync keeps a random prefix of the unsynced bytes, the
// last part of which may read as zeros (blocks allocated but never
// written). This is how torn tails appear on real disks. Files otherwise
// changed since their last Sync revert to the synced contents.
func (fs *MemFS) CrashCloneTorn(rng *rand.Rand) *MemFS {
	return fs.crashClone(rng)
}

func (fs *MemFS) crashClone(rng *rand.Rand) *MemFS {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	clones := map[*memNode]*memNode{}
	var clone func(n *memNode) *memNode
	clone = func(n *memNode) *memNode {
		if c, ok := clones[n]; ok {
			return c
		}
		if n.isDir {
			c := newMemDir()
			clones[n] = c
			names := make([]string, 0, len(n.syncedChildren))
			for name := range n.syncedChildren {
				names = append(names, name)
			}
			sort.Strings(names) // determinism of rng draws
			for _, name := range names {
				cc := clone(n.syncedChildren[name])
				c.children[name] = cc
				c.syncedChildren[name] = cc
			}
			return c
		}
		data := append([]byte(nil), n.synced...)
		if rng != nil && len(n.data) > len(n.synced) && string(n.data[:len(n.synced)]) == string(n.synced) {
			tail := n.data[len(n.synced):]
			keep := rng.Intn(len(tail) + 1)
			kept := append([]byte(nil), tail[:keep]...)
			if keep > 0 && rng.Intn(3) == 0 {
				zeroFrom := rng.Intn(keep)
				for i := zeroFrom; i < keep; i++ {
					kept[i] = 0
				}
			}
			data = append(data, kept...)
		}
		c := &memNode{data: data, synced: append([]byte(nil), data...)}
		clones[n] = c
		return c
	}
	out := &MemFS{}
	out.mu.root = clone(fs.mu.root)
	return out
}

func (n *memNode) infoLocked(name string) os.FileInfo {
	fi := memFileInfo{name: path.Base("/" + filepath.ToSlash(name)), isDir: n.isDir}
	if !n.isDir {
		fi.size = int64(len(n.data))
	}
	return fi
}

type memFileInfo struct {
	name  string
	size  int64
	isDir bool
}

func (fi memFileInfo) Name() string { return fi.name }
func (fi memFileInfo) Size() int64  { return fi.size }
func (fi memFileInfo) Mode() os.FileMode {
	if fi.isDir {
		return os.ModeDir | 0o755
	}
	return 0o644
}
func (fi memFileInfo) ModTime() time.Time { return time.Time{} }
func (fi memFileInfo) IsDir() bool        { return fi.isDir }
func (fi memFileInfo) Sys() any           { return nil }

// memFile is an open MemFS file. Its offset is private to the handle.
type memFile struct {
	fs       *MemFS
	n        *memNode
	name     string
	writable bool
	off      int64
	closed   bool
}

var _ File = (*memFile)(nil)

var errClosed = errors.New("file already closed")

func (f *memFile) check(op string, write bool) error {
	if f.closed {
		return pathErr(op, f.name, errClosed)
	}
	if write && !f.writable {
		return pathErr(op, f.name, errors.New("bad file descriptor"))
	}
	if f.n.isDir && op != "stat" && op != "close" && op != "sync" {
		return pathErr(op, f.name, errors.New("is a directory"))
	}
	return nil
}

func (f *memFile) Read(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	if f.off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	k := copy(p, f.n.data[f.off:])
	f.off += int64(k)
	return k, nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("read", f.name, errors.New("negative offset"))
	}
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	k := copy(p, f.n.data[off:])
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("write", true); err != nil {
		return 0, err
	}
	end := f.off + int64(len(p))
	if end > int64(len(f.n.data)) {
		grown := make([]byte, end)
		copy(grown, f.n.data)
		f.n.data = grown
	}
	copy(f.n.data[f.off:], p)
	f.off = end
	return len(p), nil
}

func (f *memFile) Seek(offset int64, whence int) (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("seek", false); err != nil {
		return 0, err
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = f.off + offset
	case io.SeekEnd:
		abs = int64(len(f.n.data)) + offset
	default:
		return 0, pathErr("seek", f.name, errors.New("invalid whence"))
	}
	if abs < 0 {
		return 0, pathErr("seek", f.name, errors.New("negative offset"))
	}
	f.off = abs
	return abs, nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("sync", false); err != nil {
		return err
	}
	if !f.n.isDir {
		f.n.synced = append([]byte(nil), f.n.data...)
	}
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("truncate", true); err != nil {
		return err
	}
	if size < 0 {
		return pathErr("truncate", f.name, errors.New("negative size"))
	}
	if size <= int64(len(f.n.data)) {
		f.n.data = append([]byte(nil), f.n.data[:size]...)
	} else {
		grown := make([]byte, size)
		copy(grown, f.n.data)
		f.n.data = grown
	}
	return nil
}

func (f *memFile) Stat() (os.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("stat", false); err != nil {
		return nil, err
	}
	return f.n.infoLocked(f.name), nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return pathErr("close", f.name, errClosed)
	}
	f.closed = true
	return nil
}
