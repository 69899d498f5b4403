package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/hdfsha/hdfsha/internal/logging"
)

// Exit statuses. Hadoop's shell script exits 1 when it cannot even pick a command; the
// Java tools return -1 from Tool.run for usage and lookup failures, which the JVM turns
// into 255. Scripts written for Hadoop test for these, so we keep both.
const (
	exitOK         = 0
	exitShellError = 1   // unknown subcommand, bad global option, unreadable configuration
	exitToolError  = 255 // a tool's -1: bad tool usage, missing key, failed resolution
)

// Environment variables the binary reads besides the ones conf reads.
const (
	envConfDir    = "HADOOP_CONF_DIR"
	envRootLogger = "HADOOP_ROOT_LOGGER" // "LEVEL[,appender]", e.g. INFO,console
	envLogFormat  = "HDFSHA_LOG_FORMAT"  // console | json
)

// Command categories, in the order `hdfs --help` lists them.
const (
	categoryAdmin  = "Admin Commands"
	categoryClient = "Client Commands"
	categoryDaemon = "Daemon Commands"
)

var categoryOrder = []string{categoryAdmin, categoryClient, categoryDaemon}

// urfave/cli answers its own help flag before any hook runs and prints its own layout.
// hdfs prints Hadoop's layout instead, from a --help flag it defines itself, so the
// library's flag is switched off. This binary is the only urfave/cli user in the process.
func init() { cli.HelpFlag = nil }

// processIO is everything of the outside world a command may touch. main fills it from
// the process; tests fill it with buffers and a fake environment, so every command runs
// in-process.
type processIO struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// getenv reads the environment; tests pass a map lookup so the developer's own
	// HADOOP_CONF_DIR never leaks in. Nil reads nothing.
	getenv func(string) string
	// executable is the path `hdfs version` reports; empty leaves that line out.
	executable string
}

// appEnv is one run of the app: its processIO and the global options resolved from it.
type appEnv struct {
	processIO
	// globals is filled by the root Before hook from the global options.
	globals globals
}

// globals are the options given before the subcommand.
type globals struct {
	// confDir is --config, else $HADOOP_CONF_DIR; empty means compiled-in defaults only.
	confDir string
	log     *zap.Logger
}

// newApp builds the hdfs command line. Run it with runApp, which turns the returned error
// into an exit status; nothing in it calls os.Exit.
func newApp(p processIO) *cli.App {
	return (&appEnv{processIO: p}).app()
}

func (e *appEnv) app() *cli.App {
	if e.getenv == nil {
		e.getenv = func(string) string { return "" }
	}
	app := &cli.App{
		Name:      "hdfs",
		Usage:     "HDFS-compatible NameNode HA",
		Reader:    e.stdin,
		Writer:    e.stdout,
		ErrWriter: e.stderr,
		// Hadoop has no help subcommand and prints its own usage; version is a
		// subcommand, not a flag.
		HideHelp:    true,
		HideVersion: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "configuration directory (default $" + envConfDir + ")"},
			&cli.StringFlag{Name: "loglevel", Usage: "log level: TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF"},
			&cli.StringFlag{Name: "logformat", Usage: "log format: console or json (default $" + envLogFormat + ", else console)"},
			&cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "usage information"},
		},
		Commands: e.commands(),
		Before:   e.before,
		Action:   e.rootAction,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			fmt.Fprintf(e.stderr, "ERROR: %v\n\n", err)
			e.printUsage(e.stderr)
			return cli.Exit("", exitShellError)
		},
		// Exit statuses are decided by runApp; urfave/cli must not exit the process.
		ExitErrHandler: func(*cli.Context, error) {},
	}
	return app
}

// runApp runs the app and returns the process exit status. An error that carries a status
// (cli.ExitCoder) has its message, if any, printed to stderr; any other error is printed
// and exits 1.
func runApp(ctx context.Context, app *cli.App, args []string) int {
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := ec.Error(); msg != "" {
			fmt.Fprintln(app.ErrWriter, msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintf(app.ErrWriter, "ERROR: %v\n", err)
	return exitShellError
}

// before resolves the global options. It runs before any subcommand.
func (e *appEnv) before(c *cli.Context) error {
	if c.Bool("help") {
		e.printUsage(e.stdout)
		return cli.Exit("", exitOK)
	}

	e.globals.confDir = c.String("config")
	if e.globals.confDir == "" {
		e.globals.confDir = e.getenv(envConfDir)
	}
	if d := e.globals.confDir; d != "" {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return cli.Exit(fmt.Sprintf("ERROR: Cannot find configuration directory %q", d), exitShellError)
		}
	}

	level := zapcore.InfoLevel
	if s := c.String("loglevel"); s != "" {
		l, err := logging.ParseLevel(s)
		if err != nil {
			return cli.Exit("ERROR: --loglevel: "+err.Error(), exitShellError)
		}
		level = l
	} else if s := e.getenv(envRootLogger); s != "" {
		l, _, err := logging.ParseRootLogger(s)
		if err != nil {
			return cli.Exit("ERROR: "+err.Error(), exitShellError)
		}
		level = l
	}
	fs := c.String("logformat")
	if fs == "" {
		fs = e.getenv(envLogFormat)
	}
	format, err := logging.ParseFormat(fs)
	if err != nil {
		return cli.Exit("ERROR: --logformat: "+err.Error(), exitShellError)
	}
	log, err := logging.New(logging.Options{Level: level, Format: format, Output: e.stderr})
	if err != nil {
		return cli.Exit("ERROR: "+err.Error(), exitShellError)
	}
	e.globals.log = log
	return nil
}

// rootAction runs when no registered subcommand matched: either none was given, or the
// first argument names no command.
func (e *appEnv) rootAction(c *cli.Context) error {
	if !c.Args().Present() {
		// Like Hadoop's script: usage on stdout, but a failing status.
		e.printUsage(e.stdout)
		return cli.Exit("", exitShellError)
	}
	name := c.Args().First()
	fmt.Fprintf(e.stderr, "ERROR: %s is not an hdfs subcommand.\n\n", name)
	e.printUsage(e.stderr)
	return cli.Exit("", exitShellError)
}

// printUsage writes the Hadoop-style overview: global options, then the registered
// subcommands grouped by category.
func (e *appEnv) printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("Usage: hdfs [OPTIONS] SUBCOMMAND [SUBCOMMAND OPTIONS]\n\n")
	b.WriteString("  OPTIONS is none or any of:\n\n")
	for _, o := range [][2]string{
		{"--config dir", "configuration directory (default $" + envConfDir + ")"},
		{"--help", "usage information"},
		{"--logformat console|json", "log output format (default $" + envLogFormat + ", else console)"},
		{"--loglevel level", "set the log level for this command"},
	} {
		fmt.Fprintf(&b, "%-32s %s\n", o[0], o[1])
	}
	b.WriteString("\n  SUBCOMMAND is one of:\n")

	byCat := map[string][]*cli.Command{}
	for _, c := range e.commands() {
		if !c.Hidden {
			byCat[c.Category] = append(byCat[c.Category], c)
		}
	}
	for _, cat := range categoryOrder {
		cmds := byCat[cat]
		if len(cmds) == 0 {
			continue
		}
		sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
		fmt.Fprintf(&b, "\n\n    %s:\n\n", cat)
		for _, c := range cmds {
			fmt.Fprintf(&b, "%-20s %s\n", c.Name, c.Usage)
		}
	}
	b.WriteString("\nSUBCOMMAND may print help when invoked w/o parameters or with -h.\n")
	_, _ = io.WriteString(w, b.String())
}
