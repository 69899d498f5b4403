//go:build unix

package namenode

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockFileName is Hadoop's Storage.STORAGE_FILE_LOCK.
const lockFileName = "in_use.lock"

// lockDir takes an exclusive, non-blocking flock on dir/in_use.lock (Hadoop's
// Storage.tryLock), so two NameNodes, or a format and a running NameNode,
// never share a name directory. The lock dies with the process; release
// removes the file, as Hadoop's unlock does.
func lockDir(dir string) (release func() error, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("Cannot create lock file %s: %w", p, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("Cannot lock storage %s. The directory is already locked", dir)
		}
		return nil, fmt.Errorf("Cannot lock storage %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		host, _ := os.Hostname()
		fmt.Fprintf(f, "%d@%s\n", os.Getpid(), host)
	}
	return func() error {
		os.Remove(p)
		return f.Close()
	}, nil
}
