package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/prompt"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/zkfc/failover"
	"github.com/hdfsha/hdfsha/zkfc/fence"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// haadminUsage is Hadoop's HAAdmin USAGE table, in its order: command, its
// arguments ("" for none) and its help.
var haadminUsage = []struct{ cmd, args, help string }{
	{"-transitionToActive", "[--forceactive] <serviceId>", "Transitions the service into Active state"},
	{"-transitionToStandby", "<serviceId>", "Transitions the service into Standby state"},
	{"-failover", "[--forcefence] [--forceactive] <serviceId> <serviceId>", "Failover from the first service to the second.\n" +
		"Unconditionally fence services if the --forcefence option is used.\n" +
		"Try to failover to the target service even if it is not ready if the --forceactive option is used."},
	{"-getServiceState", "<serviceId>", "Returns the state of the service"},
	{"-getAllServiceState", "", "Returns the state of all the services"},
	{"-checkHealth", "<serviceId>", "Requests that the service perform a health check.\n" +
		"The HAAdmin tool will exit with a non-zero exit code\n" +
		"if the check fails."},
	{"-help", "<command>", "Displays help on the specified command"},
}

const haadminUsageString = "Usage: haadmin [-ns <nameserviceId>]"

// haadminTool is `hdfs haadmin`: Hadoop's DFSHAAdmin.
func haadminTool() *hadoopTool {
	t := &hadoopTool{
		Name:     "haadmin",
		Category: categoryAdmin,
		Summary:  "run a DFS HA admin client",
		Description: "Administers the HA state of the NameNodes of a nameservice (-ns picks one when\n" +
			"several are configured). <serviceId> is a NameNode ID of dfs.ha.namenodes.<nameservice>.",
	}
	t.Ops = append(t.Ops, toolOp{Name: "-ns", Args: "<nameserviceId> COMMAND", Help: "Runs COMMAND on the given nameservice.",
		MaxArgs: -1, Run: func(tc *toolContext, args []string) error {
			if len(args) == 0 {
				return haFail(tc, "Missing nameservice ID", true)
			}
			if len(args) == 1 {
				return haFail(tc, "Missing command", true)
			}
			return runHACommand(tc, args[0], args[1:])
		}})
	for _, u := range haadminUsage {
		t.Ops = append(t.Ops, toolOp{Name: u.cmd, Args: u.args, Help: strings.ReplaceAll(u.help, "\n", " "), MaxArgs: -1,
			Run: func(tc *toolContext, args []string) error {
				return runHACommand(tc, "", append([]string{u.cmd}, args...))
			}})
	}
	return t
}

// printHAUsage is HAAdmin.printUsage.
func printHAUsage(w io.Writer) {
	fmt.Fprintln(w, haadminUsageString)
	for _, u := range haadminUsage {
		if u.args == "" {
			fmt.Fprintf(w, "    [%s]\n", u.cmd)
		} else {
			fmt.Fprintf(w, "    [%s %s]\n", u.cmd, u.args)
		}
	}
	fmt.Fprintln(w)
	printGenericUsage(w)
}

// printHACmdUsage is HAAdmin.printUsage(errOut, cmd).
func printHACmdUsage(w io.Writer, cmd string) {
	for _, u := range haadminUsage {
		if u.cmd != cmd {
			continue
		}
		if u.args == "" {
			fmt.Fprintf(w, "%s [%s]\n", haadminUsageString, cmd)
		} else {
			fmt.Fprintf(w, "%s [%s %s]\n", haadminUsageString, cmd, u.args)
		}
	}
}

// haFail prints msg (and the full usage) to stderr and ends with Hadoop's -1.
func haFail(tc *toolContext, msg string, usage bool) error {
	fmt.Fprintln(tc.Err, msg)
	if usage {
		printHAUsage(tc.Err)
	}
	return cli.Exit("", exitToolError)
}

// haCmdFail prints msg and the command's usage line to stderr; exit 255.
func haCmdFail(tc *toolContext, cmd, msg string) error {
	fmt.Fprintln(tc.Err, msg)
	printHACmdUsage(tc.Err, cmd)
	return cli.Exit("", exitToolError)
}

// haadmin is one run of a haadmin command.
type haadmin struct {
	tc  *toolContext
	ns  string
	rpc *rpc.Client
	src hasvc.RequestSource
	// checkTimeout is ha.failover-controller.cli-check.rpc-timeout.ms.
	checkTimeout time.Duration
}

// runHACommand is HAAdmin.runCmd after DFSHAAdmin took -ns off.
func runHACommand(tc *toolContext, ns string, argv []string) error {
	cmd := argv[0]
	if !strings.HasPrefix(cmd, "-") {
		fmt.Fprintf(tc.Err, "Bad command '%s': expected command starting with '-'\n", cmd)
		printHAUsage(tc.Err)
		return cli.Exit("", exitToolError)
	}
	known := false
	for _, u := range haadminUsage {
		known = known || u.cmd == cmd
	}
	if !known {
		return haFail(tc, cmd[1:]+": Unknown command", true)
	}
	if cmd == "-help" {
		return haHelp(tc, argv)
	}

	allowed := map[string]bool{}
	switch cmd {
	case "-failover":
		allowed["forcefence"], allowed["forceactive"], allowed["forcemanual"] = true, true, true
	case "-transitionToActive":
		allowed["forceactive"], allowed["forcemanual"] = true, true
	case "-transitionToStandby":
		allowed["forcemanual"] = true
	}
	opts, args, ok := parseHAOpts(argv[1:], allowed)
	if !ok {
		return haCmdFail(tc, cmd, cmd[1:]+": incorrect arguments")
	}

	timeout, err := tc.Conf.GetDuration(failover.KeyCLICheckTimeout, time.Millisecond, failover.DefaultCLICheckTimeout)
	if err != nil {
		return haFail(tc, "Illegal argument: "+err.Error(), false)
	}
	cfg := rpc.DefaultClientConfig(benchUser())
	cfg.Logger = tc.Log.Named("rpc")
	c, err := rpc.NewClient(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	h := &haadmin{tc: tc, ns: ns, rpc: c, src: hasvc.RequestByUser, checkTimeout: timeout}

	if opts["forcemanual"] {
		if !h.confirmForceManual() {
			tc.Log.Error("Aborted")
			return cli.Exit("", exitToolError)
		}
		// The NameNodes honour a forced request even with automatic failover on.
		h.src = hasvc.RequestByUserForced
	}

	switch cmd {
	case "-transitionToActive":
		err = h.transitionToActive(args, opts["forceactive"])
	case "-transitionToStandby":
		err = h.transitionToStandby(args)
	case "-failover":
		err = h.failover(args, len(opts), opts["forcefence"], opts["forceactive"])
	case "-getServiceState":
		err = h.getServiceState(args)
	case "-getAllServiceState":
		err = h.getAllServiceState()
	case "-checkHealth":
		err = h.checkHealth(args)
	}
	return h.result(err)
}

// result is HAAdmin.run's handling of what a command threw.
func (h *haadmin) result(err error) error {
	if err == nil {
		return nil
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		return err
	}
	if errors.Is(err, hasvc.ErrBadTarget) || errors.Is(err, failover.ErrNoFencer) {
		return haFail(h.tc, "Illegal argument: "+err.Error(), false)
	}
	return haFail(h.tc, "Operation failed: "+remoteMessage(err), false)
}

// remoteMessage is the first line of a server's exception message, or the error.
func remoteMessage(err error) string {
	var re *rpc.RemoteError
	if errors.As(err, &re) {
		msg, _, _ := strings.Cut(re.Message, "\n")
		return msg
	}
	return err.Error()
}

// parseHAOpts reads the command's switches the way commons-cli's GnuParser
// does: "--name" or "-name", anywhere among the arguments. It reports false
// for a switch the command does not take.
func parseHAOpts(argv []string, allowed map[string]bool) (opts map[string]bool, args []string, ok bool) {
	opts = map[string]bool{}
	for _, a := range argv {
		if len(a) > 1 && strings.HasPrefix(a, "-") {
			name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
			if !allowed[name] {
				return nil, nil, false
			}
			opts[name] = true
			continue
		}
		args = append(args, a)
	}
	return opts, args, true
}

func haHelp(tc *toolContext, argv []string) error {
	if len(argv) == 1 {
		printHAUsage(tc.Out)
		return nil
	}
	if len(argv) != 2 {
		printHACmdUsage(tc.Err, "-help")
		return cli.Exit("", exitToolError)
	}
	cmd := argv[1]
	if !strings.HasPrefix(cmd, "-") {
		cmd = "-" + cmd
	}
	for _, u := range haadminUsage {
		if u.cmd != cmd {
			continue
		}
		if u.args == "" {
			fmt.Fprintf(tc.Out, "%s: %s\n", cmd, u.help)
		} else {
			fmt.Fprintf(tc.Out, "%s [%s]: %s\n", cmd, u.args, u.help)
		}
		return nil
	}
	return haFail(tc, cmd+": Unknown command", true)
}

// confirmForceManual is Hadoop's ToolRunner.confirmPrompt with HAAdmin's
// warning. End of input counts as "no".
func (h *haadmin) confirmForceManual() bool {
	question := "You have specified the --forcemanual flag. This flag is dangerous, as it can induce " +
		"a split-brain scenario that WILL CORRUPT your HDFS namespace, possibly irrecoverably.\n" +
		"\n" +
		"It is recommended not to use this flag, but instead to shut down the cluster and disable " +
		"automatic failover if you prefer to manually manage your HA state.\n" +
		"\n" +
		"You may abort safely by answering 'n' or hitting ^C now.\n" +
		"\n" +
		"Are you sure you want to continue?"
	return prompt.Confirm(h.tc.In, h.tc.Err, question)
}

// target resolves a NameNode ID of the nameservice.
func (h *haadmin) target(id string) (hasvc.Target, error) {
	t, err := hasvc.TargetFromConf(h.tc.Conf, h.ns, id)
	if err != nil {
		return t, err
	}
	t.Resolve(h.tc.Ctx, nil)
	return t, nil
}

func (h *haadmin) service(t hasvc.Target) *hasvc.Client { return hasvc.NewClient(h.rpc, t.Address) }

// withTimeout bounds a call; d <= 0 leaves only the command's ctx.
func (h *haadmin) withTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(h.tc.Ctx)
	}
	return context.WithTimeout(h.tc.Ctx, d)
}

// manualStateManagementOK is HAAdmin.checkManualStateManagementOK.
func (h *haadmin) manualStateManagementOK(t hasvc.Target) bool {
	if !t.AutoFailover {
		return true
	}
	if h.src != hasvc.RequestByUserForced {
		fmt.Fprintf(h.tc.Err, "Automatic failover is enabled for %s\n"+
			"Refusing to manually manage HA state, since it may cause\n"+
			"a split-brain scenario or other incorrect state.\n"+
			"If you are very sure you know what you are doing, please \n"+
			"specify the --forcemanual flag.\n", t)
		return false
	}
	h.tc.Log.Warn(fmt.Sprintf("Proceeding with manual HA state management even though\nautomatic failover is enabled for %s", t))
	return true
}

func (h *haadmin) transitionToActive(args []string, forceActive bool) error {
	if len(args) != 1 {
		return haCmdFail(h.tc, "-transitionToActive", "transitionToActive: incorrect number of arguments")
	}
	if !forceActive {
		// Refuse when another NameNode of the nameservice is active, or
		// cannot be asked (Hadoop's isOtherTargetNodeActive).
		ids, err := hasvc.TargetIDs(h.tc.Conf, h.ns)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if id == args[0] {
				continue
			}
			other, err := h.target(id)
			if err != nil {
				return err
			}
			if !h.manualStateManagementOK(other) {
				return cli.Exit("", exitToolError)
			}
			ctx, cancel := h.withTimeout(5 * time.Second)
			st, err := h.service(other).GetServiceStatus(ctx)
			cancel()
			if err != nil {
				return haCmdFail(h.tc, "-transitionToActive", "Unexpected error occurred  "+remoteMessage(err))
			}
			if st.State == hasvc.StateActive {
				return haCmdFail(h.tc, "-transitionToActive", "transitionToActive: Node "+id+" is already active")
			}
		}
	}
	t, err := h.target(args[0])
	if err != nil {
		return err
	}
	if !h.manualStateManagementOK(t) {
		return cli.Exit("", exitToolError)
	}
	return h.service(t).TransitionToActive(h.tc.Ctx, h.src)
}

func (h *haadmin) transitionToStandby(args []string) error {
	if len(args) != 1 {
		return haCmdFail(h.tc, "-transitionToStandby", "transitionToStandby: incorrect number of arguments")
	}
	t, err := h.target(args[0])
	if err != nil {
		return err
	}
	if !h.manualStateManagementOK(t) {
		return cli.Exit("", exitToolError)
	}
	return h.service(t).TransitionToStandby(h.tc.Ctx, h.src)
}

func (h *haadmin) getServiceState(args []string) error {
	if len(args) != 1 {
		return haCmdFail(h.tc, "-getServiceState", "getServiceState: incorrect number of arguments")
	}
	t, err := h.target(args[0])
	if err != nil {
		return err
	}
	ctx, cancel := h.withTimeout(h.checkTimeout)
	defer cancel()
	st, err := h.service(t).GetServiceStatus(ctx)
	if err != nil {
		return err
	}
	h.tc.Println(hasvc.StateName(st.State))
	return nil
}

func (h *haadmin) getAllServiceState() error {
	ids, err := hasvc.TargetIDs(h.tc.Conf, h.ns)
	if err != nil || len(ids) == 0 {
		if err != nil {
			h.tc.Log.Debug("no NameNode IDs", zap.Error(err))
		}
		return haFail(h.tc, "Failed to get service IDs", false)
	}
	for _, id := range ids {
		t, err := h.target(id)
		if err != nil {
			return err
		}
		addr := t.Host() + ":" + fmt.Sprint(t.Port())
		ctx, cancel := h.withTimeout(h.checkTimeout)
		st, err := h.service(t).GetServiceStatus(ctx)
		cancel()
		if err != nil {
			h.tc.Printf("%-50s %-10s\n", addr, "Failed to connect: "+remoteMessage(err))
			continue
		}
		h.tc.Printf("%-50s %-10s\n", addr, hasvc.StateName(st.State))
	}
	return nil
}

func (h *haadmin) checkHealth(args []string) error {
	if len(args) != 1 {
		return haCmdFail(h.tc, "-checkHealth", "checkHealth: incorrect number of arguments")
	}
	t, err := h.target(args[0])
	if err != nil {
		return err
	}
	ctx, cancel := h.withTimeout(h.checkTimeout)
	defer cancel()
	err = h.service(t).MonitorHealth(ctx)
	if errors.Is(err, rpc.ErrHealthCheckFailed) {
		return haFail(h.tc, "Health check failed: "+remoteMessage(err), false)
	}
	return err
}

// node builds one side of a failover: target, HA service and fencer.
func (h *haadmin) node(t hasvc.Target) failover.Node {
	n := failover.Node{Target: t, Service: h.service(t)}
	if t.FencingMethods != "" {
		f, err := fence.Parse(t.FencingMethods, nil, h.tc.Log.Named("fence"))
		if err != nil {
			h.tc.Log.Error(fmt.Sprintf("%s for %s is not usable: %v", hasvc.KeyFencingMethods, t, err))
		} else {
			n.Fencer = f
		}
	}
	return n
}

func (h *haadmin) failover(args []string, numOpts int, forceFence, forceActive bool) error {
	if numOpts > 3 || len(args) != 2 {
		return haCmdFail(h.tc, "-failover", "failover: incorrect arguments")
	}
	from, err := h.target(args[0])
	if err != nil {
		return err
	}
	to, err := h.target(args[1])
	if err != nil {
		return err
	}
	if from.AutoFailover != to.AutoFailover {
		return haFail(h.tc, fmt.Sprintf("Illegal argument: Inconsistent auto-failover configs between %s and %s!", from, to), false)
	}
	if from.AutoFailover {
		if forceFence || forceActive {
			return haFail(h.tc, "forcefence and forceactive flags not supported with auto-failover enabled.", false)
		}
		return h.gracefulFailoverThroughZKFCs(to)
	}
	cfg, err := failover.ConfigFromConf(h.tc.Conf)
	if err != nil {
		return haFail(h.tc, "Illegal argument: "+err.Error(), false)
	}
	cfg.RequestSource = h.src
	cfg.Logger = h.tc.Log.Named("failover")
	err = failover.New(cfg).Failover(h.tc.Ctx, h.node(from), h.node(to), forceFence, forceActive)
	if errors.Is(err, failover.ErrFailoverFailed) {
		return haFail(h.tc, "Failover failed: "+err.Error(), false)
	}
	if err != nil {
		return err
	}
	h.tc.Printf("Failover from %s to %s successful\n", args[0], args[1])
	return nil
}

// gracefulFailoverThroughZKFCs is HAAdmin.gracefulFailoverThroughZKFCs: the
// target's ZKFC coordinates the failover (ZKFCProtocol.gracefulFailover),
// within ha.failover-controller.new-active.rpc-timeout.ms. The ZKFC's
// refusal (a ServiceFailedException) comes back as a remote exception, which
// Hadoop's HAAdmin does not catch as a ServiceFailedException: it reports it
// as any other failure, "Operation failed: <message>" (h.result).
func (h *haadmin) gracefulFailoverThroughZKFCs(to hasvc.Target) error {
	timeout, err := h.tc.Conf.GetDuration(failover.KeyNewActiveTimeout, time.Millisecond, failover.DefaultNewActiveTimeout)
	if err != nil {
		return haFail(h.tc, "Illegal argument: "+err.Error(), false)
	}
	ctx, cancel := h.withTimeout(timeout)
	defer cancel()
	if err := hasvc.NewZKFCClient(h.rpc, to.ZKFCAddress).GracefulFailover(ctx); err != nil {
		return err
	}
	h.tc.Printf("Failover to %s successful\n", to)
	return nil
}
