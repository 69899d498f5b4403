// Package namespace is the NameNode's namespace: inodes, directory entries,
// the block→file map, xattrs and namespace metadata, kept in Pebble and
// changed by exactly one function, Apply.
//
// # One deterministic apply path
//
// Every change is an edit op (proto/editpb Op) applied with
// Apply(txid, op). The active applies an op right after logging it, the
// standby applies the ops it tails, and startup applies the ops it replays:
// the same code, so the same bytes. An op carries every value that is not a
// function of the namespace before it (inode ids, times, block ids,
// generation stamps, client names), and Apply reads no clock, no random
// source and no configuration. Checksum hashes every key and value, so two
// namespaces can be compared exactly (the replay tests do).
//
// txid must be LastAppliedTxID()+1; anything else is a broken invariant of
// the caller and panics. Apply writes the op's changes and the new last
// applied txid in one Pebble batch, so the store never holds a change
// without its txid or the other way round. An op that does not fit the
// namespace (its path is missing, a parent is a file) fails with
// ErrCorrupt and changes nothing: it is a bug or corruption and the
// NameNode must stop.
//
// # Prepare, log, apply
//
// Client calls do not change the namespace themselves. The NameNode calls
// a Prepare method (PrepareMkdirs, PrepareCreate, PrepareDelete,
// PrepareRename, ...) which checks the path, types, HDFS argument rules and
// permissions exactly like Hadoop's FSDir*Op classes and returns either a
// Hadoop-shaped error (internal/rpc sentinels, Hadoop's message text) or
// the op to log; nil for calls HDFS answers without an edit (mkdirs of an
// existing directory, delete of a missing path). The NameNode then logs the
// op, applies it with the txid the log gave it, and waits for the quorum
// sync before answering. The caller holds its own namesystem write lock
// from Prepare through Apply (the check must still hold when the op
// applies, and Prepare allocates inode and block ids from counters that
// only Apply advances); it may release it before waiting for the sync.
// Reads (GetFileInfo, List, ContentSummary, GetXAttrs...) take the
// namesystem read lock: each Pebble read is atomic, but a read made of
// several lookups is consistent only while no Apply runs.
//
// Path resolution reads inodes and directory entries through a bounded
// read cache (Options.ReadCacheSize; cache.go) of committed values. Every
// write to the store commits through Namespace.commit, which writes the
// batch through to the cache; nothing else may write to the Pebble store.
//
// Times come from Call.Now (milliseconds, the caller's clock), users from
// Call.User; the umask is applied by the caller to the mode it passes.
//
// # Permissions
//
// Options.Permissions follows FSPermissionChecker: a superuser (the
// NameNode's user, or a member of dfs.permissions.superusergroup) passes
// every check; otherwise the owner bits apply to the owner, the group bits
// to members of the inode's group, the other bits to everyone else.
// EXECUTE is needed on every existing ancestor (traverse); create, mkdirs
// and rename's destination need WRITE on the deepest existing ancestor;
// delete and rename's source need WRITE on the parent, and a sticky parent
// lets only the parent's or the child's owner remove the child; recursive
// delete needs ALL on every non-empty directory below; setPermission and
// setOwner need ownership; setTimes and setReplication need WRITE on the
// inode; listing needs READ_EXECUTE on the directory. Denials read exactly
// like Hadoop's: "Permission denied: user=alice, access=WRITE,
// inode="/x":hadoop:supergroup:drwxr-xr-x". A path through a file fails for
// every user with ParentNotDirectoryException "/x (is not a directory)".
// New inodes take their parent's group (the BSD rule).
//
// # The working directory is disposable
//
// Apply commits with pebble.NoSync. That is safe because the working
// directory is never trusted across a restart: the NameNode rebuilds it at
// startup from the newest image (OpenCheckpoint) plus replay of the
// journal. An op is applied before its quorum sync finishes; if the active
// dies in between, the op may be in the working directory and yet not in
// the journal, so a restart that reused the directory would resurrect an
// edit that never happened. Rebuilding makes that impossible, and makes the
// fsync per op unnecessary. The one synced write is Format.
//
// Images build on Checkpoint(dir): a consistent Pebble checkpoint taken
// between two Applies, holding its txid in the metadata key and stamped in
// dir/IMAGE_TXID. OpenCheckpoint(image, dir) replaces the working
// directory with a copy of an image and opens it.
//
// # Key layout
//
// All integers are big-endian, so byte order is numeric order. Six key
// spaces, told apart by the first byte:
//
//	metadata     0x01 | name (ASCII)                   → value
//	inode        0x02 | inodeID (8)                    → editpb.INode (protobuf, deterministic)
//	dir entry    0x03 | parentID (8) | name (UTF-8)    → childID (8)
//	block        0x04 | blockID (8)                    → inodeID (8) of the file
//	xattr        0x05 | inodeID (8) | ns (1) | name    → value (raw bytes)
//	open file    0x06 | inodeID (8)                    → empty
//
// Directory entries of one directory are contiguous and sorted by the
// bytes of their names, as HDFS sorts children, so a listing page is one
// range scan from parentID|startAfter|0x00. An inode records its parent id
// and name, so FullPath walks up without a reverse index. ns in an xattr key
// is the editpb.XAttrNamespace value (USER=0, TRUSTED=1, SECURITY=2,
// SYSTEM=3, RAW=4). The open-file index holds exactly the files with a
// client name (under construction), written with the inode in the same
// batch, so the lease manager rebuilds its leases after an image load
// without reading every inode.
//
// Metadata names and values (integers as 8 bytes):
//
//	layoutVersion    LayoutVersion of this layout (2; 1 lacked the open-file index and is upgraded at Open)
//	lastAppliedTxid  txid of the last applied op (0 after Format)
//	lastInodeId      last allocated inode id (root: 16385, Hadoop's ROOT_INODE_ID)
//	lastBlockId      last allocated block id (starts at 1<<30, Hadoop's reserved range)
//	genStampV2       last generation stamp (starts at 1000)
//	numFiles         number of files
//	numDirs          number of directories, the root included
//	namespaceId      namespace id (int32 as 8 bytes)
//	cTime            creation time
//	clusterId        cluster id (string)
//	blockPoolId      block pool id (string)
//
// Block locations are not in the store: they come from block reports and
// live in the block manager's memory. Apply reports the blocks that leave
// the namespace in Applied.RemovedBlocks.
package namespace
