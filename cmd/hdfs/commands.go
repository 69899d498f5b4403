package main

import "github.com/urfave/cli/v2"

// commands returns every registered subcommand. A subcommand is registered when it
// works; `hdfs --help` lists exactly these, grouped by Category.
func (e *appEnv) commands() []*cli.Command {
	return []*cli.Command{
		e.tool(getconfTool()),
		e.tool(versionTool(e)),
		e.tool(journalnodeTool()),
		e.tool(datanodeTool()),
		e.tool(oivTool()),
		e.tool(oevTool()),
		e.tool(namenodeTool()),
		e.tool(dfsadminTool()),
		e.fsckCommand(),
		e.tool(haadminTool()),
		e.tool(zkfcTool()),
		e.tool(dfsTool(e)),
		e.tool(benchTool()),
	}
}
