// Package datanode is the DataNode daemon (`hdfs datanode`): it stores
// replicas through package storage, reports them to every NameNode of its
// nameservice, obeys the active one, and serves the data path.
//
// Pieces (Hadoop's names in brackets):
//
//   - config.go: Config, read from Hadoop configuration (dfs.datanode.*,
//     dfs.heartbeat.interval, dfs.blockreport.*) and the NameNodes of the
//     nameservice.
//   - fence.go: the DataNode fence [BPOfferService]: commands are obeyed only
//     from the NameNode whose heartbeat response claims ACTIVE with a txid
//     higher than the last acknowledged claim; standbys' commands (other than
//     re-registration) and stale actives' commands are ignored and logged.
//   - reports.go: the pure parts of a service actor [BPServiceActor]: the
//     schedule (handshake, heartbeat, incremental report, full report, backoff),
//     the incremental report queue [IncrementalBlockReportManager] and the
//     long-array block report encoding [BlockListAsLongs].
//
// The protocol logic is pure (no I/O, no clock); the drivers around it are
// thin and own every goroutine they start.
package datanode
