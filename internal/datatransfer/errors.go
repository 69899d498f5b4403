package datatransfer

import (
	"errors"
	"fmt"

	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// ErrMalformed marks bytes from a peer that break the framing: impossible
// lengths, truncated or unparsable messages, unknown opcodes. The
// connection cannot be resynchronised after it; close it.
var ErrMalformed = errors.New("datatransfer: malformed frame")

// ErrChecksum marks data that does not match its checksum.
// errors.As(err, new(*ChecksumError)) gives the offset.
var ErrChecksum = errors.New("datatransfer: checksum mismatch")

// ErrVersion marks a request with a data transfer version other than
// DataTransferVersion.
var ErrVersion = errors.New("datatransfer: version mismatch")

// ErrUnsupportedOp marks a known opcode whose body this package does not
// decode (short-circuit and custom ops). A DataNode answers ERROR_UNSUPPORTED
// and closes the connection.
var ErrUnsupportedOp = errors.New("datatransfer: unsupported operation")

func malformedf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// ChecksumError is a chunk whose checksum does not match its data.
// Offset is the position in the block of the chunk's first byte, which is
// what a client reports to the NameNode (reportBadBlocks) and what a
// DataNode logs before answering ERROR_CHECKSUM.
type ChecksumError struct {
	Type     hdfspb.ChecksumTypeProto
	Offset   int64
	Expected uint32
	Computed uint32
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("datatransfer: %s checksum mismatch at block offset %d: expected %08x, computed %08x",
		checksumName(e.Type), e.Offset, e.Expected, e.Computed)
}

// Is makes errors.Is(err, ErrChecksum) hold.
func (e *ChecksumError) Is(target error) bool { return target == ErrChecksum }

// StatusError is a non-SUCCESS status a DataNode answered an operation
// with (BlockOpResponseProto), with its message and, for WRITE_BLOCK, the
// first DataNode of the pipeline that failed to connect ("ip:port").
type StatusError struct {
	Op           Op
	Status       hdfspb.Status
	Message      string
	FirstBadLink string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("datatransfer: got error, status=%s", e.Status)
	if e.Message != "" {
		s += ", status message " + e.Message
	}
	if e.Op != 0 {
		s += ", for " + e.Op.String()
	}
	if e.FirstBadLink != "" {
		s += ", firstBadLink=" + e.FirstBadLink
	}
	return s
}

// ResponseError is nil when resp is SUCCESS and a *StatusError otherwise.
func ResponseError(op Op, resp *hdfspb.BlockOpResponseProto) error {
	if resp.GetStatus() == hdfspb.Status_SUCCESS {
		return nil
	}
	return &StatusError{Op: op, Status: resp.GetStatus(), Message: resp.GetMessage(), FirstBadLink: resp.GetFirstBadLink()}
}
