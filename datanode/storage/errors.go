package storage

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the Store returns for a refused operation
// wraps one of them, so callers branch with errors.Is and map them onto
// Hadoop's exception classes (ReplicaNotFoundException,
// ReplicaAlreadyExistsException, RecoveryInProgressException, ...) or onto a
// DataTransferProtocol status. The message text follows Hadoop's.
var (
	// ErrReplicaNotFound: no replica with that id, or one in a state or with
	// a generation stamp that does not fit the request (Hadoop's
	// ReplicaNotFoundException).
	ErrReplicaNotFound = errors.New("replica not found")
	// ErrReplicaAlreadyExists: a replica with that id is already stored
	// (Hadoop's ReplicaAlreadyExistsException).
	ErrReplicaAlreadyExists = errors.New("replica already exists")
	// ErrRecoveryInProgress: a block recovery with an equal or higher
	// recovery id already holds the replica (Hadoop's
	// RecoveryInProgressException).
	ErrRecoveryInProgress = errors.New("recovery in progress")
	// ErrBadRequest: arguments that contradict the replica (generation stamps,
	// lengths, recovery ids, offsets past the end); Hadoop throws a plain
	// IOException for these.
	ErrBadRequest = errors.New("bad replica request")
	// ErrWriterStopped: the ReplicaWriter was stopped because a newer
	// operation (pipeline recovery, block recovery, invalidation, a newer
	// transfer) took the replica over, or it was already finalized, closed
	// or aborted.
	ErrWriterStopped = errors.New("replica writer stopped")
	// ErrChecksum: the checksums received with data do not match it
	// (Hadoop's ChecksumException; the xceiver answers ERROR_CHECKSUM).
	ErrChecksum = errors.New("checksum error")
	// ErrBlockPoolNotAdded: an operation named a block pool that
	// AddBlockPool has not added.
	ErrBlockPoolNotAdded = errors.New("block pool not added")
	// ErrIncompatibleStorage: a data directory belongs to another cluster or
	// namespace, has another layout version or another DataNode's uuid.
	ErrIncompatibleStorage = errors.New("incompatible storage directory")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("storage closed")
)

// CorruptReplicaError says that the bytes of a stored replica do not match
// its stored checksums (or its meta file is unreadable): the disk, not the
// request, is at fault. The DataNode reports such a replica to the NameNode
// (reportBadBlocks). It matches errors.Is(err, ErrChecksum) too.
type CorruptReplicaError struct {
	BlockPoolID string
	BlockID     uint64
	GenStamp    uint64
	// Offset is the offset in the block of the first bad chunk, or -1 when
	// the meta file itself is bad.
	Offset int64
	// Path is the data file (or the meta file when Offset is -1).
	Path   string
	Reason string
}

func (e *CorruptReplicaError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("corrupt replica %s:%s: %s (%s)", e.BlockPoolID, BlockName(e.BlockID, e.GenStamp), e.Reason, e.Path)
	}
	return fmt.Sprintf("corrupt replica %s:%s at offset %d: %s (%s)", e.BlockPoolID, BlockName(e.BlockID, e.GenStamp), e.Offset, e.Reason, e.Path)
}

// Is makes a CorruptReplicaError match ErrChecksum.
func (e *CorruptReplicaError) Is(target error) bool { return target == ErrChecksum }

// BlockName is Hadoop's Block.toString: blk_<id>_<genstamp>, the id printed
// as a signed Java long.
func BlockName(id, genStamp uint64) string {
	return fmt.Sprintf("blk_%d_%d", int64(id), genStamp)
}
