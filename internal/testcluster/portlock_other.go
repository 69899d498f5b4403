//go:build !unix

package testcluster

import "sync"

// Without flock, reservations are only coordinated inside this process.
var localLocks struct {
	sync.Mutex
	held map[int]bool
}

func lockPort(port int) (unlock func(), ok bool) {
	localLocks.Lock()
	defer localLocks.Unlock()
	if localLocks.held == nil {
		localLocks.held = make(map[int]bool)
	}
	if localLocks.held[port] {
		return nil, false
	}
	localLocks.held[port] = true
	return func() {
		localLocks.Lock()
		delete(localLocks.held, port)
		localLocks.Unlock()
	}, true
}
