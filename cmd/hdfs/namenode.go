package main

import (
	"errors"
	"strings"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/namenode"
)

// namenodeTool is `hdfs namenode`: the NameNode daemon in the foreground, and
// `hdfs namenode -format [-clusterid CID] [-force] [-nonInteractive]`.
func namenodeTool() *hadoopTool {
	return &hadoopTool{
		Name:     "namenode",
		Category: categoryDaemon,
		Summary:  "run the DFS namenode",
		Description: "Runs the NameNode in the foreground until SIGINT or SIGTERM, or formats its storage.\n" +
			"It reads dfs.namenode.name.dir, dfs.namenode.edits.dir or dfs.namenode.shared.edits.dir,\n" +
			"dfs.namenode.rpc-address and dfs.namenode.http-address.",
		DefaultHelp: "namenode runs the NameNode in the foreground.",
		Default: func(tc *toolContext) error {
			cfg, err := namenodeConfig(tc)
			if err != nil {
				return err
			}
			nn, err := namenode.New(cfg)
			if err != nil {
				return unprefixedNN(err)
			}
			if err := nn.Start(tc.Ctx); err != nil {
				return errors.Join(unprefixedNN(err), nn.Stop())
			}
			<-tc.Ctx.Done()
			tc.Log.Info("shutting down NameNode")
			return nn.Stop()
		},
		Ops: []toolOp{{
			Name:    "-format",
			Args:    "[-clusterid cid] [-force] [-nonInteractive]",
			Help:    "Formats the name directory and the journal; asks first if data exists (-nonInteractive refuses, -force formats anyway).",
			MinArgs: 0, MaxArgs: -1,
			Run: runNamenodeFormat,
		}},
	}
}

func namenodeConfig(tc *toolContext) (namenode.Config, error) {
	ns, nn := "", ""
	if len(tc.Conf.Nameservices()) > 0 || tc.Conf.GetTrimmed(conf.KeyHANameNodeID, "") != "" {
		me, err := tc.Conf.LocalNameNode("", nil)
		if err != nil {
			return namenode.Config{}, err
		}
		ns, nn = me.Nameservice, me.ID
	}
	cfg, err := namenode.ConfigFromConf(tc.Conf, ns, nn)
	if err != nil {
		return namenode.Config{}, unprefixedNN(err)
	}
	cfg.Logger = tc.Log
	return cfg, nil
}

func runNamenodeFormat(tc *toolContext, args []string) error {
	opts, rest, err := parseOpOptions(args, map[string]bool{"-clusterid": true, "-force": false, "-nonInteractive": false})
	if err == nil && len(rest) > 0 {
		err = errors.New("unexpected argument " + rest[0])
	}
	if err != nil {
		return tc.UsageError("namenode: %v", err)
	}
	cfg, err := namenodeConfig(tc)
	if err != nil {
		return err
	}
	_, force := opts["-force"]
	_, nonInteractive := opts["-nonInteractive"]
	_, err = namenode.Format(tc.Ctx, cfg, namenode.FormatOptions{ClusterID: opts["-clusterid"], Force: force, NonInteractive: nonInteractive, In: tc.In, Err: tc.Err})
	if errors.Is(err, namenode.ErrFormatAborted) {
		return tc.Fail(exitShellError, "")
	}
	if err != nil {
		return unprefixedNN(err)
	}
	return nil
}

func unprefixedNN(err error) error {
	return errors.New(strings.TrimPrefix(err.Error(), "namenode: "))
}
