package datatransfer

import (
	"bytes"
	"context"
	"io"
	"testing"
)

func BenchmarkChecksumCRC32C(b *testing.B) {
	c := DefaultChecksum()
	data := testData(126 * 512)
	sums := make([]byte, 0, c.SumsLen(len(data)))
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		sums = c.Compute(sums[:0], data)
	}
	if err := c.Verify(sums, data, 0); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkReadPacket(b *testing.B) {
	c := DefaultChecksum()
	data := testData(126 * 512)
	frame := AppendPacket(nil, PacketHeader{Seqno: 1}, c.Compute(nil, data), data)
	r := bytes.NewReader(frame)
	var buf []byte
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		r.Reset(frame)
		p, err := ReadPacket(r, buf)
		if err != nil {
			b.Fatal(err)
		}
		buf = p.Raw
	}
}

// BenchmarkBlockWriter streams 8 MiB blocks over loopback to a fake
// DataNode that verifies every packet and keeps nothing.
func BenchmarkBlockWriter(b *testing.B) {
	dn := newFakeDN(b)
	dn.discard = true
	data := testData(8 << 20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w, err := NewBlockWriter(context.Background(), WriteRequest{Block: testBlock(uint64(i)), Pipeline: pipelineOf(dn), Stage: StageSetupCreate})
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off < len(data); off += 64 << 10 {
			if _, err := w.Write(data[off : off+64<<10]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBlockReader reads an 8 MiB block over loopback with checksum
// verification, in 64 KiB packets as a DataNode sends them.
func BenchmarkBlockReader(b *testing.B) {
	dn := newFakeDN(b)
	dn.readChunks = 126
	data := testData(8 << 20)
	dn.blocks[1] = data
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := NewBlockReader(context.Background(), ReadRequest{Addr: dn.addr(), Block: testBlock(1), Length: int64(len(data))})
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, r)
		r.Close()
		if err != nil || n != int64(len(data)) {
			b.Fatalf("read %d: %v", n, err)
		}
	}
}
