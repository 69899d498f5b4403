//go:build unix

package journalnode

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive, non-blocking flock on dir/in_use.lock, as
// Hadoop's Storage.tryLock does, so that two JournalNodes (or two journals
// in one process) never share a directory. The lock dies with the process.
func lockDir(dir string) (release func() error, err error) {
	p := dir + string(os.PathSeparator) + lockFileName
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("Cannot create lock file %s: %w", p, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("Cannot lock storage %s. The directory is already locked (%s held by another JournalNode)", dir, p)
		}
		return nil, fmt.Errorf("Cannot lock storage %s: %w", dir, err)
	}
	// Like Hadoop, record who holds it; informational only.
	if err := f.Truncate(0); err == nil {
		host, _ := os.Hostname()
		fmt.Fprintf(f, "%d@%s\n", os.Getpid(), host)
	}
	return f.Close, nil
}
