package blockmanagement

import (
	"errors"
	"fmt"
	"time"
)

// DefaultRack is the network location of a DataNode no resolver placed
// (Hadoop's NetworkTopology.DEFAULT_RACK).
const DefaultRack = "/default-rack"

// Config holds the block manager's settings. Field comments name the Hadoop
// key each comes from and its default.
type Config struct {
	// HeartbeatInterval is dfs.heartbeat.interval (3 s).
	HeartbeatInterval time.Duration
	// HeartbeatRecheckInterval is dfs.namenode.heartbeat.recheck-interval
	// (300000 ms).
	HeartbeatRecheckInterval time.Duration
	// StaleInterval is dfs.namenode.stale.datanode.interval (30000 ms): a
	// node silent this long is stale and no write target.
	StaleInterval time.Duration
	// MinReplication is dfs.namenode.replication.min (1).
	MinReplication int
	// MaxReplicationStreams is dfs.namenode.replication.max-streams (2):
	// transfers a source may have outstanding for ordinary priorities.
	MaxReplicationStreams int
	// ReplicationStreamsHardLimit is
	// dfs.namenode.replication.max-streams-hard-limit (4): the limit for
	// the highest priority.
	ReplicationStreamsHardLimit int
	// WorkMultiplier is dfs.namenode.replication.work.multiplier.per.iteration
	// (2): a monitor step schedules at most WorkMultiplier × live nodes
	// blocks.
	WorkMultiplier int
	// PendingReconstructionTimeout is
	// dfs.namenode.reconstruction.pending.timeout-sec (300 s).
	PendingReconstructionTimeout time.Duration
	// InvalidateLimit is dfs.block.invalidate.limit (1000): blocks per
	// invalidate command, one per heartbeat.
	InvalidateLimit int
	// ConsiderLoad is dfs.namenode.redundancy.considerLoad (true) and
	// ConsiderLoadFactor dfs.namenode.redundancy.considerLoad.factor (2.0):
	// a node busier than factor × the average load is no target.
	ConsiderLoad       bool
	ConsiderLoadFactor float64
	// RecoveryTimeout is how long a block recovery may run before the next
	// lease recovery may start another (with a new recovery id): Hadoop's
	// 30 × dfs.heartbeat.interval (BLOCK_RECOVERY_TIMEOUT_MULTIPLIER), 90 s.
	RecoveryTimeout time.Duration

	// SafeModeThresholdPct is dfs.namenode.safemode.threshold-pct (0.999).
	SafeModeThresholdPct float64
	// SafeModeMinDatanodes is dfs.namenode.safemode.min.datanodes (0).
	SafeModeMinDatanodes int
	// SafeModeExtension is dfs.namenode.safemode.extension (30000 ms).
	SafeModeExtension time.Duration

	// ResolveRack maps a DataNode's IP address and hostname to its network
	// location ("/rack1"). Nil, or an empty answer, means DefaultRack. The
	// daemon runs net.topology.script.file.name here.
	ResolveRack func(ip, hostname string) string
	// Intn returns a random int in [0, n): placement picks among good
	// nodes with it. Nil means always 0 (deterministic: first good node in
	// uuid order), which tests use.
	Intn func(n int) int
}

// DefaultConfig returns Hadoop's defaults.
func DefaultConfig() Config {
	return Config{
		HeartbeatInterval:            3 * time.Second,
		HeartbeatRecheckInterval:     300 * time.Second,
		StaleInterval:                30 * time.Second,
		MinReplication:               1,
		MaxReplicationStreams:        2,
		ReplicationStreamsHardLimit:  4,
		WorkMultiplier:               2,
		PendingReconstructionTimeout: 300 * time.Second,
		InvalidateLimit:              1000,
		ConsiderLoad:                 true,
		ConsiderLoadFactor:           2.0,
		RecoveryTimeout:              90 * time.Second,
		SafeModeThresholdPct:         0.999,
		SafeModeMinDatanodes:         0,
		SafeModeExtension:            30 * time.Second,
	}
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.HeartbeatInterval <= 0 {
		errs = append(errs, fmt.Errorf("dfs.heartbeat.interval must be positive, got %v", c.HeartbeatInterval))
	}
	if c.HeartbeatRecheckInterval <= 0 {
		errs = append(errs, fmt.Errorf("dfs.namenode.heartbeat.recheck-interval must be positive, got %v", c.HeartbeatRecheckInterval))
	}
	if c.MinReplication < 1 {
		errs = append(errs, fmt.Errorf("dfs.namenode.replication.min must be at least 1, got %d", c.MinReplication))
	}
	if c.MaxReplicationStreams < 1 || c.ReplicationStreamsHardLimit < c.MaxReplicationStreams {
		errs = append(errs, fmt.Errorf("dfs.namenode.replication.max-streams (%d) must be at least 1 and at most max-streams-hard-limit (%d)", c.MaxReplicationStreams, c.ReplicationStreamsHardLimit))
	}
	if c.WorkMultiplier < 1 {
		errs = append(errs, fmt.Errorf("dfs.namenode.replication.work.multiplier.per.iteration must be positive, got %d", c.WorkMultiplier))
	}
	if c.PendingReconstructionTimeout <= 0 {
		errs = append(errs, fmt.Errorf("dfs.namenode.reconstruction.pending.timeout-sec must be positive, got %v", c.PendingReconstructionTimeout))
	}
	if c.InvalidateLimit < 1 {
		errs = append(errs, fmt.Errorf("dfs.block.invalidate.limit must be positive, got %d", c.InvalidateLimit))
	}
	if c.SafeModeThresholdPct > 1 {
		// Hadoop: a threshold above 1 keeps the NameNode in safe mode
		// for ever; it only warns. We refuse the nonsense outright.
		errs = append(errs, fmt.Errorf("dfs.namenode.safemode.threshold-pct must be at most 1, got %v", c.SafeModeThresholdPct))
	}
	if c.SafeModeExtension < 0 || c.SafeModeMinDatanodes < 0 {
		errs = append(errs, errors.New("dfs.namenode.safemode.extension and .min.datanodes must not be negative"))
	}
	return errors.Join(errs...)
}

// DeadInterval is Hadoop's heartbeat expiry: 2 × recheck interval + 10 ×
// heartbeat interval (10 min 30 s by default). A DataNode silent longer is
// dead.
func (c Config) DeadInterval() time.Duration {
	return 2*c.HeartbeatRecheckInterval + 10*c.HeartbeatInterval
}

// invalidateLimit is Hadoop's max(20 × heartbeat seconds, dfs.block.invalidate.limit).
func (c Config) invalidateLimit() int {
	return max(c.InvalidateLimit, 20*int(c.HeartbeatInterval/time.Second))
}
