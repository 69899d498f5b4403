package client

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/internal/testcluster"
)

const testBlockSize = 128 << 10

func TestTruncate(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn := startFakeDN(t, "dn1")
	f := startFakeNameNode(t, dn)
	cl, _ := observedClient(t, f, DataOptions{TruncatePollInterval: time.Millisecond})
	data := testData(2*testBlockSize+100, 10)
	f.seed("/t", testBlockSize, data, dn)

	// On a block boundary: at once.
	done, err := cl.Truncate(ctx, "/t", 2*testBlockSize)
	if err != nil || !done {
		t.Fatalf("truncate on a block boundary: %v, %v", done, err)
	}
	if ff := f.file("/t"); len(ff.blocks) != 2 || ff.uc {
		t.Fatalf("after truncate: %d blocks, under construction %v", len(ff.blocks), ff.uc)
	}
	// Mid-block: the DataNodes recover the last block; Truncate waits for it.
	recovered := make(chan struct{})
	go func() {
		defer close(recovered)
		for f.count("truncate") < 2 {
			time.Sleep(time.Millisecond)
		}
		f.finishTruncate("/t")
	}()
	done, err = cl.Truncate(ctx, "/t", testBlockSize+10)
	<-recovered
	if err != nil || done {
		t.Fatalf("truncate mid-block: %v, %v; want false after waiting", done, err)
	}
	ff := f.file("/t")
	last := ff.blocks[len(ff.blocks)-1]
	if got, _, _ := dn.replica(last.b.GetBlockId()); len(ff.blocks) != 2 || ff.uc || !bytes.Equal(got, data[testBlockSize:testBlockSize+10]) {
		t.Fatalf("after truncate: %d blocks, under construction %v, last replica %d bytes", len(ff.blocks), ff.uc, len(got))
	}
	if _, err := cl.Truncate(ctx, "/t", -1); err == nil {
		t.Fatal("negative length accepted")
	}
}

func TestGetFileChecksum(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn1, dn2 := startFakeDN(t, "dn1"), startFakeDN(t, "dn2")
	f := startFakeNameNode(t, dn1, dn2)
	cl, _ := observedClient(t, f, DataOptions{})
	data := testData(2*testBlockSize+3000, 11)
	f.seed("/c", testBlockSize, data, dn1, dn2)
	dn1.Kill() // the first replica fails: the second answers

	// HDFS's MD5-of-MD5-of-CRC32C, computed here from the bytes: the file MD5 covers
	// the three block MD5s padded with zeros to Hadoop's 64-byte buffer.
	cs := datatransfer.DefaultChecksum()
	md5s := make([]byte, 64)
	for i, off := 0, 0; off < len(data); i, off = i+1, off+testBlockSize {
		s := md5.Sum(cs.Compute(nil, data[off:min(len(data), off+testBlockSize)]))
		copy(md5s[16*i:], s[:])
	}
	file := md5.Sum(md5s)
	want := "00000200" + "0000000000000100" + hex.EncodeToString(file[:])
	sum, err := cl.GetFileChecksum(ctx, "/c")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Algorithm != "MD5-of-256MD5-of-512CRC32C" || hex.EncodeToString(sum.Bytes) != want || sum.Length() != 28 {
		t.Fatalf("checksum %s %x, want MD5-of-256MD5-of-512CRC32C %s", sum.Algorithm, sum.Bytes, want)
	}
}

func TestEmptyFileChecksum(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn := startFakeDN(t, "dn1")
	f := startFakeNameNode(t, dn)
	cl, _ := observedClient(t, f, DataOptions{})
	f.seed("/empty", testBlockSize, nil, dn)
	// HDFS's checksum of an empty file.
	sum, err := cl.GetFileChecksum(ctx, "/empty")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Algorithm != "MD5-of-0MD5-of-0CRC32" || hex.EncodeToString(sum.Bytes) != "00000000000000000000000070bc8f4b72a86921468bf8e8441dce51" {
		t.Fatalf("empty file checksum %s %x", sum.Algorithm, sum.Bytes)
	}
}

// TestLeaseRenewer: renewals run while a file is open, every interval, go on after a
// failure, and stop with the last file (the leak check proves the goroutine ended).
func TestLeaseRenewer(t *testing.T) {
	testcluster.CheckLeaks(t)
	calls := make(chan struct{}, 100)
	fail := true
	var sleeps []time.Duration
	l := newLeaseRenewer(func(ctx context.Context) error {
		calls <- struct{}{}
		if fail {
			fail = false
			return errors.New("NameNode down")
		}
		return nil
	}, func(ctx context.Context, d time.Duration) error {
		sleeps = append(sleeps, d)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
			return nil
		}
	}, 30*time.Second, testcluster.Logger(t))
	if !l.acquire() || !l.acquire() {
		t.Fatal("acquire refused")
	}
	<-calls
	<-calls
	<-calls
	l.release()
	l.mu.Lock()
	running := l.mu.cancel != nil
	l.mu.Unlock()
	if !running {
		t.Fatal("renewal stopped with a file still open")
	}
	l.release()
	l.mu.Lock()
	running = l.mu.cancel != nil
	l.mu.Unlock()
	if running {
		t.Fatal("renewal still runs with no file open")
	}
	// The run is over: its sleeps can be read. After the failure it retried within a second.
	if len(sleeps) < 3 || sleeps[0] != 30*time.Second || sleeps[1] != time.Second || sleeps[2] != 30*time.Second {
		t.Fatalf("sleeps %v, want 30s, then 1s after the failure, then 30s", sleeps)
	}
	l.close()
	if l.acquire() {
		t.Fatal("acquire after close")
	}
	l.release() // harmless
}
