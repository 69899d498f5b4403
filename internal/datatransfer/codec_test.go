package datatransfer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

func TestPacketGoldenBytes(t *testing.T) {
	// Built by hand from Hadoop's layout (PacketReceiver, PacketHeader).
	want := []byte{
		0x00, 0x00, 0x00, 0x0B, // PLEN = 4 + 4 sum bytes + 3 data bytes
		0x00, 0x19, // HLEN = 25
		0x09, 0, 0, 0, 0, 0, 0, 0, 0, // offsetInBlock sfixed64 = 0
		0x11, 0, 0, 0, 0, 0, 0, 0, 0, // seqno sfixed64 = 0
		0x18, 0x00, // lastPacketInBlock = false
		0x25, 0x03, 0x00, 0x00, 0x00, // dataLen sfixed32 = 3
		0x36, 0x4B, 0x3F, 0xB7, // CRC32C("abc")
		'a', 'b', 'c',
	}
	c := DefaultChecksum()
	sums := c.Compute(nil, []byte("abc"))
	got := AppendPacket(nil, PacketHeader{}, sums, []byte("abc"))
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendPacket:\n got % x\nwant % x", got, want)
	}
	var w bytes.Buffer
	if err := WritePacket(&w, PacketHeader{DataLen: 99}, sums, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("WritePacket:\n got % x\nwant % x", w.Bytes(), want)
	}
	p, err := ReadPacket(bytes.NewReader(want), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Header != (PacketHeader{DataLen: 3}) || string(p.Data) != "abc" || !bytes.Equal(p.Checksums, sums) || !bytes.Equal(p.Raw, want) {
		t.Fatalf("ReadPacket = %+v", p)
	}
}

func TestPacketSyncAndLastFlags(t *testing.T) {
	// syncBlock is sent only when true (HDFS-3721), adding "28 01".
	b := AppendPacket(nil, PacketHeader{OffsetInBlock: 1024, Seqno: 7, SyncBlock: true}, nil, nil)
	if hlen := binary.BigEndian.Uint16(b[4:]); hlen != 27 || !bytes.HasSuffix(b, []byte{0x28, 0x01}) {
		t.Fatalf("sync packet % x", b)
	}
	if len(b) != MaxPacketHeaderLen {
		t.Fatalf("largest header is %d bytes, MaxPacketHeaderLen %d", len(b), MaxPacketHeaderLen)
	}
	last := AppendPacket(nil, PacketHeader{OffsetInBlock: 1 << 40, Seqno: 1<<33 + 1, LastPacketInBlock: true}, nil, nil)
	p, err := ReadPacket(bytes.NewReader(last), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := PacketHeader{OffsetInBlock: 1 << 40, Seqno: 1<<33 + 1, LastPacketInBlock: true}
	if p.Header != want || len(p.Data) != 0 || len(p.Checksums) != 0 {
		t.Fatalf("got %+v", p)
	}
}

func TestReadPacketReusesBuffer(t *testing.T) {
	c := DefaultChecksum()
	data := bytes.Repeat([]byte("x"), 4000)
	var stream []byte
	for i := 0; i < 3; i++ {
		d := data[:4000-i*1000]
		stream = AppendPacket(stream, PacketHeader{Seqno: int64(i), OffsetInBlock: int64(i) * 4096}, c.Compute(nil, d), d)
	}
	r := bytes.NewReader(stream)
	var buf []byte
	for i := 0; i < 3; i++ {
		p, err := ReadPacket(r, buf)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && &p.Raw[0] != &buf[0] {
			t.Fatalf("packet %d did not reuse the buffer", i)
		}
		if p.Header.Seqno != int64(i) || len(p.Data) != 4000-i*1000 {
			t.Fatalf("packet %d: %+v", i, p.Header)
		}
		if err := c.Verify(p.Checksums, p.Data, p.Header.OffsetInBlock); err != nil {
			t.Fatal(err)
		}
		buf = p.Raw
	}
	if _, err := ReadPacket(r, buf); err != io.EOF {
		t.Fatalf("after the last packet: %v, want io.EOF", err)
	}
}

func TestReadPacketRejectsBadFrames(t *testing.T) {
	good := AppendPacket(nil, PacketHeader{Seqno: 1}, []byte{1, 2, 3, 4}, []byte("abc"))
	frame := func(plen uint32, hlen uint16, rest ...byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, plen)
		b = binary.BigEndian.AppendUint16(b, hlen)
		return append(b, rest...)
	}
	hdr := good[6:31]
	cases := map[string][]byte{
		"plen below 4":        frame(3, 0),
		"negative plen":       frame(0x80000000, 0),
		"negative hlen":       frame(4, 0x8000),
		"huge plen":           frame(0x7FFFFFFF, 0),
		"plen+hlen too large": frame(MaxPacketSize-10, 11),
		"truncated lengths":   good[:3],
		"truncated header":    good[:10],
		"truncated data":      good[:len(good)-1],
		"garbage header":      frame(4, 3, 0xFF, 0xFF, 0xFF),
		"missing required":    frame(4, 2, 0x18, 0x00),
		"dataLen over plen":   frame(4+2, 25, append(append([]byte{}, hdr...), 'a', 'b')...),
		"negative dataLen":    frame(4, 25, append(append([]byte{}, hdr[:21]...), 0xFF, 0xFF, 0xFF, 0xFF)...),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ReadPacket(bytes.NewReader(b), nil)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
	_, err := ReadPacket(bytes.NewReader(good[:20]), nil)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated packet: %v, want io.ErrUnexpectedEOF too", err)
	}
}

func TestOpGoldenHeader(t *testing.T) {
	msg := &hdfspb.OpReadBlockProto{
		Header: &hdfspb.ClientOperationHeaderProto{
			BaseHeader: &hdfspb.BaseHeaderProto{Block: &hdfspb.ExtendedBlockProto{
				PoolId: proto.String("BP-1"), BlockId: proto.Uint64(1073741825), GenerationStamp: proto.Uint64(1001),
			}},
			ClientName: proto.String("DFSClient_1"),
		},
		Offset: proto.Uint64(0),
		Len:    proto.Uint64(1 << 20),
	}
	body, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) >= 128 {
		t.Fatalf("test assumes a one-byte varint, body is %d bytes", len(body))
	}
	// version 28 as a big-endian short, opcode 81, varint length, body.
	want := append([]byte{0x00, 0x1C, 0x51, byte(len(body))}, body...)
	var w bytes.Buffer
	if err := WriteOp(&w, OpReadBlock, msg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("WriteOp:\n got % x\nwant % x", w.Bytes(), want)
	}
	op, got, err := ReadOp(bufio.NewReader(bytes.NewReader(want)))
	if err != nil || op != OpReadBlock || !proto.Equal(got, msg) {
		t.Fatalf("ReadOp = %v %v %v", op, got, err)
	}
}

func TestOpRoundTrips(t *testing.T) {
	blk := &hdfspb.ExtendedBlockProto{PoolId: proto.String("BP-7-127.0.0.1-1"), BlockId: proto.Uint64(1 << 30), GenerationStamp: proto.Uint64(1001), NumBytes: proto.Uint64(77)}
	client := &hdfspb.ClientOperationHeaderProto{BaseHeader: &hdfspb.BaseHeaderProto{Block: blk}, ClientName: proto.String("c")}
	dn := &hdfspb.DatanodeInfoProto{Id: &hdfspb.DatanodeIDProto{IpAddr: proto.String("127.0.0.2"), HostName: proto.String("h"), DatanodeUuid: proto.String("u"), XferPort: proto.Uint32(9866), InfoPort: proto.Uint32(9864), IpcPort: proto.Uint32(9867)}}
	stage := hdfspb.OpWriteBlockProto_PIPELINE_SETUP_CREATE
	msgs := map[Op]proto.Message{
		OpReadBlock: &hdfspb.OpReadBlockProto{Header: client, Offset: proto.Uint64(512), Len: proto.Uint64(100), SendChecksums: proto.Bool(false)},
		OpWriteBlock: &hdfspb.OpWriteBlockProto{Header: client, Targets: []*hdfspb.DatanodeInfoProto{dn}, Stage: &stage,
			PipelineSize: proto.Uint32(2), MinBytesRcvd: proto.Uint64(0), MaxBytesRcvd: proto.Uint64(0),
			LatestGenerationStamp: proto.Uint64(1001), RequestedChecksum: DefaultChecksum().Proto()},
		OpTransferBlock: &hdfspb.OpTransferBlockProto{Header: client, Targets: []*hdfspb.DatanodeInfoProto{dn}},
		OpCopyBlock:     &hdfspb.OpCopyBlockProto{Header: client.BaseHeader},
		OpBlockChecksum: &hdfspb.OpBlockChecksumProto{Header: client.BaseHeader},
	}
	var stream bytes.Buffer
	order := []Op{OpReadBlock, OpWriteBlock, OpTransferBlock, OpCopyBlock, OpBlockChecksum}
	for _, op := range order {
		if err := WriteOp(&stream, op, msgs[op]); err != nil {
			t.Fatal(err)
		}
	}
	r := bufio.NewReader(&stream)
	for _, op := range order {
		got, msg, err := ReadOp(r)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		if got != op || !proto.Equal(msg, msgs[op]) {
			t.Fatalf("%s: got %s %v", op, got, msg)
		}
	}
	if _, _, err := ReadOp(r); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
}

func TestReadOpRejects(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"old version", []byte{0x00, 0x1B, 0x51, 0x00}, ErrVersion},
		{"unknown opcode", []byte{0x00, 0x1C, 0x10, 0x00}, ErrMalformed},
		{"short circuit", []byte{0x00, 0x1C, 87, 0x00}, ErrUnsupportedOp},
		{"truncated header", []byte{0x00, 0x1C}, ErrMalformed},
		{"truncated varint", []byte{0x00, 0x1C, 0x51, 0x80}, ErrMalformed},
		{"overlong varint", append([]byte{0x00, 0x1C, 0x51}, bytes.Repeat([]byte{0xFF}, 11)...), ErrMalformed},
		{"huge length", []byte{0x00, 0x1C, 0x51, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}, ErrMalformed},
		{"truncated body", []byte{0x00, 0x1C, 0x51, 0x05, 0x0A}, ErrMalformed},
		{"garbage body", []byte{0x00, 0x1C, 0x51, 0x03, 0xFF, 0xFF, 0xFF}, ErrMalformed},
		{"missing required", []byte{0x00, 0x1C, 0x51, 0x02, 0x10, 0x00}, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadOp(bufio.NewReader(bytes.NewReader(tc.in)))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestResponseGoldenAndError(t *testing.T) {
	ok := &hdfspb.BlockOpResponseProto{Status: hdfspb.Status_SUCCESS.Enum(), FirstBadLink: proto.String("")}
	var w bytes.Buffer
	if err := WriteResponse(&w, ok); err != nil {
		t.Fatal(err)
	}
	// status SUCCESS (08 00), firstBadLink "" (12 00), varint length 4 first.
	if want := []byte{0x04, 0x08, 0x00, 0x12, 0x00}; !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("got % x want % x", w.Bytes(), want)
	}
	bad := &hdfspb.BlockOpResponseProto{Status: hdfspb.Status_ERROR.Enum(), FirstBadLink: proto.String("127.0.0.2:9866"), Message: proto.String("Connect refused")}
	if err := WriteResponse(&w, bad); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(&w)
	for _, want := range []*hdfspb.BlockOpResponseProto{ok, bad} {
		got, err := ReadResponse(r)
		if err != nil || !proto.Equal(got, want) {
			t.Fatalf("ReadResponse = %v, %v", got, err)
		}
	}
	if err := ResponseError(OpWriteBlock, ok); err != nil {
		t.Fatal(err)
	}
	var se *StatusError
	err := ResponseError(OpWriteBlock, bad)
	if !errors.As(err, &se) || se.FirstBadLink != "127.0.0.2:9866" || se.Status != hdfspb.Status_ERROR {
		t.Fatalf("ResponseError = %v", err)
	}
	if !strings.Contains(err.Error(), "OP_WRITE_BLOCK") || !strings.Contains(err.Error(), "Connect refused") {
		t.Fatalf("message %q", err)
	}
	if _, err := ReadResponse(r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("closed before response: %v", err)
	}
}

func TestAckGoldenAndRoundTrip(t *testing.T) {
	a := Ack{Seqno: 5, Replies: []hdfspb.Status{hdfspb.Status_SUCCESS, hdfspb.Status_ERROR}}
	var w bytes.Buffer
	if err := WriteAck(&w, a); err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x0C,       // length 12
		0x08, 0x0A, // seqno sint64 5 (zigzag 10)
		0x10, 0x00, 0x10, 0x01, // reply SUCCESS, ERROR (unpacked, proto2)
		0x18, 0x00, // downstreamAckTimeNanos 0, always sent
		0x22, 0x02, 0x00, 0x01, // flag, packed: status bits of each reply
	}
	if !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("got % x\nwant % x", w.Bytes(), want)
	}
	got, err := ReadAck(bufio.NewReader(&w))
	if err != nil {
		t.Fatal(err)
	}
	if got.Seqno != 5 || got.FirstFailed() != 1 || got.Status(0) != hdfspb.Status_SUCCESS {
		t.Fatalf("got %+v", got)
	}
	// Hadoop 3 takes the status from the flag: ECN bits do not change it.
	flagged := Ack{Seqno: 6, Replies: []hdfspb.Status{hdfspb.Status_SUCCESS}, Flags: []uint32{AckFlag(hdfspb.Status_ERROR_CHECKSUM) | ECNCongested<<flagECNShift}}
	if flagged.Status(0) != hdfspb.Status_ERROR_CHECKSUM || ECNFromFlag(flagged.Flags[0]) != ECNCongested || flagged.FirstFailed() != 0 {
		t.Fatalf("flag status %v", flagged.Status(0))
	}
	// Hadoop 2 peers send no flags.
	old := Ack{Seqno: 1, Replies: []hdfspb.Status{hdfspb.Status_SUCCESS, hdfspb.Status_ERROR_CHECKSUM}, Flags: []uint32{}}
	if old.Status(1) != hdfspb.Status_ERROR_CHECKSUM {
		t.Fatal("reply fallback")
	}
	up := Ack{Seqno: 9, Replies: []hdfspb.Status{hdfspb.Status_ERROR}}.Prepend(hdfspb.Status_SUCCESS)
	if len(up.Replies) != 2 || up.FirstFailed() != 1 || len(up.Flags) != 2 {
		t.Fatalf("Prepend = %+v", up)
	}
	oob := Ack{Seqno: UnknownSeqno, Replies: []hdfspb.Status{hdfspb.Status_OOB_RESTART}}
	if s, ok := oob.OOB(); !ok || s != hdfspb.Status_OOB_RESTART {
		t.Fatal("OOB not seen")
	}
	if _, ok := a.OOB(); ok {
		t.Fatal("OOB on a data ack")
	}
}

func TestReadAckRejects(t *testing.T) {
	enc := func(p *hdfspb.PipelineAckProto) *bufio.Reader {
		var w bytes.Buffer
		if err := WriteDelimited(&w, p); err != nil {
			t.Fatal(err)
		}
		return bufio.NewReader(&w)
	}
	if _, err := ReadAck(enc(&hdfspb.PipelineAckProto{Seqno: proto.Int64(1)})); !errors.Is(err, ErrMalformed) {
		t.Fatalf("no replies: %v", err)
	}
	if _, err := ReadAck(enc(&hdfspb.PipelineAckProto{Seqno: proto.Int64(1), Reply: []hdfspb.Status{0, 0}, Flag: []uint32{0}})); !errors.Is(err, ErrMalformed) {
		t.Fatalf("flags mismatch: %v", err)
	}
	if _, err := ReadAck(bufio.NewReader(bytes.NewReader(nil))); err != io.EOF {
		t.Fatalf("empty: %v", err)
	}
}

func TestReadStatusRoundTrip(t *testing.T) {
	var w bytes.Buffer
	if err := WriteReadStatus(&w, hdfspb.Status_CHECKSUM_OK); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x02, 0x08, 0x06}; !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("got % x", w.Bytes())
	}
	s, err := ReadReadStatus(bufio.NewReader(&w))
	if err != nil || s != hdfspb.Status_CHECKSUM_OK {
		t.Fatalf("%v %v", s, err)
	}
}

func TestTransferAckRoundTrip(t *testing.T) {
	var w bytes.Buffer
	if err := WriteDelimited(&w, &hdfspb.DNTransferAckProto{Status: hdfspb.Status_SUCCESS.Enum()}); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x02, 0x08, 0x00}; !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("got % x", w.Bytes())
	}
	var a hdfspb.DNTransferAckProto
	if err := ReadDelimited(bufio.NewReader(&w), &a); err != nil || a.GetStatus() != hdfspb.Status_SUCCESS {
		t.Fatal(err)
	}
}
