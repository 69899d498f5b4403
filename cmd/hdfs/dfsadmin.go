package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// dfsadminTool is `hdfs dfsadmin`: the administration ops that work today
// (-safemode, -saveNamespace, -rollEdits), with Hadoop's DFSAdmin output.
func dfsadminTool() *hadoopTool {
	return &hadoopTool{
		Name:        "dfsadmin",
		Category:    categoryAdmin,
		Summary:     "run a DFS admin client",
		Description: "Administers the NameNode of fs.defaultFS (every NameNode of an HA nameservice).",
		Ops: []toolOp{
			reportOp(),
			{Name: "-safemode", Args: "<enter | leave | get | wait | forceExit>", Help: "Safe mode maintenance command.", MinArgs: 1, MaxArgs: 1, Run: runSafeMode},
			{Name: "-saveNamespace", Args: "", Help: "Save current namespace into storage directories and reset edits log. Requires safe mode.", MinArgs: 0, MaxArgs: 0, Run: runSaveNamespace},
			{Name: "-rollEdits", Args: "", Help: "Rolls the edit log on the active NameNode.", MinArgs: 0, MaxArgs: 0, Run: runRollEdits},
			metaStatusOp(),
		},
	}
}

// newAdminClient is the client of fs.defaultFS's NameNodes that every dfsadmin op uses.
func newAdminClient(tc *toolContext, op string) (*client.Client, error) {
	c, err := client.New(client.Config{Conf: tc.Conf, User: benchUser(), Logger: tc.Log.Named("client")}, "")
	if err != nil {
		return nil, tc.Fail(exitToolError, "%s: %v", op, err)
	}
	return c, nil
}

// adminFail is DFSAdmin.run's report of a failed op: "<cmd>: <first line of the
// exception>", exit -1.
func adminFail(tc *toolContext, op string, err error) error {
	var re *rpc.RemoteError
	msg := err.Error()
	if errors.As(err, &re) {
		msg, _, _ = strings.Cut(re.Message, "\n")
	}
	return tc.Fail(exitToolError, "%s: %s", op, msg)
}

// adminCall calls method on every NameNode of the nameservice in turn, as Hadoop's DFSAdmin
// does for safe mode and saveNamespace (each NameNode has its own); fn prints each answer,
// suffix is " in <addr>" when there are several (Hadoop's HA output).
func adminCall(tc *toolContext, op, method string, req proto.Message, newResp func() proto.Message, fn func(resp proto.Message, suffix string)) error {
	c, err := newAdminClient(tc, op)
	if err != nil {
		return err
	}
	defer c.Close()
	addrs := c.Addresses()
	for _, addr := range addrs {
		ctx, cancel := context.WithTimeout(tc.Ctx, 2*time.Minute)
		resp := newResp()
		err := c.CallAddr(ctx, addr, client.ClientProtocol, method, req, resp)
		cancel()
		if err != nil {
			return adminFail(tc, op, err)
		}
		suffix := ""
		if len(addrs) > 1 {
			suffix = " in " + addr
		}
		fn(resp, suffix)
	}
	return nil
}

func runSafeMode(tc *toolContext, args []string) error {
	var action hdfspb.SafeModeActionProto
	switch strings.ToLower(args[0]) {
	case "enter":
		action = hdfspb.SafeModeActionProto_SAFEMODE_ENTER
	case "leave":
		action = hdfspb.SafeModeActionProto_SAFEMODE_LEAVE
	case "get":
		action = hdfspb.SafeModeActionProto_SAFEMODE_GET
	case "forceexit":
		action = hdfspb.SafeModeActionProto_SAFEMODE_FORCE_EXIT
	case "wait":
		// DFSAdmin polls GET until safe mode is off, then reports it.
		for {
			on := false
			err := adminCall(tc, "safemode", "setSafeMode", &hdfspb.SetSafeModeRequestProto{Action: hdfspb.SafeModeActionProto_SAFEMODE_GET.Enum()},
				func() proto.Message { return &hdfspb.SetSafeModeResponseProto{} },
				func(resp proto.Message, _ string) { on = on || resp.(*hdfspb.SetSafeModeResponseProto).GetResult() })
			if err != nil {
				return err
			}
			if !on {
				tc.Println("Safe mode is OFF")
				return nil
			}
			select {
			case <-tc.Ctx.Done():
				return tc.Ctx.Err()
			case <-time.After(time.Second):
			}
		}
	default:
		return tc.UsageError("Usage: hdfs dfsadmin [-safemode enter | leave | get | wait | forceExit]")
	}
	return adminCall(tc, "safemode", "setSafeMode", &hdfspb.SetSafeModeRequestProto{Action: action.Enum()},
		func() proto.Message { return &hdfspb.SetSafeModeResponseProto{} },
		func(resp proto.Message, suffix string) {
			on := "OFF"
			if resp.(*hdfspb.SetSafeModeResponseProto).GetResult() {
				on = "ON"
			}
			tc.Printf("Safe mode is %s%s\n", on, suffix)
		})
}

func runSaveNamespace(tc *toolContext, _ []string) error {
	return adminCall(tc, "saveNamespace", "saveNamespace", &hdfspb.SaveNamespaceRequestProto{},
		func() proto.Message { return &hdfspb.SaveNamespaceResponseProto{} },
		func(_ proto.Message, suffix string) {
			if suffix != "" {
				suffix = " for" + strings.TrimPrefix(suffix, " in")
			}
			tc.Printf("Save namespace successful%s\n", suffix)
		})
}

// runRollEdits rolls the active NameNode's edit log: one call, with failover (a standby
// refuses it).
func runRollEdits(tc *toolContext, _ []string) error {
	c, err := newAdminClient(tc, "rollEdits")
	if err != nil {
		return err
	}
	defer c.Close()
	var resp hdfspb.RollEditsResponseProto
	if err := c.Call(tc.Ctx, "rollEdits", &hdfspb.RollEditsRequestProto{}, &resp); err != nil {
		return adminFail(tc, "rollEdits", err)
	}
	tc.Println("Successfully rolled edit logs.")
	tc.Println(fmt.Sprintf("New segment starts at txid %d", resp.GetNewSegmentTxId()))
	return nil
}
