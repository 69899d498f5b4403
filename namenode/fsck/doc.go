// Package fsck is the NameNode side of `hdfs fsck`: Hadoop's NamenodeFsck
// behind the /fsck HTTP endpoint (FsckServlet). It walks a subtree of the
// namespace, asks the block manager where each block's replicas are, and
// streams Hadoop 3's text report: file and block lines, problems
// (missing, corrupt, under-replicated, mis-replicated blocks), the summary,
// and a last line that DFSck reads for the exit status ("... is HEALTHY",
// "... is CORRUPT", "Path '...' does not exist", "... FAILED").
//
// # What callers supply
//
// Two small interfaces keep the package free of the NameNode's locks and
// stores:
//
//   - Namespace: Stat, a paged List and FileOfBlock, each checking
//     permissions as the requesting user (traverse; READ_EXECUTE on a listed
//     directory, as getListing). NamespaceWalker implements it over
//     *namespace.Namespace; the NameNode gives it a Read function that runs a
//     closure under the namesystem read lock (or refuses, on a standby).
//     The lock is taken per page, never across a walk.
//   - Blocks: Replicas of a block (every storage holding one, each with its
//     state: live, corrupt, excess, decommissioning...), Cluster figures
//     (live DataNodes, racks, dfs.replication, dfs.namenode.replication.min,
//     block pool id) and the ids of blocks left with no usable replica, for
//     -list-corruptfileblocks. The block manager implements it.
//
// Handler(Config) serves GET /fsck with the servlet's query parameters;
// Run writes one report to any io.Writer. Both are otherwise pure: the
// clock comes from Config.Now, nothing is cached between runs, and a run
// ends when its context does (the client hung up).
//
// # Counting, as NamenodeFsck counts
//
// Per block: live replicas are good copies on in-service nodes (a stale
// node's included); decommissioning, decommissioned and maintenance
// replicas add to the total that decides missing / minimally replicated /
// under-replicated; corrupt and excess replicas count for neither. A block
// with no such replica is MISSING unless every replica it has is corrupt,
// then it is CORRUPT. Placement needs min(2, replication) racks once the
// cluster has more than one rack. The last block of a file being written is
// not validated; open files are left out of the totals unless
// -openforwrite. Percentages and the average replication are Java floats,
// printed as Float.toString prints them ("5.263158", "100.0").
//
// Not implemented: -move, -delete, -blockId, -replicaDetails,
// -upgradedomains, -storagepolicies, -includeSnapshots, -maintenance,
// -replicate (their parameters are ignored, so the rest of a request still
// runs), erasure-coded files (the "Erasure Coded Block Groups" section is
// printed with zeros, as on a cluster without EC files), and the READ
// permission check on each file's blocks (only directory listing is checked).
package fsck
