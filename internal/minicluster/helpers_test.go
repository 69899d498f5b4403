package minicluster_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/colinmarc/hdfs/v2"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/minicluster"
	"github.com/hdfsha/hdfsha/namenode/blockmanagement"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

const mib = 1 << 20

// testData is n deterministic pseudo-random bytes.
func testData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), minicluster.WaitBound)
	t.Cleanup(cancel)
	return ctx
}

// writeOurs writes data to path with our client and closes the file.
func writeOurs(t *testing.T, cl *client.Client, path string, data []byte, opts client.CreateOptions) {
	t.Helper()
	w, err := cl.Create(testCtx(t), path, opts)
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close %s: %v", path, err)
	}
}

// readOurs reads path whole with our client.
func readOurs(t *testing.T, cl *client.Client, path string) []byte {
	t.Helper()
	r, err := cl.Open(testCtx(t), path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return b
}

// newColinmarc is a github.com/colinmarc/hdfs/v2 client of the cluster's
// NameNodes (all of them, nn1 first), closed at cleanup.
func newColinmarc(t *testing.T, mc *minicluster.Cluster) *hdfs.Client {
	t.Helper()
	c, err := hdfs.NewClient(hdfs.ClientOptions{Addresses: mc.NameNodeAddrs(), User: mc.User()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closeColinmarc closes a colinmarc writer. Its Close returns ErrReplicating
// when complete answers false (the NameNode has not yet heard of enough
// replicas); as its doc says, Close is then called again, as the Java client
// retries complete.
func closeColinmarc(t *testing.T, w *hdfs.FileWriter) {
	t.Helper()
	deadline := time.Now().Add(minicluster.WaitBound)
	for {
		err := w.Close()
		if err == nil {
			return
		}
		if !hdfs.IsErrReplicating(err) || time.Now().After(deadline) {
			t.Fatalf("colinmarc close: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writeColinmarc writes data to a new file with colinmarc.
func writeColinmarc(t *testing.T, c *hdfs.Client, path string, data []byte, repl int, blockSize int64) {
	t.Helper()
	w, err := c.CreateFile(path, repl, blockSize, 0o644)
	if err != nil {
		t.Fatalf("colinmarc create %s: %v", path, err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatalf("colinmarc write %s: %v", path, err)
	}
	closeColinmarc(t, w)
}

// readColinmarc reads path whole with colinmarc.
func readColinmarc(t *testing.T, c *hdfs.Client, path string) []byte {
	t.Helper()
	b, err := c.ReadFile(path)
	if err != nil {
		t.Fatalf("colinmarc read %s: %v", path, err)
	}
	return b
}

func mustEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: %d bytes, want %d; first difference at %d", what, len(got), len(want), i)
	}
}

// md5md5crc32c is HDFS's MD5MD5CRC32C file checksum of data stored in
// blocks of blockSize with bytesPerCRC-byte chunks, computed here from the
// definition: each block's MD5 is over the big-endian CRC32C of its chunks
// (as the meta file holds them, a short last chunk included); the file's is
// the MD5 over the concatenated block MD5s as Hadoop digests them, that is
// the whole backing array of the DataOutputBuffer they were written to,
// which starts at 32 bytes and doubles, zeros past the end included.
func md5md5crc32c(data []byte, blockSize, bytesPerCRC int) [16]byte {
	table := crc32.MakeTable(crc32.Castagnoli)
	var blockMD5s []byte
	for off := 0; off < len(data); off += blockSize {
		block := data[off:min(off+blockSize, len(data))]
		h := md5.New()
		for c := 0; c < len(block); c += bytesPerCRC {
			var sum [4]byte
			binary.BigEndian.PutUint32(sum[:], crc32.Checksum(block[c:min(c+bytesPerCRC, len(block))], table))
			h.Write(sum[:])
		}
		blockMD5s = h.Sum(blockMD5s)
	}
	capacity := 32
	for capacity < len(blockMD5s) {
		capacity *= 2
	}
	buf := make([]byte, capacity)
	copy(buf, blockMD5s)
	return md5.Sum(buf)
}

// underConstruction says whether path is open for write on NameNode i
// (-1: the active).
func underConstruction(t *testing.T, mc *minicluster.Cluster, i int, path string) bool {
	t.Helper()
	if i < 0 {
		i = mc.Active()
	}
	lbs, err := mc.Locations(i, path)
	if err != nil {
		t.Fatalf("getBlockLocations %s: %v", path, err)
	}
	return lbs.GetUnderConstruction()
}

// replicasPerBlock waits until every block of path has want locations on
// NameNode i and returns the locations.
func waitReplicas(t *testing.T, mc *minicluster.Cluster, i int, path string, want int) *hdfspb.LocatedBlocksProto {
	t.Helper()
	var lbs *hdfspb.LocatedBlocksProto
	mc.WaitFor("replicas of "+path, func() bool {
		var err error
		lbs, err = mc.Locations(i, path)
		if err != nil {
			return false
		}
		for _, lb := range lbs.GetBlocks() {
			if len(lb.GetLocs()) != want {
				return false
			}
		}
		return true
	})
	return lbs
}

// fsckBlock is one block line of an fsck -files -blocks -locations report.
type fsckBlock struct {
	id    uint64
	len   int64
	live  int
	addrs []string
}

var (
	fsckBlockLine = regexp.MustCompile(`^\d+\. BP-[^:]+:blk_(\d+)_\d+ len=(\d+) Live_repl=(\d+)(.*)$`)
	fsckLocation  = regexp.MustCompile(`DatanodeInfoWithStorage\[([^,\]]+)`)
)

// parseFsckBlocks reads the block lines of an fsck report.
func parseFsckBlocks(report string) []fsckBlock {
	var bs []fsckBlock
	for _, line := range strings.Split(report, "\n") {
		m := fsckBlockLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		id, _ := strconv.ParseUint(m[1], 10, 64)
		n, _ := strconv.ParseInt(m[2], 10, 64)
		live, _ := strconv.Atoi(m[3])
		b := fsckBlock{id: id, len: n, live: live}
		for _, l := range fsckLocation.FindAllStringSubmatch(m[4], -1) {
			b.addrs = append(b.addrs, l[1])
		}
		bs = append(bs, b)
	}
	return bs
}

// fsckHealthy says whether an fsck report of path ends HEALTHY with every
// block at want live replicas (listed), no corrupt or missing block.
func fsckHealthy(report, path string, want int) bool {
	if !strings.HasSuffix(strings.TrimRight(report, "\n"), "The filesystem under path '"+path+"' is HEALTHY") ||
		!strings.Contains(report, "Status: HEALTHY") || !strings.Contains(report, " Corrupt blocks:\t\t0\n") ||
		!strings.Contains(report, " Missing blocks:\t\t0\n") {
		return false
	}
	bs := parseFsckBlocks(report)
	for _, b := range bs {
		if b.live != want || len(b.addrs) != want {
			return false
		}
	}
	return len(bs) > 0
}

// waitSettled waits until every block of path has want locations on the
// active NameNode, exactly want finalized replicas on disk, and the
// NameNode has no reconstruction pending; it returns the locations.
func waitSettled(t *testing.T, mc *minicluster.Cluster, path string, want int) *hdfspb.LocatedBlocksProto {
	t.Helper()
	var lbs *hdfspb.LocatedBlocksProto
	mc.WaitFor("the replicas of "+path+" to settle", func() bool {
		active := mc.Active()
		var err error
		lbs, err = mc.Locations(active, path)
		if err != nil || len(lbs.GetBlocks()) == 0 {
			return false
		}
		pending := 0
		mc.NameNodes[active].Namesystem().BlockManager(func(bm *blockmanagement.Manager) { pending = bm.PendingReconstructions() })
		if pending != 0 {
			return false
		}
		for _, lb := range lbs.GetBlocks() {
			if len(lb.GetLocs()) != want {
				return false
			}
			n := 0
			for i := range mc.DataNodes {
				if mc.DataNodes[i].DataNode != nil && mc.BlockFile(i, lb.GetB().GetBlockId()) != "" {
					n++
				}
			}
			if n != want {
				return false
			}
		}
		return true
	})
	return lbs
}
