package datatransfer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

const (
	// MaxPacketSize bounds PLEN + HLEN of a received packet
	// (dfs.data.transfer.max.packet.size, 16 MiB in Hadoop).
	MaxPacketSize = 16 << 20

	// PacketLengthsLen is the size of the PLEN and HLEN fields.
	PacketLengthsLen = 6

	// MaxPacketHeaderLen is the largest PLEN+HLEN+header (Hadoop's
	// PKT_MAX_HEADER_LEN): 6 bytes of lengths plus a header with every
	// field set (offsetInBlock and seqno 9 bytes each, lastPacketInBlock 2,
	// dataLen 5, syncBlock 2).
	MaxPacketHeaderLen = PacketLengthsLen + 27

	// DefaultWritePacketSize is dfs.client-write-packet-size's default.
	DefaultWritePacketSize = 64 * 1024

	// HeartbeatSeqno is the seqno of a write pipeline heartbeat packet
	// (Hadoop's DFSPacket.HEART_BEAT_SEQNO): no data, not last, offset 0.
	// Every DataNode of the pipeline acks it with the same seqno.
	HeartbeatSeqno = -1

	// UnknownSeqno is the seqno of an out-of-band ack (Hadoop's
	// PipelineAck.UNKOWN_SEQNO), e.g. OOB_RESTART from a DataNode about to
	// restart.
	UnknownSeqno = -2
)

// PacketHeader is the PacketHeaderProto of a packet.
type PacketHeader struct {
	// OffsetInBlock is the block offset of the packet's first data byte.
	OffsetInBlock int64
	// Seqno numbers packets: 0, 1, 2, ... on reads; on writes acks carry it
	// back. HeartbeatSeqno marks a heartbeat.
	Seqno int64
	// LastPacketInBlock marks the empty packet that ends a block.
	LastPacketInBlock bool
	// DataLen is the number of data bytes. WritePacket and AppendPacket set
	// it from the data.
	DataLen int32
	// SyncBlock asks each DataNode to fsync the block once the packet is
	// written (hsync); it is sent only when true, as Hadoop does.
	SyncBlock bool
}

func (h PacketHeader) proto() *hdfspb.PacketHeaderProto {
	p := &hdfspb.PacketHeaderProto{
		OffsetInBlock:     proto.Int64(h.OffsetInBlock),
		Seqno:             proto.Int64(h.Seqno),
		LastPacketInBlock: proto.Bool(h.LastPacketInBlock),
		DataLen:           proto.Int32(h.DataLen),
	}
	if h.SyncBlock {
		p.SyncBlock = proto.Bool(true)
	}
	return p
}

// Packet is one received packet. Checksums and Data alias Raw, which holds
// the whole frame as it came off the wire (lengths and header included):
// a DataNode mirrors a packet downstream by writing Raw unchanged.
type Packet struct {
	Header    PacketHeader
	Checksums []byte
	Data      []byte
	Raw       []byte
}

// ReadPacket reads one packet, reusing buf's storage when it is large
// enough (pass the previous Packet's Raw to read without allocating). The
// returned slices are valid until buf is reused.
//
// A clean end of stream before the first byte is io.EOF. Lengths outside
// Hadoop's bounds (PLEN < 4, HLEN < 0, PLEN+HLEN > MaxPacketSize, DataLen
// outside [0, PLEN-4]) and unparsable headers are ErrMalformed; a stream
// that ends inside a packet is ErrMalformed and io.ErrUnexpectedEOF. No
// more than PacketLengthsLen+MaxPacketSize bytes are ever allocated.
func ReadPacket(r io.Reader, buf []byte) (Packet, error) {
	buf = grow(buf, PacketLengthsLen)
	if n, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			return Packet{}, io.EOF
		}
		return Packet{}, readErr(err, n, "packet lengths")
	}
	plen := int32(binary.BigEndian.Uint32(buf))
	hlen := int16(binary.BigEndian.Uint16(buf[4:]))
	if plen < 4 {
		return Packet{}, malformedf("invalid payload length %d", plen)
	}
	if hlen < 0 {
		return Packet{}, malformedf("invalid header length %d", hlen)
	}
	if int64(plen)+int64(hlen) > MaxPacketSize {
		return Packet{}, malformedf("packet payload length %d and header length %d exceed %d", plen, hlen, MaxPacketSize)
	}
	total := PacketLengthsLen + int(hlen) + int(plen) - 4
	buf = grow(buf, total)
	if _, err := io.ReadFull(r, buf[PacketLengthsLen:]); err != nil {
		return Packet{}, readErr(err, 1, "packet body")
	}
	var hp hdfspb.PacketHeaderProto
	hend := PacketLengthsLen + int(hlen)
	if err := proto.Unmarshal(buf[PacketLengthsLen:hend], &hp); err != nil {
		return Packet{}, malformedf("packet header: %v", err)
	}
	h := PacketHeader{
		OffsetInBlock:     hp.GetOffsetInBlock(),
		Seqno:             hp.GetSeqno(),
		LastPacketInBlock: hp.GetLastPacketInBlock(),
		DataLen:           hp.GetDataLen(),
		SyncBlock:         hp.GetSyncBlock(),
	}
	rest := int(plen) - 4
	if h.DataLen < 0 || int(h.DataLen) > rest {
		return Packet{}, malformedf("data length %d in packet header exceeds data length received %d", h.DataLen, rest)
	}
	csEnd := hend + rest - int(h.DataLen)
	return Packet{
		Header:    h,
		Checksums: buf[hend:csEnd:csEnd],
		Data:      buf[csEnd:total:total],
		Raw:       buf,
	}, nil
}

// grow returns buf resized to n, reusing its storage when it can.
func grow(buf []byte, n int) []byte {
	if cap(buf) >= n {
		return buf[:n]
	}
	nb := make([]byte, n)
	copy(nb, buf)
	return nb
}

// readErr turns a short read inside a frame into ErrMalformed +
// io.ErrUnexpectedEOF, and keeps I/O errors (timeouts, resets) as they are.
func readErr(err error, n int, what string) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || (err == io.EOF && n > 0) {
		return fmt.Errorf("%w: truncated %s: %w", ErrMalformed, what, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("datatransfer: read %s: %w", what, err)
}

// appendPacketHead appends PLEN, HLEN and the header of a packet carrying
// sumsLen bytes of sums and dataLen bytes of data.
func appendPacketHead(dst []byte, h PacketHeader, sumsLen, dataLen int) []byte {
	h.DataLen = int32(dataLen)
	hp := h.proto()
	dst = binary.BigEndian.AppendUint32(dst, uint32(4+sumsLen+dataLen))
	dst = binary.BigEndian.AppendUint16(dst, uint16(proto.Size(hp)))
	dst, _ = proto.MarshalOptions{}.MarshalAppend(dst, hp) // cannot fail: every required field is set
	return dst
}

// AppendPacket appends the frame of one packet to dst: PLEN, HLEN, the
// header (DataLen set to len(data)), sums, data.
func AppendPacket(dst []byte, h PacketHeader, sums, data []byte) []byte {
	dst = appendPacketHead(dst, h, len(sums), len(data))
	dst = append(dst, sums...)
	return append(dst, data...)
}

// WritePacket sends one packet without copying sums and data (one
// writev on a *net.TCPConn). Callers that share w between goroutines (a
// heartbeat sender) must serialise the calls.
func WritePacket(w io.Writer, h PacketHeader, sums, data []byte) error {
	if len(sums)+len(data)+MaxPacketHeaderLen > MaxPacketSize {
		return fmt.Errorf("datatransfer: packet of %d bytes exceeds %d", len(sums)+len(data), MaxPacketSize)
	}
	head := appendPacketHead(make([]byte, 0, MaxPacketHeaderLen), h, len(sums), len(data))
	bufs := net.Buffers{head, sums, data}
	_, err := bufs.WriteTo(w)
	return err
}
