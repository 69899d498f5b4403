//go:build linux

package storage

import (
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hdfsha/hdfsha/internal/vfs"
)

// startWriteback asks the kernel to start writing n bytes of f from off to
// disk without waiting (sync_file_range SYNC_FILE_RANGE_WRITE). It makes
// nothing durable and promises nothing: Sync and Finalize still fsync. Files
// that are not OS files (tests' filesystems) are left alone, and errors are
// ignored: the fsync that follows reports what matters.
func startWriteback(f vfs.File, off, n int64) {
	sc, ok := f.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}
