// Package client is the Go client side of a NameNode nameservice: it resolves an HDFS URI
// to its NameNodes and calls them with Hadoop's failover behaviour. Every `hdfs` command
// that talks to a NameNode goes through it.
//
// # Resolution
//
// hdfs://<nameservice> resolves to every NameNode of the nameservice
// (dfs.ha.namenodes.<ns>, dfs.namenode.rpc-address.<ns>.<nn>), in configuration order;
// hdfs://host:port to that one address; "" to fs.defaultFS (see Resolve).
//
// # Failover
//
// A call starts at the NameNode last found active. A StandbyException, a refused
// connection (or any failure to connect), or a connection lost with the call in flight
// moves it to the next NameNode after a backoff (Policy, pure and tested step by step):
// none before the first failover, then dfs.client.failover.sleep.base.millis·2^n capped
// at dfs.client.failover.sleep.max.millis, times a random factor in [0.5, 1.5). After
// dfs.client.failover.max.attempts failovers the call returns the last error. A
// RetriableException is retried on the same NameNode (dfs.client.retry.max.attempts).
// Other errors from the NameNode return at once, unchanged, so errors.Is against the rpc
// sentinels works on them.
//
// Every try of one call carries the same client id and call id, with the retry count
// one higher, to whichever NameNode it goes: a non-idempotent call that ran on a NameNode
// before the connection broke is answered from that NameNode's retry cache (or, after
// failover, from the new active's, rebuilt from the shared edits) instead of running twice.
//
// # Files
//
// Open, Create, Append, Truncate and GetFileChecksum are Hadoop's DFSClient data path,
// with the DataNode side in internal/datatransfer:
//
//   - A FileReader (DFSInputStream) fetches block locations in ranges of
//     dfs.client.read.prefetch.size, reads each block from its first live replica with
//     CRC32C verification, and on a DataNode that fails or a checksum mismatch logs it
//     as HDFS does, marks the node dead for this reader and goes on with the next
//     replica. Corrupt replicas are reported with reportBadBlocks once another replica
//     served the data. With every replica failed it fetches the locations again after
//     a random wait (dfs.client.retry.window.base), at most
//     dfs.client.max.block.acquire.failures times per read, then returns a
//     *BlockMissingError. The visible length of the last block of a file being written
//     comes from a DataNode (ClientDatanodeProtocol.getReplicaVisibleLength).
//   - A FileWriter (DFSOutputStream + DataStreamer) holds the file's lease (renewed
//     every DataOptions.LeaseRenewInterval, 30 s, while any file is open), allocates
//     blocks with addBlock (naming the previous block and its length, and the DataNodes
//     to exclude), streams each through a pipeline, recovers a pipeline whose DataNode
//     failed (drop it, updateBlockForPipeline, PIPELINE_SETUP_STREAMING_RECOVERY with
//     the unacknowledged packets resent, updatePipeline), abandons a new block whose
//     pipeline cannot be set up and asks again without the bad DataNode, and on Close
//     retries complete (and NotReplicatedYetException on addBlock) with a doubling wait.
//     Append continues a partial last block with PIPELINE_SETUP_APPEND under a new
//     generation stamp.
//
// Readers and writers are bound to the context they were opened with; Close releases
// their connections. Client.Close closes the FileWriters still open, completing their
// files as Hadoop's DFSClient.close does; FileWriter.Abort drops a writer without
// completing its file (what a writer that dies leaves behind).
//
// Callers own the Client and Close it. Sleep and Jitter in Config are injectable so tests
// observe the backoff without waiting.
package client
