package main

import "github.com/hdfsha/hdfsha/datanode"

// datanodeTool is `hdfs datanode`: the DataNode daemon in the foreground, from
// dfs.datanode.data.dir, dfs.datanode.address, dfs.datanode.ipc.address,
// dfs.datanode.http.address and the NameNodes of the nameservice. It runs until SIGINT or
// SIGTERM, then stops cleanly and exits 0. A configuration it cannot run with, or an
// address or directory it cannot take, ends it with status 1 and the reason on stderr.
func datanodeTool() *hadoopTool {
	return &hadoopTool{
		Name:     "datanode",
		Category: categoryDaemon,
		Summary:  "run a DFS datanode",
		Description: "Runs a DataNode in the foreground until SIGINT or SIGTERM.\n" +
			"It stores replicas in dfs.datanode.data.dir, serves data at dfs.datanode.address,\n" +
			"dfs.datanode.ipc.address and dfs.datanode.http.address, and reports to every\n" +
			"NameNode of the nameservice (dfs.nameservices, dfs.ha.namenodes.<ns>, or fs.defaultFS).",
		Default: func(tc *toolContext) error {
			cfg, err := datanode.ConfigFromConf(tc.Conf)
			if err != nil {
				return unprefixed(err, "datanode")
			}
			cfg.Logger = tc.Log
			dn, err := datanode.New(cfg)
			if err != nil {
				return unprefixed(err, "datanode")
			}
			return runDaemon(tc, dn, "DataNode", "datanode")
		},
	}
}
