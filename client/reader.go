package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// ErrBlockMissing is matched (errors.Is) by a *BlockMissingError: no replica of a block
// could be read, even after fetching its locations again.
var ErrBlockMissing = errors.New("block missing")

// BlockMissingError is Hadoop's org.apache.hadoop.hdfs.BlockMissingException: every
// replica of a block failed (DataNodes down, replicas corrupt) dfs.client.max.block.acquire.failures
// + 1 times. The message is Hadoop's ("Could not obtain block: <block> file=<path> No live
// nodes contain current block Block locations: ... Dead nodes: ...").
type BlockMissingError struct {
	Path    string
	Offset  int64 // the block's offset in the file
	Message string
}

func (e *BlockMissingError) Error() string { return e.Message }

// Is makes errors.Is(err, ErrBlockMissing) hold.
func (e *BlockMissingError) Is(target error) bool { return target == ErrBlockMissing }

// FileReader reads one HDFS file (Hadoop's DFSInputStream). Read and Seek keep a
// position and one open block stream; ReadAt is positional and safe for concurrent
// use. Every byte is checked against its CRC as it arrives; a replica that fails (a
// DataNode down, a checksum error) is logged, its DataNode is skipped by this reader
// until the locations are fetched again, and the next replica is tried; corrupt replicas are reported to the NameNode
// (reportBadBlocks) once another replica served the data (or when the block has just
// that one). When all replicas fail, the locations are fetched again after a random
// wait (dfs.client.retry.window.base), at most dfs.client.max.block.acquire.failures
// times, and then the read fails with a *BlockMissingError.
//
// The context given to Open bounds every operation of the reader. Close releases
// the open block stream.
type FileReader struct {
	c    *Client
	ctx  context.Context
	path string
	log  *zap.Logger

	// mu serialises Read, Seek and Close: the position and the open stream.
	mu struct {
		sync.Mutex
		pos    int64
		cur    *blockStream
		closed bool
	}
	// info guards the location cache and the dead nodes, shared with ReadAt.
	info struct {
		sync.Mutex
		blocks blockList
		// dead are DataNodes (xfer addresses) that failed this reader; cleared
		// when locations are fetched again.
		dead map[string]bool
	}
}

var (
	_ io.ReadSeekCloser = (*FileReader)(nil)
	_ io.ReaderAt       = (*FileReader)(nil)
)

// blockStream is an open read of one replica, positioned at pos (a file offset).
type blockStream struct {
	lb   *hdfspb.LocatedBlockProto
	node int // index into lb.Locs
	r    io.ReadCloser
	pos  int64
	end  int64 // file offset after the last byte the stream serves
}

// Open opens path for reading. It fetches the first block locations
// (dfs.client.read.prefetch.size) and, for a file being written, the visible length
// of its last block from a DataNode holding it.
func (c *Client) Open(ctx context.Context, path string) (*FileReader, error) {
	r := &FileReader{c: c, ctx: ctx, path: path, log: c.log.Named("DFSInputStream")}
	lbs, err := r.fetch(ctx, 0)
	if err != nil {
		return nil, err
	}
	visible, err := r.lastBlockLength(ctx, lbs)
	if err != nil {
		return nil, err
	}
	r.info.blocks = newBlockList(lbs, visible)
	r.info.dead = make(map[string]bool)
	return r, nil
}

func (r *FileReader) fetch(ctx context.Context, off int64) (*hdfspb.LocatedBlocksProto, error) {
	var resp hdfspb.GetBlockLocationsResponseProto
	req := &hdfspb.GetBlockLocationsRequestProto{Src: proto.String(r.path), Offset: proto.Uint64(uint64(off)), Length: proto.Uint64(uint64(r.c.data.prefetchSize))}
	if err := r.c.Call(ctx, "getBlockLocations", req, &resp); err != nil {
		return nil, err
	}
	if resp.Locations == nil {
		return nil, fmt.Errorf("Cannot open filename %s: %w", r.path, rpc.ErrFileNotFound)
	}
	return resp.Locations, nil
}

// lastBlockLength is the visible length of the last block of a file being written
// (DFSInputStream.getLastBlockLength): 0 when it is complete or empty, else asked from
// the DataNodes that hold it.
func (r *FileReader) lastBlockLength(ctx context.Context, lbs *hdfspb.LocatedBlocksProto) (int64, error) {
	for try := 0; ; try++ {
		if lbs.GetIsLastBlockComplete() || lbs.GetLastBlock() == nil {
			return 0, nil
		}
		last := lbs.GetLastBlock()
		if len(last.GetLocs()) > 0 {
			return r.c.replicaVisibleLength(ctx, last)
		}
		if last.GetB().GetNumBytes() == 0 {
			return 0, nil
		}
		if try >= r.c.data.lastBlockLengthTimes {
			return 0, errors.New("Could not obtain the last block locations.")
		}
		r.log.Warn(fmt.Sprintf("Last block locations not available. Datanodes might not have reported blocks completely. Will retry for %d times",
			r.c.data.lastBlockLengthTimes-try-1))
		if err := r.c.sleep(ctx, r.c.data.lastBlockLengthDelay); err != nil {
			return 0, err
		}
		var err error
		if lbs, err = r.fetch(ctx, 0); err != nil {
			return 0, err
		}
	}
}

// replicaVisibleLength asks the DataNodes holding lb, in order, how many bytes of it
// readers may see (ClientDatanodeProtocol.getReplicaVisibleLength). A block no DataNode
// has yet counts as empty.
func (c *Client) replicaVisibleLength(ctx context.Context, lb *hdfspb.LocatedBlockProto) (int64, error) {
	notFound := 0
	var last error
	for _, dn := range lb.GetLocs() {
		var resp hdfspb.GetReplicaVisibleLengthResponseProto
		err := c.rpc.Call(ctx, ipcAddr(dn), ClientDatanodeProtocol, "getReplicaVisibleLength",
			&hdfspb.GetReplicaVisibleLengthRequestProto{Block: lb.GetB()}, &resp)
		if err == nil {
			return int64(resp.GetLength()), nil
		}
		if ctx.Err() != nil {
			return 0, err
		}
		var re *rpc.RemoteError
		if errors.As(err, &re) && re.Class == "org.apache.hadoop.hdfs.server.datanode.ReplicaNotFoundException" {
			notFound++
		}
		c.log.Info("Failed to getReplicaVisibleLength from datanode "+ipcAddr(dn)+" for block "+datatransfer.BlockName(lb.GetB()), zap.Error(err))
		last = err
	}
	if notFound == len(lb.GetLocs()) {
		return 0, nil
	}
	return 0, fmt.Errorf("Cannot obtain block length for %s: %w", datatransfer.BlockName(lb.GetB()), last)
}

// Length returns the file's length as seen when it was opened.
func (r *FileReader) Length() int64 {
	r.info.Lock()
	defer r.info.Unlock()
	return r.info.blocks.length
}

// readOp is the state of one user-facing read: the refetch count (Hadoop's failures,
// reset by every call) and the corrupt replicas met.
type readOp struct {
	failures int
	corrupt  map[int64]*corruptBlock // by block id
	// retried is set once a stream that broke was reopened on the same
	// DataNode: Hadoop gives the current node one more chance (the DataNode
	// may just have closed an idle connection) before it counts as dead.
	retried bool
}

type corruptBlock struct {
	lb    *hdfspb.LocatedBlockProto
	nodes map[string]*hdfspb.DatanodeInfoProto
}

func (op *readOp) addCorrupt(lb *hdfspb.LocatedBlockProto, node int) {
	if op.corrupt == nil {
		op.corrupt = make(map[int64]*corruptBlock)
	}
	id := int64(lb.GetB().GetBlockId())
	cb := op.corrupt[id]
	if cb == nil {
		cb = &corruptBlock{lb: lb, nodes: make(map[string]*hdfspb.DatanodeInfoProto)}
		op.corrupt[id] = cb
	}
	dn := lb.GetLocs()[node]
	cb.nodes[datatransfer.XferAddr(dn)] = dn
}

// Read reads from the current position.
func (r *FileReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.closed {
		return 0, fmt.Errorf("Stream closed: %w", fs.ErrClosed)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if r.mu.pos >= r.Length() {
		return 0, io.EOF
	}
	op := &readOp{}
	defer r.reportCorrupt(op)
	for {
		cur := r.mu.cur
		if cur == nil || r.mu.pos >= cur.end {
			r.closeStreamLocked()
			s, err := r.openAt(op, r.mu.pos, -1)
			if err != nil {
				return 0, err
			}
			r.mu.cur, cur = s, s
		}
		want := min(int64(len(p)), cur.end-cur.pos)
		n, err := cur.r.Read(p[:want])
		cur.pos += int64(n)
		r.mu.pos += int64(n)
		if err == io.EOF && cur.pos >= cur.end {
			err = nil
		}
		if err != nil {
			r.streamFailed(op, cur, err, true)
			r.closeStreamLocked()
		}
		if n > 0 {
			return n, nil
		}
	}
}

// streamFailed handles a replica that failed mid-read (DFSInputStream.readBuffer): a
// checksum error is logged, remembered for reportBadBlocks and the node is dead for
// this reader; another error gets the same node once more in a sequential read
// (retry), then it is logged and the node is dead.
func (r *FileReader) streamFailed(op *readOp, s *blockStream, err error, retry bool) {
	addr := datatransfer.XferAddr(s.lb.GetLocs()[s.node])
	var ce *datatransfer.ChecksumError
	if errors.As(err, &ce) {
		r.log.Warn(fmt.Sprintf("Found Checksum error for %s from %s at %d", datatransfer.BlockName(s.lb.GetB()), nodeName(s.lb, s.node), ce.Offset))
		op.addCorrupt(s.lb, s.node)
		op.retried = true
	} else {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if retry && !op.retried {
			op.retried = true
			r.log.Debug("reading again from the same DataNode", zap.String("block", datatransfer.BlockName(s.lb.GetB())), zap.String("datanode", addr), zap.Error(err))
			return
		}
		r.log.Warn(fmt.Sprintf("Exception while reading from %s of %s from %s", datatransfer.BlockName(s.lb.GetB()), r.path, nodeName(s.lb, s.node)), zap.Error(err))
	}
	r.addDead(addr)
}

func (r *FileReader) closeStreamLocked() {
	if r.mu.cur != nil {
		r.mu.cur.r.Close()
		r.mu.cur = nil
	}
}

func (r *FileReader) addDead(addr string) {
	r.info.Lock()
	defer r.info.Unlock()
	r.info.dead[addr] = true
}

// openAt opens a stream of the block holding file offset off, from off to the block's
// end (or length bytes when length ≥ 0), on the first replica that accepts it
// (DFSInputStream.blockSeekTo).
func (r *FileReader) openAt(op *readOp, off, length int64) (*blockStream, error) {
	lb, err := r.blockAt(off)
	if err != nil {
		return nil, err
	}
	for {
		node, lb2, err := r.chooseNode(op, lb)
		if err != nil {
			return nil, err
		}
		lb = lb2
		end := blockEnd(lb)
		if length >= 0 && off+length < end {
			end = off + length
		}
		addr := datatransfer.XferAddr(lb.GetLocs()[node])
		s, err := r.c.openBlock(r.ctx, lb, node, off-blockStart(lb), end-off)
		if err == nil {
			return &blockStream{lb: lb, node: node, r: s, pos: off, end: end}, nil
		}
		if r.ctx.Err() != nil {
			return nil, err
		}
		r.log.Warn(fmt.Sprintf("Failed to connect to /%s for file %s for block %s, add to deadNodes and continue.", addr, r.path, datatransfer.BlockName(lb.GetB())), zap.Error(err))
		r.addDead(addr)
	}
}

// blockAt returns the block holding file offset off, fetching locations if the cache
// does not have it.
func (r *FileReader) blockAt(off int64) (*hdfspb.LocatedBlockProto, error) {
	r.info.Lock()
	lb := r.info.blocks.find(off)
	r.info.Unlock()
	if lb != nil {
		return lb, nil
	}
	lbs, err := r.fetch(r.ctx, off)
	if err != nil {
		return nil, err
	}
	r.info.Lock()
	defer r.info.Unlock()
	r.info.blocks.insert(lbs.GetBlocks())
	if lb = r.info.blocks.find(off); lb == nil {
		return nil, fmt.Errorf("Could not find target position %d", off)
	}
	return lb, nil
}

// chooseNode returns the first replica of lb not dead to this reader. When none is
// left it fetches the block's locations again (after a random wait, clearing the dead
// nodes), up to dfs.client.max.block.acquire.failures times in one operation, and then
// fails with a *BlockMissingError (DFSInputStream.chooseDataNode/refetchLocations).
func (r *FileReader) chooseNode(op *readOp, lb *hdfspb.LocatedBlockProto) (int, *hdfspb.LocatedBlockProto, error) {
	for {
		r.info.Lock()
		for i, dn := range lb.GetLocs() {
			if !r.info.dead[datatransfer.XferAddr(dn)] {
				r.info.Unlock()
				return i, lb, nil
			}
		}
		// The dead nodes are read under the lock: a concurrent ReadAt may add one.
		errMsg := " No live nodes contain current block Block locations:" + nodeNames(lb, nil) +
			" Dead nodes: " + nodeNames(lb, func(a string) bool { return r.info.dead[a] })
		r.info.Unlock()
		blockInfo := datatransfer.BlockName(lb.GetB()) + " file=" + r.path
		if op.failures >= r.c.data.maxBlockAcquire {
			desc := "Could not obtain block: " + blockInfo
			r.log.Warn(desc + errMsg + ". Throwing a BlockMissingException")
			return 0, nil, &BlockMissingError{Path: r.path, Offset: blockStart(lb), Message: desc + errMsg}
		}
		if len(lb.GetLocs()) == 0 {
			r.log.Info("No node available for " + blockInfo)
		}
		r.log.Info("Could not obtain " + datatransfer.BlockName(lb.GetB()) + " from any node: " + errMsg + ". Will get new block locations from namenode and retry...")
		// Hadoop's wait: a grace period growing with the failures plus a random
		// part of a window that grows too.
		window := r.c.data.retryWindow
		wait := window*time.Duration(op.failures) + time.Duration(float64(window*time.Duration(op.failures+1))*r.c.jitter())
		r.log.Warn(fmt.Sprintf("DFS chooseDataNode: got # %d IOException, will wait for %d msec.", op.failures+1, wait.Milliseconds()))
		if err := r.c.sleep(r.ctx, wait); err != nil {
			return 0, nil, err
		}
		op.failures++
		lbs, err := r.fetch(r.ctx, blockStart(lb))
		if err != nil {
			return 0, nil, err
		}
		r.info.Lock()
		clear(r.info.dead)
		r.info.blocks.insert(lbs.GetBlocks())
		fresh := r.info.blocks.find(blockStart(lb))
		r.info.Unlock()
		if fresh != nil {
			lb = fresh
		}
	}
}

// reportCorrupt tells the NameNode about corrupt replicas met in op, by Hadoop's rule
// (DFSInputStream.reportCheckSumFailure): only when another replica of the block was
// not found corrupt, or when the block has just one replica. A client that cannot
// read any replica may itself be the problem.
func (r *FileReader) reportCorrupt(op *readOp) {
	if len(op.corrupt) == 0 {
		return
	}
	var bad []*hdfspb.LocatedBlockProto
	for _, cb := range op.corrupt {
		n := len(cb.lb.GetLocs())
		if len(cb.nodes) < n || (n == 1 && len(cb.nodes) == 1) {
			lb := &hdfspb.LocatedBlockProto{B: cb.lb.GetB(), Offset: cb.lb.Offset, Corrupt: proto.Bool(false), BlockToken: cb.lb.GetBlockToken()}
			for _, dn := range cb.nodes {
				lb.Locs = append(lb.Locs, dn)
			}
			bad = append(bad, lb)
		}
	}
	op.corrupt = nil
	if len(bad) == 0 {
		return
	}
	if err := r.c.ReportBadBlocks(r.ctx, bad); err != nil {
		r.log.Info(fmt.Sprintf("Found corruption while reading %s. Error repairing corrupt blocks. Bad blocks remain.", r.path), zap.Error(err))
	}
}

// ReportBadBlocks tells the NameNode that the listed replicas (block and DataNodes) are
// corrupt (ClientNamenodeProtocol.reportBadBlocks).
func (c *Client) ReportBadBlocks(ctx context.Context, blocks []*hdfspb.LocatedBlockProto) error {
	for _, lb := range blocks {
		if lb.BlockToken == nil {
			lb.BlockToken = emptyToken()
		}
		if lb.Offset == nil {
			lb.Offset = proto.Uint64(0)
		}
		if lb.Corrupt == nil {
			lb.Corrupt = proto.Bool(false)
		}
	}
	return c.Call(ctx, "reportBadBlocks", &hdfspb.ReportBadBlocksRequestProto{Blocks: blocks}, &hdfspb.ReportBadBlocksResponseProto{})
}

// Seek sets the position for the next Read (io.Seeker). Seeking past the end is
// allowed; Read then returns io.EOF.
func (r *FileReader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.closed {
		return 0, fmt.Errorf("Stream closed: %w", fs.ErrClosed)
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.mu.pos
	case io.SeekEnd:
		offset += r.Length()
	default:
		return 0, fmt.Errorf("client: seek: invalid whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("Cannot seek to negative offset %d", offset)
	}
	if offset != r.mu.pos {
		r.closeStreamLocked()
		r.mu.pos = offset
	}
	return offset, nil
}

// ReadAt reads len(p) bytes at off (a positional read, Hadoop's pread); it does not
// move the position and may run concurrently with other calls. It returns io.EOF when
// fewer bytes than len(p) remain.
func (r *FileReader) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	closed := r.mu.closed
	r.mu.Unlock()
	if closed {
		return 0, fmt.Errorf("Stream closed: %w", fs.ErrClosed)
	}
	if off < 0 {
		return 0, fmt.Errorf("client: ReadAt: negative offset %d", off)
	}
	length := r.Length()
	if off >= length {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	want := min(int64(len(p)), length-off)
	done := int64(0)
	for done < want {
		n, err := r.readRange(p[done:want], off+done)
		done += n
		if err != nil {
			return int(done), err
		}
	}
	if want < int64(len(p)) {
		return int(done), io.EOF
	}
	return int(done), nil
}

// readRange reads into p from file offset off up to the end of the block holding off,
// trying replicas in turn (DFSInputStream.fetchBlockByteRange).
func (r *FileReader) readRange(p []byte, off int64) (int64, error) {
	op := &readOp{}
	defer r.reportCorrupt(op)
	for {
		s, err := r.openAt(op, off, int64(len(p)))
		if err != nil {
			return 0, err
		}
		n := s.end - off
		_, err = io.ReadFull(s.r, p[:n])
		s.r.Close()
		if err == nil {
			return n, nil
		}
		if r.ctx.Err() != nil {
			return 0, err
		}
		r.streamFailed(op, s, err, false)
	}
}

// Close releases the open block stream. Closing twice is not an error.
func (r *FileReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.closed {
		return nil
	}
	r.mu.closed = true
	r.closeStreamLocked()
	return nil
}
