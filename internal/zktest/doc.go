// Package zktest runs a real Apache ZooKeeper server for tests: the one from
// Debian's zookeeper package (scripts/install-test-deps.sh installs it), as
// the design fixes.
//
// A test calls Start, which
//
//  1. finds the installation: java from $JAVA_HOME/bin or $PATH, and
//     ZooKeeper's jar at /usr/share/java/zookeeper.jar (the Debian layout: its
//     manifest's Class-Path names the other jars in /usr/share/java), plus
//     slf4j-simple.jar so the server logs to its output file;
//  2. writes zoo.cfg into t.TempDir(): dataDir next to it, clientPort from
//     testcluster.ReservePort with clientPortAddress=127.0.0.1, the admin HTTP
//     server disabled, the four-letter words ruok, srvr, stat, mntr, cons and
//     dump allowed, tickTime 100 ms with minSessionTimeout 200 ms and
//     maxSessionTimeout 60 s (so tests may choose short sessions), and
//     forceSync=no (a killed JVM loses nothing the OS already has; only a
//     machine crash could, which a test does not survive anyway);
//  3. runs org.apache.zookeeper.server.ZooKeeperServerMain in its own process
//     group (and, on Linux, with a parent-death signal, so a crashed test
//     binary leaves no JVM behind), output to zookeeper.out in the same
//     directory;
//  4. waits until the server answers "srvr" as a standalone server.
//
// Start-up takes about 0.3 s on an idle 2-core machine (the JVM runs with
// -XX:TieredStopAtLevel=1, the serial collector, a small heap and no perf
// data), and a second or two while the machine is busy with a -race test run.
// Still, share one Server per test binary where the tests allow it (subtests
// under one parent, distinct znode paths).
//
// The server stops in t.Cleanup: the whole process group is killed, and the
// test fails if it does not go. When the test failed, the tail of the
// server's output is written to the test log.
//
// Stop and Restart simulate "ZooKeeper went away, then came back" on the same
// address and data directory; Pause and Resume freeze it with SIGSTOP and
// SIGCONT, so clients see a server that accepts nothing and answers nothing.
//
// When ZooKeeper or java is missing, Start fails the test if the CI
// environment variable is set (the install script should have run) and skips
// it otherwise.
package zktest
