package datatransfer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// FuzzReadPacket feeds arbitrary bytes to the packet decoder: it must
// return a packet whose parts fit the frame, or an error, and never panic.
func FuzzReadPacket(f *testing.F) {
	c := DefaultChecksum()
	data := []byte("hello, datanode")
	f.Add(AppendPacket(nil, PacketHeader{Seqno: 1}, c.Compute(nil, data), data))
	f.Add(AppendPacket(nil, PacketHeader{Seqno: 2, OffsetInBlock: 512, LastPacketInBlock: true}, nil, nil))
	f.Add(AppendPacket(nil, PacketHeader{Seqno: HeartbeatSeqno, SyncBlock: true}, nil, nil))
	f.Add([]byte{0, 0, 0, 4, 0, 0})
	f.Add([]byte{0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		var buf []byte
		for {
			p, err := ReadPacket(r, buf)
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrMalformed) {
					t.Fatalf("unexpected error class: %v", err)
				}
				return
			}
			if len(p.Raw) > PacketLengthsLen+MaxPacketSize || int(p.Header.DataLen) != len(p.Data) {
				t.Fatalf("inconsistent packet %+v", p.Header)
			}
			// What was read re-encodes to a frame that reads back the same.
			q, err := ReadPacket(bytes.NewReader(AppendPacket(nil, p.Header, p.Checksums, p.Data)), nil)
			if err != nil || q.Header != p.Header || !bytes.Equal(q.Data, p.Data) || !bytes.Equal(q.Checksums, p.Checksums) {
				t.Fatalf("re-encoding: %+v %v", q.Header, err)
			}
			_ = c.Verify(p.Checksums, p.Data, p.Header.OffsetInBlock)
			buf = p.Raw
		}
	})
}

// FuzzReadOp feeds arbitrary bytes to the request decoder and the
// delimited readers that follow it on a connection.
func FuzzReadOp(f *testing.F) {
	var w bytes.Buffer
	blk := &hdfspb.ExtendedBlockProto{PoolId: proto.String("BP-1"), BlockId: proto.Uint64(1), GenerationStamp: proto.Uint64(1)}
	_ = WriteOp(&w, OpReadBlock, &hdfspb.OpReadBlockProto{
		Header: &hdfspb.ClientOperationHeaderProto{BaseHeader: &hdfspb.BaseHeaderProto{Block: blk}, ClientName: proto.String("c")},
		Offset: proto.Uint64(0), Len: proto.Uint64(10),
	})
	f.Add(w.Bytes())
	w.Reset()
	_ = WriteOp(&w, OpBlockChecksum, &hdfspb.OpBlockChecksumProto{Header: &hdfspb.BaseHeaderProto{Block: blk}})
	_ = WriteAck(&w, Ack{Seqno: 3, Replies: []hdfspb.Status{0, 1}})
	f.Add(w.Bytes())
	f.Add([]byte{0x00, 0x1C, 0x50, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F})
	f.Add([]byte{0x00, 0x1C, 0x7F})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		if _, _, err := ReadOp(r); err != nil {
			return
		}
		_, _ = ReadAck(r)
		_, _ = ReadResponse(r)
		_, _ = ReadReadStatus(r)
	})
}

// FuzzReadAck feeds arbitrary bytes to the ack and response decoders a
// pipeline writer runs on DataNode output.
func FuzzReadAck(f *testing.F) {
	var w bytes.Buffer
	_ = WriteAck(&w, Ack{Seqno: 7, Replies: []hdfspb.Status{0, 2}})
	_ = WriteAck(&w, Ack{Seqno: HeartbeatSeqno, Replies: []hdfspb.Status{0}})
	f.Add(w.Bytes())
	f.Add([]byte{0x04, 0x08, 0x00, 0x12, 0x00})
	f.Add([]byte{0x05, 0x08, 0x03, 0x22, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		for {
			a, err := ReadAck(r)
			if err != nil {
				break
			}
			if len(a.Replies) == 0 || (len(a.Flags) != 0 && len(a.Flags) != len(a.Replies)) {
				t.Fatalf("accepted inconsistent ack %+v", a)
			}
			_ = a.FirstFailed()
			_, _ = a.OOB()
		}
		_, _ = ReadResponse(bufio.NewReader(bytes.NewReader(b)))
	})
}
