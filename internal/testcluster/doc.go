// Package testcluster is the harness tests use to run hdfsha daemons in-process on
// 127.0.0.1.
//
// A typical integration test:
//
//	func TestFailover(t *testing.T) {
//		testcluster.CheckLeaks(t) // first, so its check runs after every other cleanup
//		ha := testcluster.NewHA(t, testcluster.HAOptions{NameNodes: 2, JournalNodes: 3})
//		log := testcluster.Logger(t)
//		g := testcluster.NewGroup(t)
//		for i, jn := range ha.JournalNodes {
//			cfg, err := journalnode.ConfigFromConf(ha.JournalNodeConf(t, i))
//			if err != nil {
//				t.Fatal(err)
//			}
//			cfg.Logger = log.Named(jn.ID)
//			d, err := journalnode.New(cfg)
//			if err != nil {
//				t.Fatal(err)
//			}
//			g.MustStart(jn.ID, d)
//		}
//		// NameNodes start the same way once the namenode package exists.
//		...
//		if err := g.Stop("nn1"); err != nil { // kill the active
//			t.Fatal(err)
//		}
//	}
//
// What it provides:
//
//   - Ports: Listen hands over a bound listener (no race at all); ReservePort and
//     ReserveAddr reserve a port a daemon binds itself, outside the kernel's ephemeral
//     range and under a cross-process lock, so concurrent test binaries do not collide
//     (see ReservePort for the race and how it is avoided).
//   - Layout: NewHA reserves addresses, makes a directory per daemon under t.TempDir()
//     and writes core-site.xml/hdfs-site.xml for nameservice "mycluster" with NameNodes
//     nn1..nnN, JournalNodes jn1..jnM and the qjournal URI, plus per-daemon conf dirs, so
//     the same layout serves in-process daemons and `hdfs --config DIR` processes.
//   - Daemons: the Daemon interface (Start(ctx), Stop) and Group, which stops whatever
//     still runs in t.Cleanup, in reverse start order.
//   - Logs: Logger writes daemon logs into the test log in the console format.
//   - Leaks: CheckLeaks fails a test that leaves goroutines behind.
//
// Tests built on it assert behaviour, never timing. Every wait (start-up, leak check) is
// a bounded poll whose bound only guards against hanging forever.
package testcluster
