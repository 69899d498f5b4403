//go:build unix

package testcluster

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// lockPort takes an exclusive, non-blocking flock on the port's lock file. flock locks
// belong to the open file, so two reservations of one port conflict even inside one
// process, and the kernel drops the lock if the process dies.
func lockPort(port int) (unlock func(), ok bool) {
	dir, err := portLockDir()
	if err != nil {
		return nil, false
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)+".lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, false
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, true
}
