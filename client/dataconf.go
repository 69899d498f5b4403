package client

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/datatransfer"
)

// Data path keys (Hadoop's HdfsClientConfigKeys) and their Hadoop defaults.
const (
	KeyReplication           = "dfs.replication"
	KeyBlockSize             = "dfs.blocksize"
	KeyBytesPerChecksum      = "dfs.bytes-per-checksum"
	KeyWritePacketSize       = "dfs.client-write-packet-size"
	KeySocketTimeout         = "dfs.client.socket-timeout"
	KeyPrefetchSize          = "dfs.client.read.prefetch.size"
	KeyMaxBlockAcquire       = "dfs.client.max.block.acquire.failures"
	KeyRetryWindowBase       = "dfs.client.retry.window.base"
	KeyBlockWriteRetries     = "dfs.client.block.write.retries"
	KeyLocateFollowRetries   = "dfs.client.block.write.locateFollowingBlock.retries"
	KeyLocateFollowDelay     = "dfs.client.block.write.locateFollowingBlock.initial.delay.ms"
	KeyLocateFollowMaxDelay  = "dfs.client.block.write.locateFollowingBlock.max.delay.ms"
	KeyPipelineRecoveryMax   = "dfs.client.pipeline.recovery.max-retries"
	KeyLastBlockLengthTimes  = "dfs.client.retry.times.get-last-block-length"
	KeyLastBlockLengthPeriod = "dfs.client.retry.interval-ms.get-last-block-length"

	DefaultReplication          = 3
	DefaultBlockSize            = 128 << 20
	DefaultBytesPerChecksum     = 512
	DefaultWritePacketSize      = datatransfer.DefaultWritePacketSize
	DefaultSocketTimeout        = datatransfer.DefaultSocketTimeout
	DefaultMaxBlockAcquire      = 3
	DefaultRetryWindowBase      = 3 * time.Second
	DefaultBlockWriteRetries    = 3
	DefaultLocateFollowRetries  = 5
	DefaultLocateFollowDelay    = 400 * time.Millisecond
	DefaultLocateFollowMaxDelay = 60 * time.Second
	DefaultPipelineRecoveryMax  = 5
	DefaultLastBlockLengthTimes = 3
	DefaultLastBlockLengthDelay = 4 * time.Second
	// DefaultLeaseRenewInterval is half of HDFS's lease soft limit (60 s), as
	// Hadoop's LeaseRenewer renews.
	DefaultLeaseRenewInterval = 30 * time.Second
	// DefaultTruncatePollInterval is how often Truncate looks whether a file
	// whose last block is being recovered is closed yet (`hdfs dfs -truncate
	// -w` waits one second between looks).
	DefaultTruncatePollInterval = time.Second
)

// DataOptions tunes the data path beyond what Hadoop's configuration keys
// say. Zero values take the defaults.
type DataOptions struct {
	// LeaseRenewInterval is how often the client renews its lease while it has
	// files open for writing (DefaultLeaseRenewInterval).
	LeaseRenewInterval time.Duration
	// TruncatePollInterval is how often Truncate checks whether a file under
	// block recovery is closed (DefaultTruncatePollInterval).
	TruncatePollInterval time.Duration
}

// dataConf is the data path configuration, read once in New.
type dataConf struct {
	replication      uint32
	blockSize        int64
	bytesPerChecksum int
	packetSize       int
	socketTimeout    time.Duration

	prefetchSize    int64 // bytes of block locations fetched per getBlockLocations
	maxBlockAcquire int
	retryWindow     time.Duration

	blockWriteRetries   int
	locateFollowRetries int
	locateFollowDelay   time.Duration
	locateFollowMax     time.Duration
	pipelineRecoveryMax int

	lastBlockLengthTimes int
	lastBlockLengthDelay time.Duration

	leaseRenew   time.Duration
	truncatePoll time.Duration
}

func loadDataConf(c *conf.Conf, o DataOptions) (dataConf, error) {
	var d dataConf
	var errs []error
	geti := func(key string, def int64) int64 {
		v, err := c.GetInt(key, def)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	getsize := func(key string, def int64) int64 {
		v, err := c.GetSize(key, def)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	getd := func(key string, def time.Duration) time.Duration {
		v, err := c.GetDuration(key, time.Millisecond, def)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	d.replication = uint32(geti(KeyReplication, DefaultReplication))
	d.blockSize = getsize(KeyBlockSize, DefaultBlockSize)
	d.bytesPerChecksum = int(geti(KeyBytesPerChecksum, DefaultBytesPerChecksum))
	d.packetSize = int(geti(KeyWritePacketSize, DefaultWritePacketSize))
	d.socketTimeout = getd(KeySocketTimeout, DefaultSocketTimeout)
	// Hadoop: prefetch 10 blocks' worth of locations.
	d.prefetchSize = getsize(KeyPrefetchSize, 10*d.blockSize)
	d.maxBlockAcquire = int(geti(KeyMaxBlockAcquire, DefaultMaxBlockAcquire))
	d.retryWindow = getd(KeyRetryWindowBase, DefaultRetryWindowBase)
	d.blockWriteRetries = int(geti(KeyBlockWriteRetries, DefaultBlockWriteRetries))
	d.locateFollowRetries = int(geti(KeyLocateFollowRetries, DefaultLocateFollowRetries))
	d.locateFollowDelay = getd(KeyLocateFollowDelay, DefaultLocateFollowDelay)
	d.locateFollowMax = getd(KeyLocateFollowMaxDelay, DefaultLocateFollowMaxDelay)
	d.pipelineRecoveryMax = int(geti(KeyPipelineRecoveryMax, DefaultPipelineRecoveryMax))
	d.lastBlockLengthTimes = int(geti(KeyLastBlockLengthTimes, DefaultLastBlockLengthTimes))
	d.lastBlockLengthDelay = getd(KeyLastBlockLengthPeriod, DefaultLastBlockLengthDelay)
	d.leaseRenew = o.LeaseRenewInterval
	if d.leaseRenew <= 0 {
		d.leaseRenew = DefaultLeaseRenewInterval
	}
	d.truncatePoll = o.TruncatePollInterval
	if d.truncatePoll <= 0 {
		d.truncatePoll = DefaultTruncatePollInterval
	}
	if len(errs) > 0 {
		return d, fmt.Errorf("client: %w", errs[0])
	}
	switch {
	case d.blockSize <= 0:
		return d, fmt.Errorf("client: %s must be positive, not %d", KeyBlockSize, d.blockSize)
	case d.bytesPerChecksum <= 0:
		return d, fmt.Errorf("client: %s must be positive, not %d", KeyBytesPerChecksum, d.bytesPerChecksum)
	case d.packetSize <= 0:
		return d, fmt.Errorf("client: %s must be positive, not %d", KeyWritePacketSize, d.packetSize)
	case d.prefetchSize <= 0:
		d.prefetchSize = 10 * d.blockSize
	}
	return d, nil
}

// nextDelay is DFSOutputStream.calculateDelayForNextRetry: double, capped.
func nextDelay(prev, max time.Duration) time.Duration {
	if prev*2 > max {
		return max
	}
	return prev * 2
}

// newClientName is DFSClient's lease holder name: DFSClient_<task id>_<random>_<thread id>,
// with the task id of a process outside MapReduce.
func newClientName() string {
	return fmt.Sprintf("DFSClient_NONMAPREDUCE_%d_1", rand.Int32())
}
