package datatransfer

import (
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// Hadoop 3 acks carry, next to each node's Status, a header flag
// (PipelineAck.combineHeader) that packs, from the low bit up: the status
// (4 bits), a reserved bit, ECN (2 bits), SLOW (2 bits). Hadoop 3 readers
// take the status from the flag when flags are present, so a DataNode must
// send both.
const (
	flagStatusMask = 0xF
	flagECNShift   = 5
	flagSlowShift  = 7
)

// ECN values of a header flag (PipelineAck.ECN).
const (
	ECNDisabled  = 0
	ECNSupported = 1
	ECNCongested = 3
)

// AckFlag is the header flag for a status with ECN and SLOW disabled, what
// a Hadoop DataNode sends unless dfs.pipeline.ecn or slow-node detection is
// on.
func AckFlag(s hdfspb.Status) uint32 {
	return uint32(s) & flagStatusMask
}

// StatusFromFlag is PipelineAck.getStatusFromHeader.
func StatusFromFlag(flag uint32) hdfspb.Status {
	return hdfspb.Status(flag & flagStatusMask)
}

// ECNFromFlag is PipelineAck.getECNFromHeader.
func ECNFromFlag(flag uint32) int { return int(flag>>flagECNShift) & 3 }

// Ack is a pipeline ack (PipelineAckProto): the packet's seqno and one
// reply per DataNode from the one answering down to the end of the
// pipeline.
type Ack struct {
	Seqno int64
	// Replies is each node's status, the answering node's first.
	Replies []hdfspb.Status
	// Flags are the Hadoop 3 header flags, one per reply. WriteAck fills
	// them from Replies (AckFlag) when nil; a DataNode forwarding a
	// downstream ack keeps the downstream flags.
	Flags []uint32
	// DownstreamAckTimeNanos is how long the downstream ack took, 0 at the
	// end of the pipeline. It is always sent, as Hadoop does.
	DownstreamAckTimeNanos uint64
}

// Status is node i's status: from its flag when flags were sent (Hadoop 3's
// getHeaderFlag), else from the reply list.
func (a Ack) Status(i int) hdfspb.Status {
	if i < len(a.Flags) {
		return StatusFromFlag(a.Flags[i])
	}
	if i < len(a.Replies) {
		return a.Replies[i]
	}
	return hdfspb.Status_ERROR
}

// FirstFailed is the index of the first node whose status is not SUCCESS,
// or -1 when every node succeeded.
func (a Ack) FirstFailed() int {
	for i := range a.Replies {
		if a.Status(i) != hdfspb.Status_SUCCESS {
			return i
		}
	}
	return -1
}

// OOB returns the out-of-band status an ack carries (OOB_RESTART ...),
// which only acks with UnknownSeqno do.
func (a Ack) OOB() (hdfspb.Status, bool) {
	if a.Seqno != UnknownSeqno {
		return 0, false
	}
	for i := range a.Replies {
		if s := a.Status(i); s >= hdfspb.Status_OOB_RESTART && s <= hdfspb.Status_OOB_RESERVED3 {
			return s, true
		}
	}
	return 0, false
}

// Prepend returns the ack a DataNode sends upstream: its own status first,
// then the downstream replies and flags.
func (a Ack) Prepend(s hdfspb.Status) Ack {
	out := Ack{Seqno: a.Seqno, DownstreamAckTimeNanos: a.DownstreamAckTimeNanos}
	out.Replies = append([]hdfspb.Status{s}, a.Replies...)
	out.Flags = append([]uint32{AckFlag(s)}, a.flags()...)
	return out
}

func (a Ack) flags() []uint32 {
	if a.Flags != nil {
		return a.Flags
	}
	f := make([]uint32, len(a.Replies))
	for i, s := range a.Replies {
		f[i] = AckFlag(s)
	}
	return f
}

// WriteAck sends a (delimited PipelineAckProto) in one Write.
func WriteAck(w io.Writer, a Ack) error {
	flags := a.flags()
	if len(flags) != len(a.Replies) {
		return fmt.Errorf("datatransfer: ack has %d replies and %d flags", len(a.Replies), len(flags))
	}
	return WriteDelimited(w, &hdfspb.PipelineAckProto{
		Seqno:                  proto.Int64(a.Seqno),
		Reply:                  a.Replies,
		DownstreamAckTimeNanos: proto.Uint64(a.DownstreamAckTimeNanos),
		Flag:                   flags,
	})
}

// ReadAck reads one pipeline ack. An ack whose flags do not match its
// replies one to one (Hadoop 2 peers send no flags: that is allowed) is
// ErrMalformed, and so is an ack without replies.
func ReadAck(r ByteReader) (Ack, error) {
	var p hdfspb.PipelineAckProto
	if err := ReadDelimited(r, &p); err != nil {
		return Ack{}, err
	}
	a := Ack{Seqno: p.GetSeqno(), Replies: p.GetReply(), Flags: p.GetFlag(), DownstreamAckTimeNanos: p.GetDownstreamAckTimeNanos()}
	if len(a.Replies) == 0 {
		return Ack{}, malformedf("pipeline ack for seqno %d has no replies", a.Seqno)
	}
	if len(a.Flags) != 0 && len(a.Flags) != len(a.Replies) {
		return Ack{}, malformedf("pipeline ack has %d replies and %d flags", len(a.Replies), len(a.Flags))
	}
	return a, nil
}

// WriteReadStatus sends the ClientReadStatusProto a reader sends after the
// last packet of a READ_BLOCK: CHECKSUM_OK when it verified every
// checksum, SUCCESS when it did not.
func WriteReadStatus(w io.Writer, s hdfspb.Status) error {
	return WriteDelimited(w, &hdfspb.ClientReadStatusProto{Status: &s})
}

// ReadReadStatus reads a reader's ClientReadStatusProto.
func ReadReadStatus(r ByteReader) (hdfspb.Status, error) {
	var p hdfspb.ClientReadStatusProto
	if err := ReadDelimited(r, &p); err != nil {
		return 0, err
	}
	return p.GetStatus(), nil
}
