//go:build unix

package vfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockFileName is Hadoop's Storage.STORAGE_FILE_LOCK.
const LockFileName = "in_use.lock"

// LockDir takes an exclusive, non-blocking flock on dir/in_use.lock, as
// Hadoop's Storage.tryLock does, so that two daemons (or a format and a
// running daemon) never share a storage directory. holder names the kind of
// daemon in the refusal. The lock dies with the process; release removes the
// file and drops the lock, as Hadoop's unlock does. It locks the real OS
// directory, whatever FS the caller uses for the contents.
func LockDir(dir, holder string) (release func() error, err error) {
	p := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("Cannot create lock file %s: %w", p, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("Cannot lock storage %s. The directory is already locked (%s held by another %s)", dir, p, holder)
		}
		return nil, fmt.Errorf("Cannot lock storage %s: %w", dir, err)
	}
	// Like Hadoop, record who holds it; informational only.
	if err := f.Truncate(0); err == nil {
		host, _ := os.Hostname()
		fmt.Fprintf(f, "%d@%s\n", os.Getpid(), host)
	}
	return func() error {
		os.Remove(p)
		return f.Close()
	}, nil
}
