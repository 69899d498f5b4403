package main

// `hdfs dfs` commands that move, copy, size and change files (-mv, -cp, -du, -chmod, ...).

// manageOps are the commands of this file, for dfsTool.
func manageOps(shellOp func(name, args, help string, run func(*fsShell, []string) error) toolOp) []toolOp {
	return nil
}
