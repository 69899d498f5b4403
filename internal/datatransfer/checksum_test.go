package datatransfer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

func TestChecksumCompute(t *testing.T) {
	data := make([]byte, 1300)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, c := range []Checksum{DefaultChecksum(), {Type: ChecksumCRC32, BytesPerChecksum: 512}} {
		sums := c.Compute(nil, data)
		if len(sums) != 12 || c.SumsLen(len(data)) != 12 || c.Chunks(len(data)) != 3 {
			t.Fatalf("%v: %d bytes of sums", c, len(sums))
		}
		tab := crc32.MakeTable(crc32.Castagnoli)
		if c.Type == ChecksumCRC32 {
			tab = crc32.IEEETable
		}
		for i, chunk := range [][]byte{data[:512], data[512:1024], data[1024:]} {
			if got, want := binary.BigEndian.Uint32(sums[4*i:]), crc32.Checksum(chunk, tab); got != want {
				t.Fatalf("%v chunk %d: %08x want %08x", c, i, got, want)
			}
		}
		if err := c.Verify(sums, data, 0); err != nil {
			t.Fatal(err)
		}
	}
	null := Checksum{Type: ChecksumNull, BytesPerChecksum: 512}
	if len(null.Compute(nil, data)) != 0 || null.Verify(nil, data, 0) != nil || null.SumsLen(100) != 0 {
		t.Fatal("NULL checksum has sums")
	}
}

func TestChecksumVerifyFlippedBit(t *testing.T) {
	c := DefaultChecksum()
	data := bytes.Repeat([]byte("hdfsha"), 300) // 1800 bytes, 4 chunks
	sums := c.Compute(nil, data)
	for _, bit := range []int{0, 513 * 8, 1799*8 + 7} {
		bad := append([]byte(nil), data...)
		bad[bit/8] ^= 1 << (bit % 8)
		err := c.Verify(sums, bad, 4096)
		var ce *ChecksumError
		if !errors.As(err, &ce) || !errors.Is(err, ErrChecksum) {
			t.Fatalf("bit %d: %v", bit, err)
		}
		if want := 4096 + int64(bit/8/512*512); ce.Offset != want {
			t.Fatalf("bit %d: offset %d, want %d", bit, ce.Offset, want)
		}
	}
	if err := c.Verify(sums[:8], data, 0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short sums: %v", err)
	}
}

func TestChecksumHeaderAndProto(t *testing.T) {
	c := DefaultChecksum()
	h := c.AppendHeader(nil)
	if want := []byte{0x02, 0x00, 0x00, 0x02, 0x00}; !bytes.Equal(h, want) {
		t.Fatalf("header % x", h)
	}
	got, err := ParseChecksumHeader(h)
	if err != nil || got != c {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range [][]byte{{2, 0, 0}, {9, 0, 0, 2, 0}, {2, 0, 0, 0, 0}, {2, 0xFF, 0xFF, 0xFF, 0xFF}} {
		if _, err := ParseChecksumHeader(bad); !errors.Is(err, ErrMalformed) {
			t.Fatalf("% x: %v", bad, err)
		}
	}
	p, err := ChecksumFromProto(c.Proto())
	if err != nil || p != c {
		t.Fatal(p, err)
	}
	zero := uint32(0)
	typ := hdfspb.ChecksumTypeProto_CHECKSUM_CRC32C
	if _, err := ChecksumFromProto(&hdfspb.ChecksumProto{Type: &typ, BytesPerChecksum: &zero}); err == nil {
		t.Fatal("zero bytesPerChecksum accepted")
	}
	if c.String() != "DataChecksum(type=CRC32C, chunkSize=512)" {
		t.Fatal(c.String())
	}
}
