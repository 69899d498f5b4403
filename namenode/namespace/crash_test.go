package namespace

import (
	mrand "math/rand"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestCrashKeepsAPrefix crashes the store (dropping unsynced writes at
// random) and checks that what survives is exactly the namespace of some
// prefix of the applied ops: each op and its txid are one batch. The
// NameNode still discards its working directory at startup (doc.go); this
// is what makes the store safe to read as a whole at any moment.
func TestCrashKeepsAPrefix(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		fs := vfs.NewCrashableMem()
		opts := testOptions()
		opts.FS = fs
		ns, err := Open("/ns", opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := ns.Format(testInfo(), testRoot(), 1000); err != nil {
			t.Fatal(err)
		}
		e := &env{t: t, ns: ns, now: 2000}
		e.must(e.ns.PrepareSetPermission(e.call("hdfs"), "/", 0o777))
		randomOps(e, mrand.New(mrand.NewSource(int64(seed))), 800)
		crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rand.New(rand.NewPCG(seed, seed))})
		ns.Close()

		opts.FS = crashed
		after, err := Open("/ns", opts)
		if err != nil {
			t.Fatal(err)
		}
		k := after.LastAppliedTxID()
		if k > int64(len(e.ops)) {
			t.Fatalf("crash kept txid %d of %d", k, len(e.ops))
		}
		ref := newTestNS(t, testOptions())
		replay(t, ref, e.ops[:k], 1)
		want, _ := ref.Checksum()
		got, err := after.Checksum()
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("seed %d: store after crash at txid %d is not the namespace of ops 1..%d", seed, k, k)
		}
		verify(t, after)
		after.Close()
		t.Logf("seed %d: %d of %d ops survived the crash", seed, k, len(e.ops))
	}
}
