package datatransfer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// DataTransferVersion is the version every request starts with (Hadoop's
// DataTransferProtocol.DATA_TRANSFER_VERSION).
const DataTransferVersion = 28

// MaxMessageSize bounds one varint-delimited message (requests, responses,
// acks). Real ones are a few hundred bytes; the bound only keeps a
// malformed length from allocating memory.
const MaxMessageSize = 4 << 20

// Op is a DataTransferProtocol opcode (Hadoop's datatransfer.Op).
type Op byte

// Opcodes, Hadoop's values.
const (
	OpWriteBlock             Op = 80
	OpReadBlock              Op = 81
	OpReadMetadata           Op = 82
	OpReplaceBlock           Op = 83
	OpCopyBlock              Op = 84
	OpBlockChecksum          Op = 85
	OpTransferBlock          Op = 86
	OpRequestShortCircuitFds Op = 87
	OpReleaseShortCircuitFds Op = 88
	OpRequestShortCircuitShm Op = 89
	OpBlockGroupChecksum     Op = 90
	OpCustom                 Op = 127
)

var opNames = map[Op]string{
	OpWriteBlock:             "WRITE_BLOCK",
	OpReadBlock:              "READ_BLOCK",
	OpReadMetadata:           "READ_METADATA",
	OpReplaceBlock:           "REPLACE_BLOCK",
	OpCopyBlock:              "COPY_BLOCK",
	OpBlockChecksum:          "BLOCK_CHECKSUM",
	OpTransferBlock:          "TRANSFER_BLOCK",
	OpRequestShortCircuitFds: "REQUEST_SHORT_CIRCUIT_FDS",
	OpReleaseShortCircuitFds: "RELEASE_SHORT_CIRCUIT_FDS",
	OpRequestShortCircuitShm: "REQUEST_SHORT_CIRCUIT_SHM",
	OpBlockGroupChecksum:     "BLOCK_GROUP_CHECKSUM",
	OpCustom:                 "CUSTOM",
}

// String is Hadoop's name with the OP_ prefix its messages use
// ("OP_READ_BLOCK"), or OP_<n> for an unknown code.
func (o Op) String() string {
	if n, ok := opNames[o]; ok {
		return "OP_" + n
	}
	return fmt.Sprintf("OP_%d", byte(o))
}

// newOpMessage returns an empty message of the type op carries, or nil when
// this package does not decode op.
func newOpMessage(op Op) proto.Message {
	switch op {
	case OpWriteBlock:
		return &hdfspb.OpWriteBlockProto{}
	case OpReadBlock:
		return &hdfspb.OpReadBlockProto{}
	case OpCopyBlock:
		return &hdfspb.OpCopyBlockProto{}
	case OpBlockChecksum:
		return &hdfspb.OpBlockChecksumProto{}
	case OpTransferBlock:
		return &hdfspb.OpTransferBlockProto{}
	}
	return nil
}

// WriteOp sends one request: version, opcode, delimited msg, in a single
// Write. msg must be the message op carries (OpReadBlockProto for
// OpReadBlock, ...).
func WriteOp(w io.Writer, op Op, msg proto.Message) error {
	b := make([]byte, 3, 3+binary.MaxVarintLen32+proto.Size(msg))
	binary.BigEndian.PutUint16(b, DataTransferVersion)
	b[2] = byte(op)
	b, err := appendDelimited(b, msg)
	if err != nil {
		return fmt.Errorf("datatransfer: encode %s: %w", op, err)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("datatransfer: send %s: %w", op, err)
	}
	return nil
}

// request sends one op and reads its answer, which must be SUCCESS; addr
// and block name the DataNode and the replica in errors.
func request(w io.Writer, r ByteReader, addr string, block *hdfspb.ExtendedBlockProto, op Op, msg proto.Message) (*hdfspb.BlockOpResponseProto, error) {
	if err := WriteOp(w, op, msg); err != nil {
		return nil, fmt.Errorf("%w (datanode %s)", err, addr)
	}
	resp, err := ReadResponse(r)
	if err != nil {
		return nil, fmt.Errorf("datatransfer: %s: read response from %s: %w", op, addr, err)
	}
	if err := ResponseError(op, resp); err != nil {
		return nil, fmt.Errorf("%w, block %s, datanode %s", err, BlockName(block), addr)
	}
	return resp, nil
}

// ReadOpHeader reads the version and opcode of one request. A version
// other than DataTransferVersion is ErrVersion (Hadoop's DataNode answers
// nothing and closes).
func ReadOpHeader(r io.Reader) (Op, error) {
	var h [3]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, err
	}
	if v := binary.BigEndian.Uint16(h[:2]); v != DataTransferVersion {
		return 0, fmt.Errorf("%w: Version Mismatch (Expected: %d, Received: %d )", ErrVersion, DataTransferVersion, int16(v))
	}
	return Op(h[2]), nil
}

// ReadOp reads one request and decodes its body into the message type op
// carries: *hdfspb.OpWriteBlockProto, *hdfspb.OpReadBlockProto,
// *hdfspb.OpCopyBlockProto, *hdfspb.OpBlockChecksumProto or
// *hdfspb.OpTransferBlockProto. A clean end of stream before the first
// byte is io.EOF (the peer closed an idle connection). Other opcodes return
// the op with an error wrapping ErrUnsupportedOp (a known op this package
// does not decode) or ErrMalformed (an unknown code); the body is unread and
// the connection must be closed.
func ReadOp(r *bufio.Reader) (Op, proto.Message, error) {
	op, err := ReadOpHeader(r)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, malformedf("truncated request header")
		}
		return 0, nil, err
	}
	msg := newOpMessage(op)
	if msg == nil {
		if _, known := opNames[op]; known {
			return op, nil, fmt.Errorf("%w: %s", ErrUnsupportedOp, op)
		}
		return op, nil, malformedf("unknown opcode %d", byte(op))
	}
	if err := ReadDelimited(r, msg); err != nil {
		return op, nil, fmt.Errorf("datatransfer: read %s: %w", op, err)
	}
	return op, msg, nil
}

// ByteReader is what delimited reads need: the varint prefix is read a
// byte at a time so that nothing after the message is consumed.
// *bufio.Reader is one.
type ByteReader interface {
	io.Reader
	io.ByteReader
}

func appendDelimited(b []byte, msg proto.Message) ([]byte, error) {
	n := proto.Size(msg)
	b = binary.AppendUvarint(b, uint64(n))
	return proto.MarshalOptions{}.MarshalAppend(b, msg)
}

// WriteDelimited sends msg preceded by its length as a varint (protobuf's
// writeDelimitedTo), in a single Write.
func WriteDelimited(w io.Writer, msg proto.Message) error {
	b, err := appendDelimited(make([]byte, 0, binary.MaxVarintLen32+proto.Size(msg)), msg)
	if err != nil {
		return fmt.Errorf("datatransfer: encode: %w", err)
	}
	_, err = w.Write(b)
	return err
}

// ReadDelimited reads one varint-length-delimited message into msg. It
// consumes exactly the message's bytes. A clean end of stream before the
// first byte is io.EOF; a length over MaxMessageSize, a truncated message
// or bytes that do not parse (required fields included) are ErrMalformed.
func ReadDelimited(r ByteReader, msg proto.Message) error {
	n, err := readUvarint(r)
	if err != nil {
		return err
	}
	if n > MaxMessageSize {
		return malformedf("message length %d exceeds %d", n, MaxMessageSize)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
			return malformedf("truncated message: want %d bytes", n)
		}
		return err
	}
	if err := proto.Unmarshal(buf, msg); err != nil {
		return malformedf("%v", err)
	}
	return nil
}

// readUvarint reads a varint a byte at a time. It returns io.EOF only
// when the stream ends before the first byte, ErrMalformed for a truncated
// or over-long varint, and the reader's own error otherwise.
func readUvarint(r io.ByteReader) (uint64, error) {
	var x uint64
	var s uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		c, err := r.ReadByte()
		if err != nil {
			if err == io.EOF {
				if i == 0 {
					return 0, io.EOF
				}
				return 0, malformedf("truncated length prefix")
			}
			return 0, err
		}
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			return x | uint64(c)<<s, nil
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, malformedf("length prefix overflows 64 bits")
}

// WriteResponse sends an operation's answer (delimited BlockOpResponseProto).
// For WRITE_BLOCK a DataNode sets FirstBadLink even when empty, as Hadoop's
// does: some clients (github.com/colinmarc/hdfs/v2) read at least 5 bytes
// for the answer.
func WriteResponse(w io.Writer, resp *hdfspb.BlockOpResponseProto) error {
	return WriteDelimited(w, resp)
}

// ReadResponse reads an operation's answer. The status is not checked:
// see ResponseError.
func ReadResponse(r ByteReader) (*hdfspb.BlockOpResponseProto, error) {
	resp := &hdfspb.BlockOpResponseProto{}
	if err := ReadDelimited(r, resp); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("datatransfer: connection closed before the response: %w", io.ErrUnexpectedEOF)
		}
		return nil, err
	}
	return resp, nil
}
