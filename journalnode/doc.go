// Package journalnode is the JournalNode daemon of the quorum journal
// (Apache Hadoop's QJM, HDFS-3077): it serves QJournalProtocol over Hadoop
// IPC to the NameNodes that write and tail the shared edit log, and serves
// edit segments over HTTP to NameNodes and to peer JournalNodes that
// recover a segment.
//
// The journal itself (files, epochs, recovery, the edit cache) is package
// storage; this package owns what surrounds it:
//
//   - one storage.Journal per journal id, in <EditsDir>/<jid>, opened on
//     first use (or at Start if its directory exists) and kept open until
//     Stop. A journal id is a plain directory name (Hadoop's
//     QuorumJournalManager.checkJournalId: not empty, no '/', not starting
//     with '.'); anything else is refused with
//     java.lang.IllegalArgumentException "bad journal id: <jid>".
//   - a flock on <EditsDir>/<jid>/in_use.lock for as long as the journal
//     is open, so two JournalNodes never share a journal directory. The
//     second one fails to start (or the request fails) with
//     "Cannot lock storage <dir>. The directory is already locked".
//   - the RPC service (rpc.go): every QJournalProtocol method, with
//     storage's refusals mapped to Hadoop's exception classes in one table
//     (kindClasses) and Hadoop's messages kept as they are.
//   - the HTTP service (http.go): GET /getJournal?jid=&segmentTxId=&storageInfo=
//     streams one segment file, the way Hadoop's GetJournalEditServlet
//     does, and acceptRecovery downloads from a peer's fromURL with it.
//
// # Durability
//
// The JournalNode answers only after storage has made the change durable:
// newEpoch after the promise is fsynced; journal after the records are
// fsynced; startLogSegment, finalizeLogSegment and acceptRecovery after
// their files and directory entries are fsynced. committed-txid is the one
// exception: it is a best-effort lower bound (see package storage).
//
// # Life cycle
//
//	jn, err := journalnode.New(cfg)   // validates, binds nothing
//	err = jn.Start(ctx)               // opens journals, binds RPC and HTTP, serves
//	jn.RPCAddress(), jn.HTTPAddress() // bound addresses (port 0 resolved)
//	err = jn.Stop()                   // stops every goroutine, closes journals, unlocks
package journalnode
