package fsck

import (
	"context"
	"strconv"
)

// Namespace is the NameNode's namespace as fsck reads it. Every method checks
// permissions as user, the way the matching ClientProtocol call does
// (traverse for Stat, READ_EXECUTE on a listed directory), and returns
// Hadoop-shaped errors (internal/rpc sentinels): fsck prints their message.
// NamespaceWalker implements it over *namespace.Namespace.
type Namespace interface {
	// Stat returns path, or nil when it does not exist. The returned File's
	// Name is "" (fsck names it by the path it asked for).
	Stat(ctx context.Context, user, path string) (*File, error)
	// List returns one page of the entries of directory dir whose names
	// sort after startAfter (byte order), and whether more follow.
	List(ctx context.Context, user, dir, startAfter string) (entries []File, more bool, err error)
	// FileOfBlock returns the path of the file owning block id, or "" when
	// no file does.
	FileOfBlock(ctx context.Context, blockID uint64) (string, error)
}

// Blocks is the block manager as fsck reads it. Calls must be safe while
// the NameNode runs; each answer is a snapshot.
type Blocks interface {
	// Replicas reports the replicas of b the block map holds.
	Replicas(b Block) Replicas
	// Cluster reports the figures the summary prints.
	Cluster() Cluster
	// CorruptBlocks returns, in ascending id order, the ids of the blocks
	// that have no usable replica left (every replica corrupt, or none at
	// all): Hadoop's QUEUE_WITH_CORRUPT_BLOCKS, which -list-corruptfileblocks
	// walks.
	CorruptBlocks() []uint64
}

// File is one inode as fsck sees it.
type File struct {
	// Name is the local name; "" for the root and for Stat's answer.
	Name    string
	Dir     bool
	Symlink bool
	// Length is the file's length as getFileInfo reports it.
	Length      uint64
	Replication uint32
	// UnderConstruction: the file is open for writing.
	UnderConstruction bool
	// Blocks in file order.
	Blocks []Block
}

// Block names a block of the namespace.
type Block struct {
	ID, GenStamp, NumBytes uint64
}

// Replicas is what the block map knows of one block.
type Replicas struct {
	// Complete is false while the block is under construction (the last
	// block of a file being written); Nodes then are the pipeline's
	// expected locations.
	Complete bool
	// Nodes are the storages holding a replica, in the block map's order.
	// Replicas on dead DataNodes are not listed (Hadoop drops them from the
	// block map when it declares the node dead).
	Nodes []Replica
}

// ReplicaState is how a replica counts (Hadoop's NumberReplicas).
type ReplicaState int

// Replica states, in Hadoop's countNodes precedence: a corrupt replica
// counts as corrupt whatever its node, a replica on a node being
// decommissioned as decommissioning, and so on.
const (
	// Live: a good replica on a node in service (a stale node included).
	Live ReplicaState = iota
	Corrupt
	Decommissioning
	Decommissioned
	EnteringMaintenance
	InMaintenance
	// Excess: a good replica chosen for deletion.
	Excess
)

// Replica is one replica of a block.
type Replica struct {
	Node        Datanode
	StorageID   string
	StorageType string // "DISK", "SSD", ...; "" prints as DISK
	State       ReplicaState
}

// Datanode is a DataNode as fsck prints it.
type Datanode struct {
	IP       string
	XferPort int
	// Rack is the network location, "/default-rack" when unset.
	Rack string
}

// XferAddr is ip:xferPort (Hadoop's DatanodeID.getXferAddr, the node's name),
// joined as Java joins it: an IPv6 address gets no brackets.
func (d Datanode) XferAddr() string { return d.IP + ":" + strconv.Itoa(d.XferPort) }

func (d Datanode) rack() string {
	if d.Rack == "" {
		return DefaultRack
	}
	return d.Rack
}

// DefaultRack is Hadoop's NetworkTopology.DEFAULT_RACK.
const DefaultRack = "/default-rack"

// Cluster holds the cluster-wide figures of the report.
type Cluster struct {
	// LiveDatanodes is the number of live DataNodes ("Number of data-nodes").
	LiveDatanodes int
	// Racks is the number of racks holding registered DataNodes.
	Racks int
	// MultiRack: the cluster has ever had more than one rack (Hadoop's
	// hasClusterEverBeenMultiRack). Without it no block is mis-replicated.
	MultiRack bool
	// DefaultReplication is dfs.replication of the NameNode.
	DefaultReplication int
	// MinReplication is dfs.namenode.replication.min.
	MinReplication int
	// BlockPoolID names blocks: "BP-...:blk_<id>_<gs>".
	BlockPoolID string
}
