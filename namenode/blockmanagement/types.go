package blockmanagement

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// Block is a block as the namespace and the DataNodes name it.
type Block struct {
	ID       uint64
	GenStamp uint64
	NumBytes int64
}

func (b Block) String() string { return fmt.Sprintf("blk_%d_%d", b.ID, b.GenStamp) }

// DatanodeID identifies a DataNode (Hadoop's DatanodeID).
type DatanodeID struct {
	IPAddr         string
	Hostname       string
	UUID           string
	XferPort       int
	InfoPort       int
	InfoSecurePort int
	IPCPort        int
}

// XferAddr is "ip:xferPort", the name dfsadmin and fsck print.
func (d DatanodeID) XferAddr() string { return net.JoinHostPort(d.IPAddr, strconv.Itoa(d.XferPort)) }

// Stats are the figures a heartbeat carries.
type Stats struct {
	Capacity        int64
	DfsUsed         int64
	Remaining       int64
	NonDfsUsed      int64
	BlockPoolUsed   int64
	XceiverCount    int
	XmitsInProgress int
	FailedVolumes   int
}

// DatanodeInfo is a snapshot of one DataNode for reports, locations and
// commands.
type DatanodeInfo struct {
	DatanodeID
	Stats
	// Location is the network location ("/default-rack").
	Location   string
	LastUpdate time.Time
	Alive      bool
	Stale      bool
	// NumBlocks is the number of replicas the block map has on it.
	NumBlocks int
	// StorageIDs are the storages the node reported, sorted.
	StorageIDs []string
}

// Target is one DataNode storage a replica lives on or goes to.
type Target struct {
	Node      DatanodeInfo
	StorageID string
}

// ReplicaState is Hadoop's ReplicaState (HdfsServerConstants), numbered as
// on the wire (ReplicaStateProto).
type ReplicaState int

const (
	Finalized ReplicaState = 0
	RBW       ReplicaState = 1
	RWR       ReplicaState = 2
	RUR       ReplicaState = 3
	Temporary ReplicaState = 4
)

// Replica is one replica in a block report.
type Replica struct {
	Block
	State ReplicaState
}

// ReceivedStatus is ReceivedDeletedBlockInfoProto.BlockStatus.
type ReceivedStatus int

const (
	Receiving ReceivedStatus = 1
	Received  ReceivedStatus = 2
	Deleted   ReceivedStatus = 3
)

// ReceivedDeleted is one entry of an incremental block report.
type ReceivedDeleted struct {
	Block
	Status ReceivedStatus
}

// BlockSpec is what the namespace says about a block: the driver passes it
// after every applied op that adds or changes a file's blocks, and for
// every block at startup.
type BlockSpec struct {
	Block
	// Inode is the id of the file that owns the block.
	Inode uint64
	// Replication is the file's replication factor.
	Replication int
	// Complete is false for the last block of a file under construction.
	Complete bool
	// Expected are the DataNode uuids of the write pipeline, for a block
	// under construction (nil keeps what the manager knows).
	Expected []string
}

// Command is an order for one DataNode, drained by its heartbeat.
type Command interface{ isCommand() }

// TransferCommand asks the source to copy Block to Targets (DNA_TRANSFER).
type TransferCommand struct {
	Block   Block
	Targets []Target
}

// InvalidateCommand asks the node to delete replicas (DNA_INVALIDATE).
type InvalidateCommand struct {
	Blocks []Block
}

// RecoverCommand asks the primary to recover Block with RecoveryID as the
// new generation stamp (DNA_RECOVERBLOCK). Locations are every replica
// taking part, the primary included.
type RecoverCommand struct {
	Block      Block
	RecoveryID uint64
	Locations  []Target
	// Truncate asks the replicas to be cut to TruncateLength (a truncate
	// inside the block; Hadoop's RecoveringBlock with a truncate block).
	Truncate       bool
	TruncateLength int64
}

// ReRegisterCommand asks the node to register again (DNA_REGISTER).
type ReRegisterCommand struct{}

func (TransferCommand) isCommand()   {}
func (InvalidateCommand) isCommand() {}
func (RecoverCommand) isCommand()    {}
func (ReRegisterCommand) isCommand() {}
