package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

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
	addrs, err := benchNameNodes(tc.Conf)
	if err != nil {
		return tc.Fail(exitToolError, "%v", err)
	}
	addr, err := pickActive(tc.Ctx, newClient, addrs)
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
func benchUser() string {
	if u := os.Getenv("HADOOP_USER_NAME"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "hdfs"
}

// benchNameNodes returns the RPC addresses to try: the authority of fs.defaultFS when it names
// a host:port (not a nameservice), else the NameNodes of the default nameservice, else the
// cluster's single NameNode.
func benchNameNodes(c *conf.Conf) ([]string, error) {
	if v, ok := c.Get(conf.KeyDefaultFS); ok {
		if u, err := url.Parse(strings.TrimSpace(v)); err == nil && strings.EqualFold(u.Scheme, "hdfs") && u.Host != "" {
			if u.Port() != "" {
				return []string{u.Host}, nil
			}
			ns := u.Hostname()
			if !slices.Contains(c.Nameservices(), ns) && len(c.GetStrings("dfs.ha.namenodes."+ns)) == 0 {
				return []string{net.JoinHostPort(ns, strconv.Itoa(conf.DefaultNNRPCPort))}, nil
			}
		}
	}
	var nns []conf.NameNode
	if ns, err := c.DefaultNameservice(); err == nil {
		if nns, err = c.NameNodes(ns); err != nil {
			return nil, err
		}
	} else if nns, err = c.AllNameNodes(); err != nil {
		return nil, err
	}
	addrs := make([]string, 0, len(nns))
	for _, nn := range nns {
		addrs = append(addrs, nn.RPCAddress)
	}
	if len(addrs) == 0 {
		return nil, errors.New("no NameNode configured")
	}
	return addrs, nil
}

// pickActive returns the only address, or the first of several whose NameNode answers
// getFileInfo("/") (a standby refuses it with StandbyException).
func pickActive(ctx context.Context, newClient func() (bench.Caller, error), addrs []string) (string, error) {
	if len(addrs) == 1 {
		return addrs[0], nil
	}
	c, err := newClient()
	if err != nil {
		return "", err
	}
	defer c.Close()
	var errs []error
	for _, a := range addrs {
		var resp hdfspb.GetFileInfoResponseProto
		err := c.Call(ctx, a, bench.ClientProtocol, "getFileInfo",
			&hdfspb.GetFileInfoRequestProto{Src: proto.String("/")}, &resp)
		if err == nil {
			return a, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", a, err))
	}
	return "", fmt.Errorf("no active NameNode: %w", errors.Join(errs...))
}
