// Package storage is a DataNode's block storage: HDFS's on-disk layout in
// the directories of dfs.datanode.data.dir, the in-memory replica map, and
// the replica operations the DataTransferProtocol, the NameNode's commands
// and block recovery need, as plain methods without network I/O.
//
// It owns the data directories while open (Open locks each one's
// in_use.lock when it uses the OS filesystem). The DataNode daemon owns the
// Store: it calls AddBlockPool when a NameNode's NamespaceInfo arrives,
// Report for block reports, Usage for heartbeats, Invalidate for
// DNA_INVALIDATE, and InitReplicaRecovery/UpdateReplicaUnderRecovery for
// DNA_RECOVERBLOCK. Xceivers call CreateRbw, Append, RecoverRbw or
// CreateTemporary to get a ReplicaWriter and OpenReplica to get a
// ReplicaReader.
//
// # On-disk layout
//
// One data directory (a volume; its storage id is DS-<uuid>):
//
//	<dir>/
//	  in_use.lock                      flock while a DataNode has it open
//	  current/
//	    VERSION                        storageID, clusterID, cTime, datanodeUuid,
//	                                   storageType=DATA_NODE, layoutVersion=-57
//	    <bpid>/                        one per block pool (namespace), BP-...
//	      current/
//	        VERSION                    namespaceID, cTime, blockpoolID, layoutVersion=-57
//	        finalized/
//	          subdir<N>/subdir<M>/     N = (id>>16)&31, M = (id>>8)&31 (IDToBlockDir)
//	            blk_<id>               the data
//	            blk_<id>_<gs>.meta     header and checksums
//	        rbw/                       replicas being written: blk_<id>, blk_<id>_<gs>.meta
//	      tmp/                         replicas being copied in (transfers)
//
// VERSION files are Java properties text, as Hadoop writes them, and are
// replaced atomically (temporary file, fsync, rename, fsync of the
// directory). A directory is formatted (its current/VERSION written) by the
// first AddBlockPool; a formatted directory of another cluster is refused
// ("Incompatible clusterIDs in ..."), a block pool directory of another
// namespace too. Block ids are printed as signed Java longs.
//
// # Meta file
//
// Hadoop's BlockMetadataHeader followed by the checksums; all numbers
// big-endian:
//
//	offset  size  field
//	0       2     version, 1
//	2       1     checksum type: 0 NULL, 1 CRC32, 2 CRC32C (the default)
//	3       4     bytesPerChecksum (dfs.bytes-per-checksum, 512)
//	7       4     checksum of data bytes [0, bpc)
//	11      4     checksum of data bytes [bpc, 2*bpc)
//	...
//	7+4k    4     checksum of the last chunk, which may be shorter than bpc
//
// A replica of n bytes has a meta file of exactly 7 + 4*ceil(n/bpc) bytes
// (7 with a NULL checksum). For example a 1000-byte block with CRC32C and
// 512 bytes per checksum:
//
//	00 01 | 02 | 00 00 02 00 | c0 c0 c0 c0 | c1 c1 c1 c1
//	 v=1   CRC32C   bpc=512    CRC [0,512)   CRC [512,1000)
//
// # Durability order
//
//   - ReplicaWriter.WriteChunks writes data, then checksums; nothing is
//     fsynced. Every writebackChunk (8 MiB) of data it starts the kernel's
//     writeback of what it wrote (Linux sync_file_range WRITE, as Hadoop's
//     dfs.datanode.sync.behind.writes): that makes nothing durable and
//     promises nothing, it only spares Finalize's fsync a whole block of
//     dirty pages. Sync fsyncs both files and, the first time, their
//     directory.
//   - Finalize: the files are trimmed to the bytes written and fsynced,
//     then the meta file is renamed into finalized/subdirN/subdirM/, then
//     the data file; then the finalized directory and the source directory
//     are fsynced. The replica counts as finalized (in the map, in reports,
//     readable whole) only after all of that returned. A crash between the
//     two renames leaves a finalized meta file whose data file is alone in
//     rbw/ or tmp/: Open completes the move (the data was fsynced first).
//   - Append moves the data file out of finalized/ first, then the meta
//     file (renamed for the new generation stamp), then fsyncs both
//     directories. A crash in between leaves the same pattern, and Open
//     moves the data file back: the replica is finalized with its old
//     generation stamp, which is right since nothing was appended yet.
//   - Generation stamp changes (RecoverRbw, UpdateReplicaUnderRecovery)
//     truncate and fsync the files first, then rename the meta file and
//     fsync its directory.
//   - Deletion (Invalidate, Abort) removes the data file, then the meta
//     file, without a directory fsync: a deleted replica that comes back
//     after a crash is reported and invalidated again.
//
// # Startup
//
// Open scans every block pool of every formatted directory: finalized
// replicas need a meta file that holds exactly the checksums their length
// needs, or they are ignored and logged (never repaired or deleted);
// tmp/ is emptied; rbw replicas become RWR ("waiting to be recovered"), cut
// to the length their stored checksums vouch for: every chunk is verified
// up to the first mismatch, of which the longest prefix matching the stored
// checksum is kept (Hadoop's validateIntegrityAndSetLength checks the last
// chunk only; unsynced bytes may read as zeros anywhere after a crash). A block
// file without a meta file, or the reverse, is ignored and logged. When
// the same block is found twice, the higher generation stamp wins, then the
// finalized one, then the longer, and the other's files are deleted.
//
// # Writers and acknowledged length
//
// A ReplicaWriter takes packets as they arrive (WriteChunks) and verifies
// the client's checksums when given them; it stores its own, recomputing a
// chunk's checksum whenever a write starts inside it (append, pipeline
// recovery, hflush resending a partial chunk). The acknowledged length of
// an RBW replica (what readers see and what RecoverRbw keeps) is what the
// writer reported with SetBytesAcked; a writer that never reports acks has
// every written byte counted as acknowledged.
//
// # Concurrency
//
// Store methods are safe for concurrent use; Store.mu guards the replica
// map. A ReplicaWriter has its own lock, taken before Store.mu; an
// operation that takes a replica over (RecoverRbw, InitReplicaRecovery,
// Invalidate, a newer CreateTemporary, Close) first stops its writer and
// waits for the writer's call in progress, like Hadoop's stopWriter.
//
// # Errors
//
// Refusals wrap the sentinels in errors.go (ErrReplicaNotFound,
// ErrReplicaAlreadyExists, ErrRecoveryInProgress, ErrBadRequest, ...) with
// Hadoop's message text; a replica whose bytes do not match its checksums
// is a *CorruptReplicaError. An I/O error (a full disk) is returned, never
// a panic; a writer that met one accepts nothing more, and a replica is
// never finalized from files that were not completely written and fsynced.
package storage
