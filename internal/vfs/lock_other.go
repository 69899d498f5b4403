//go:build !unix

package vfs

// LockFileName is Hadoop's Storage.STORAGE_FILE_LOCK.
const LockFileName = "in_use.lock"

// LockDir is a no-op where flock is not available.
func LockDir(dir, holder string) (func() error, error) { return func() error { return nil }, nil }
