package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/internal/testcluster"
)

func writeFile(t *testing.T, ctx context.Context, cl *Client, path string, data []byte, opts CreateOptions) {
	t.Helper()
	w, err := cl.Create(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Uneven writes: packets, chunks and blocks do not line up with them.
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1+len(rest)%70001)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, ctx context.Context, cl *Client, path string) []byte {
	t.Helper()
	r, err := cl.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestWriteReadMultiBlock(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dns := []*fakeDN{startFakeDN(t, "dn1"), startFakeDN(t, "dn2"), startFakeDN(t, "dn3")}
	f := startFakeNameNode(t, dns...)
	cl, _ := observedClient(t, f, DataOptions{})
	data := testData(2*testBlockSize+12345, 1)
	writeFile(t, ctx, cl, "/data", data, CreateOptions{Replication: 2, BlockSize: testBlockSize})

	ff := f.file("/data")
	if ff.uc || len(ff.blocks) != 3 {
		t.Fatalf("file under construction %v with %d blocks, want closed with 3", ff.uc, len(ff.blocks))
	}
	off := 0
	for i, b := range ff.blocks {
		want := data[off:min(len(data), off+testBlockSize)]
		if int(b.b.GetNumBytes()) != len(want) {
			t.Fatalf("block %d: NameNode has length %d, want %d", i, b.b.GetNumBytes(), len(want))
		}
		for _, dn := range b.nodes {
			got, _, fin := dn.replica(b.b.GetBlockId())
			if !bytes.Equal(got, want) || !fin {
				t.Fatalf("block %d on %s: %d bytes finalized=%v, want %d bytes finalized", i, dn.name, len(got), fin, len(want))
			}
		}
		off += len(want)
	}
	// addBlock named each previous block with its length; complete the last one.
	if adds := f.mu.adds; adds[0].Previous != nil || adds[1].GetPrevious().GetNumBytes() != testBlockSize || adds[2].GetPrevious().GetBlockId() != ff.blocks[1].b.GetBlockId() {
		t.Fatalf("addBlock previous blocks: %v, %v, %v", adds[0].GetPrevious(), adds[1].GetPrevious(), adds[2].GetPrevious())
	}

	if got := readFile(t, ctx, cl, "/data"); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, not what was written (%d)", len(got), len(data))
	}

	r, err := cl.Open(ctx, "/data")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Length() != int64(len(data)) {
		t.Fatalf("Length %d", r.Length())
	}
	// A positional read across a block boundary, and one past the end.
	p := make([]byte, 5000)
	if n, err := r.ReadAt(p, testBlockSize-2000); n != len(p) || err != nil || !bytes.Equal(p, data[testBlockSize-2000:testBlockSize+3000]) {
		t.Fatalf("ReadAt across blocks: %d, %v", n, err)
	}
	if n, err := r.ReadAt(p, int64(len(data))-100); n != 100 || err != io.EOF || !bytes.Equal(p[:100], data[len(data)-100:]) {
		t.Fatalf("ReadAt at the end: %d, %v", n, err)
	}
	// Seek into the last block and read the rest.
	if _, err := r.Seek(-777, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(rest, data[len(data)-777:]) {
		t.Fatalf("read after seek: %d bytes, %v", len(rest), err)
	}
	if n, err := r.Read(p); n != 0 || err != io.EOF {
		t.Fatalf("Read at EOF: %d, %v", n, err)
	}
}

func TestEmptyFile(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn := startFakeDN(t, "dn1")
	f := startFakeNameNode(t, dn)
	cl, _ := observedClient(t, f, DataOptions{})
	writeFile(t, ctx, cl, "/empty", nil, CreateOptions{Replication: 1})
	if ff := f.file("/empty"); ff.uc || len(ff.blocks) != 0 || f.count("addBlock") != 0 {
		t.Fatalf("empty file: uc %v, %d blocks, %d addBlock", ff.uc, len(ff.blocks), f.count("addBlock"))
	}
	if got := readFile(t, ctx, cl, "/empty"); len(got) != 0 {
		t.Fatalf("read %d bytes of an empty file", len(got))
	}
	// HDFS's checksum of an empty file.
	sum, err := cl.GetFileChecksum(ctx, "/empty")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Algorithm != "MD5-of-0MD5-of-0CRC32" || hex.EncodeToString(sum.Bytes) != "00000000000000000000000070bc8f4b72a86921468bf8e8441dce51" {
		t.Fatalf("empty file checksum %s %x", sum.Algorithm, sum.Bytes)
	}
}

func TestReadFailsOverFromDeadDataNode(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn1, dn2 := startFakeDN(t, "dn1"), startFakeDN(t, "dn2")
	f := startFakeNameNode(t, dn1, dn2)
	data := testData(3*testBlockSize/2, 2)
	f.seed("/f", testBlockSize, data, dn1, dn2)
	cl, logs := observedClient(t, f, DataOptions{})
	dn1.Kill()
	if got := readFile(t, ctx, cl, "/f"); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, want %d", len(got), len(data))
	}
	if !logged(logs, "Failed to connect to /"+dn1.addr()+" for file /f for block "+fakePool+":blk_") || !logged(logs, "add to deadNodes and continue") {
		t.Fatalf("no Hadoop-style log line about the dead DataNode: %v", logs.All())
	}
	// The dead node is skipped for the second block: one connection attempt only.
	if n := logs.FilterMessageSnippet("add to deadNodes").Len(); n != 1 {
		t.Fatalf("%d failed connections logged, want 1", n)
	}
	if f.count("reportBadBlocks") != 0 {
		t.Fatal("a dead DataNode was reported as a bad block")
	}
}

// TestReadRetriesSameDataNodeOnce: a stream that breaks is reopened on the same
// DataNode once before the node counts as dead (DFSInputStream.readBuffer).
func TestReadRetriesSameDataNodeOnce(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn1, dn2 := startFakeDN(t, "dn1"), startFakeDN(t, "dn2")
	f := startFakeNameNode(t, dn1, dn2)
	data := testData(testBlockSize, 12)
	f.seed("/f", testBlockSize, data, dn1, dn2)
	cl, logs := observedClient(t, f, DataOptions{})

	dn1.mu.Lock()
	dn1.mu.dropReads, dn1.mu.dropAfter = 1, 1
	dn1.mu.Unlock()
	if got := readFile(t, ctx, cl, "/f"); !bytes.Equal(got, data) {
		t.Fatal("read differs")
	}
	if dn1.reads() != 2 || dn2.reads() != 0 || logged(logs, "Exception while reading") {
		t.Fatalf("reads: dn1 %d dn2 %d; want the same node twice and no failure logged", dn1.reads(), dn2.reads())
	}
	// Broken twice in one Read (before any data came): the second time the node is
	// dead and dn2 serves.
	dn1.mu.Lock()
	dn1.mu.dropReads, dn1.mu.dropAfter = 2, 0
	dn1.mu.Unlock()
	if got := readFile(t, ctx, cl, "/f"); !bytes.Equal(got, data) {
		t.Fatal("read differs")
	}
	if dn1.reads() != 4 || dn2.reads() != 1 || !logged(logs, "Exception while reading from "+fakePool) {
		t.Fatalf("reads: dn1 %d dn2 %d, failure logged %v", dn1.reads(), dn2.reads(), logged(logs, "Exception while reading"))
	}
}

func TestReadFailsOverFromCorruptReplica(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn1, dn2 := startFakeDN(t, "dn1"), startFakeDN(t, "dn2")
	f := startFakeNameNode(t, dn1, dn2)
	data := testData(3*testBlockSize/2, 3)
	ff := f.seed("/f", testBlockSize, data, dn1, dn2)
	bad := ff.blocks[1].b
	dn1.Corrupt(bad.GetBlockId(), 1000)
	cl, logs := observedClient(t, f, DataOptions{})

	for _, how := range []string{"Read", "ReadAt"} {
		t.Run(how, func(t *testing.T) {
			f.mu.Lock()
			f.mu.bad = nil
			f.mu.Unlock()
			var got []byte
			if how == "Read" {
				got = readFile(t, ctx, cl, "/f")
			} else {
				r, err := cl.Open(ctx, "/f")
				if err != nil {
					t.Fatal(err)
				}
				got = make([]byte, len(data))
				if n, err := r.ReadAt(got, 0); n != len(data) || err != nil {
					t.Fatalf("ReadAt: %d, %v", n, err)
				}
				r.Close()
			}
			if !bytes.Equal(got, data) {
				t.Fatal("the data read is not the data stored")
			}
			if !logged(logs, "Found Checksum error for "+datatransfer.BlockName(bad)+" from DatanodeInfoWithStorage["+dn1.addr()) {
				t.Fatalf("no checksum error logged: %v", logs.All())
			}
			f.mu.Lock()
			reports := f.mu.bad
			f.mu.Unlock()
			if len(reports) != 1 || reports[0].GetB().GetBlockId() != bad.GetBlockId() || len(reports[0].GetLocs()) != 1 || datatransfer.XferAddr(reports[0].GetLocs()[0]) != dn1.addr() {
				t.Fatalf("reportBadBlocks got %v, want %s on %s", reports, datatransfer.BlockName(bad), dn1.addr())
			}
		})
	}
}

func TestReadAllReplicasFailBlockMissing(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn1 := startFakeDN(t, "dn1")
	f := startFakeNameNode(t, dn1)
	data := testData(1000, 4)
	ff := f.seed("/f", testBlockSize, data, dn1)
	cl, logs := observedClient(t, f, DataOptions{})
	r, err := cl.Open(ctx, "/f")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dn1.Kill()
	fetches := f.count("getBlockLocations")
	_, err = io.ReadAll(r)
	var bme *BlockMissingError
	if !errors.As(err, &bme) || !errors.Is(err, ErrBlockMissing) {
		t.Fatalf("read with the only replica gone: %v, want a BlockMissingError", err)
	}
	want := "Could not obtain block: " + datatransfer.BlockName(ff.blocks[0].b) + " file=/f No live nodes contain current block Block locations: DatanodeInfoWithStorage[" + dn1.addr()
	if !strings.HasPrefix(bme.Message, want) || !strings.Contains(bme.Message, "Dead nodes: ") {
		t.Fatalf("message %q, want it to start with %q", bme.Message, want)
	}
	// dfs.client.max.block.acquire.failures refetches of the locations first.
	if n := f.count("getBlockLocations") - fetches; n != DefaultMaxBlockAcquire {
		t.Fatalf("%d refetches, want %d", n, DefaultMaxBlockAcquire)
	}
	if !logged(logs, "Will get new block locations from namenode and retry...") {
		t.Fatal("no refetch logged")
	}
}

func TestPipelineRecoveryWhenSecondDataNodeDies(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn1, dn2, dn3 := startFakeDN(t, "dn1"), startFakeDN(t, "dn2"), startFakeDN(t, "dn3")
	f := startFakeNameNode(t, dn1, dn2, dn3)
	cl, logs := observedClient(t, f, DataOptions{})
	data := testData(300<<10, 5)
	dn2.DieAfter(100 << 10)
	writeFile(t, ctx, cl, "/p", data, CreateOptions{Replication: 3, BlockSize: 1 << 20})

	if f.count("updateBlockForPipeline") != 1 || f.count("updatePipeline") != 1 {
		t.Fatalf("updateBlockForPipeline %d, updatePipeline %d; want 1 each", f.count("updateBlockForPipeline"), f.count("updatePipeline"))
	}
	up := f.mu.updates[0]
	if len(up.GetNewNodes()) != 2 || up.GetNewNodes()[0].GetXferPort() != dn1.info.GetId().GetXferPort() || up.GetNewNodes()[1].GetXferPort() != dn3.info.GetId().GetXferPort() {
		t.Fatalf("updatePipeline nodes %v, want dn1 and dn3", up.GetNewNodes())
	}
	if up.GetNewBlock().GetGenerationStamp() <= up.GetOldBlock().GetGenerationStamp() {
		t.Fatalf("new generation stamp %d not above %d", up.GetNewBlock().GetGenerationStamp(), up.GetOldBlock().GetGenerationStamp())
	}
	if !logged(logs, "Error Recovery for ") || !logged(logs, ": datanode 1("+dn2.addr()+") is bad.") {
		t.Fatalf("no Hadoop-style recovery log: %v", logs.All())
	}
	ff := f.file("/p")
	b := ff.blocks[0].b
	if b.GetGenerationStamp() != up.GetNewBlock().GetGenerationStamp() || int(b.GetNumBytes()) != len(data) {
		t.Fatalf("NameNode block %v", b)
	}
	for _, dn := range []*fakeDN{dn1, dn3} {
		got, gs, fin := dn.replica(b.GetBlockId())
		if !bytes.Equal(got, data) || gs != b.GetGenerationStamp() || !fin {
			t.Fatalf("%s: %d bytes gs %d finalized %v", dn.name, len(got), gs, fin)
		}
	}
	if got := readFile(t, ctx, cl, "/p"); !bytes.Equal(got, data) {
		t.Fatal("read back differs")
	}
}

func TestNewBlockPipelineFailsAbandonAndExclude(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn1, dn2, dn3 := startFakeDN(t, "dn1"), startFakeDN(t, "dn2"), startFakeDN(t, "dn3")
	f := startFakeNameNode(t, dn1, dn2, dn3)
	cl, logs := observedClient(t, f, DataOptions{})
	dn1.Kill() // the NameNode does not know yet
	data := testData(50000, 6)
	writeFile(t, ctx, cl, "/x", data, CreateOptions{Replication: 2, BlockSize: testBlockSize})
	if f.count("abandonBlock") != 1 || f.count("addBlock") != 2 {
		t.Fatalf("abandonBlock %d addBlock %d, want 1 and 2", f.count("abandonBlock"), f.count("addBlock"))
	}
	if ex := f.mu.adds[1].GetExcludeNodes(); len(ex) != 1 || datatransfer.XferAddr(ex[0]) != dn1.addr() {
		t.Fatalf("second addBlock excludes %v, want dn1", ex)
	}
	if !logged(logs, "Excluding datanode "+dn1.addr()) || !logged(logs, "Abandoning ") {
		t.Fatalf("no abandon/exclude log: %v", logs.All())
	}
	if got := readFile(t, ctx, cl, "/x"); !bytes.Equal(got, data) {
		t.Fatal("read back differs")
	}
}

func TestCompleteAndAddBlockRetry(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn := startFakeDN(t, "dn1")
	f := startFakeNameNode(t, dn)
	cl, _ := observedClient(t, f, DataOptions{})
	f.mu.Lock()
	f.mu.completeFalse, f.mu.notReplicatedYet = 2, 2
	f.mu.Unlock()
	writeFile(t, ctx, cl, "/r", []byte("hello"), CreateOptions{Replication: 1})
	if f.count("complete") != 3 || f.count("addBlock") != 3 {
		t.Fatalf("complete %d addBlock %d, want 3 each", f.count("complete"), f.count("addBlock"))
	}

	// complete keeps answering false: give up after the retries, with Hadoop's message.
	f.mu.Lock()
	f.mu.completeFalse = 100
	f.mu.Unlock()
	w, err := cl.Create(ctx, "/r2", CreateOptions{Replication: 1})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	err = w.Close()
	if err == nil || !strings.HasPrefix(err.Error(), "Unable to close file because the last block "+fakePool+":blk_") ||
		!strings.HasSuffix(err.Error(), " does not have enough number of replicas.") {
		t.Fatalf("Close: %v", err)
	}
	if _, err := w.Write([]byte("y")); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
}

func TestAppendToPartialLastBlock(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn1, dn2 := startFakeDN(t, "dn1"), startFakeDN(t, "dn2")
	f := startFakeNameNode(t, dn1, dn2)
	cl, _ := observedClient(t, f, DataOptions{})
	first := testData(testBlockSize+1000, 7) // the last block has 1000 bytes: not chunk-aligned
	ff := f.seed("/a", testBlockSize, first, dn1, dn2)
	oldGS := ff.blocks[1].b.GetGenerationStamp()

	more := testData(testBlockSize, 8)
	w, err := cl.Append(ctx, "/a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(more); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte(nil), first...), more...)
	if got := readFile(t, ctx, cl, "/a"); !bytes.Equal(got, want) {
		t.Fatalf("after append read %d bytes, want %d", len(got), len(want))
	}
	ff = f.file("/a")
	if len(ff.blocks) != 3 || ff.blocks[1].b.GetNumBytes() != testBlockSize || ff.blocks[1].b.GetGenerationStamp() <= oldGS {
		t.Fatalf("blocks after append: %d, second %v (old gs %d)", len(ff.blocks), ff.blocks[1].b, oldGS)
	}
	if f.count("updateBlockForPipeline") != 1 || f.count("updatePipeline") != 1 {
		t.Fatalf("updateBlockForPipeline %d updatePipeline %d", f.count("updateBlockForPipeline"), f.count("updatePipeline"))
	}
}

func TestHflushThenReadUnderConstruction(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn1, dn2 := startFakeDN(t, "dn1"), startFakeDN(t, "dn2")
	f := startFakeNameNode(t, dn1, dn2)
	cl, _ := observedClient(t, f, DataOptions{})
	data := testData(testBlockSize+5000, 9)
	w, err := cl.Create(ctx, "/uc", CreateOptions{Replication: 2, BlockSize: testBlockSize})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Hflush(); err != nil {
		t.Fatal(err)
	}
	if f.count("fsync") != 1 {
		t.Fatalf("fsync %d after the first hflush of a block, want 1", f.count("fsync"))
	}
	// Later flushes of the same block leave the NameNode alone.
	if err := w.Hsync(); err != nil {
		t.Fatal(err)
	}
	if f.count("fsync") != 1 {
		t.Fatalf("fsync %d after another flush of the same block, want 1", f.count("fsync"))
	}
	// A reader sees the flushed bytes of the block being written (its length from a
	// DataNode: getReplicaVisibleLength).
	if got := readFile(t, ctx, cl, "/uc"); !bytes.Equal(got, data) {
		t.Fatalf("reader of a file being written got %d bytes, want %d", len(got), len(data))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLeaseRenewedWhileWriting(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn := startFakeDN(t, "dn1")
	f := startFakeNameNode(t, dn)
	cl, _ := observedClient(t, f, DataOptions{LeaseRenewInterval: time.Millisecond})
	w, err := cl.Create(ctx, "/l", CreateOptions{Replication: 1})
	if err != nil {
		t.Fatal(err)
	}
	for f.count("renewLease") < 2 {
		if ctx.Err() != nil {
			t.Fatal("the lease was never renewed")
		}
		time.Sleep(time.Millisecond)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Renewal stopped with the last open file: the leak check proves the goroutine ended.
	cl.leases.mu.Lock()
	running := cl.leases.mu.cancel != nil
	cl.leases.mu.Unlock()
	if running {
		t.Fatal("the lease renewer still runs with no file open")
	}
}

// TestClientCloseCompletesOpenFiles: closing the Client closes the files still open
// for writing, as Hadoop's DFSClient.close does; an aborted writer's file stays open.
func TestClientCloseCompletesOpenFiles(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn := startFakeDN(t, "dn1")
	f := startFakeNameNode(t, dn)
	cl, _ := observedClient(t, f, DataOptions{})
	data := testData(5000, 13)
	w, err := cl.Create(ctx, "/open", CreateOptions{Replication: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	aborted, err := cl.Create(ctx, "/aborted", CreateOptions{Replication: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := aborted.Write(data); err != nil {
		t.Fatal(err)
	}
	aborted.Abort()
	if err := cl.Close(); err != nil {
		t.Fatal(err)
	}
	ff := f.file("/open")
	if ff.uc || len(ff.blocks) != 1 || ff.blocks[0].b.GetNumBytes() != uint64(len(data)) {
		t.Fatalf("after Client.Close: under construction %v, %d blocks", ff.uc, len(ff.blocks))
	}
	if got, _, _ := dn.replica(ff.blocks[0].b.GetBlockId()); !bytes.Equal(got, data) {
		t.Fatal("replica differs")
	}
	if !f.file("/aborted").uc {
		t.Fatal("an aborted writer's file was completed")
	}
	if _, err := w.Write(data); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("Write after Client.Close: %v", err)
	}
}

// TestConcurrentReadAt: positional reads from several goroutines, while another reads
// sequentially, all see the file's bytes (run with -race).
func TestConcurrentReadAt(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn1, dn2 := startFakeDN(t, "dn1"), startFakeDN(t, "dn2")
	f := startFakeNameNode(t, dn1, dn2)
	data := testData(5*testBlockSize/2, 14)
	f.seed("/f", testBlockSize, data, dn1, dn2)
	cl, _ := observedClient(t, f, DataOptions{})
	r, err := cl.Open(ctx, "/f")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	errs := make(chan error, 9)
	for g := 0; g < 8; g++ {
		go func() {
			p := make([]byte, 10000)
			for i := 0; i < 10; i++ {
				off := int64((g*7919 + i*104729) % (len(data) - len(p)))
				if n, err := r.ReadAt(p, off); err != nil || n != len(p) || !bytes.Equal(p, data[off:off+int64(len(p))]) {
					errs <- fmt.Errorf("ReadAt(%d): %d, %v", off, n, err)
					return
				}
			}
			errs <- nil
		}()
	}
	go func() {
		got, err := io.ReadAll(r)
		if err == nil && !bytes.Equal(got, data) {
			err = errors.New("sequential read differs")
		}
		errs <- err
	}()
	for i := 0; i < 9; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestLocationsFetchedInRanges: dfs.client.read.prefetch.size bounds each
// getBlockLocations; a sequential read fetches the next range as it gets there.
func TestLocationsFetchedInRanges(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn := startFakeDN(t, "dn1")
	f := startFakeNameNode(t, dn)
	data := testData(3*testBlockSize, 15)
	f.seed("/f", testBlockSize, data, dn)
	cl, _ := observedClient(t, f, DataOptions{}, KeyPrefetchSize, fmt.Sprint(testBlockSize))
	if got := readFile(t, ctx, cl, "/f"); !bytes.Equal(got, data) {
		t.Fatal("read differs")
	}
	if n := f.count("getBlockLocations"); n != 3 {
		t.Fatalf("%d getBlockLocations for 3 blocks with a one-block prefetch, want 3", n)
	}
	// The default prefetch (10 blocks) takes them all at once.
	cl2, _ := observedClient(t, f, DataOptions{})
	readFile(t, ctx, cl2, "/f")
	if n := f.count("getBlockLocations"); n != 4 {
		t.Fatalf("%d getBlockLocations in all, want 4", n)
	}
}

// TestPipelineFirstDataNodeDies: the first DataNode of the pipeline dies (the
// connection itself fails, blamed on node 0); the write goes on with the second.
func TestPipelineFirstDataNodeDies(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn1, dn2 := startFakeDN(t, "dn1"), startFakeDN(t, "dn2")
	f := startFakeNameNode(t, dn1, dn2)
	cl, logs := observedClient(t, f, DataOptions{})
	data := testData(300<<10, 16)
	dn1.DieAfter(100 << 10)
	writeFile(t, ctx, cl, "/p1", data, CreateOptions{Replication: 2, BlockSize: 1 << 20})
	if !logged(logs, ": datanode 0("+dn1.addr()+") is bad.") {
		t.Fatalf("no recovery from node 0 logged: %v", logs.All())
	}
	b := f.file("/p1").blocks[0]
	if len(b.nodes) != 1 || b.nodes[0] != dn2 {
		t.Fatalf("block on %d nodes after recovery, want dn2 only", len(b.nodes))
	}
	if got, _, fin := dn2.replica(b.b.GetBlockId()); !bytes.Equal(got, data) || !fin {
		t.Fatalf("dn2 has %d bytes, finalized %v", len(got), fin)
	}
}

// TestPipelineLastDataNodeDies: with no DataNode left the write fails with Hadoop's
// message; later calls return the same error and Close releases everything.
func TestPipelineLastDataNodeDies(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn1 := startFakeDN(t, "dn1")
	f := startFakeNameNode(t, dn1)
	cl, _ := observedClient(t, f, DataOptions{})
	w, err := cl.Create(ctx, "/p2", CreateOptions{Replication: 1, BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	dn1.DieAfter(64 << 10)
	data := testData(300<<10, 17)
	_, werr := w.Write(data)
	if werr == nil {
		werr = w.Hflush()
	}
	want := "All datanodes [" + dn1.addr() + "] are bad. Aborting..."
	if werr == nil || !strings.HasPrefix(werr.Error(), want) {
		t.Fatalf("write with the only DataNode dead: %v, want %q", werr, want)
	}
	if _, err := w.Write([]byte("x")); err == nil || err.Error() != werr.Error() {
		t.Fatalf("Write after the failure: %v, want the same error", err)
	}
	if err := w.Close(); err == nil || err.Error() != werr.Error() {
		t.Fatalf("Close after the failure: %v", err)
	}
	if f.count("complete") != 0 {
		t.Fatal("a failed file was completed")
	}
}

// TestRefetchWaits: before each refetch of the locations the reader waits Hadoop's
// window × failures + window × (failures+1) × random (dfs.client.retry.window.base).
func TestRefetchWaits(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn1 := startFakeDN(t, "dn1")
	f := startFakeNameNode(t, dn1)
	f.seed("/f", testBlockSize, testData(100, 18), dn1)
	var (
		mu     sync.Mutex
		sleeps []time.Duration
	)
	cl, err := New(Config{Conf: conf.New(), User: "alice", Logger: testcluster.Logger(t),
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			sleeps = append(sleeps, d)
			return nil
		},
		Jitter: func() float64 { return 0.5 },
	}, "hdfs://"+f.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	r, err := cl.Open(ctx, "/f")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dn1.Kill()
	if _, err := io.ReadAll(r); !errors.Is(err, ErrBlockMissing) {
		t.Fatalf("read: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []time.Duration{1500 * time.Millisecond, 6000 * time.Millisecond, 10500 * time.Millisecond}
	if fmt.Sprint(sleeps) != fmt.Sprint(want) {
		t.Fatalf("waits %v, want %v", sleeps, want)
	}
}
