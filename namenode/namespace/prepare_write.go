package namespace

import (
	"fmt"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/editpb"
)

// fileUnderLease resolves path and checks that holder writes it, like
// FSNamesystem.checkLease.
func (ns *Namespace) fileUnderLease(c Call, path, holder string) (*resolved, error) {
	r, pc, err := ns.prepare(c, path)
	if err != nil {
		return nil, err
	}
	if err := pc.checkPermission(ns.rd, r, false, noCheck, noCheck, noCheck, noCheck, false); err != nil {
		return nil, err
	}
	if err := leaseError(path, r.last(), holder); err != nil {
		return nil, err
	}
	return r, nil
}

// leaseError is FSNamesystem.checkLease's verdict on inode n (nil: missing)
// at path for holder: nil when holder writes the file.
func leaseError(path string, n *editpb.INode, holder string) error {
	var id uint64
	if n != nil {
		id = n.Id
	}
	what := fmt.Sprintf("%s (inode %d) Holder %s does not have any open files.", path, id, holder)
	switch {
	case n == nil:
		return rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", what)
	case !isFile(n):
		return rpc.Errorf(rpc.ErrLeaseExpired, "INode is not a regular file: %s", what)
	case n.ClientName == "":
		return rpc.Errorf(rpc.ErrLeaseExpired, "File is not open for writing: %s", what)
	case n.ClientName != holder:
		return rpc.Errorf(rpc.ErrLeaseExpired, "Client (=%s) is not the lease owner (=%s: %s", holder, n.ClientName, what)
	}
	return nil
}

// CheckLease is FSNamesystem.checkLease without permission checks, for
// calls that log nothing (fsync) or found the file by a block: the status
// of path when holder writes it, else Hadoop's lease error.
func (ns *Namespace) CheckLease(path, holder string) (*FileStatus, error) {
	comps, err := splitPath(path)
	if err != nil {
		return nil, err
	}
	r, err := resolve(ns.rd, comps)
	if err != nil {
		return nil, err
	}
	if err := leaseError(path, r.last(), holder); err != nil {
		return nil, err
	}
	return statusOf(r.last()), nil
}

func cloneBlock(b *editpb.Block) *editpb.Block {
	return &editpb.Block{BlockId: b.BlockId, GenStamp: b.GenStamp, NumBytes: b.NumBytes}
}

// checkLastBlock checks that previous names the file's last block (nil for
// a file without blocks).
func checkLastBlock(path string, n *editpb.INode, previous *editpb.Block) error {
	if len(n.Blocks) == 0 {
		if previous != nil && previous.BlockId != 0 {
			return rpc.Errorf(rpc.ErrIO, "Block %d is not the last block of %s: the file has no blocks", previous.BlockId, path)
		}
		return nil
	}
	last := n.Blocks[len(n.Blocks)-1]
	if previous == nil || previous.BlockId != last.BlockId {
		var id uint64
		if previous != nil {
			id = previous.BlockId
		}
		return rpc.Errorf(rpc.ErrIO, "Block %d is not the last block %d of %s", id, last.BlockId, path)
	}
	return nil
}

// fullLastBlock reports an addBlock that names no previous block for a file
// whose last block already holds a full preferred block size: what a client
// appending to such a file sends (append hands it no last block to continue).
// The last block of a file being written is recorded with 0 bytes until the
// next addBlock or close fixes its length, so a writer in the middle of a
// block never matches.
func fullLastBlock(n *editpb.INode, previous *editpb.Block) bool {
	if previous != nil && previous.BlockId != 0 || len(n.Blocks) == 0 {
		return false
	}
	return n.Blocks[len(n.Blocks)-1].NumBytes >= n.PreferredBlockSize
}

// PrepareAddBlock checks addBlock for holder and returns the OP_ADD_BLOCK
// to log with the new block: the next block id and generation stamp after
// the namespace's counters (Apply raises them), length 0. previous is the
// client's view of the current last block (its final length), nil for the
// first block. Placement and the minimal replication of previous are the
// block manager's business.
func (ns *Namespace) PrepareAddBlock(c Call, path, holder string, previous *editpb.Block) (*editpb.Op, *editpb.Block, error) {
	r, err := ns.fileUnderLease(c, path, holder)
	if err != nil {
		return nil, nil, err
	}
	n := r.last()
	if fullLastBlock(n, previous) {
		// An append to a file whose last block is full: the client starts a
		// new block naming no previous one (FSDirWriteFileOp.analyzeFileState's
		// "case 1"), and the full block stays as it is.
		previous = n.Blocks[len(n.Blocks)-1]
	} else if err := checkLastBlock(path, n, previous); err != nil {
		return nil, nil, err
	}
	m := ns.snapshotMeta()
	nb := &editpb.Block{BlockId: m.lastBlockID + 1, GenStamp: m.genStamp + 1}
	ab := &editpb.AddBlock{Path: r.path(), LastBlock: nb}
	if len(n.Blocks) > 0 {
		ab.PenultimateBlock = cloneBlock(previous)
	}
	op := c.op()
	op.Body = &editpb.Op_AddBlock{AddBlock: ab}
	return op, cloneBlock(nb), nil
}

// PrepareAbandonBlock checks abandonBlock: b must be the last block of a
// file holder writes. The op drops it (Apply reports it removed).
func (ns *Namespace) PrepareAbandonBlock(c Call, path, holder string, b *editpb.Block) (*editpb.Op, error) {
	r, err := ns.fileUnderLease(c, path, holder)
	if err != nil {
		return nil, err
	}
	n := r.last()
	if err := checkLastBlock(path, n, b); err != nil {
		return nil, err
	}
	blocks := make([]*editpb.Block, 0, len(n.Blocks)-1)
	for _, x := range n.Blocks[:len(n.Blocks)-1] {
		blocks = append(blocks, cloneBlock(x))
	}
	op := c.op()
	op.Body = &editpb.Op_UpdateBlocks{UpdateBlocks: &editpb.UpdateBlocks{Path: r.path(), Blocks: blocks}}
	return op, nil
}

// PrepareComplete checks complete for holder and returns the OP_CLOSE to
// log: last (the client's final view of the last block, nil for a file
// without blocks) fixes the last block's length and generation stamp.
// Whether the blocks are minimally replicated is the block manager's
// question, asked before.
func (ns *Namespace) PrepareComplete(c Call, path, holder string, last *editpb.Block) (*editpb.Op, error) {
	r, err := ns.fileUnderLease(c, path, holder)
	if err != nil {
		return nil, err
	}
	n := r.last()
	if err := checkLastBlock(path, n, last); err != nil {
		return nil, err
	}
	blocks := make([]*editpb.Block, len(n.Blocks))
	for i, b := range n.Blocks {
		blocks[i] = cloneBlock(b)
	}
	if len(blocks) > 0 {
		blocks[len(blocks)-1] = cloneBlock(last)
	}
	op := c.op()
	op.Body = &editpb.Op_Close{Close: &editpb.Close{Path: r.path(), Mtime: c.Now, Atime: c.Now, Blocks: blocks}}
	return op, nil
}

// PrepareAppend checks append (WRITE on the file, no other writer) and
// returns the OP_APPEND reopening the file for holder. The last partial
// block is reopened by the caller's block manager (NEW_BLOCK is not
// supported yet).
func (ns *Namespace) PrepareAppend(c Call, path, holder, machine string) (*editpb.Op, error) {
	r, pc, err := ns.prepare(c, path)
	if err != nil {
		return nil, err
	}
	if err := pc.checkPermission(ns.rd, r, false, noCheck, noCheck, actWrite, noCheck, false); err != nil {
		return nil, err
	}
	n := r.last()
	switch {
	case n == nil:
		return nil, rpc.Errorf(rpc.ErrFileNotFound, "Failed to append to non-existent file %s for client %s", path, machine)
	case isDir(n):
		return nil, rpc.Errorf(rpc.ErrFileAlreadyExists, "Cannot append to directory %s; already exists as a directory.", path)
	case n.ClientName == holder:
		return nil, rpc.Errorf(rpc.ErrAlreadyBeingCreated, "Failed to APPEND_FILE %s for %s on %s because current leaseholder is trying to recreate file.", path, holder, machine)
	case n.ClientName != "":
		return nil, rpc.Errorf(rpc.ErrAlreadyBeingCreated, "Failed to APPEND_FILE %s for %s on %s because this file lease is currently owned by %s on %s", path, holder, machine, n.ClientName, n.ClientMachine)
	}
	op := c.op()
	op.Body = &editpb.Op_Append{Append: &editpb.Append{Path: r.path(), ClientName: holder, ClientMachine: machine}}
	return op, nil
}

// PrepareTruncate checks truncate (WRITE on a complete file) and returns
// the op and whether the file is complete afterwards (the call's answer).
// It handles cuts on a block boundary; a cut inside a block returns
// ErrUnsupportedOperation, and the namesystem, which catches it, truncates
// by block recovery instead (namesystem.prepareTruncateInBlockLocked).
func (ns *Namespace) PrepareTruncate(c Call, path string, newLength uint64, holder, machine string) (*editpb.Op, bool, error) {
	r, pc, err := ns.prepare(c, path)
	if err != nil {
		return nil, false, err
	}
	if err := pc.checkPermission(ns.rd, r, false, noCheck, noCheck, actWrite, noCheck, false); err != nil {
		return nil, false, err
	}
	n := r.last()
	switch {
	case n == nil:
		return nil, false, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", path)
	case isDir(n):
		return nil, false, rpc.Errorf(rpc.ErrFileNotFound, "Path is not a file: %s", path)
	case n.ClientName != "":
		return nil, false, rpc.Errorf(rpc.ErrAlreadyBeingCreated, "Failed to TRUNCATE_FILE %s for %s on %s because this file lease is currently owned by %s on %s", path, holder, machine, n.ClientName, n.ClientMachine)
	}
	length := statusOf(n).Length
	if newLength > length {
		return nil, false, rpc.Errorf(rpc.ErrIllegalArgument, "Cannot truncate to a larger file size. Current size: %d, truncate size: %d.", length, newLength)
	}
	var blocks []*editpb.Block
	var sum uint64
	for _, b := range n.Blocks {
		if sum >= newLength {
			break
		}
		if sum+b.NumBytes > newLength {
			return nil, false, rpc.Errorf(rpc.ErrUnsupportedOperation, "Truncate of %s inside a block is not supported yet", path)
		}
		blocks = append(blocks, cloneBlock(b))
		sum += b.NumBytes
	}
	op := c.op()
	op.Body = &editpb.Op_Truncate{Truncate: &editpb.Truncate{
		Path: r.path(), NewLength: newLength, Timestamp: c.Now, Blocks: blocks, ClientName: holder, ClientMachine: machine,
	}}
	return op, true, nil
}

// PrepareNextGenStamp returns the OP_SET_GENSTAMP_V2 handing out the next
// generation stamp (for pipeline updates and block recovery) and the stamp.
func (ns *Namespace) PrepareNextGenStamp(c Call) (*editpb.Op, uint64) {
	gs := ns.snapshotMeta().genStamp + 1
	op := c.op()
	op.Body = &editpb.Op_SetGenstampV2{SetGenstampV2: &editpb.SetGenstampV2{GenStamp: gs}}
	return op, gs
}

// PrepareUpdatePipeline checks updatePipeline: old must be the last block
// of a file holder writes and updated must keep its id with a newer
// generation stamp (handed out before with PrepareNextGenStamp). The op
// replaces the last block.
func (ns *Namespace) PrepareUpdatePipeline(c Call, path, holder string, old, updated *editpb.Block) (*editpb.Op, error) {
	r, err := ns.fileUnderLease(c, path, holder)
	if err != nil {
		return nil, err
	}
	n := r.last()
	if err := checkLastBlock(path, n, old); err != nil {
		return nil, err
	}
	cur := n.Blocks[len(n.Blocks)-1]
	if updated.BlockId != cur.BlockId || updated.GenStamp <= cur.GenStamp || updated.NumBytes < cur.NumBytes {
		return nil, rpc.Errorf(rpc.ErrIO, "Update %v is not valid for the last block %v of %s", updated, cur, path)
	}
	if gs := ns.snapshotMeta().genStamp; updated.GenStamp > gs {
		return nil, rpc.Errorf(rpc.ErrIO, "Generation stamp %d of %s was never handed out (last %d)", updated.GenStamp, path, gs)
	}
	blocks := make([]*editpb.Block, len(n.Blocks))
	for i, b := range n.Blocks {
		blocks[i] = cloneBlock(b)
	}
	blocks[len(blocks)-1] = cloneBlock(updated)
	op := c.op()
	op.Body = &editpb.Op_UpdateBlocks{UpdateBlocks: &editpb.UpdateBlocks{Path: r.path(), Blocks: blocks}}
	return op, nil
}
