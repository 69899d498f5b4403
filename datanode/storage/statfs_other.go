//go:build !linux

package storage

import "errors"

func statfs(dir string) (DiskStats, error) {
	return DiskStats{}, errors.New("statfs is not supported on this platform")
}
