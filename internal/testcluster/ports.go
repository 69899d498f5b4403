package testcluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// DefaultHost is the loopback address daemons bind in tests. 127.0.0.2 and 127.0.0.3 are
// loopback on Linux too and make good extra "hosts".
const DefaultHost = "127.0.0.1"

// Listen returns a listener on host:0 whose port the kernel picked, closed when the test
// ends. Use it when the daemon under test accepts a net.Listener: the port is bound from
// the first moment, so nothing can take it between choosing and using it. Closing it a
// second time (the daemon closed it already) is harmless.
func Listen(t testing.TB, host string) net.Listener {
	t.Helper()
	if host == "" {
		host = DefaultHost
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("testcluster: listen on %s: %v", host, err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// ReservePort returns a TCP port on host that a daemon can bind by itself later, and that
// stays reserved for this test until it ends.
//
// The race, and how it is avoided: a port found free by "listen on :0, read the port,
// close" is free only at that instant. Until the daemon binds it, the kernel may hand the
// same port to anything else, and it does so from the ephemeral range
// (net.ipv4.ip_local_port_range) for every outgoing connection and every ":0" listen in
// every process, so a busy test run loses that race now and then. ReservePort therefore
//
//  1. picks ports outside the ephemeral range, which the kernel never assigns on its own,
//     so only a process that asks for that exact port could take it;
//  2. takes an exclusive lock on a per-port lock file in the temp directory
//     (hdfsha-test-ports/<port>.lock), which makes concurrent test binaries (go test runs
//     packages in parallel) and parallel tests in one binary skip each other's ports;
//  3. binds the port once to prove nothing else holds it right now.
//
// The lock is released when the test ends (after daemons registered later have stopped,
// since cleanups run last-in first-out), or when the process dies. A port stays stable for
// the whole test, so a daemon can be stopped and started again on the same address.
// If the ephemeral range covers nearly all ports, ReservePort falls back to kernel-chosen
// ports with the lock and says so in the test log.
func ReservePort(t testing.TB, host string) int {
	t.Helper()
	if host == "" {
		host = DefaultHost
	}
	lo, hi, outside := reservablePortRange()
	if !outside {
		t.Logf("testcluster: ephemeral port range leaves no room; reserving kernel-chosen ports (small risk of collision)")
	}
	const attempts = 200
	for i := 0; i < attempts; i++ {
		port := lo + rand.IntN(hi-lo+1)
		if !outside {
			p, err := kernelPort(host)
			if err != nil {
				t.Fatalf("testcluster: reserve port on %s: %v", host, err)
			}
			port = p
		}
		unlock, ok := lockPort(port)
		if !ok {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			unlock()
			continue
		}
		_ = l.Close()
		t.Cleanup(unlock)
		return port
	}
	t.Fatalf("testcluster: no free port on %s after %d attempts", host, attempts)
	return 0
}

// ReserveAddr is ReservePort as "host:port".
func ReserveAddr(t testing.TB, host string) string {
	t.Helper()
	if host == "" {
		host = DefaultHost
	}
	return net.JoinHostPort(host, strconv.Itoa(ReservePort(t, host)))
}

func kernelPort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Ports below this are left alone: they hold the well-known service ports (HDFS's own
// 8020, 9870, 8485, ZooKeeper's 2181, ...) a developer may be running.
const minReservedPort = 15000

// reservablePortRange returns the range ReservePort picks from, and whether that range lies
// outside the kernel's ephemeral range.
func reservablePortRange() (lo, hi int, outside bool) {
	elo, ehi := ephemeralRange()
	const need = 1000
	switch {
	case elo-1-minReservedPort >= need:
		return minReservedPort, elo - 1, true
	case 65535-(ehi+1) >= need:
		return ehi + 1, 65535, true
	default:
		return elo, ehi, false
	}
}

// ephemeralRange reads net.ipv4.ip_local_port_range, defaulting to Linux's 32768-60999.
func ephemeralRange() (lo, hi int) {
	lo, hi = 32768, 60999
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return lo, hi
	}
	l, err1 := strconv.Atoi(f[0])
	h, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || l < 1 || h > 65535 || l > h {
		return lo, hi
	}
	return l, h
}

// portLockDir is where the per-port lock files live; shared by every test process of
// every user on the machine, hence world-writable like /tmp itself.
func portLockDir() (string, error) {
	dir := filepath.Join(os.TempDir(), "hdfsha-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	_ = os.Chmod(dir, 0o777|os.ModeSticky)
	return dir, nil
}
