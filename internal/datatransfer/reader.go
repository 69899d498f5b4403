package datatransfer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// ReadRequest says which bytes of which replica a BlockReader reads.
type ReadRequest struct {
	// Addr is the DataNode's transfer address, "ip:port" (XferAddr).
	Addr string
	// Block is the replica; its generation stamp must be the one the
	// NameNode returned.
	Block *hdfspb.ExtendedBlockProto
	// Token is the block access token, if any.
	Token *commonpb.TokenProto
	// ClientName identifies the reader in DataNode logs.
	ClientName string
	// Offset and Length select the bytes of the block to read.
	Offset, Length int64
	// SkipChecksum asks the DataNode not to send checksums and skips
	// verification (Hadoop's verifyChecksum=false).
	SkipChecksum bool
	// Timeout bounds the dial and every wait for the DataNode
	// (dfs.client.socket-timeout; DefaultSocketTimeout when zero).
	Timeout time.Duration
	// Dial opens the connection; nil uses a net.Dialer.
	Dial DialFunc
}

// BlockReader reads a range of one replica with READ_BLOCK, verifying
// checksums as packets arrive (Hadoop's BlockReaderRemote). It is an
// io.ReadCloser returning io.EOF after Length bytes. Errors say why the
// replica failed so the caller can try another one: a *ChecksumError
// (report the replica with reportBadBlocks), a *StatusError (the DataNode
// refused, e.g. the replica is missing), io.ErrUnexpectedEOF (the stream
// ended early), or an I/O error. Not safe for concurrent use.
type BlockReader struct {
	req      ReadRequest
	conn     net.Conn
	br       *bufio.Reader
	stop     func() bool
	checksum Checksum
	verify   bool

	buf    []byte // storage of the current packet
	data   []byte // unread data of the current packet
	pos    int64  // block offset of the next byte the packets carry
	skip   int64  // bytes of the next data to drop (before Offset)
	left   int64  // bytes still to return
	seqno  int64  // last packet seqno seen
	err    error  // sticky
	done   bool   // the last packet and the read status are through
	closed bool
}

// NewBlockReader connects to req.Addr, sends READ_BLOCK and reads the
// answer. The context bounds the setup and, until Close, every read.
func NewBlockReader(ctx context.Context, req ReadRequest) (*BlockReader, error) {
	if req.Offset < 0 || req.Length < 0 {
		return nil, fmt.Errorf("datatransfer: invalid read range offset %d length %d", req.Offset, req.Length)
	}
	req.Timeout = orDefault(req.Timeout, DefaultSocketTimeout)
	conn, err := dial(ctx, req.Dial, req.Addr, req.Timeout)
	if err != nil {
		return nil, fmt.Errorf("datatransfer: connect to %s: %w", req.Addr, err)
	}
	r := &BlockReader{req: req, conn: conn, br: bufio.NewReaderSize(conn, 64<<10), verify: !req.SkipChecksum, seqno: -1, left: req.Length}
	r.stop = watchContext(ctx, conn)
	if err := r.setup(); err != nil {
		r.stop()
		conn.Close()
		return nil, err
	}
	return r, nil
}

func (r *BlockReader) setup() error {
	q := r.req
	_ = r.conn.SetDeadline(time.Now().Add(q.Timeout))
	op := &hdfspb.OpReadBlockProto{
		Header: &hdfspb.ClientOperationHeaderProto{
			BaseHeader: &hdfspb.BaseHeaderProto{Block: q.Block, Token: q.Token},
			ClientName: proto.String(q.ClientName),
		},
		Offset:        proto.Uint64(uint64(q.Offset)),
		Len:           proto.Uint64(uint64(q.Length)),
		SendChecksums: proto.Bool(!q.SkipChecksum),
	}
	resp, err := request(r.conn, r.br, q.Addr, q.Block, OpReadBlock, op)
	if err != nil {
		return err
	}
	info := resp.GetReadOpChecksumInfo()
	if info == nil {
		return malformedf("%s answer from %s has no checksum info", OpReadBlock, q.Addr)
	}
	c, err := ChecksumFromProto(info.GetChecksum())
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	r.checksum = c
	first := int64(info.GetChunkOffset())
	// The first packet starts at the chunk holding Offset (Hadoop's check
	// in BlockReaderRemote).
	if first < 0 || first > q.Offset || first <= q.Offset-int64(c.BytesPerChecksum) {
		return malformedf("error in first chunk offset (%d) startOffset is %d for block %s", first, q.Offset, BlockName(q.Block))
	}
	r.pos, r.skip = first, q.Offset-first
	return nil
}

// Checksum is the algorithm the DataNode uses for the replica.
func (r *BlockReader) Checksum() Checksum { return r.checksum }

// Read implements io.Reader.
func (r *BlockReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, net.ErrClosed
	}
	for len(r.data) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.left == 0 {
			r.err = r.finish()
			if r.err == nil {
				r.err = io.EOF
			}
			continue
		}
		if err := r.nextPacket(); err != nil {
			r.err = err
		}
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// nextPacket reads and verifies one data packet into r.data.
func (r *BlockReader) nextPacket() error {
	_ = r.conn.SetReadDeadline(time.Now().Add(r.req.Timeout))
	p, err := ReadPacket(r.br, r.buf)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("datatransfer: reading block %s from %s at offset %d: %w", BlockName(r.req.Block), r.req.Addr, r.pos, err)
	}
	r.buf = p.Raw
	h := p.Header
	if h.Seqno != r.seqno+1 || h.OffsetInBlock != r.pos || (h.LastPacketInBlock && h.DataLen != 0) {
		return malformedf("error in packet header from %s: seqno %d offset %d last %v (want seqno %d offset %d)",
			r.req.Addr, h.Seqno, h.OffsetInBlock, h.LastPacketInBlock, r.seqno+1, r.pos)
	}
	r.seqno = h.Seqno
	if h.LastPacketInBlock || h.DataLen == 0 {
		return fmt.Errorf("datatransfer: block %s from %s ended at offset %d with %d bytes still to read: %w",
			BlockName(r.req.Block), r.req.Addr, r.pos, r.left, io.ErrUnexpectedEOF)
	}
	if r.verify {
		if err := r.checksum.Verify(p.Checksums, p.Data, h.OffsetInBlock); err != nil {
			return err
		}
	}
	r.pos += int64(len(p.Data))
	d := p.Data
	skip := min(r.skip, int64(len(d)))
	d, r.skip = d[skip:], r.skip-skip
	if int64(len(d)) > r.left {
		d = d[:r.left]
	}
	r.left -= int64(len(d))
	r.data = d
	return nil
}

// finish reads the empty last packet and sends the read status, which lets
// the DataNode reuse the connection and tells it the replica verified.
func (r *BlockReader) finish() error {
	if r.done {
		return nil
	}
	r.done = true
	// The DataNode sends whole chunks, so a read that ends inside a chunk
	// (or a zero-length read inside one) may leave up to one chunk of data
	// before the empty last packet.
	extra := 0
	for {
		_ = r.conn.SetDeadline(time.Now().Add(r.req.Timeout))
		p, err := ReadPacket(r.br, r.buf)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("datatransfer: reading the last packet of block %s from %s: %w", BlockName(r.req.Block), r.req.Addr, err)
		}
		r.buf = p.Raw
		h := p.Header
		if h.Seqno != r.seqno+1 || (h.LastPacketInBlock && h.DataLen != 0) {
			return malformedf("error in packet header from %s: seqno %d last %v (want seqno %d)", r.req.Addr, h.Seqno, h.LastPacketInBlock, r.seqno+1)
		}
		r.seqno = h.Seqno
		if h.LastPacketInBlock {
			break
		}
		if extra += len(p.Data); extra > r.checksum.BytesPerChecksum {
			return malformedf("block %s from %s: %d bytes past the requested range", BlockName(r.req.Block), r.req.Addr, extra)
		}
	}
	status := hdfspb.Status_SUCCESS
	if r.verify {
		status = hdfspb.Status_CHECKSUM_OK
	}
	// A failure is ignored: the data is all here and verified; the DataNode
	// only logs a missing status.
	_ = WriteReadStatus(r.conn, status)
	return nil
}

// Close releases the connection. It does not wait for unread data.
func (r *BlockReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.stop()
	return r.conn.Close()
}

// BlockName is Hadoop's ExtendedBlock.toString, "BP-...:blk_<id>_<genstamp>".
func BlockName(b *hdfspb.ExtendedBlockProto) string {
	return fmt.Sprintf("%s:blk_%d_%d", b.GetPoolId(), b.GetBlockId(), b.GetGenerationStamp())
}
