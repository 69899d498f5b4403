package main

// Hadoop-style tools.
//
// Hadoop's subcommands are not flag-parsed programs. Each is "command-as-flag, then that
// command's own arguments", after Hadoop's generic options:
//
//	hdfs [--config DIR] [--loglevel L] getconf [-D k=v]... [-conf FILE]... -confKey dfs.replication
//	hdfs haadmin -getServiceState nn1
//	hdfs dfs -ls -R /
//
// Go's flag package (which urfave/cli v2 uses) cannot express that, so every such
// subcommand is a hadoopTool turned into a cli.Command by appEnv.tool. The command skips
// urfave's flag parsing and does, in order:
//
//  1. a lone -h, -help or --help prints the tool's usage to stdout and exits 0;
//  2. Hadoop's generic options (-D key=value, -Dkey=value, -conf FILE, -fs URI) are taken
//     off the front of the arguments (conf.ParseGenericArgs);
//  3. unless the tool sets NoConf, the configuration is loaded: --config DIR or
//     $HADOOP_CONF_DIR (core-site.xml then hdfs-site.xml), then the generic options on top
//     (-conf files as resources, -fs, then every -D). A file that cannot be read or parsed
//     stops the command with an error naming the file (exit 1);
//  4. the first remaining argument selects an op ("-confKey"); the rest are its arguments,
//     checked against the op's MinArgs/MaxArgs. No argument runs Default when the tool has
//     one. An unknown op or a bad argument count prints the tool's usage to stderr and
//     exits 255, the status Hadoop tools produce by returning -1.
//
// To add a tool (haadmin, dfsadmin, dfs, fsck, namenode, journalnode, zkfc, ...):
//
//   - write a func returning *hadoopTool in its own file (see getconf.go): Name, Category
//     (categoryAdmin, categoryClient or categoryDaemon), a one-line Summary for `hdfs
//     --help`, a Description for the tool's usage, and its Ops. Each op's Run receives a
//     *toolContext (configuration, logger, streams, context) and the op's arguments.
//     Daemons put their main loop in Default (`hdfs namenode`) and their one-shot modes in
//     Ops (`hdfs namenode -format`).
//   - register it in appEnv.commands (commands.go).
//   - ops that take their own switches (`-ls -R -h PATH`, `-format -clusterid ID -force`)
//     read them with parseOpOptions.
//   - print results with tc.Out; report failures with tc.Fail (message to stderr, chosen
//     exit status) or tc.UsageError (message plus the tool's usage, exit 255). Any other
//     error returned by Run is printed as "<tool>: <error>" and exits 1.
//   - test it in-process with runHDFS (app_test.go): argv in, stdout, stderr and exit
//     status out.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/conf"
)

// hadoopTool describes one Hadoop-style subcommand; see the comment at the top of the file.
type hadoopTool struct {
	Name     string
	Category string
	// Summary is the one line `hdfs --help` shows.
	Summary string
	// Description opens the tool's usage text.
	Description string
	// Ops are the single-dash commands of the tool, in usage order.
	Ops []toolOp
	// FoldCase matches op names case-insensitively (Hadoop's getconf does; haadmin and dfs
	// do not).
	FoldCase bool
	// Default runs when no op is given. Nil makes an empty command line a usage error.
	Default func(tc *toolContext) error
	// DefaultHelp completes "Without COMMAND, ..." in the usage of a tool that has both
	// Ops and Default: "namenode runs the NameNode in the foreground."
	DefaultHelp string
	// NoConf skips loading the configuration (`hdfs version` needs none). Generic options
	// are still accepted and ignored.
	NoConf bool
}

// toolOp is one "-name args..." command of a tool.
type toolOp struct {
	// Name includes the dash: "-namenodes".
	Name string
	// Args describes the arguments in the usage text: "[key]", "<serviceId>".
	Args string
	// Help is the usage text's description of the op.
	Help string
	// MinArgs and MaxArgs bound the number of arguments; MaxArgs < 0 means no bound.
	MinArgs, MaxArgs int
	Run              func(tc *toolContext, args []string) error
}

// toolContext is what an op receives.
type toolContext struct {
	// Ctx is cancelled when the process is asked to stop (SIGINT, SIGTERM).
	Ctx context.Context
	// Conf is the loaded configuration with generic options applied; nil for NoConf tools.
	Conf *conf.Conf
	// Log is the process logger named after the tool; it writes to stderr.
	Log *zap.Logger
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// ConfDir is --config or $HADOOP_CONF_DIR ("" when neither is set).
	ConfDir string

	tool *hadoopTool
	// Generic is what the generic options parsed to.
	Generic *conf.GenericOptions
}

// Println writes a line to stdout.
func (tc *toolContext) Println(a ...any) { fmt.Fprintln(tc.Out, a...) }

// Printf writes to stdout.
func (tc *toolContext) Printf(format string, a ...any) { fmt.Fprintf(tc.Out, format, a...) }

// Fail prints the message to stderr (as a line) and returns an error that ends the
// command with status code.
func (tc *toolContext) Fail(code int, format string, a ...any) error {
	return cli.Exit(fmt.Sprintf(format, a...), code)
}

// UsageError prints the message, then the tool's usage, to stderr and ends the command
// with status 255.
func (tc *toolContext) UsageError(format string, a ...any) error {
	fmt.Fprintf(tc.Err, format+"\n", a...)
	tc.tool.printUsage(tc.Err)
	return cli.Exit("", exitToolError)
}

// daemon is a NameNode, JournalNode or DataNode, as runDaemon runs it.
type daemon interface {
	Start(context.Context) error
	Stop() error
}

// runDaemon starts d and runs it in the foreground until the tool's context ends (SIGINT
// or SIGTERM), then stops it. A failed start stops d again; its error loses the "<pkg>: "
// prefix (see unprefixed). d logs the addresses it bound.
func runDaemon(tc *toolContext, d daemon, name, pkg string) error {
	if err := d.Start(tc.Ctx); err != nil {
		return errors.Join(unprefixed(err, pkg), d.Stop())
	}
	<-tc.Ctx.Done()
	tc.Log.Info("shutting down " + name)
	return d.Stop()
}

// unprefixed drops the package prefix ("<pkg>: ") of a daemon package's error: the tool
// prints its own.
func unprefixed(err error, pkg string) error {
	return errors.New(strings.TrimPrefix(err.Error(), pkg+": "))
}

// tool turns t into a urfave/cli command that parses its arguments Hadoop's way.
func (e *appEnv) tool(t *hadoopTool) *cli.Command {
	return &cli.Command{
		Name:            t.Name,
		Usage:           t.Summary,
		Category:        t.Category,
		SkipFlagParsing: true,
		HideHelp:        true,
		Action: func(c *cli.Context) error {
			return e.runTool(c.Context, t, c.Args().Slice())
		},
	}
}

func (e *appEnv) runTool(ctx context.Context, t *hadoopTool, args []string) error {
	if len(args) == 1 && isHelpArg(args[0]) {
		t.printUsage(e.stdout)
		return nil
	}
	log := e.globals.log
	if log == nil {
		log = zap.NewNop()
	}
	tc := &toolContext{
		Ctx: ctx, Log: log.Named(t.Name),
		In: e.stdin, Out: e.stdout, Err: e.stderr,
		ConfDir: e.globals.confDir,
		tool:    t,
	}

	generic, err := conf.ParseGenericArgs(args)
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", t.Name, err)
		printGenericUsage(e.stderr)
		return cli.Exit("", exitToolError)
	}
	tc.Generic = generic
	if !t.NoConf {
		c, err := e.loadConf(generic)
		if err != nil {
			return cli.Exit(fmt.Sprintf("%s: %v", t.Name, err), exitShellError)
		}
		for _, w := range c.Warnings() {
			tc.Log.Warn("configuration", zap.String("warning", w))
		}
		tc.Conf = c
	}

	rest := generic.Rest
	if len(rest) == 0 {
		if t.Default != nil {
			return toolResult(t, t.Default(tc))
		}
		t.printUsage(e.stderr)
		return cli.Exit("", exitToolError)
	}
	op := t.lookup(rest[0])
	if op == nil {
		return tc.UsageError("%s: unknown command %s", t.Name, rest[0])
	}
	opArgs := rest[1:]
	if len(opArgs) < op.MinArgs || (op.MaxArgs >= 0 && len(opArgs) > op.MaxArgs) {
		// Hadoop's wording: GetConf says "Did not expect argument: X" for surplus
		// arguments of an op that takes none, "usage: -op args" otherwise.
		if op.MaxArgs == 0 {
			return tc.Fail(exitToolError, "Did not expect argument: %s", opArgs[0])
		}
		return tc.Fail(exitToolError, "usage: %s", strings.TrimSpace(op.Name+" "+op.Args))
	}
	return toolResult(t, op.Run(tc, opArgs))
}

// toolResult passes exit-coded errors through and gives any other error the tool's name
// and status 1.
func toolResult(t *hadoopTool, err error) error {
	if err == nil {
		return nil
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		return err
	}
	return cli.Exit(fmt.Sprintf("%s: %v", t.Name, err), exitShellError)
}

// loadConf reads the configuration directory (if any) and applies the generic options.
func (e *appEnv) loadConf(g *conf.GenericOptions) (*conf.Conf, error) {
	c := conf.New()
	if e.globals.confDir != "" {
		var err error
		if c, err = conf.Load(e.globals.confDir); err != nil {
			return nil, err
		}
	}
	if err := g.Apply(c); err != nil {
		return nil, err
	}
	return c, nil
}

func (t *hadoopTool) lookup(name string) *toolOp {
	for i := range t.Ops {
		op := &t.Ops[i]
		if op.Name == name || (t.FoldCase && strings.EqualFold(op.Name, name)) {
			return op
		}
	}
	return nil
}

func isHelpArg(a string) bool {
	switch strings.ToLower(a) {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

// printUsage writes the tool's usage: synopsis, description, ops, generic options.
func (t *hadoopTool) printUsage(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: hdfs [OPTIONS] %s", t.Name)
	if !t.NoConf {
		b.WriteString(" [GENERIC OPTIONS]")
	}
	switch {
	case len(t.Ops) > 0 && t.Default != nil:
		b.WriteString(" [COMMAND]")
	case len(t.Ops) > 0:
		b.WriteString(" COMMAND")
	}
	b.WriteString("\n")
	if t.Description != "" {
		fmt.Fprintf(&b, "\n%s\n", t.Description)
	}
	if len(t.Ops) > 0 {
		b.WriteString("\nCOMMAND is one of:\n")
		for _, op := range t.Ops {
			fmt.Fprintf(&b, "\t[%s]\n\t\t%s\n", strings.TrimSpace(op.Name+" "+op.Args), op.Help)
		}
		if t.DefaultHelp != "" {
			fmt.Fprintf(&b, "Without COMMAND, %s\n", t.DefaultHelp)
		}
	}
	_, _ = io.WriteString(w, b.String())
	if !t.NoConf {
		_, _ = io.WriteString(w, "\n")
		printGenericUsage(w)
	}
}

// printGenericUsage lists Hadoop's generic options as this binary supports them.
func printGenericUsage(w io.Writer) {
	fmt.Fprint(w, `Generic options supported are:
-conf <configuration file>        load this configuration file on top of the others
-D <property=value>               set a property (repeatable; -Dproperty=value works too)
-fs <file:///|hdfs://namenode:port>  set the default filesystem (fs.defaultFS)
`)
}

// parseOpOptions reads an op's own leading switches, Hadoop style: "-R -h /path" or
// "-clusterid CID -force". spec maps each accepted switch (with its dash) to whether it
// takes a value. Parsing stops at the first argument that does not start with '-', at a
// lone "-" (stdin, by Hadoop convention), or after "--". A present switch without a value
// maps to "". An unknown switch is an error, so a misspelt option never becomes a path.
func parseOpOptions(args []string, spec map[string]bool) (opts map[string]string, rest []string, err error) {
	opts = map[string]string{}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		takesValue, known := spec[a]
		if !known {
			return nil, nil, fmt.Errorf("illegal option %s", a)
		}
		if !takesValue {
			opts[a] = ""
			continue
		}
		if i+1 >= len(args) {
			return nil, nil, fmt.Errorf("option %s needs a value", a)
		}
		i++
		opts[a] = args[i]
	}
	return opts, args[i:], nil
}
