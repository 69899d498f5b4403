package vfs

import (
	"io"
	"os"
)

// FS is the filesystem every durable piece of hdfsha goes through. Names
// are slash- or OS-separated paths; implementations clean them.
//
// There is deliberately no file locking here: a JournalNode guards its
// directory with its own process-level exclusion, and tests that crash a
// filesystem should not have to reason about stale locks.
type FS interface {
	// Create creates the named file for reading and writing, truncating
	// it if it already exists. The new directory entry is durable only
	// after SyncDir on the parent directory.
	Create(name string) (File, error)
	// Open opens an existing file for reading.
	Open(name string) (File, error)
	// OpenReadWrite opens an existing file for reading and writing,
	// positioned at offset 0, without truncating it.
	OpenReadWrite(name string) (File, error)
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// Rename atomically replaces newname with oldname. Durable only after
	// SyncDir on both parent directories.
	Rename(oldname, newname string) error
	// MkdirAll creates a directory and any missing parents.
	MkdirAll(dir string, perm os.FileMode) error
	// List returns the names (not paths) of the entries of dir, sorted.
	List(dir string) ([]string, error)
	// Stat describes the named file or directory.
	Stat(name string) (os.FileInfo, error)
	// SyncDir makes the entries of dir (creations, renames and removals
	// of its children) durable.
	SyncDir(dir string) error
}

// File is an open file. Writes go to the current offset.
type File interface {
	io.Reader
	io.Writer
	io.ReaderAt
	io.Seeker
	io.Closer
	// Sync makes the file's contents and size durable (not its name: see
	// FS.SyncDir).
	Sync() error
	// Truncate changes the size of the file. It does not move the offset.
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
}

// WriteFileAtomic replaces name with data so that after a crash the file
// holds either its old contents or data, never a mix: it writes a temporary
// file next to name, syncs it, renames it over name and syncs the directory.
// The temporary file is name + ".tmp"; a leftover one is garbage and may be
// removed by the owner of the directory.
func WriteFileAtomic(fs FS, name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := fs.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fs.Rename(tmp, name); err != nil {
		return err
	}
	return fs.SyncDir(Dir(name))
}

// ReadFile reads the whole named file.
func ReadFile(fs FS, name string) ([]byte, error) {
	f, err := fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Exists reports whether name exists. Errors other than "not exist" are
// returned.
func Exists(fs FS, name string) (bool, error) {
	_, err := fs.Stat(name)
	if err == nil {
		return true, nil
	}
	if os.IsNotExist(err) {
		return false, nil
	}
	return false, err
}

// MkdirAllDurable is MkdirAll that also makes every directory it creates
// durable, by syncing the parent of each new directory. Directories that
// already existed are assumed durable.
func MkdirAllDurable(fs FS, dir string, perm os.FileMode) error {
	var missing []string
	for d := dir; ; d = Dir(d) {
		ok, err := Exists(fs, d)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		missing = append(missing, d)
		if Dir(d) == d {
			break
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := fs.MkdirAll(dir, perm); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := fs.SyncDir(Dir(missing[i])); err != nil {
			return err
		}
	}
	return nil
}
