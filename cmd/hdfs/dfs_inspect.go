package main

// `hdfs dfs` commands that inspect and touch files (-stat, -test, -head, -tail, ...).

// inspectOps are the commands of this file, for dfsTool.
func inspectOps(shellOp func(name, args, help string, run func(*fsShell, []string) error) toolOp) []toolOp {
	return nil
}
