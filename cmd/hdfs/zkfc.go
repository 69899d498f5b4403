package main

import (
	"errors"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/zkfc"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
	"github.com/hdfsha/hdfsha/zkfc/zkutil"
)

// zkfcTool is `hdfs zkfc`, the ZKFC daemon (package zkfc), and
// `hdfs zkfc -formatZK [-force] [-nonInteractive]`, Hadoop's
// DFSZKFailoverController's one-shot mode.
func zkfcTool() *hadoopTool {
	return &hadoopTool{
		Name:     "zkfc",
		Category: categoryDaemon,
		Summary:  "run the ZK Failover Controller daemon",
		Description: "The ZK Failover Controller of the local NameNode (dfs.ha.namenode.id, or the configured\n" +
			"RPC address that is local). It reads ha.zookeeper.quorum, ha.zookeeper.session-timeout.ms,\n" +
			"ha.zookeeper.parent-znode, ha.zookeeper.acl and ha.zookeeper.auth. Without a command it runs\n" +
			"in the foreground until SIGINT or SIGTERM. Exit status: 1 could not clear the znode (or a fatal\n" +
			"error), 2 formatting denied, 3 parent znode missing (run -formatZK), 4 fencing not configured,\n" +
			"5 automatic failover not enabled, 6 ZooKeeper unreachable.",
		Default: runZKFC,
		Ops: []toolOp{{
			Name:    "-formatZK",
			Args:    "[-force] [-nonInteractive]",
			Help:    "Creates <ha.zookeeper.parent-znode>/<nameservice> in ZooKeeper; if it exists, asks before clearing it (-force: clears it without asking; -nonInteractive: refuses, exit 2).",
			MinArgs: 0, MaxArgs: -1,
			Run: runFormatZK,
		}},
	}
}

// zkfcConnect does what every `hdfs zkfc` mode does first, in Hadoop's order:
// find the local NameNode, require automatic failover (exit 5), read the
// ZooKeeper settings and open a session (exit 6). The caller closes the
// connection with zkutil.Close.
func zkfcConnect(tc *toolContext) (hasvc.Target, zkutil.Config, *zk.Conn, <-chan zk.Event, error) {
	target, err := zkutil.LocalTarget(tc.Ctx, tc.Conf, nil)
	if err != nil {
		return hasvc.Target{}, zkutil.Config{}, nil, nil, err
	}
	if err := zkutil.CheckAutoFailover(target); err != nil {
		return hasvc.Target{}, zkutil.Config{}, nil, nil, err
	}
	cfg, err := zkutil.ConfigFromConf(tc.Conf, target.Nameservice, target.NameNodeID)
	if err != nil {
		return hasvc.Target{}, zkutil.Config{}, nil, nil, err
	}
	conn, events, err := zkutil.ConnectForZKFC(tc.Ctx, cfg, tc.Log)
	if err != nil {
		return hasvc.Target{}, zkutil.Config{}, nil, nil, err
	}
	return target, cfg, conn, events, nil
}

// runZKFC is the daemon: Hadoop's start checks and exit statuses, then the
// ZKFC until SIGINT or SIGTERM (tc.Ctx), or until it fails by itself.
func runZKFC(tc *toolContext) error {
	target, zcfg, conn, events, err := zkfcConnect(tc)
	if err != nil {
		return zkfcResult(tc, err)
	}
	err = zkutil.CheckStart(conn, zcfg, target, nil)
	zkutil.Close(conn, events)
	if err != nil {
		return zkfcResult(tc, err)
	}
	cfg, err := zkfc.ConfigFromConf(tc.Conf, target.Nameservice, target.NameNodeID)
	if err != nil {
		return zkfcResult(tc, err)
	}
	cfg.Target = target
	cfg.ZK = zcfg
	cfg.Logger = tc.Log
	z, err := zkfc.New(cfg)
	if err != nil {
		return zkfcResult(tc, err)
	}
	if err := z.Start(tc.Ctx); err != nil {
		return zkfcResult(tc, errors.Join(err, z.Stop()))
	}
	select {
	case <-tc.Ctx.Done():
		tc.Log.Info("shutting down ZKFC")
	case <-z.Done():
	}
	fatal := z.Err()
	if err := z.Stop(); err != nil {
		return zkfcResult(tc, err)
	}
	return zkfcResult(tc, fatal)
}

func runFormatZK(tc *toolContext, args []string) error {
	opts, rest, err := parseOpOptions(args, map[string]bool{"-force": false, "-nonInteractive": false})
	if err == nil && len(rest) > 0 {
		err = errors.New("Bad argument: " + rest[0])
	}
	if err != nil {
		return tc.UsageError("zkfc: %v", err)
	}
	_, force := opts["-force"]
	_, nonInteractive := opts["-nonInteractive"]

	_, cfg, conn, events, err := zkfcConnect(tc)
	if err == nil {
		defer zkutil.Close(conn, events)
		err = zkutil.Format(conn, cfg, zkutil.FormatOptions{
			Force: force, NonInteractive: nonInteractive, In: tc.In, Err: tc.Err,
		}, tc.Log)
	}
	return zkfcResult(tc, err)
}

// zkfcResult logs an *zkutil.ExitError's Hadoop text at ERROR and ends with
// its status; other errors end with status 1.
func zkfcResult(tc *toolContext, err error) error {
	if err == nil {
		return nil
	}
	var ee *zkutil.ExitError
	if errors.As(err, &ee) {
		if ee.Code == zkutil.ExitFormatDenied && ee.Err == nil {
			// The prompt, or the warning for -nonInteractive, said it.
			return tc.Fail(ee.Code, "")
		}
		fields := []zap.Field{}
		if ee.Err != nil {
			fields = append(fields, zap.Error(ee.Err))
		}
		tc.Log.Error(ee.Msg, fields...)
		return tc.Fail(ee.Code, "")
	}
	return tc.Fail(zkutil.ExitCode(err), "zkfc: %v", err)
}
