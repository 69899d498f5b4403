//go:build linux

package storage

import "syscall"

// statfs reports the filesystem holding dir with statfs(2).
func statfs(dir string) (DiskStats, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return DiskStats{}, err
	}
	bs := int64(st.Bsize)
	return DiskStats{Total: int64(st.Blocks) * bs, Free: int64(st.Bfree) * bs, Available: int64(st.Bavail) * bs}, nil
}
