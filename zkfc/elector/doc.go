// Package elector is the ZKFC's election as a pure state machine: Hadoop's
// ActiveStandbyElector together with the ZKFailoverController's reactions
// to the election, to health changes and to cedeActive. It does no I/O,
// starts no goroutine and reads no clock; a driver (the ZKFC daemon) owns
// the ZooKeeper client, the RPC clients, the fencer and a ticker.
//
// # Znodes
//
// The elector works in Config.WorkingZNode,
// <ha.zookeeper.parent-znode>/<nameservice> (/hadoop-ha/<ns> by default,
// zkutil.Config.WorkingZNode), which `hdfs zkfc -formatZK` creates:
//
//	ActiveStandbyElectorLock  ephemeral; whoever created it won the election
//	ActiveBreadCrumb          persistent; the last node that became active
//
// Both hold the node's identity, Hadoop's ActiveNodeInfo protobuf (NodeInfo,
// field numbers from hadoop-hdfs HAZKInfo.proto), so a Hadoop ZKFC and this
// one read each other's znodes.
//
// # Driving it
//
// Step(event) returns []Action. Events are ZooKeeper results and watches
// (CreateLockResult, WatchLockResult, LockChanged, BreadcrumbResult,
// WriteBreadcrumbResult), session changes (SessionConnected,
// SessionDisconnected, SessionExpired), health changes (HealthChanged, from
// zkfc/health), NameNode and fencing results (TransitionResult,
// FenceResult), the NameNode's reported state (ServiceStatus; FromHealth
// makes both health events from a health.Update), commands (CedeActive) and
// Tick, one per
// Config.TickInterval. Every action that needs an answer has a Seq; the
// driver steps the answer carrying that Seq. An answer the elector no
// longer waits for (its session was closed, it left the election) is
// ignored, as Hadoop ignores results from a stale ZooKeeper client.
// Sessions are numbered by the elector (OpenSession.Session); the driver
// tags session events and watches with that number.
//
// The driver runs the ZooKeeper actions in the order returned, across
// steps, and the NameNode actions (GracefulFence, RunFencingMethods,
// BecomeActive, BecomeStandby) one at a time in the order returned, across
// steps: a BecomeStandby returned after a BecomeActive reaches the NameNode
// after it, so the NameNode ends in the last state the elector asked for.
//
// # Taking over, in order
//
// The elector that created the lock:
//
//  1. reads ActiveBreadCrumb (GetBreadcrumb);
//  2. when it names another NameNode, fences it: GracefulFence first
//     (transitionToStandby), RunFencingMethods (dfs.ha.fencing.methods)
//     when that fails; when both fail it gives up: it never writes the
//     breadcrumb nor makes its NameNode active, closes its session (which
//     releases the lock) and rejoins after Config.SleepAfterFailure (1 s);
//  3. writes ActiveBreadCrumb with its own identity (setData against the
//     version it read, create when there was none) — only after step 2
//     succeeded, and before step 4;
//  4. makes its NameNode active (BecomeActive), logs Hadoop's "Successfully
//     transitioned NameNode at <host:port> to active state", and watches
//     the lock.
//
// A failure at any step is a failure to become active: an ActiveAttempt
// action records it (for a gracefulFailover waiting on it), the session is
// closed and the elector rejoins after SleepAfterFailure.
//
// # Losing, leaving, sessions
//
//   - NODEEXISTS on create: another node is active. The elector logs "ZK
//     Election indicated that NameNode at <host:port> should become
//     standby", makes its NameNode standby and watches the lock; when it is
//     deleted, it tries to create it again.
//   - Health (zkfc/health): SERVICE_HEALTHY joins the election;
//     SERVICE_UNHEALTHY and SERVICE_NOT_RESPONDING leave it keeping the
//     breadcrumb (the next active fences this node) and make the NameNode
//     standby; HEALTH_MONITOR_FAILED is Fatal.
//   - ServiceStatus (the state the NameNode reports to the health monitor):
//     two reports in a row that disagree with what the elector made the
//     NameNode leave the election, keeping the breadcrumb, for a second
//     (Hadoop's verifyChangedServiceState). Reports while a transition is in
//     flight do not count.
//   - Leaving the election closes the session: the ephemeral lock goes
//     with it. Whenever the session is closed while the NameNode was told
//     to be active, it is told to be standby.
//   - Disconnected: neutral mode, nothing changes (the cluster keeps
//     serving while ZooKeeper is down); once connected again the elector
//     re-reads the lock.
//   - Expired: the lock is gone; an active NameNode is made standby at once
//     (Hadoop waits until it learns that another node won), then the
//     elector opens a new session and rejoins.
//   - CONNECTIONLOSS while connected is retried up to
//     ha.failover-controller.active-standby-elector.zk.op.retries (3). Where
//     Hadoop then stops the ZKFC (fatal), this elector starts over with a
//     new session after SleepAfterFailure.
//
// # cedeActive and gracefulFailover
//
// CedeActive{Millis} makes the NameNode standby, leaves the election
// (deleting the breadcrumb when the NameNode did go standby, keeping it so
// that it is fenced otherwise), stays out for Millis and answers with
// CedeDone. Millis <= 0 ends the delay at once. The ZKFC that runs
// gracefulFailover reads the lock's data for the current active (a plain
// getData the driver does, ParseNodeInfo decodes it), asks the other ZKFCs
// to cede, and waits for the next ActiveAttempt action of its own elector.
//
// # What the elector alone cannot prevent
//
// ZooKeeper tells a client that its session expired only when the client
// talks to a server again. An elector cut off in the middle of a takeover
// may therefore still make its NameNode active after its lock went away and
// another ZKFC fenced it (the same window exists in Hadoop). The shared
// edit log closes it: the new active's epoch on the JournalNodes refuses
// the old one's writes, so it acknowledges nothing. The model test
// delivers expiries promptly and checks the elector's part: the lock
// holder alone makes its NameNode active, after the breadcrumb, after
// fencing.
//
// Config.SessionTimeout (ha.zookeeper.session-timeout.ms, 10 s) travels
// with OpenSession to the driver's ZooKeeper client.
package elector
