// Package zkutil is the ZKFC's access to ZooKeeper: its configuration, its
// connection, the working znode, `hdfs zkfc -formatZK`, and the checks (with
// Hadoop's exit statuses) a ZKFC makes before it starts.
//
// # Configuration
//
// ConfigFromConf reads Hadoop's keys for NameNode nn of nameservice ns, each
// looked up as key.<ns>.<nn>, key.<ns>, key:
//
//	ha.zookeeper.quorum              zk1:2181,zk2:2181,zk3:2181 (required)
//	ha.zookeeper.session-timeout.ms  10000
//	ha.zookeeper.parent-znode        /hadoop-ha; the working znode is <parent>/<ns>
//	ha.zookeeper.acl                 world:anyone:rwcda; scheme:id:perms,...
//	ha.zookeeper.auth                none; scheme:auth,... (digest:user:password)
//	ha.failover-controller.active-standby-elector.zk.op.retries  3
//
// ACL and auth values may be "@/path/to/file" to keep secrets out of the XML
// files (ResolveConfIndirection). An empty ACL list means creator-all
// (auth::cdrwa). Errors wrap ErrBadConfig with Hadoop's texts.
//
// # Connection
//
// Connect opens a session and waits for it at most the session timeout, then
// adds the configured credentials. The caller owns the *zk.Conn and must read
// its event channel and Close it; Close stops every goroutine of the client.
// ConnectForZKFC turns "no session" into exit status 6 with Hadoop's message.
//
// # Working znode
//
// EnsureParentZNode creates the working znode and its ancestors with the
// configured ACL (and sets that ACL on ancestors that exist with another);
// ClearParentZNode deletes it recursively; Format combines them as Hadoop's
// formatZK, asking "Proceed formatting <znode>? (Y or N)" on the error stream
// unless told -force or -nonInteractive.
//
// # Start checks and exit statuses
//
// A ZKFC, `hdfs zkfc` with or without -formatZK, checks in Hadoop's order:
//
//  1. LocalTarget: the local NameNode and its nameservice (an error, status
//     1, when HA is off or the NameNode cannot be identified);
//  2. CheckAutoFailover: dfs.ha.automatic-failover.enabled, else 5;
//  3. ConnectForZKFC: a ZooKeeper session, else 6;
//  4. with -formatZK: Format, which may end with 2 (denied) or 1 (could not
//     clear), and nothing else is checked;
//  5. the daemon: CheckStart, the working znode exists, else 3, and the
//     fencing methods parse and are not empty, else 4.
//
// Every refusal is an *ExitError carrying Hadoop's log text; ExitCode maps any
// error to the status.
package zkutil
