//go:build !linux

package storage

import "github.com/hdfsha/hdfsha/internal/vfs"

// startWriteback is a no-op where sync_file_range does not exist.
func startWriteback(vfs.File, int64, int64) {}
