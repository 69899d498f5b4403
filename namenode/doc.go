// Package namenode is the NameNode daemon: it owns the name directory
// (VERSION, images), the working namespace, the edit log, the namesystem
// (package namesystem), the client RPC server and the HTTP server.
//
// # Storage
//
//	<dfs.namenode.name.dir>/current/VERSION           java properties: namespaceID, clusterID,
//	                                                   cTime, storageType=NAME_NODE, blockpoolID,
//	                                                   layoutVersion
//	<dfs.namenode.name.dir>/current/fsimage_<txid>    images (package image)
//	<dfs.namenode.name.dir>/current/namespace.work    the working Pebble namespace, rebuilt at
//	                                                   every start from the newest image + edits
//	<dfs.namenode.edits.dir>/current/edits_*          local edit segments (non-HA)
//
// # Startup
//
// Read VERSION; take the newest image (a corrupt newest image stops the
// start, naming it: never skip to an older one); copy it into the working
// directory. Non-HA (one NameNode): recover the journal and replay every
// edit after the image (a corrupt or missing edit stops the start, naming
// the segment); start writing at the next txid; serve, active.
//
// HA (two or more NameNodes in the nameservice and a qjournal:// shared
// edits directory): start standby. The tailer (tailer.go) applies what the
// JournalNodes hold and keeps following; it never takes an epoch, which
// would fence the active. TransitionToActive stops the tailer, reads to the
// end of the journal, recovers it with a new epoch, opens a segment with a
// fresh EditLog and starts the lease monitor; TransitionToStandby closes
// that EditLog and resumes tailing. An active whose journal writes fail
// steps down by itself and, when it applied edits that never became
// durable, reloads its namespace from the newest image. hasvc.go serves
// HAServiceProtocol, checkpointer.go the standby's checkpoints, images.go
// the active's side of the upload, nnprotocol.go NamenodeProtocol, and
// bootstrap.go and sharededits.go the -bootstrapStandby and
// -initializeSharedEdits commands. docs/ha.md is the operator's view.
//
// # Metadata mirror and recovery mode
//
// With a sink configured (package tablestore, docs/mirror.md), Start opens
// it (sink.go: a sink that cannot be opened yet is opened again at its
// next use) and the active runs a shipper (mirror.go) from becoming active
// to leaving it; the MetaStatus bean reports it. With recovery mode on,
// Start is startRecoveryLocked (recovery.go): identity and newest image
// from the sink, VERSION written after the image, every later edit applied
// through the namesystem, a local image saved, then the NameNode serves
// read-only as the active without any journal.
//
// # Stop
//
// Stop closes the RPC server (waiting for handlers), the checkpointer and
// the tailer, the HTTP server, the namesystem's lease monitor, the edit log
// (finalizing the open segment) and the namespace. In non-HA mode a
// journal failure stops the RPC server by itself; the daemon then waits
// for Stop.
package namenode
