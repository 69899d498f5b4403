package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// CreateOptions are the arguments of Create. Zero values take the configuration's
// defaults (dfs.replication, dfs.blocksize) and permission 0644.
type CreateOptions struct {
	// Overwrite replaces an existing file (CreateFlag OVERWRITE); without it an
	// existing file is a FileAlreadyExistsException.
	Overwrite bool
	// Replication is the file's replication factor (0: dfs.replication).
	Replication uint32
	// BlockSize is the file's block size (0: dfs.blocksize); the NameNode refuses
	// sizes below dfs.namenode.fs-limits.min-block-size.
	BlockSize int64
	// Perm is the permission after the umask (0: 0644).
	Perm fs.FileMode
	// CreateParent creates missing parent directories, as Hadoop's
	// FileSystem.create does (createNonRecursive does not).
	CreateParent bool
}

// FileWriter writes one HDFS file (Hadoop's DFSOutputStream and DataStreamer). It
// holds the file's lease, renewed in the background while it is open. Data goes to
// the DataNodes of the current block through a write pipeline; a full block is closed
// and the next one allocated (addBlock, naming the previous block and its length).
//
// When a DataNode of the pipeline fails, the writer drops it, gets a new generation
// stamp (updateBlockForPipeline), sets the pipeline up again with the remaining nodes
// (PIPELINE_SETUP_STREAMING_RECOVERY), resends what was not acknowledged and records
// the new pipeline on the NameNode (updatePipeline). When the pipeline of a new block
// cannot be set up, the block is abandoned and another one asked for, excluding the
// DataNode that failed (dfs.client.block.write.retries times).
//
// The methods are safe to call from several goroutines, but one writer is meant for
// one stream of data. After an error every later call returns it; Close still releases
// the lease renewal and the connections. The context given to Create or Append bounds
// every operation of the writer.
type FileWriter struct {
	c         *Client
	ctx       context.Context
	path      string
	fileID    uint64
	blockSize int64
	log       *zap.Logger

	mu struct {
		sync.Mutex
		// block is the block being written: NumBytes counts the bytes handed to
		// its pipeline; nil between blocks.
		block      *hdfspb.ExtendedBlockProto
		nodes      []*hdfspb.DatanodeInfoProto
		storageIDs []string
		pipe       *datatransfer.BlockWriter
		// previous is the last finished block, with its length: addBlock and
		// complete name it.
		previous *hdfspb.ExtendedBlockProto
		excluded map[string]*hdfspb.DatanodeInfoProto
		// persist is true when the NameNode has not heard of the current block
		// since a flush (Hadoop's persistBlocks): the next hflush calls fsync.
		persist bool
		written int64 // bytes written to the file through this writer
		err     error // sticky
		closed  bool
	}
}

var _ io.WriteCloser = (*FileWriter)(nil)

// Create creates path and opens it for writing.
func (c *Client) Create(ctx context.Context, path string, opts CreateOptions) (*FileWriter, error) {
	repl := opts.Replication
	if repl == 0 {
		repl = c.data.replication
	}
	bs := opts.BlockSize
	if bs <= 0 {
		bs = c.data.blockSize
	}
	perm := uint32(opts.Perm.Perm())
	if opts.Perm == 0 {
		perm = 0o644
	}
	flag := uint32(hdfspb.CreateFlagProto_CREATE)
	if opts.Overwrite {
		flag |= uint32(hdfspb.CreateFlagProto_OVERWRITE)
	}
	if !c.leases.acquire() {
		return nil, fmt.Errorf("Filesystem closed: %w", fs.ErrClosed)
	}
	var resp hdfspb.CreateResponseProto
	err := c.Call(ctx, "create", &hdfspb.CreateRequestProto{
		Src: proto.String(path), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(perm)}, ClientName: proto.String(c.clientName),
		CreateFlag: proto.Uint32(flag), CreateParent: proto.Bool(opts.CreateParent), Replication: proto.Uint32(repl), BlockSize: proto.Uint64(uint64(bs)),
		CryptoProtocolVersion: []hdfspb.CryptoProtocolVersionProto{hdfspb.CryptoProtocolVersionProto_ENCRYPTION_ZONES},
	}, &resp)
	if err != nil {
		c.leases.release()
		return nil, err
	}
	if resp.GetFs().GetBlocksize() > 0 {
		bs = int64(resp.GetFs().GetBlocksize())
	}
	return c.newWriter(ctx, path, resp.GetFs().GetFileId(), bs), nil
}

func (c *Client) newWriter(ctx context.Context, path string, fileID uint64, blockSize int64) *FileWriter {
	w := &FileWriter{c: c, ctx: ctx, path: path, fileID: fileID, blockSize: blockSize, log: c.log.Named("DataStreamer")}
	w.mu.excluded = make(map[string]*hdfspb.DatanodeInfoProto)
	c.files.add(w)
	return w
}

// openFiles are the FileWriters of a Client not closed yet: Client.Close closes them,
// as DFSClient.close does (closeAllFilesBeingWritten).
type openFiles struct {
	mu sync.Mutex
	m  map[*FileWriter]struct{}
}

func (o *openFiles) add(w *FileWriter) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = make(map[*FileWriter]struct{})
	}
	o.m[w] = struct{}{}
}

func (o *openFiles) remove(w *FileWriter) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.m, w)
}

func (o *openFiles) list() []*FileWriter {
	o.mu.Lock()
	defer o.mu.Unlock()
	ws := make([]*FileWriter, 0, len(o.m))
	for w := range o.m {
		ws = append(ws, w)
	}
	return ws
}

// closeFiles closes every file still open for writing, logging failures.
func (c *Client) closeFiles() {
	if c.files == nil {
		return
	}
	for _, w := range c.files.list() {
		if err := w.Close(); err != nil {
			c.log.Warn("Failed to close file: "+w.path, zap.Error(err))
		}
	}
}

// Append opens an existing file for writing at its end. When its last block is
// partial, the writer reopens that block's pipeline (PIPELINE_SETUP_APPEND with a new
// generation stamp) and fills it before asking for new blocks.
func (c *Client) Append(ctx context.Context, path string) (*FileWriter, error) {
	if !c.leases.acquire() {
		return nil, fmt.Errorf("Filesystem closed: %w", fs.ErrClosed)
	}
	var resp hdfspb.AppendResponseProto
	err := c.Call(ctx, "append", &hdfspb.AppendRequestProto{Src: proto.String(path), ClientName: proto.String(c.clientName),
		Flag: proto.Uint32(uint32(hdfspb.CreateFlagProto_APPEND))}, &resp)
	if err != nil {
		c.leases.release()
		return nil, err
	}
	bs := int64(resp.GetStat().GetBlocksize())
	if bs <= 0 {
		bs = c.data.blockSize
	}
	w := c.newWriter(ctx, path, resp.GetStat().GetFileId(), bs)
	lb := resp.GetBlock()
	if lb == nil && resp.GetStat().GetLength() > 0 {
		// The last block is full: the next addBlock names it as the previous
		// block. Hadoop's client sends none there and Hadoop's NameNode accepts
		// both; naming it also satisfies a NameNode that wants the last block.
		var loc hdfspb.GetBlockLocationsResponseProto
		if err := c.Call(ctx, "getBlockLocations", &hdfspb.GetBlockLocationsRequestProto{Src: proto.String(path),
			Offset: proto.Uint64(resp.GetStat().GetLength() - 1), Length: proto.Uint64(1)}, &loc); err != nil {
			w.Abort()
			return nil, err
		}
		lb = loc.GetLocations().GetLastBlock()
	}
	if lb != nil {
		w.mu.Lock()
		err = w.reopenLastBlockLocked(lb)
		w.mu.Unlock()
		if err != nil {
			w.Abort()
			return nil, err
		}
	}
	return w, nil
}

// reopenLastBlockLocked continues the file's partial last block: a new generation
// stamp, a pipeline set up for append on the block's DataNodes, then updatePipeline
// (DataStreamer.setupPipelineForAppendOrRecovery).
func (w *FileWriter) reopenLastBlockLocked(lb *hdfspb.LocatedBlockProto) error {
	b := proto.Clone(lb.GetB()).(*hdfspb.ExtendedBlockProto)
	if b.GetNumBytes() >= uint64(w.blockSize) {
		w.mu.previous = b
		return nil
	}
	if len(lb.GetLocs()) == 0 {
		err := fmt.Errorf("Could not get block locations. Source file \"%s\" - Aborting...", w.path)
		w.log.Warn(err.Error())
		return err
	}
	w.mu.block = b
	w.mu.nodes = lb.GetLocs()
	w.mu.storageIDs = lb.GetStorageIDs()
	newGS, err := w.newGenStampLocked()
	if err != nil {
		return err
	}
	req := w.c.writeRequest(b, w.blockSize, w.mu.nodes, w.mu.storageIDs, datatransfer.StageSetupAppend, newGS, int64(b.GetNumBytes()))
	return w.setupLocked(req, nil)
}

// newGenStampLocked asks the NameNode for a new generation stamp of the current block.
func (w *FileWriter) newGenStampLocked() (uint64, error) {
	var resp hdfspb.UpdateBlockForPipelineResponseProto
	if err := w.c.Call(w.ctx, "updateBlockForPipeline", &hdfspb.UpdateBlockForPipelineRequestProto{Block: w.mu.block,
		ClientName: proto.String(w.c.clientName)}, &resp); err != nil {
		return 0, err
	}
	return resp.GetBlock().GetB().GetGenerationStamp(), nil
}

// setupLocked sets up the pipeline req describes (an append or a recovery with a new
// generation stamp) and commits it with updatePipeline. While setting it up fails, it
// drops the DataNode to blame and tries again with another generation stamp, at most
// dfs.client.pipeline.recovery.max-retries times (DataStreamer.setupPipelineInternal).
// cause, when not nil, is the failure that made the current pipeline unusable: its
// bad node is dropped first.
func (w *FileWriter) setupLocked(req datatransfer.WriteRequest, cause error) error {
	for attempt := 0; ; attempt++ {
		if cause != nil {
			if attempt > w.c.data.pipelineRecoveryMax {
				w.log.Warn(fmt.Sprintf("Error recovering pipeline for writing %s. Already retried %d times for the same packet.", datatransfer.BlockName(w.mu.block), w.c.data.pipelineRecoveryMax))
				return fmt.Errorf("Failing write. Tried pipeline recovery %d times without success.: %w", w.c.data.pipelineRecoveryMax, cause)
			}
			if err := w.dropBadNodeLocked(cause); err != nil {
				return err
			}
			newGS, err := w.newGenStampLocked()
			if err != nil {
				return err
			}
			req = req.RetryRequest(newGS, w.mu.nodes)
			req.StorageIDs = w.mu.storageIDs
		}
		p, err := datatransfer.NewBlockWriter(w.ctx, req)
		if err != nil {
			w.log.Warn("Exception in createBlockOutputStream", zap.String("block", datatransfer.BlockName(w.mu.block)), zap.Error(err))
			if w.ctx.Err() != nil {
				return err
			}
			cause = err
			continue
		}
		oldBlock := proto.Clone(w.mu.block).(*hdfspb.ExtendedBlockProto)
		oldBlock.NumBytes = proto.Uint64(uint64(req.MinBytesRcvd))
		newBlock := proto.Clone(oldBlock).(*hdfspb.ExtendedBlockProto)
		newBlock.GenerationStamp = proto.Uint64(req.NewGenerationStamp)
		ids := make([]*hdfspb.DatanodeIDProto, len(w.mu.nodes))
		for i, dn := range w.mu.nodes {
			ids[i] = dn.GetId()
		}
		if err := w.c.Call(w.ctx, "updatePipeline", &hdfspb.UpdatePipelineRequestProto{ClientName: proto.String(w.c.clientName),
			OldBlock: oldBlock, NewBlock: newBlock, NewNodes: ids, StorageIDs: w.mu.storageIDs}, &hdfspb.UpdatePipelineResponseProto{}); err != nil {
			p.Abort()
			return err
		}
		w.mu.block.GenerationStamp = proto.Uint64(req.NewGenerationStamp)
		w.mu.pipe = p
		return nil
	}
}

// recoverLocked rebuilds the pipeline after it failed with cause
// (DataStreamer.processDatanodeOrExternalError): without the bad DataNode, with a new
// generation stamp, resending what was not acknowledged.
func (w *FileWriter) recoverLocked(cause error) error {
	old := w.mu.pipe
	old.Abort()
	w.mu.pipe = nil
	if err := w.dropBadNodeLocked(cause); err != nil {
		return err
	}
	newGS, err := w.newGenStampLocked()
	if err != nil {
		return err
	}
	req := old.RecoveryRequest(newGS, w.mu.nodes)
	req.StorageIDs = w.mu.storageIDs
	return w.setupLocked(req, nil)
}

// dropBadNodeLocked removes the DataNode a pipeline error names (the first node when
// it names none) from the pipeline (DataStreamer.handleBadDatanode).
func (w *FileWriter) dropBadNodeLocked(cause error) error {
	nodes := w.mu.nodes
	if len(nodes) <= 1 {
		return fmt.Errorf("All datanodes %s are bad. Aborting...: %w", datatransfer.PipelineString(nodes), cause)
	}
	bad := badNodeIndex(cause, nodes)
	w.log.Warn(fmt.Sprintf("Error Recovery for %s in pipeline %s: datanode %d(%s) is bad.", datatransfer.BlockName(w.mu.block), datatransfer.PipelineString(nodes), bad, datatransfer.XferAddr(nodes[bad])), zap.Error(cause))
	w.mu.nodes = append(nodes[:bad:bad], nodes[bad+1:]...)
	if ids := w.mu.storageIDs; bad < len(ids) {
		w.mu.storageIDs = append(ids[:bad:bad], ids[bad+1:]...)
	}
	return nil
}

// Write writes p to the file. It returns once the data is handed to the pipeline, not
// when DataNodes acknowledged it (Hflush and Close wait for that).
func (w *FileWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.checkLocked(); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		if w.mu.pipe == nil {
			if err := w.nextBlockLocked(); err != nil {
				return n, w.failLocked(err)
			}
		}
		room := w.blockSize - int64(w.mu.block.GetNumBytes())
		chunk := p[:min(int64(len(p)), room)]
		if err := w.writePipeLocked(chunk); err != nil {
			return n, w.failLocked(err)
		}
		w.mu.block.NumBytes = proto.Uint64(w.mu.block.GetNumBytes() + uint64(len(chunk)))
		w.mu.written += int64(len(chunk))
		n += len(chunk)
		p = p[len(chunk):]
		if int64(w.mu.block.GetNumBytes()) >= w.blockSize {
			if err := w.endBlockLocked(); err != nil {
				return n, w.failLocked(err)
			}
		}
	}
	return n, nil
}

func (w *FileWriter) checkLocked() error {
	if w.mu.closed {
		return fmt.Errorf("Stream closed: %w", fs.ErrClosed)
	}
	return w.mu.err
}

func (w *FileWriter) failLocked(err error) error {
	if w.mu.err == nil {
		w.mu.err = err
	}
	if w.mu.pipe != nil {
		w.mu.pipe.Abort()
		w.mu.pipe = nil
	}
	return err
}

// writePipeLocked hands data to the pipeline, recovering it when a DataNode failed:
// the new pipeline takes over what the old one had sent but not seen acknowledged
// and what it had buffered; the rest of data, which the old one did not take, goes
// to the new one.
func (w *FileWriter) writePipeLocked(data []byte) error {
	for {
		n, err := w.mu.pipe.Write(data)
		if err == nil {
			return nil
		}
		if w.ctx.Err() != nil {
			return err
		}
		if err := w.recoverLocked(err); err != nil {
			return err
		}
		data = data[n:]
	}
}

// nextBlockLocked allocates the next block and sets up its pipeline
// (DataStreamer.setupPipelineForCreate): a block whose pipeline cannot be set up is
// abandoned and the failed DataNode excluded from the next addBlock.
func (w *FileWriter) nextBlockLocked() error {
	for count := w.c.data.blockWriteRetries; ; count-- {
		lb, err := w.addBlockLocked()
		if err != nil {
			return err
		}
		w.mu.block = proto.Clone(lb.GetB()).(*hdfspb.ExtendedBlockProto)
		w.mu.block.NumBytes = proto.Uint64(0)
		w.mu.nodes, w.mu.storageIDs = lb.GetLocs(), lb.GetStorageIDs()
		p, err := datatransfer.NewBlockWriter(w.ctx, w.c.writeRequest(w.mu.block, w.blockSize, w.mu.nodes, w.mu.storageIDs,
			datatransfer.StageSetupCreate, w.mu.block.GetGenerationStamp(), 0))
		if err == nil {
			w.mu.pipe = p
			w.mu.persist = true
			return nil
		}
		if w.ctx.Err() != nil {
			return err
		}
		w.log.Warn("Exception in createBlockOutputStream", zap.String("block", datatransfer.BlockName(w.mu.block)), zap.Error(err))
		w.log.Warn("Abandoning " + datatransfer.BlockName(w.mu.block))
		if aerr := w.c.Call(w.ctx, "abandonBlock", &hdfspb.AbandonBlockRequestProto{B: w.mu.block, Src: proto.String(w.path),
			Holder: proto.String(w.c.clientName), FileId: proto.Uint64(w.fileID)}, &hdfspb.AbandonBlockResponseProto{}); aerr != nil {
			return aerr
		}
		if len(w.mu.nodes) > 0 {
			bad := w.mu.nodes[badNodeIndex(err, w.mu.nodes)]
			w.log.Warn("Excluding datanode " + datatransfer.XferAddr(bad))
			w.mu.excluded[datatransfer.XferAddr(bad)] = bad
		}
		w.mu.block, w.mu.nodes, w.mu.storageIDs = nil, nil, nil
		if count <= 0 {
			return fmt.Errorf("Unable to create new block.: %w", err)
		}
	}
}

// addBlockLocked asks for the next block, retrying NotReplicatedYetException with a
// doubling wait (DFSOutputStream.addBlock).
func (w *FileWriter) addBlockLocked() (*hdfspb.LocatedBlockProto, error) {
	req := &hdfspb.AddBlockRequestProto{Src: proto.String(w.path), ClientName: proto.String(w.c.clientName), Previous: w.mu.previous, FileId: proto.Uint64(w.fileID)}
	for _, dn := range w.mu.excluded {
		req.ExcludeNodes = append(req.ExcludeNodes, dn)
	}
	delay := w.c.data.locateFollowDelay
	for retries := w.c.data.locateFollowRetries; ; retries-- {
		var resp hdfspb.AddBlockResponseProto
		err := w.c.Call(w.ctx, "addBlock", req, &resp)
		if err == nil {
			return resp.GetBlock(), nil
		}
		if !errors.Is(err, rpc.ErrNotReplicatedYet) || retries == 0 {
			return nil, err
		}
		w.log.Warn(fmt.Sprintf("NotReplicatedYetException sleeping %s retries left %d", w.path, retries-1), zap.Error(err))
		if err := w.c.sleep(w.ctx, delay); err != nil {
			return nil, err
		}
		delay = nextDelay(delay, w.c.data.locateFollowMax)
	}
}

// endBlockLocked closes the current block's pipeline (the empty last packet, every
// acknowledgement) and makes it the previous block.
func (w *FileWriter) endBlockLocked() error {
	for {
		err := w.mu.pipe.Close()
		if err == nil {
			break
		}
		if w.ctx.Err() != nil {
			return err
		}
		if err := w.recoverLocked(err); err != nil {
			return err
		}
	}
	w.mu.pipe = nil
	w.mu.previous = w.mu.block
	w.mu.block, w.mu.nodes, w.mu.storageIDs = nil, nil, nil
	return nil
}

// Hflush waits until every DataNode of the pipeline has acknowledged the data written
// so far, so new readers see it (Syncable.hflush).
func (w *FileWriter) Hflush() error { return w.flush(false) }

// Hsync is Hflush, and the DataNodes also sync the data to their disks.
func (w *FileWriter) Hsync() error { return w.flush(true) }

func (w *FileWriter) flush(sync bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.checkLocked(); err != nil {
		return err
	}
	if w.mu.pipe != nil {
		for {
			err := w.mu.pipe.Flush(sync)
			if err == nil {
				break
			}
			if w.ctx.Err() != nil {
				return w.failLocked(err)
			}
			if err := w.recoverLocked(err); err != nil {
				return w.failLocked(err)
			}
		}
	}
	if w.mu.persist {
		// The first flush of a block persists the block list on the NameNode
		// (DFSOutputStream.flushOrSync's persistBlocks); the length stays the
		// DataNodes' to tell (-1: no UPDATE_LENGTH).
		if err := w.c.Call(w.ctx, "fsync", &hdfspb.FsyncRequestProto{Src: proto.String(w.path), Client: proto.String(w.c.clientName),
			LastBlockLength: proto.Int64(-1), FileId: proto.Uint64(w.fileID)}, &hdfspb.FsyncResponseProto{}); err != nil {
			return w.failLocked(err)
		}
		w.mu.persist = false
	}
	return nil
}

// Close writes what is left, closes the last block and completes the file on the
// NameNode, retrying while it answers that the last block is not yet replicated
// enough (dfs.client.block.write.locateFollowingBlock.retries, doubling from
// .initial.delay.ms). It releases the lease renewal and every connection, also when
// it fails. Closing twice is not an error.
func (w *FileWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.closed {
		return nil
	}
	w.mu.closed = true
	defer w.c.leases.release()
	defer w.c.files.remove(w)
	if w.mu.err != nil {
		w.failLocked(w.mu.err)
		return w.mu.err
	}
	if w.mu.pipe != nil {
		if err := w.endBlockLocked(); err != nil {
			return w.failLocked(err)
		}
	}
	if err := w.completeLocked(); err != nil {
		return w.failLocked(err)
	}
	return nil
}

// completeLocked is DFSOutputStream.completeFile.
func (w *FileWriter) completeLocked() error {
	delay := w.c.data.locateFollowDelay
	for retries := w.c.data.locateFollowRetries; ; retries-- {
		var resp hdfspb.CompleteResponseProto
		err := w.c.Call(w.ctx, "complete", &hdfspb.CompleteRequestProto{Src: proto.String(w.path), ClientName: proto.String(w.c.clientName),
			Last: w.mu.previous, FileId: proto.Uint64(w.fileID)}, &resp)
		if err != nil {
			return err
		}
		if resp.GetResult() {
			return nil
		}
		if retries == 0 {
			last := "null"
			if w.mu.previous != nil {
				last = datatransfer.BlockName(w.mu.previous)
			}
			return fmt.Errorf("Unable to close file because the last block %s does not have enough number of replicas.", last)
		}
		w.log.Info("Could not complete " + w.path + " retrying...")
		if err := w.c.sleep(w.ctx, delay); err != nil {
			return err
		}
		delay = nextDelay(delay, w.c.data.locateFollowMax)
	}
}

// Abort drops the writer without completing the file: the pipeline is closed, the
// lease is no longer renewed and the NameNode recovers the file once the lease
// expires (what happens when a writer dies).
func (w *FileWriter) Abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.closed {
		return
	}
	w.mu.closed = true
	w.failLocked(errors.New("aborted"))
	w.c.leases.release()
	w.c.files.remove(w)
}
