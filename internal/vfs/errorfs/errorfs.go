// Package errorfs wraps a vfs.FS and makes chosen operations fail with
// ErrInjected, so tests can check that storage code handles every I/O
// failure, and (with vfs.MemFS.CrashClone) that a crash at any point loses
// nothing that was acknowledged.
//
// An Injector decides, operation by operation, whether to fail. Operations
// are counted in the order they reach the wrapper, across all files; a
// failed operation has no effect on the underlying filesystem (a failed
// Write writes nothing).
package errorfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/hdfsha/hdfsha/internal/vfs"
)

// ErrInjected is the error every injected failure wraps.
var ErrInjected = errors.New("errorfs: injected error")

// Op is a kind of filesystem operation. Ops are bits so they combine into
// sets.
type Op uint32

// The operations an Injector sees.
const (
	OpCreate Op = 1 << iota
	OpOpen
	OpRemove
	OpRename
	OpMkdirAll
	OpList
	OpStat
	OpSyncDir
	OpRead
	OpWrite
	OpSync
	OpTruncate
	OpClose
	OpSeek
)

// Mutating is every operation that changes the filesystem or makes a
// change durable: the points where a crash matters.
const Mutating = OpCreate | OpRemove | OpRename | OpMkdirAll | OpSyncDir | OpWrite | OpSync | OpTruncate

// All is every operation.
const All Op = 1<<14 - 1

var opNames = []string{"create", "open", "remove", "rename", "mkdirall", "list", "stat", "syncdir", "read", "write", "sync", "truncate", "close", "seek"}

func (o Op) String() string {
	var parts []string
	for i, n := range opNames {
		if o&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// Injector decides whether an operation fails. It must be safe for
// concurrent use.
type Injector interface {
	// MaybeError returns nil to let the operation through, or the error
	// (wrapping ErrInjected) to return instead.
	MaybeError(op Op, path string) error
}

// Counter is an Injector that counts the operations in a set and fails
// them according to its mode. The zero value is not usable; use OnIndex,
// AfterIndex or Count.
type Counter struct {
	ops Op
	k   int64
	// sticky makes every matching operation from the k-th on fail.
	sticky bool

	mu struct {
		sync.Mutex
		// n is the number of matching operations seen so far.
		n int64
	}
}

// OnIndex fails only the k-th (1-based) operation in ops.
func OnIndex(k int64, ops Op) *Counter { return &Counter{ops: ops, k: k} }

// AfterIndex fails the k-th (1-based) operation in ops and every one after
// it: the process is as good as dead from that point on.
func AfterIndex(k int64, ops Op) *Counter { return &Counter{ops: ops, k: k, sticky: true} }

// Count fails nothing and counts the operations in ops, to learn how many
// failure points a workload has.
func Count(ops Op) *Counter { return &Counter{ops: ops, k: -1} }

// N returns how many matching operations have been seen.
func (c *Counter) N() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.n
}

// Fired reports whether an error has been injected.
func (c *Counter) Fired() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.k > 0 && c.mu.n >= c.k
}

// MaybeError implements Injector.
func (c *Counter) MaybeError(op Op, path string) error {
	if op&c.ops == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.n++
	if c.k > 0 && (c.mu.n == c.k || (c.sticky && c.mu.n > c.k)) {
		return fmt.Errorf("%w: %s %s (op #%d)", ErrInjected, op, path, c.mu.n)
	}
	return nil
}

// FS is a vfs.FS whose operations pass an Injector first.
type FS struct {
	fs  vfs.FS
	inj Injector
}

var _ vfs.FS = (*FS)(nil)

// Wrap returns fs with errors injected by inj.
func Wrap(fs vfs.FS, inj Injector) *FS { return &FS{fs: fs, inj: inj} }

// Create implements vfs.FS.
func (e *FS) Create(name string) (vfs.File, error) {
	if err := e.inj.MaybeError(OpCreate, name); err != nil {
		return nil, err
	}
	f, err := e.fs.Create(name)
	if err != nil {
		return nil, err
	}
	return &file{f: f, name: name, inj: e.inj}, nil
}

// Open implements vfs.FS.
func (e *FS) Open(name string) (vfs.File, error) {
	if err := e.inj.MaybeError(OpOpen, name); err != nil {
		return nil, err
	}
	f, err := e.fs.Open(name)
	if err != nil {
		return nil, err
	}
	return &file{f: f, name: name, inj: e.inj}, nil
}

// OpenReadWrite implements vfs.FS.
func (e *FS) OpenReadWrite(name string) (vfs.File, error) {
	if err := e.inj.MaybeError(OpOpen, name); err != nil {
		return nil, err
	}
	f, err := e.fs.OpenReadWrite(name)
	if err != nil {
		return nil, err
	}
	return &file{f: f, name: name, inj: e.inj}, nil
}

// Remove implements vfs.FS.
func (e *FS) Remove(name string) error {
	if err := e.inj.MaybeError(OpRemove, name); err != nil {
		return err
	}
	return e.fs.Remove(name)
}

// Rename implements vfs.FS.
func (e *FS) Rename(oldname, newname string) error {
	if err := e.inj.MaybeError(OpRename, oldname); err != nil {
		return err
	}
	return e.fs.Rename(oldname, newname)
}

// MkdirAll implements vfs.FS.
func (e *FS) MkdirAll(dir string, perm os.FileMode) error {
	if err := e.inj.MaybeError(OpMkdirAll, dir); err != nil {
		return err
	}
	return e.fs.MkdirAll(dir, perm)
}

// List implements vfs.FS.
func (e *FS) List(dir string) ([]string, error) {
	if err := e.inj.MaybeError(OpList, dir); err != nil {
		return nil, err
	}
	return e.fs.List(dir)
}

// Stat implements vfs.FS.
func (e *FS) Stat(name string) (os.FileInfo, error) {
	if err := e.inj.MaybeError(OpStat, name); err != nil {
		return nil, err
	}
	return e.fs.Stat(name)
}

// SyncDir implements vfs.FS.
func (e *FS) SyncDir(dir string) error {
	if err := e.inj.MaybeError(OpSyncDir, dir); err != nil {
		return err
	}
	return e.fs.SyncDir(dir)
}

type file struct {
	f    vfs.File
	name string
	inj  Injector
}

var _ vfs.File = (*file)(nil)

func (f *file) Read(p []byte) (int, error) {
	if err := f.inj.MaybeError(OpRead, f.name); err != nil {
		return 0, err
	}
	return f.f.Read(p)
}

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if err := f.inj.MaybeError(OpRead, f.name); err != nil {
		return 0, err
	}
	return f.f.ReadAt(p, off)
}

func (f *file) Write(p []byte) (int, error) {
	if err := f.inj.MaybeError(OpWrite, f.name); err != nil {
		return 0, err
	}
	return f.f.Write(p)
}

func (f *file) Seek(offset int64, whence int) (int64, error) {
	if err := f.inj.MaybeError(OpSeek, f.name); err != nil {
		return 0, err
	}
	return f.f.Seek(offset, whence)
}

func (f *file) Sync() error {
	if err := f.inj.MaybeError(OpSync, f.name); err != nil {
		return err
	}
	return f.f.Sync()
}

func (f *file) Truncate(size int64) error {
	if err := f.inj.MaybeError(OpTruncate, f.name); err != nil {
		return err
	}
	return f.f.Truncate(size)
}

func (f *file) Stat() (os.FileInfo, error) {
	if err := f.inj.MaybeError(OpStat, f.name); err != nil {
		return nil, err
	}
	return f.f.Stat()
}

// Close always closes the underlying file, so an injected Close failure
// leaks nothing; the injected error is still returned.
func (f *file) Close() error {
	err := f.f.Close()
	if ierr := f.inj.MaybeError(OpClose, f.name); ierr != nil {
		return ierr
	}
	return err
}

var _ io.ReaderAt = (*file)(nil)
