// Package datanode is the DataNode daemon (`hdfs datanode`): it stores
// replicas through package storage, reports them to every NameNode of its
// nameservice, obeys the active one, and serves the data path.
//
// Pieces (Hadoop's names in brackets):
//
//   - config.go: Config, read from Hadoop configuration (dfs.datanode.*,
//     dfs.heartbeat.interval, dfs.blockreport.*) and the NameNodes of the
//     nameservice.
//
//   - fence.go: the DataNode fence [BPOfferService]: commands are obeyed only
//     from the NameNode whose heartbeat response claims ACTIVE with a txid
//     higher than the last acknowledged claim; standbys' commands (other than
//     re-registration) and stale actives' commands are ignored and logged.
//
//   - reports.go: the pure parts of a service actor [BPServiceActor]: the
//     schedule (handshake, heartbeat, incremental report, full report, backoff),
//     the incremental report queue [IncrementalBlockReportManager] and the
//     long-array block report encoding [BlockListAsLongs].
//
//   - actor.go: the driver of one service actor per NameNode: versionRequest,
//     registerDatanode, sendHeartbeat, blockReceivedAndDeleted, blockReport,
//     re-registration on RegisterCommand or UnregisteredNodeException, backoff.
//
//   - commands.go: what the obeyed NameNode asks (TRANSFER, INVALIDATE, block
//     recovery, RegisterCommand, Finalize).
//
//   - xceiver.go, receiver.go: the DataTransferProtocol server
//     [DataXceiverServer, DataXceiver, BlockSender, BlockReceiver,
//     PacketResponder] on top of internal/datatransfer's framing.
//
//   - recovery.go: block recovery as primary [BlockRecoveryWorker]; the length
//     choice (chooseRecovery) is pure.
//
//   - ipc.go: InterDatanodeProtocol and ClientDatanodeProtocol at
//     dfs.datanode.ipc.address; web.go: /jmx beans and /metrics.
//
// # Life cycle
//
//	cfg, err := datanode.ConfigFromConf(c) // or a Config built by hand
//	dn, err := datanode.New(cfg)           // validates, binds nothing
//	err = dn.Start(ctx)                    // opens storage, binds the 3 ports, starts the actors
//	dn.TransferAddress(), dn.IPCAddress(), dn.HTTPAddress()
//	err = dn.Stop()                        // stops actors, transfers and servers, closes storage
//
// Every goroutine belongs to the DataNode (the accept loop, one per
// connection, one per actor, one per transfer, invalidation or recovery
// command, one per bad-block report) and Stop waits for all of them.
//
// # Durability and reporting order
//
// A replica is reported RECEIVED only after storage finalized it (data and
// meta fsynced and renamed into finalized/), and a pipeline's last ack is
// sent upstream only after that, so a client that saw its block acknowledged
// never meets a NameNode that knows of a replica the disk lost. DELETED is
// reported after the files are removed.
//
// The protocol logic is pure (no I/O, no clock); the drivers around it are
// thin and own every goroutine they start. docs/datanode.md is the operator's
// guide.
package datanode
