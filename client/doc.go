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
// Callers own the Client and Close it. Sleep and Jitter in Config are injectable so tests
// observe the backoff without waiting.
package client
