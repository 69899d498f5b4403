// Command hdfs is hdfsha's one binary, used exactly like Hadoop's:
//
//	hdfs [--config DIR] [--loglevel LEVEL] [--logformat console|json] SUBCOMMAND [GENERIC OPTIONS] [COMMAND OPTIONS]
//
// main only wires the process to the app built in app.go; subcommands live in their own
// files and are registered in commands.go. docs/cli.md describes the conventions.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	exe, _ := os.Executable()
	app := newApp(processIO{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, executable: exe})
	code := runApp(ctx, app, os.Args)
	stop()
	os.Exit(code)
}
