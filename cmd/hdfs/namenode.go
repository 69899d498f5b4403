package main

import (
	"errors"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/namenode"
)

// namenodeTool is `hdfs namenode`: the NameNode daemon in the foreground, and
// `hdfs namenode -format [-clusterid CID] [-force] [-nonInteractive]`,
// `-bootstrapStandby [-force] [-nonInteractive] [-skipSharedEditsCheck]` and
// `-initializeSharedEdits [-force] [-nonInteractive]`.
func namenodeTool() *hadoopTool {
	return &hadoopTool{
		Name:     "namenode",
		Category: categoryDaemon,
		Summary:  "run the DFS namenode",
		Description: "Runs the NameNode in the foreground until SIGINT or SIGTERM, or prepares its storage.\n" +
			"It reads dfs.namenode.name.dir, dfs.namenode.edits.dir or dfs.namenode.shared.edits.dir,\n" +
			"dfs.namenode.rpc-address and dfs.namenode.http-address.",
		DefaultHelp: "namenode runs the NameNode in the foreground.",
		Default: func(tc *toolContext) error {
			cfg, err := namenodeConfig(tc)
			if err != nil {
				return err
			}
			nn, err := namenode.New(cfg)
			if err != nil {
				return unprefixed(err, "namenode")
			}
			return runDaemon(tc, nn, "NameNode", "namenode")
		},
		Ops: []toolOp{{
			Name:    "-format",
			Args:    "[-clusterid cid] [-force] [-nonInteractive]",
			Help:    "Formats the name directory and the journal; asks first if data exists (-nonInteractive refuses, -force formats anyway).",
			MinArgs: 0, MaxArgs: -1,
			Run: runNamenodeFormat,
		}, {
			Name:    "-bootstrapStandby",
			Args:    "[-force] [-nonInteractive] [-skipSharedEditsCheck]",
			Help:    "Copies the namespace and newest image of another NameNode of the nameservice into this one's name directory (exit 2: none answered; 3: other layout; 5: not reformatted; 6: shared edits lack txids).",
			MinArgs: 0, MaxArgs: -1,
			Run: runBootstrapStandby,
		}, {
			Name:    "-initializeSharedEdits",
			Args:    "[-force] [-nonInteractive]",
			Help:    "Formats the JournalNodes with this NameNode's namespace and copies its local edits since the newest image into them (non-HA to HA).",
			MinArgs: 0, MaxArgs: -1,
			Run: runInitializeSharedEdits,
		}},
	}
}

func namenodeConfig(tc *toolContext) (namenode.Config, error) {
	ns, nn := "", ""
	if len(tc.Conf.Nameservices()) > 0 || tc.Conf.GetTrimmed(conf.KeyHANameNodeID, "") != "" {
		me, err := tc.Conf.LocalNameNode("", nil)
		if err != nil {
			return namenode.Config{}, err
		}
		ns, nn = me.Nameservice, me.ID
	}
	cfg, err := namenode.ConfigFromConf(tc.Conf, ns, nn)
	if err != nil {
		return namenode.Config{}, unprefixed(err, "namenode")
	}
	cfg.Logger = tc.Log
	return cfg, nil
}

// namenodeOpSetup parses an op's switches (flags as parseOpOptions takes
// them) and reads the NameNode's configuration. A stray argument is a usage
// error worded badArg + argument, as the Hadoop command words it.
func namenodeOpSetup(tc *toolContext, args []string, flags map[string]bool, badArg string) (map[string]string, namenode.Config, error) {
	opts, rest, err := parseOpOptions(args, flags)
	if err == nil && len(rest) > 0 {
		err = errors.New(badArg + rest[0])
	}
	if err != nil {
		return nil, namenode.Config{}, tc.UsageError("namenode: %v", err)
	}
	cfg, err := namenodeConfig(tc)
	return opts, cfg, err
}

func runNamenodeFormat(tc *toolContext, args []string) error {
	opts, cfg, err := namenodeOpSetup(tc, args, map[string]bool{"-clusterid": true, "-force": false, "-nonInteractive": false}, "unexpected argument ")
	if err != nil {
		return err
	}
	_, force := opts["-force"]
	_, nonInteractive := opts["-nonInteractive"]
	_, err = namenode.Format(tc.Ctx, cfg, namenode.FormatOptions{ClusterID: opts["-clusterid"], Force: force, NonInteractive: nonInteractive, In: tc.In, Err: tc.Err})
	if errors.Is(err, namenode.ErrFormatAborted) {
		return tc.Fail(exitShellError, "")
	}
	if err != nil {
		return unprefixed(err, "namenode")
	}
	return nil
}

func runBootstrapStandby(tc *toolContext, args []string) error {
	opts, cfg, err := namenodeOpSetup(tc, args, map[string]bool{"-force": false, "-nonInteractive": false, "-skipSharedEditsCheck": false}, "Illegal argument: ")
	if err != nil {
		return err
	}
	_, force := opts["-force"]
	_, nonInteractive := opts["-nonInteractive"]
	_, skip := opts["-skipSharedEditsCheck"]
	err = namenode.BootstrapStandby(tc.Ctx, cfg, namenode.BootstrapOptions{
		Force: force, NonInteractive: nonInteractive, SkipSharedEditsCheck: skip,
		User: client.DefaultUser(), In: tc.In, Out: tc.Out, Err: tc.Err,
	})
	switch code := namenode.BootstrapExitCode(err); {
	case code == 0:
		return nil
	case errors.Is(err, namenode.ErrFormatAborted):
		return tc.Fail(code, "") // the prompt said why
	case code != 1:
		return tc.Fail(code, "%s", err.Error())
	}
	return unprefixed(err, "namenode")
}

func runInitializeSharedEdits(tc *toolContext, args []string) error {
	opts, cfg, err := namenodeOpSetup(tc, args, map[string]bool{"-force": false, "-nonInteractive": false}, "Invalid argument: ")
	if err != nil {
		return err
	}
	_, force := opts["-force"]
	_, nonInteractive := opts["-nonInteractive"]
	err = namenode.InitializeSharedEdits(tc.Ctx, cfg, namenode.SharedEditsOptions{Force: force, NonInteractive: nonInteractive, In: tc.In, Err: tc.Err})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, namenode.ErrNoSharedEdits):
		// Hadoop logs this and exits 0.
		tc.Log.Error(err.Error())
		return nil
	case errors.Is(err, namenode.ErrFormatAborted):
		return tc.Fail(exitShellError, "")
	}
	tc.Log.Error("Could not initialize shared edits dir: " + unprefixed(err, "namenode").Error())
	return tc.Fail(exitShellError, "")
}
