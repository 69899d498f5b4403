package conf

// defaults are the compiled-in values, taken from Hadoop 3's core-default.xml
// and hdfs-default.xml for the keys this project honours. Each value was
// checked against those files; where a default changed during the 3.x line
// the comment says which one is used. Keys whose Hadoop default is empty
// (dfs.namenode.rpc-address, dfs.nameservices, dfs.ha.namenodes.<ns>,
// dfs.namenode.shared.edits.dir, dfs.ha.fencing.methods, ha.zookeeper.quorum,
// dfs.client.failover.proxy.provider...) are deliberately absent: unset and
// empty mean the same to every caller, and absence keeps suffix lookups
// (GetNN) from stopping at an empty generic value.
//
// A few keys deliberately default differently here, each marked
// "hdfsha:" with the reason; docs name them too.
//
// The table is never modified after package initialisation.
var defaults = [...]struct{ key, value string }{
	// core-default.xml: file system and local directories.
	{"fs.defaultFS", "file:///"},
	{"hadoop.tmp.dir", "/tmp/hadoop-${user.name}"},
	{"fs.permissions.umask-mode", "022"},
	{"fs.trash.interval", "0"},
	{"fs.trash.checkpoint.interval", "0"},
	{"io.file.buffer.size", "4096"},
	{"hadoop.security.authentication", "simple"},
	{"hadoop.security.authorization", "false"},

	// core-default.xml: IPC client and server.
	{"ipc.client.connection.maxidletime", "10000"},
	{"ipc.client.connect.timeout", "20000"},
	{"ipc.client.connect.max.retries", "10"},
	{"ipc.client.connect.retry.interval", "1000"},
	{"ipc.client.connect.max.retries.on.timeouts", "45"},
	{"ipc.client.tcpnodelay", "true"},
	{"ipc.client.ping", "true"},
	{"ipc.ping.interval", "60000"},
	// 120000 since Hadoop 3.3.1 (HADOOP-17552); it was 0 before.
	{"ipc.client.rpc-timeout.ms", "120000"},
	// 128 MiB since Hadoop 3.3; it was 64 MiB before.
	{"ipc.maximum.data.length", "134217728"},
	{"ipc.maximum.response.length", "134217728"},

	// core-default.xml: ZooKeeper failover controller.
	{"ha.zookeeper.session-timeout.ms", "10000"},
	{"ha.zookeeper.parent-znode", "/hadoop-ha"},
	{"ha.zookeeper.acl", "world:anyone:rwcda"},
	{"ha.health-monitor.connect-retry-interval.ms", "1000"},
	{"ha.health-monitor.check-interval.ms", "1000"},
	{"ha.health-monitor.sleep-after-disconnect.ms", "1000"},
	{"ha.health-monitor.rpc-timeout.ms", "45000"},
	{"ha.failover-controller.new-active.rpc-timeout.ms", "60000"},
	{"ha.failover-controller.graceful-fence.rpc-timeout.ms", "5000"},
	{"ha.failover-controller.graceful-fence.connection.retries", "1"},
	{"ha.failover-controller.active-standby-elector.zk.op.retries", "3"},
	{"ha.failover-controller.cli-check.rpc-timeout.ms", "20000"},
	{"dfs.ha.fencing.ssh.connect-timeout", "30000"},

	// hdfs-default.xml: daemon addresses (ports as in DESIGN.md).
	{"dfs.namenode.http-address", "0.0.0.0:9870"},
	{"dfs.namenode.https-address", "0.0.0.0:9871"},
	{"dfs.namenode.secondary.http-address", "0.0.0.0:9868"},
	{"dfs.datanode.address", "0.0.0.0:9866"},
	{"dfs.datanode.ipc.address", "0.0.0.0:9867"},
	{"dfs.datanode.http.address", "0.0.0.0:9864"},
	{"dfs.datanode.https.address", "0.0.0.0:9865"},
	{"dfs.journalnode.rpc-address", "0.0.0.0:8485"},
	{"dfs.journalnode.http-address", "0.0.0.0:8480"},
	{"dfs.journalnode.https-address", "0.0.0.0:8481"},
	{"dfs.ha.zkfc.port", "8019"},
	{"dfs.http.policy", "HTTP_ONLY"},

	// hdfs-default.xml: local storage directories.
	{"dfs.namenode.name.dir", "file://${hadoop.tmp.dir}/dfs/name"},
	{"dfs.namenode.edits.dir", "${dfs.namenode.name.dir}"},
	{"dfs.namenode.checkpoint.dir", "file://${hadoop.tmp.dir}/dfs/namesecondary"},
	{"dfs.namenode.checkpoint.edits.dir", "${dfs.namenode.checkpoint.dir}"},
	{"dfs.datanode.data.dir", "file://${hadoop.tmp.dir}/dfs/data"},
	{"dfs.datanode.data.dir.perm", "700"},
	{"dfs.journalnode.edits.dir", "/tmp/hadoop/dfs/journalnode/"},

	// hdfs-default.xml: namespace, blocks and permissions.
	{"dfs.replication", "3"},
	{"dfs.replication.max", "512"},
	{"dfs.namenode.replication.min", "1"},
	{"dfs.blocksize", "134217728"},
	{"dfs.bytes-per-checksum", "512"},
	{"dfs.checksum.type", "CRC32C"},
	{"dfs.stream-buffer-size", "4096"},
	{"dfs.client-write-packet-size", "65536"},
	{"dfs.namenode.fs-limits.max-component-length", "255"},
	{"dfs.namenode.fs-limits.max-directory-items", "1048576"},
	{"dfs.namenode.fs-limits.min-block-size", "1048576"},
	{"dfs.namenode.fs-limits.max-blocks-per-file", "10000"},
	{"dfs.namenode.accesstime.precision", "3600000"},
	{"dfs.namenode.xattrs.enabled", "true"},
	{"dfs.permissions.enabled", "true"},
	{"dfs.permissions.superusergroup", "supergroup"},
	{"dfs.user.home.dir.prefix", "/user"},
	{"dfs.namenode.max.objects", "0"},

	// hdfs-default.xml: RPC handlers.
	{"dfs.namenode.handler.count", "10"},
	{"dfs.namenode.service.handler.count", "10"},
	{"dfs.datanode.handler.count", "10"},

	// hdfs-default.xml: heartbeats, block reports and replication work.
	{"dfs.heartbeat.interval", "3s"},
	{"dfs.namenode.heartbeat.recheck-interval", "300000"},
	{"dfs.namenode.stale.datanode.interval", "30000"},
	{"dfs.blockreport.intervalMsec", "21600000"},
	{"dfs.blockreport.initialDelay", "0s"},
	{"dfs.blockreport.incremental.intervalMsec", "0"},
	{"dfs.blockreport.split.threshold", "1000000"},
	{"dfs.namenode.max.full.block.report.leases", "6"},
	{"dfs.namenode.full.block.report.lease.length.ms", "300000"},
	{"dfs.namenode.replication.max-streams", "2"},
	{"dfs.namenode.replication.max-streams-hard-limit", "4"},
	{"dfs.namenode.replication.work.multiplier.per.iteration", "2"},
	{"dfs.namenode.redundancy.interval.seconds", "3s"},
	{"dfs.namenode.reconstruction.pending.timeout-sec", "300"},
	{"dfs.block.invalidate.limit", "1000"},
	{"dfs.namenode.datanode.registration.ip-hostname-check", "true"},

	// hdfs-default.xml: safe mode.
	{"dfs.namenode.safemode.threshold-pct", "0.999f"},
	{"dfs.namenode.safemode.min.datanodes", "0"},
	{"dfs.namenode.safemode.extension", "30000"},

	// hdfs-default.xml: checkpoints, edit retention and image transfer.
	{"dfs.namenode.checkpoint.period", "3600s"},
	{"dfs.namenode.checkpoint.txns", "1000000"},
	{"dfs.namenode.checkpoint.check.period", "60s"},
	{"dfs.namenode.checkpoint.max-retries", "3"},
	{"dfs.namenode.num.checkpoints.retained", "2"},
	{"dfs.namenode.num.extra.edits.retained", "1000000"},
	{"dfs.namenode.max.extra.edits.segments.retained", "10000"},
	{"dfs.namenode.edit.log.autoroll.multiplier.threshold", "0.5"},
	{"dfs.namenode.edit.log.autoroll.check.interval.ms", "300000"},
	{"dfs.namenode.max.op.size", "52428800"},
	{"dfs.image.transfer.timeout", "60000"},
	{"dfs.image.transfer.bandwidthPerSec", "0"},
	{"dfs.image.transfer.chunksize", "65536"},
	{"dfs.edit.log.transfer.timeout", "30000"},

	// hdfs-default.xml: high availability.
	{"dfs.ha.automatic-failover.enabled", "false"},
	{"dfs.ha.standby.checkpoints", "true"},
	{"dfs.ha.log-roll.period", "120s"},
	// hdfsha: the standby tails every 2 ms while edits arrive, backing off
	// to 1 s when idle, and reads the in-progress segment (Hadoop: 60s, 0,
	// false), for a standby lag of milliseconds and a fast failover
	// (docs/ha.md).
	{"dfs.ha.tail-edits.period", "2ms"},
	{"dfs.ha.tail-edits.period.backoff-max", "1s"},
	{"dfs.ha.tail-edits.namenode-retries", "3"},
	{"dfs.ha.tail-edits.rolledits.timeout", "60"},
	{"dfs.ha.tail-edits.in-progress", "true"},
	{"dfs.ha.zkfc.nn.http.timeout.ms", "20000"},
	{"dfs.namenode.enable.retrycache", "true"},
	{"dfs.namenode.retrycache.expirytime.millis", "600000"},

	// hdfs-default.xml: quorum journal (client side and JournalNode).
	{"dfs.qjournal.start-segment.timeout.ms", "20000"},
	{"dfs.qjournal.prepare-recovery.timeout.ms", "120000"},
	{"dfs.qjournal.accept-recovery.timeout.ms", "120000"},
	{"dfs.qjournal.finalize-segment.timeout.ms", "120000"},
	{"dfs.qjournal.select-input-streams.timeout.ms", "20000"},
	{"dfs.qjournal.get-journal-state.timeout.ms", "120000"},
	{"dfs.qjournal.new-epoch.timeout.ms", "120000"},
	{"dfs.qjournal.write-txns.timeout.ms", "20000"},
	{"dfs.qjournal.queued-edits.limit.mb", "10"},
	{"dfs.qjournal.http.open.timeout.ms", "60000"},
	{"dfs.qjournal.http.read.timeout.ms", "60000"},
	{"dfs.journalnode.edit-cache-size.bytes", "1048576"},
	{"dfs.journalnode.enable.sync", "true"},
	{"dfs.journalnode.sync.interval", "120000"},

	// hdfs-default.xml: client retries and failover.
	{"dfs.client.failover.max.attempts", "15"},
	{"dfs.client.failover.sleep.base.millis", "500"},
	{"dfs.client.failover.sleep.max.millis", "15000"},
	{"dfs.client.failover.connection.retries", "0"},
	{"dfs.client.failover.connection.retries.on.timeouts", "0"},
	{"dfs.client.failover.random.order", "false"},
	{"dfs.client.retry.max.attempts", "10"},
	{"dfs.client.socket-timeout", "60000"},
	{"dfs.client.block.write.retries", "3"},
	{"dfs.client.use.datanode.hostname", "false"},

	// hdfs-default.xml: DataNode.
	{"dfs.datanode.max.transfer.threads", "4096"},
	{"dfs.datanode.failed.volumes.tolerated", "0"},
	{"dfs.datanode.socket.write.timeout", "480000"},
	{"dfs.datanode.directoryscan.interval", "21600s"},
	{"dfs.datanode.du.reserved", "0"},
	{"dfs.datanode.use.datanode.hostname", "false"},
	{"dfs.datanode.socket.reuse.keepalive", "4000"},
	// hdfsha: a DataNode fsyncs a replica before it acknowledges its last
	// packet, so a closed file survives a power failure (Hadoop: false, the
	// data stays in the page cache; docs/datanode.md).
	{"dfs.datanode.synconclose", "true"},
}

// DefaultValue returns the compiled-in default of key, if it has one.
func DefaultValue(key string) (string, bool) {
	for _, d := range defaults {
		if d.key == key {
			return d.value, true
		}
	}
	return "", false
}
