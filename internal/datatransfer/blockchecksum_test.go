package datatransfer

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

func TestBlockChecksumAndFileChecksum(t *testing.T) {
	testcluster.CheckLeaks(t)
	dn := newFakeDN(t)
	data := testData(3000)
	dn.blocks[1] = data[:2048]
	dn.blocks[2] = data[2048:]
	var resps []*hdfspb.OpBlockChecksumResponseProto
	for _, id := range []uint64{1, 2} {
		r, err := BlockChecksum(context.Background(), OpRequest{Addr: dn.addr(), Block: testBlock(id)})
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, r)
	}
	c := DefaultChecksum()
	want1 := md5.Sum(c.Compute(nil, data[:2048]))
	if !bytes.Equal(resps[0].GetBlockChecksum(), want1[:]) || resps[0].GetCrcPerBlock() != 4 {
		t.Fatalf("block 1: %x crcPerBlock %d", resps[0].GetBlockChecksum(), resps[0].GetCrcPerBlock())
	}
	if got := BlockChecksumResponse(c, c.Compute(nil, data[:2048])); !bytes.Equal(got.GetBlockChecksum(), want1[:]) || got.GetCrcPerBlock() != 4 {
		t.Fatal("BlockChecksumResponse differs from the DataNode's answer")
	}
	f, err := CombineBlockChecksums(resps)
	if err != nil {
		t.Fatal(err)
	}
	if f.Algorithm() != "MD5-of-4MD5-of-512CRC32C" {
		t.Fatalf("algorithm %q", f.Algorithm())
	}
	want2 := md5.Sum(c.Compute(nil, data[2048:]))
	fileMD5 := md5.Sum(append(want1[:], want2[:]...)) // 32 bytes: Hadoop's buffer exactly
	if f.MD5 != fileMD5 {
		t.Fatal("file MD5 is not the MD5 of the block MD5s")
	}
	b := f.Bytes()
	if len(b) != 28 || hex.EncodeToString(b[:12]) != "000002000000000000000004" || !bytes.Equal(b[12:], fileMD5[:]) {
		t.Fatalf("bytes %x", b)
	}

	one, _ := CombineBlockChecksums(resps[:1])
	if one.Algorithm() != "MD5-of-0MD5-of-512CRC32C" {
		t.Fatalf("one block: %q", one.Algorithm())
	}
	// Hadoop digests its whole buffer: 32 bytes at first, doubling.
	if one.MD5 != md5.Sum(append(want1[:], make([]byte, 16)...)) {
		t.Fatal("one block: the MD5 does not cover Hadoop's 16 padding zeros")
	}
	three, _ := CombineBlockChecksums([]*hdfspb.OpBlockChecksumResponseProto{resps[0], resps[1], resps[0]})
	if three.MD5 != md5.Sum(append(append(append(want1[:], want2[:]...), want1[:]...), make([]byte, 16)...)) {
		t.Fatal("three blocks: the MD5 does not cover a 64-byte buffer")
	}
	empty, _ := CombineBlockChecksums(nil)
	if empty.Algorithm() != "MD5-of-0MD5-of-0CRC32" || empty.MD5 != md5.Sum(make([]byte, 32)) {
		t.Fatalf("empty file: %v", empty)
	}
	mixed := BlockChecksumResponse(Checksum{Type: ChecksumCRC32, BytesPerChecksum: 512}, []byte{1, 2, 3, 4})
	if m, _ := CombineBlockChecksums([]*hdfspb.OpBlockChecksumResponseProto{resps[0], mixed}); m.Algorithm() != "MD5-of-4MD5-of-512CRC32" {
		t.Fatalf("mixed: %q", m.Algorithm())
	}
	other := BlockChecksumResponse(Checksum{Type: ChecksumCRC32C, BytesPerChecksum: 1024}, nil)
	if _, err := CombineBlockChecksums([]*hdfspb.OpBlockChecksumResponseProto{resps[0], other}); err == nil {
		t.Fatal("different bytes per checksum accepted")
	}
}

func TestOneShotOps(t *testing.T) {
	testcluster.CheckLeaks(t)
	dn := newFakeDN(t)
	err := TransferBlock(context.Background(), OpRequest{Addr: dn.addr(), Block: testBlock(1), ClientName: "c"}, []*hdfspb.DatanodeInfoProto{dn.info()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dn.mu.Lock()
	if len(dn.transfers) != 1 || len(dn.transfers[0].GetTargets()) != 1 || dn.transfers[0].GetHeader().GetClientName() != "c" {
		t.Fatalf("transfers %v", dn.transfers)
	}
	dn.mu.Unlock()
	if _, err := BlockChecksum(context.Background(), OpRequest{Addr: dn.addr(), Block: testBlock(99)}); err == nil {
		t.Fatal("checksum of a missing block succeeded")
	}
	addr := dn.addr()
	dn.ln.Close()
	if _, err := BlockChecksum(context.Background(), OpRequest{Addr: addr, Block: testBlock(1)}); err == nil || errors.Is(err, ErrMalformed) {
		t.Fatalf("dead node: %v", err)
	}
}
