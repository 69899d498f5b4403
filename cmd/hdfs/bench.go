package main

import (
	"fmt"
	"strings"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/bench"
	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// benchTool is `hdfs bench`: load generators run against a live cluster. docs/bench.md is the
// reference.
func benchTool() *hadoopTool {
	return &hadoopTool{
		Name:     "bench",
		Category: categoryAdmin,
		Summary:  "run a benchmark against a running cluster",
		Description: "Runs a benchmark against the NameNode of fs.defaultFS (-fs hdfs://host:port), or the\n" +
			"active NameNode of the default nameservice, over RPC.",
		Ops: []toolOp{{
			Name:    "nnthroughput",
			Args:    "-op create|mkdirs|open|fileStatus|rename|delete|all [-threads T] [-files N] [-filesPerDir P] [-keepResults] [-useExisting]",
			Help:    "Hadoop's NNThroughputBenchmark: T threads run N operations and report operations per second.",
			MinArgs: 0, MaxArgs: -1,
			Run: runNNThroughput,
		}},
	}
}

func runNNThroughput(tc *toolContext, args []string) error {
	// Hadoop's benchmark takes -fs among its own arguments too.
	var rest []string
	for i := 0; i < len(args); i++ {
		if args[i] == "-fs" && i+1 < len(args) {
			g, err := conf.ParseGenericArgs(args[i : i+2])
			if err == nil {
				err = g.Apply(tc.Conf)
			}
			if err != nil {
				return tc.Fail(exitToolError, "nnthroughput: %v", err)
			}
			i++
			continue
		}
		rest = append(rest, args[i])
	}
	opts, err := bench.ParseNNThroughputArgs(rest)
	if err != nil {
		return tc.Fail(exitToolError, "%v\n%s", err, strings.TrimRight(bench.NNThroughputUsage, "\n"))
	}
	replication, err := tc.Conf.GetInt("dfs.replication", 3)
	if err != nil {
		return tc.Fail(exitToolError, "%v", err)
	}
	blockSize, err := tc.Conf.GetSize("dfs.blocksize", 128<<20)
	if err != nil {
		return tc.Fail(exitToolError, "%v", err)
	}
	userName := benchUser()
	newClient := func() (bench.Caller, error) {
		cfg := rpc.DefaultClientConfig(userName)
		cfg.Logger = tc.Log.Named("rpc")
		return rpc.NewClient(cfg)
	}
	addr, err := activeNameNode(tc, userName)
	if err != nil {
		return err
	}
	tc.Log.Info("benchmarking NameNode", zap.String("address", addr), zap.String("user", userName))
	_, err = bench.RunNNThroughput(tc.Ctx, bench.NNThroughputConfig{
		Addr:        addr,
		NewClient:   newClient,
		Replication: uint32(replication),
		BlockSize:   uint64(blockSize),
		Out:         tc.Out,
		Log:         tc.Log,
	}, opts)
	return err
}

// benchUser is the user the benchmark runs as: $HADOOP_USER_NAME, else the OS user.
func benchUser() string { return client.DefaultUser() }

// activeNameNode returns the RPC address to benchmark: the only NameNode of fs.defaultFS
// (-fs hdfs://host:port), or the active one of the default nameservice, found the way every
// client finds it (client.Client's failover, here on getFileInfo("/"), which a standby
// refuses).
func activeNameNode(tc *toolContext, userName string) (string, error) {
	c, err := client.New(client.Config{Conf: tc.Conf, User: userName, Logger: tc.Log.Named("client")}, "")
	if err != nil {
		return "", tc.Fail(exitToolError, "%v", err)
	}
	defer c.Close()
	if addrs := c.Addresses(); len(addrs) == 1 {
		return addrs[0], nil
	}
	var resp hdfspb.GetFileInfoResponseProto
	if err := c.Call(tc.Ctx, "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String("/")}, &resp); err != nil {
		return "", fmt.Errorf("no active NameNode among %s: %w", strings.Join(c.Addresses(), ", "), err)
	}
	return c.Active(), nil
}
