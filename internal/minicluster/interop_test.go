package minicluster_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/minicluster"
	"github.com/hdfsha/hdfsha/internal/testcluster"
)

// TestColinmarcDataPath: github.com/colinmarc/hdfs/v2, a client nobody here
// wrote, writes and reads small, empty and multi-block files (1 MiB blocks)
// through our NameNode and DataNodes; what it writes our client reads and
// the other way round; its Append, Truncate and Checksum work and agree with
// our client and with the checksum computed from its definition; ReadDir and
// Stat report the sizes written.
func TestColinmarcDataPath(t *testing.T) {
	testcluster.CheckLeaks(t)
	mc := minicluster.Start(t, minicluster.Options{DataNodes: 2, Replication: 2})
	cm := newColinmarc(t, mc)
	ours := mc.Client()
	if err := cm.MkdirAll("/cm", 0o755); err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int{}

	t.Run("small", func(t *testing.T) {
		data := []byte("hello, hdfs")
		writeColinmarc(t, cm, "/cm/small", data, 2, mib)
		mustEqual(t, "colinmarc reads its small file", readColinmarc(t, cm, "/cm/small"), data)
		mustEqual(t, "ours reads colinmarc's small file", readOurs(t, ours, "/cm/small"), data)
		sizes["small"] = len(data)
	})
	t.Run("empty", func(t *testing.T) {
		if err := cm.CreateEmptyFile("/cm/empty"); err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "colinmarc reads an empty file", readColinmarc(t, cm, "/cm/empty"), nil)
		mustEqual(t, "ours reads colinmarc's empty file", readOurs(t, ours, "/cm/empty"), nil)
		writeOurs(t, ours, "/cm/empty-ours", nil, client.CreateOptions{})
		mustEqual(t, "colinmarc reads our empty file", readColinmarc(t, cm, "/cm/empty-ours"), nil)
		sizes["empty"], sizes["empty-ours"] = 0, 0
	})
	multi := testData(3*mib+mib/2, 1)
	t.Run("multi-block", func(t *testing.T) {
		writeColinmarc(t, cm, "/cm/multi", multi, 2, mib)
		mustEqual(t, "colinmarc reads its 3.5 MiB file", readColinmarc(t, cm, "/cm/multi"), multi)
		mustEqual(t, "ours reads colinmarc's 3.5 MiB file", readOurs(t, ours, "/cm/multi"), multi)
		lbs := waitReplicas(t, mc, 0, "/cm/multi", 2)
		if n := len(lbs.GetBlocks()); n != 4 {
			t.Fatalf("colinmarc's 3.5 MiB file has %d blocks, want 4", n)
		}
		writeOurs(t, ours, "/cm/multi-ours", multi, client.CreateOptions{BlockSize: mib, Replication: 2})
		mustEqual(t, "colinmarc reads our 3.5 MiB file", readColinmarc(t, cm, "/cm/multi-ours"), multi)
		sizes["multi"], sizes["multi-ours"] = len(multi), len(multi)
	})
	t.Run("append", func(t *testing.T) {
		// A partial last block: colinmarc continues it, then fills more blocks.
		first, more := testData(mib+mib/2, 2), testData(mib, 3)
		writeOurs(t, ours, "/cm/append", first, client.CreateOptions{BlockSize: mib, Replication: 2})
		waitReplicas(t, mc, 0, "/cm/append", 2)
		w, err := cm.Append("/cm/append")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(more); err != nil {
			t.Fatal(err)
		}
		closeColinmarc(t, w)
		want := append(append([]byte(nil), first...), more...)
		mustEqual(t, "ours after colinmarc's append (partial block)", readOurs(t, ours, "/cm/append"), want)
		mustEqual(t, "colinmarc after its append (partial block)", readColinmarc(t, cm, "/cm/append"), want)
		sizes["append"] = len(want)
	})
	var appendFull []byte // 3 blocks: the file checksum's buffer is padded to 64 bytes
	t.Run("append on a block boundary", func(t *testing.T) {
		// A full last block: append hands the client no block to continue, and
		// its first addBlock names no previous block (Hadoop's "case 1").
		first, more, again := testData(2*mib, 6), testData(mib/2, 7), testData(mib/4, 8)
		writeOurs(t, ours, "/cm/append-full", first, client.CreateOptions{BlockSize: mib, Replication: 2})
		waitReplicas(t, mc, 0, "/cm/append-full", 2)
		w, err := cm.Append("/cm/append-full")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(more); err != nil {
			t.Fatal(err)
		}
		closeColinmarc(t, w)
		want := append(append([]byte(nil), first...), more...)
		mustEqual(t, "ours after colinmarc's append (full block)", readOurs(t, ours, "/cm/append-full"), want)
		appendFull = want

		writeOurs(t, ours, "/cm/append-full-ours", first, client.CreateOptions{BlockSize: mib, Replication: 2})
		waitReplicas(t, mc, 0, "/cm/append-full-ours", 2)
		ow, err := ours.Append(context.Background(), "/cm/append-full-ours")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ow.Write(again); err != nil {
			t.Fatal(err)
		}
		if err := ow.Close(); err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "colinmarc after our append (full block)", readColinmarc(t, cm, "/cm/append-full-ours"), append(append([]byte(nil), first...), again...))
		sizes["append-full"], sizes["append-full-ours"] = len(want), len(first)+len(again)
	})
	t.Run("truncate", func(t *testing.T) {
		data := testData(2*mib+mib/2, 5)
		writeColinmarc(t, cm, "/cm/truncate", data, 2, mib)
		waitReplicas(t, mc, 0, "/cm/truncate", 2)
		// On a block boundary the NameNode drops the last block and is done.
		done, err := cm.Truncate("/cm/truncate", 2*mib)
		if err != nil || !done {
			t.Fatalf("colinmarc truncate on a block boundary: %v, %v; want true", done, err)
		}
		mustEqual(t, "colinmarc after a truncate on a block boundary", readColinmarc(t, cm, "/cm/truncate"), data[:2*mib])
		// Inside a block the answer is false: the file stays open until the
		// DataNodes' block recovery cuts the last block. colinmarc has no
		// isFileClosed; the test watches the file leave construction.
		done, err = cm.Truncate("/cm/truncate", mib+10)
		if err != nil || done {
			t.Fatalf("colinmarc truncate inside a block: %v, %v; want false", done, err)
		}
		mc.WaitFor("the truncate's block recovery", func() bool { return !underConstruction(t, mc, 0, "/cm/truncate") })
		mustEqual(t, "colinmarc after a truncate inside a block", readColinmarc(t, cm, "/cm/truncate"), data[:mib+10])
		mustEqual(t, "ours after a truncate inside a block", readOurs(t, ours, "/cm/truncate"), data[:mib+10])
		sizes["truncate"] = mib + 10
	})
	t.Run("checksum", func(t *testing.T) {
		for _, f := range []struct {
			path string
			data []byte
		}{{"/cm/multi", multi}, {"/cm/multi-ours", multi}, {"/cm/small", []byte("hello, hdfs")}, {"/cm/append-full", appendFull}} {
			if _, ok := sizes[f.path[len("/cm/"):]]; !ok {
				t.Fatalf("%s was not written (an earlier sub-test failed)", f.path)
			}
			r, err := cm.Open(f.path)
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := r.Checksum()
			r.Close()
			if err != nil {
				t.Fatalf("colinmarc checksum of %s: %v", f.path, err)
			}
			mine, err := ours.GetFileChecksum(testCtx(t), f.path)
			if err != nil {
				t.Fatalf("our checksum of %s: %v", f.path, err)
			}
			want := md5md5crc32c(f.data, mib, 512)
			if len(mine.Bytes) != 28 || string(mine.Bytes[12:]) != string(want[:]) {
				t.Errorf("%s: our checksum %x, want MD5 %x", f.path, mine.Bytes, want)
			}
			if string(theirs) != string(want[:]) {
				t.Errorf("%s: colinmarc's checksum %x, want %x", f.path, theirs, want)
			}
			crcPerBlock := 0
			if len(f.data) > mib {
				crcPerBlock = mib / 512
			}
			if alg := fmt.Sprintf("MD5-of-%dMD5-of-512CRC32C", crcPerBlock); mine.Algorithm != alg {
				t.Errorf("%s: algorithm %s, want %s", f.path, mine.Algorithm, alg)
			}
		}
	})
	t.Run("stat and readdir", func(t *testing.T) {
		ents, err := cm.ReadDir("/cm")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		var names []string
		for _, e := range ents {
			got[e.Name()] = int(e.Size())
			names = append(names, e.Name())
		}
		if !sort.StringsAreSorted(names) {
			t.Errorf("ReadDir not in name order: %v", names)
		}
		for name, size := range sizes {
			if g, ok := got[name]; !ok || g != size {
				t.Errorf("ReadDir: %s has size %d (listed %v), want %d", name, g, ok, size)
			}
			fi, err := cm.Stat("/cm/" + name)
			if err != nil || fi.Size() != int64(size) || fi.IsDir() {
				t.Errorf("Stat /cm/%s: %v, %v", name, fi, err)
			}
		}
		if _, err := cm.Stat("/cm/none"); !os.IsNotExist(err) {
			t.Errorf("Stat of a missing file: %v", err)
		}
	})
}
