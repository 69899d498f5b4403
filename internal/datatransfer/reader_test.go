package datatransfer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

func readRange(t *testing.T, dn *fakeDN, off, n int64, skip bool) ([]byte, error) {
	t.Helper()
	r, err := NewBlockReader(context.Background(), ReadRequest{Addr: dn.addr(), Block: testBlock(1), ClientName: "DFSClient_test",
		Offset: off, Length: n, SkipChecksum: skip, Timeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func TestBlockReaderReadsRanges(t *testing.T) {
	testcluster.CheckLeaks(t)
	dn := newFakeDN(t)
	data := testData(5000)
	dn.blocks[1] = data
	for _, tc := range []struct{ off, n int64 }{{0, 5000}, {700, 1500}, {512, 512}, {4999, 1}, {0, 1}, {3000, 2000}} {
		got, err := readRange(t, dn, tc.off, tc.n, false)
		if err != nil {
			t.Fatalf("read %d+%d: %v", tc.off, tc.n, err)
		}
		if !bytes.Equal(got, data[tc.off:tc.off+tc.n]) {
			t.Fatalf("read %d+%d: wrong bytes", tc.off, tc.n)
		}
	}
	got, err := readRange(t, dn, 100, 1000, true)
	if err != nil || !bytes.Equal(got, data[100:1100]) {
		t.Fatalf("unverified read: %v", err)
	}
	// The fake records a status after the reader sent it, one connection
	// per goroutine: wait for all, in any order.
	waitFor(t, func() bool { dn.mu.Lock(); defer dn.mu.Unlock(); return len(dn.statuses) >= 7 })
	dn.mu.Lock()
	defer dn.mu.Unlock()
	count := map[hdfspb.Status]int{}
	for _, s := range dn.statuses {
		count[s]++
	}
	if count[hdfspb.Status_CHECKSUM_OK] != 6 || count[hdfspb.Status_SUCCESS] != 1 {
		t.Fatalf("read statuses %v, want CHECKSUM_OK for the 6 verified reads and SUCCESS for the other", dn.statuses)
	}
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
	}
}

func TestBlockReaderZeroLength(t *testing.T) {
	testcluster.CheckLeaks(t)
	dn := newFakeDN(t)
	dn.blocks[1] = testData(100)
	got, err := readRange(t, dn, 100, 0, false)
	if err != nil || len(got) != 0 {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
}

func TestBlockReaderChecksumError(t *testing.T) {
	testcluster.CheckLeaks(t)
	dn := newFakeDN(t)
	dn.blocks[1] = testData(5000)
	dn.corruptAt = 1500
	_, err := readRange(t, dn, 600, 4000, false)
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Offset != 1024 {
		t.Fatalf("err = %v, want a checksum error at 1024", err)
	}
	// Without verification the corrupt bytes come through.
	got, err := readRange(t, dn, 600, 4000, true)
	if err != nil || bytes.Equal(got, testData(5000)[600:4600]) {
		t.Fatalf("unverified read of a corrupt replica: %v", err)
	}
}

func TestBlockReaderEarlyEOF(t *testing.T) {
	testcluster.CheckLeaks(t)
	dn := newFakeDN(t)
	dn.blocks[1] = testData(5000)
	dn.eofAfter = 1
	got, err := readRange(t, dn, 0, 5000, false)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v after %d bytes, want io.ErrUnexpectedEOF", err, len(got))
	}
	if len(got) != 2048 {
		t.Fatalf("got %d bytes before the EOF, want the first packet's 2048", len(got))
	}
}

func TestBlockReaderShortReplica(t *testing.T) {
	testcluster.CheckLeaks(t)
	dn := newFakeDN(t)
	dn.blocks[1] = testData(1000)
	_, err := readRange(t, dn, 0, 2000, false)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestBlockReaderStatusError(t *testing.T) {
	testcluster.CheckLeaks(t)
	dn := newFakeDN(t)
	dn.readStatus = hdfspb.Status_ERROR
	_, err := readRange(t, dn, 0, 10, false)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != hdfspb.Status_ERROR || se.Message != "replica not found" {
		t.Fatalf("err = %v", err)
	}
}

func TestBlockReaderDeadNode(t *testing.T) {
	testcluster.CheckLeaks(t)
	dn := newFakeDN(t)
	addr := dn.addr()
	dn.ln.Close()
	_, err := NewBlockReader(context.Background(), ReadRequest{Addr: addr, Block: testBlock(1), Length: 1, Timeout: time.Second})
	if err == nil {
		t.Fatal("connected to a closed port")
	}
}

func TestBlockReaderContextCancel(t *testing.T) {
	testcluster.CheckLeaks(t)
	dn := newFakeDN(t)
	dn.blocks[1] = testData(5000)
	ctx, cancel := context.WithCancel(context.Background())
	r, err := NewBlockReader(ctx, ReadRequest{Addr: dn.addr(), Block: testBlock(1), Length: 5000})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cancel()
	// The packets may be buffered already; reading all of them or failing
	// are both right, hanging is not.
	_, _ = io.ReadAll(r)
}
