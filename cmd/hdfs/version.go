package main

import "github.com/hdfsha/hdfsha/internal/version"

// versionTool is `hdfs version`: the build identity in the shape of `hadoop version`.
func versionTool(e *appEnv) *hadoopTool {
	return &hadoopTool{
		Name:        "version",
		Category:    categoryClient,
		Summary:     "print the version",
		Description: "Prints the hdfsha version, the source revision and build it comes from, and the Hadoop protocol level it speaks.",
		NoConf:      true,
		Default: func(tc *toolContext) error {
			return version.Get().Write(tc.Out, e.executable)
		},
	}
}
