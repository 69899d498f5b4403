package main

import "github.com/hdfsha/hdfsha/journalnode"

// journalnodeTool is `hdfs journalnode`: the JournalNode daemon in the foreground, from
// dfs.journalnode.edits.dir, dfs.journalnode.rpc-address, dfs.journalnode.http-address
// and dfs.journalnode.edit-cache-size.bytes. It runs until SIGINT or SIGTERM, then stops
// cleanly and exits 0. A configuration it cannot run with, or an address or directory it
// cannot take, ends it with status 1 and the reason on stderr.
func journalnodeTool() *hadoopTool {
	return &hadoopTool{
		Name:     "journalnode",
		Category: categoryDaemon,
		Summary:  "run the DFS journalnode",
		Description: "Runs a JournalNode of the quorum journal in the foreground until SIGINT or SIGTERM.\n" +
			"It reads dfs.journalnode.edits.dir, dfs.journalnode.rpc-address,\n" +
			"dfs.journalnode.http-address and dfs.journalnode.edit-cache-size.bytes.",
		Default: func(tc *toolContext) error {
			cfg, err := journalnode.ConfigFromConf(tc.Conf)
			if err != nil {
				return unprefixed(err, "journalnode")
			}
			cfg.Logger = tc.Log
			jn, err := journalnode.New(cfg)
			if err != nil {
				return unprefixed(err, "journalnode")
			}
			return runDaemon(tc, jn, "JournalNode", "journalnode")
		},
	}
}
