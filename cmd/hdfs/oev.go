package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/proto/editpb"
)

// oev is Hadoop's offline edits viewer for one hdfsha edit segment:
//
//	hdfs oev -i EDITS -o OUT [-p xml|stats]
//
// EDITS is a segment file (edits_<first>-<last> or edits_inprogress_<first>, from a
// local edits dir or a JournalNode). OUT "-" is stdout. Processor names ignore case.
//
//   - xml (the default): Hadoop's XmlEditsVisitor shape, <EDITS><EDITS_VERSION>, then
//     one <RECORD><OPCODE>OP_...</OPCODE><DATA><TXID>..</TXID>...</DATA></RECORD> per
//     edit, with Hadoop's opcode and field names. EDITS_VERSION is the hdfsha segment
//     layout version. Fields hdfsha keeps that Hadoop's ops lack (the parent inode ids
//     mkdirs creates) use hdfsha names.
//   - stats: StatisticsEditsVisitor's "VERSION : v" line, then one line per Hadoop
//     opcode (all of FSEditLogOpCodes, in its order, OP_INVALID last) with its number and
//     count; after a read error, "EXITING ON ERROR: ...".
//
// A segment with a corrupt record prints what came before, then the error naming the
// file and offset, and exits 255; so does a finalized segment that ends in a torn tail
// or before the last txid of its name. An in-progress segment may end in a torn tail
// (a crash, or a writer still appending): oev prints a warning to stderr and exits 0.
func oevTool() *hadoopTool {
	t := &hadoopTool{
		Name:        "oev",
		Category:    categoryAdmin,
		Summary:     "apply the offline edits viewer to an edits file",
		Description: "hdfs oev prints an edit log segment offline: -i EDITS -o OUT [-p xml|stats]",
		NoConf:      true,
	}
	for _, o := range []struct{ name, args, help string }{
		{"-i", "<edits>", "edit log segment file; required"},
		{"-o", "<file>", "output file (- is stdout); required"},
		{"-p", "<processor>", "xml (default) or stats"},
	} {
		name := o.name
		t.Ops = append(t.Ops, toolOp{Name: name, Args: o.args, Help: o.help, MinArgs: 1, MaxArgs: -1,
			Run: func(tc *toolContext, args []string) error { return runOEV(tc, append([]string{name}, args...)) }})
	}
	return t
}

// editOpcode is an edit's Hadoop FSEditLogOpCodes name and byte.
type editOpcode struct {
	name string
	code int
}

// editOpcodes maps each op body to its Hadoop opcode; stats prints them in code order.
var editOpcodes = map[string]editOpcode{
	"add": {"OP_ADD", 0}, "rename_old": {"OP_RENAME_OLD", 1}, "delete": {"OP_DELETE", 2},
	"mkdir": {"OP_MKDIR", 3}, "set_replication": {"OP_SET_REPLICATION", 4},
	"set_permissions": {"OP_SET_PERMISSIONS", 7}, "set_owner": {"OP_SET_OWNER", 8},
	"close": {"OP_CLOSE", 9}, "times": {"OP_TIMES", 13}, "rename": {"OP_RENAME", 15},
	"reassign_lease": {"OP_REASSIGN_LEASE", 22}, "end_log_segment": {"OP_END_LOG_SEGMENT", 23},
	"start_log_segment": {"OP_START_LOG_SEGMENT", 24}, "update_blocks": {"OP_UPDATE_BLOCKS", 25},
	"set_genstamp_v2": {"OP_SET_GENSTAMP_V2", 31}, "allocate_block_id": {"OP_ALLOCATE_BLOCK_ID", 32},
	"add_block": {"OP_ADD_BLOCK", 33}, "set_xattr": {"OP_SET_XATTR", 43},
	"remove_xattr": {"OP_REMOVE_XATTR", 44}, "truncate": {"OP_TRUNCATE", 46}, "append": {"OP_APPEND", 47},
}

// hadoopOpcodes is every FSEditLogOpCodes value in enum order, for the stats processor,
// which prints them all (hdfsha writes only those in editOpcodes).
var hadoopOpcodes = []string{
	"OP_ADD", "OP_RENAME_OLD", "OP_DELETE", "OP_MKDIR", "OP_SET_REPLICATION", "OP_DATANODE_ADD",
	"OP_DATANODE_REMOVE", "OP_SET_PERMISSIONS", "OP_SET_OWNER", "OP_CLOSE", "OP_SET_GENSTAMP_V1",
	"OP_SET_NS_QUOTA", "OP_CLEAR_NS_QUOTA", "OP_TIMES", "OP_SET_QUOTA", "OP_RENAME", "OP_CONCAT_DELETE",
	"OP_SYMLINK", "OP_GET_DELEGATION_TOKEN", "OP_RENEW_DELEGATION_TOKEN", "OP_CANCEL_DELEGATION_TOKEN",
	"OP_UPDATE_MASTER_KEY", "OP_REASSIGN_LEASE", "OP_END_LOG_SEGMENT", "OP_START_LOG_SEGMENT",
	"OP_UPDATE_BLOCKS", "OP_CREATE_SNAPSHOT", "OP_DELETE_SNAPSHOT", "OP_RENAME_SNAPSHOT",
	"OP_ALLOW_SNAPSHOT", "OP_DISALLOW_SNAPSHOT", "OP_SET_GENSTAMP_V2", "OP_ALLOCATE_BLOCK_ID",
	"OP_ADD_BLOCK", "OP_ADD_CACHE_DIRECTIVE", "OP_REMOVE_CACHE_DIRECTIVE", "OP_ADD_CACHE_POOL",
	"OP_MODIFY_CACHE_POOL", "OP_REMOVE_CACHE_POOL", "OP_MODIFY_CACHE_DIRECTIVE", "OP_SET_ACL",
	"OP_ROLLING_UPGRADE_START", "OP_ROLLING_UPGRADE_FINALIZE", "OP_SET_XATTR", "OP_REMOVE_XATTR",
	"OP_SET_STORAGE_POLICY", "OP_TRUNCATE", "OP_APPEND", "OP_SET_QUOTA_BY_STORAGETYPE",
	// OP_INVALID (-1) comes last.
}

// opcodeOf returns the Hadoop opcode of op; ok is false for an op without a body.
func opcodeOf(op *editpb.Op) (editOpcode, bool) {
	fd := op.ProtoReflect().WhichOneof(op.ProtoReflect().Descriptor().Oneofs().ByName("body"))
	if fd == nil {
		return editOpcode{}, false
	}
	c, ok := editOpcodes[string(fd.Name())]
	return c, ok
}

func runOEV(tc *toolContext, args []string) error {
	opts, rest, err := parseOpOptions(args, map[string]bool{"-i": true, "-o": true, "-p": true})
	if err != nil {
		return tc.UsageError("oev: %v", err)
	}
	if len(rest) > 0 {
		return tc.UsageError("oev: unexpected argument %s", rest[0])
	}
	if opts["-i"] == "" || opts["-o"] == "" {
		return tc.UsageError("oev: -i EDITS and -o OUT are required")
	}
	proc := "xml"
	if p, ok := opts["-p"]; ok {
		proc = strings.ToLower(p)
	}
	if proc != "xml" && proc != "stats" {
		return tc.UsageError("oev: unknown processor %s (xml or stats)", opts["-p"])
	}
	in := opts["-i"]
	f, err := os.Open(in)
	if err != nil {
		return tc.Fail(exitToolError, "oev: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return tc.Fail(exitToolError, "oev: %v", err)
	}
	sn, named := edits.ParseSegmentName(filepath.Base(in))
	out, closeOut, err := openOutput(tc, opts["-o"])
	if err != nil {
		return tc.Fail(exitToolError, "oev: %v", err)
	}
	w := bufio.NewWriterSize(out, 64<<10)
	var v editsVisitor
	if proc == "xml" {
		v = &xmlEditsVisitor{w: w}
	} else {
		v = &statsEditsVisitor{w: w, counts: map[editOpcode]int64{}}
	}
	r := edits.NewReader(f, st.Size(), in, sn.First)
	last, err := readEdits(r, in, v, named && sn.InProgress, tc.Err)
	if err == nil && named && !sn.InProgress && last != sn.Last {
		err = fmt.Errorf("%s ends at txid %d but its name says %d", in, last, sn.Last)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return tc.Fail(exitToolError, "oev: %v", err)
	}
	return nil
}

type editsVisitor interface {
	start(version int) error
	record(txid int64, code editOpcode, op *editpb.Op) error
	// finish runs after the last record, and also after a read error (err), to
	// close the document.
	finish(err error) error
}

// readEdits passes every record to v and returns the last txid read. A torn tail
// ends an in-progress segment normally (a crash, or a writer still appending,
// leaves one; the NameNode truncates it at recovery) with a warning on stderr; in
// a finalized segment it is an error.
func readEdits(r *edits.Reader, name string, v editsVisitor, inProgress bool, warn io.Writer) (int64, error) {
	if err := v.start(edits.LayoutVersion); err != nil {
		return 0, err
	}
	var readErr error
	var last int64
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, edits.ErrTornTail) && inProgress {
			fmt.Fprintf(warn, "oev: warning: %v\n", err)
			break
		}
		if err != nil {
			readErr = err
			break
		}
		op := &editpb.Op{}
		if err := proto.Unmarshal(rec.Op, op); err != nil {
			readErr = &edits.CorruptionError{File: name, Offset: r.ValidEnd() - int64(edits.EncodedSize(rec.Op)),
				Reason: fmt.Sprintf("txid %d does not decode as an edit op: %v", rec.TxID, err)}
			break
		}
		code, ok := opcodeOf(op)
		if !ok {
			readErr = &edits.CorruptionError{File: name, Offset: r.ValidEnd() - int64(edits.EncodedSize(rec.Op)),
				Reason: fmt.Sprintf("txid %d holds an op of unknown type", rec.TxID)}
			break
		}
		if err := v.record(rec.TxID, code, op); err != nil {
			return last, err
		}
		last = rec.TxID
	}
	if err := v.finish(readErr); err != nil && readErr == nil {
		readErr = err
	}
	return last, readErr
}

type statsEditsVisitor struct {
	w       io.Writer
	version int
	counts  map[editOpcode]int64
}

func (s *statsEditsVisitor) start(version int) error { s.version = version; return nil }

func (s *statsEditsVisitor) record(_ int64, code editOpcode, _ *editpb.Op) error {
	s.counts[code]++
	return nil
}

// finish prints StatisticsEditsVisitor's table: every Hadoop opcode in enum order, and
// "EXITING ON ERROR" after a read error, as Hadoop does.
func (s *statsEditsVisitor) finish(readErr error) error {
	fmt.Fprintf(s.w, "    %-30.30s      : %d\n", "VERSION", s.version)
	counts := map[string]int64{}
	for c, n := range s.counts {
		counts[c.name] = n
	}
	for i, name := range hadoopOpcodes {
		fmt.Fprintf(s.w, "    %-30.30s (%3d): %d\n", name, i, counts[name])
	}
	_, err := fmt.Fprintf(s.w, "    %-30.30s (%3d): %d\n", "OP_INVALID", -1, 0)
	if readErr != nil {
		_, err = fmt.Fprintf(s.w, "EXITING ON ERROR: %v\n", readErr)
	}
	return err
}

// xmlEditsVisitor writes Hadoop's oev XML, two spaces per level.
type xmlEditsVisitor struct {
	w     io.Writer
	depth int
}

func (x *xmlEditsVisitor) open(tag string) {
	fmt.Fprintf(x.w, "%s<%s>\n", strings.Repeat("  ", x.depth), tag)
	x.depth++
}

func (x *xmlEditsVisitor) close(tag string) {
	x.depth--
	fmt.Fprintf(x.w, "%s</%s>\n", strings.Repeat("  ", x.depth), tag)
}

func (x *xmlEditsVisitor) leaf(tag string, v any) {
	fmt.Fprintf(x.w, "%s<%s>%s</%s>\n", strings.Repeat("  ", x.depth), tag, xmlText(fmt.Sprint(v)), tag)
}

func (x *xmlEditsVisitor) start(version int) error {
	_, err := fmt.Fprint(x.w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	x.open("EDITS")
	x.leaf("EDITS_VERSION", version)
	return err
}

func (x *xmlEditsVisitor) finish(error) error {
	x.close("EDITS")
	return nil
}

func (x *xmlEditsVisitor) perm(p *editpb.Permission) {
	x.open("PERMISSION_STATUS")
	x.leaf("USERNAME", p.GetOwner())
	x.leaf("GROUPNAME", p.GetGroup())
	x.leaf("MODE", p.GetMode())
	x.close("PERMISSION_STATUS")
}

func (x *xmlEditsVisitor) blocks(bs []*editpb.Block) {
	for _, b := range bs {
		x.block("BLOCK", b)
	}
}

func (x *xmlEditsVisitor) block(tag string, b *editpb.Block) {
	if b == nil {
		return
	}
	x.open(tag)
	x.leaf("BLOCK_ID", b.BlockId)
	x.leaf("NUM_BYTES", b.NumBytes)
	x.leaf("GENSTAMP", b.GenStamp)
	x.close(tag)
}

func (x *xmlEditsVisitor) rpcIDs(op *editpb.Op) {
	if len(op.RpcClientId) == 0 {
		return
	}
	x.leaf("RPC_CLIENTID", clientIDString(op.RpcClientId))
	x.leaf("RPC_CALLID", op.RpcCallId)
}

// clientIDString prints a 16-byte client id as a UUID, as Hadoop's oev does.
func clientIDString(b []byte) string {
	if len(b) != 16 {
		return hex.EncodeToString(b)
	}
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (x *xmlEditsVisitor) xattrs(xs []*editpb.XAttr) {
	for _, a := range xs {
		x.open("XATTR")
		x.leaf("NAMESPACE", a.Namespace.String())
		x.leaf("NAME", a.Name)
		if a.Value != nil {
			x.leaf("VALUE", "0x"+hex.EncodeToString(a.Value))
		}
		x.close("XATTR")
	}
}

func (x *xmlEditsVisitor) record(txid int64, code editOpcode, op *editpb.Op) error {
	x.open("RECORD")
	x.leaf("OPCODE", code.name)
	x.open("DATA")
	x.leaf("TXID", txid)
	switch b := op.Body.(type) {
	case *editpb.Op_Mkdir:
		m := b.Mkdir
		x.leaf("LENGTH", 0)
		x.leaf("INODEID", m.InodeId)
		x.leaf("PATH", m.Path)
		x.leaf("TIMESTAMP", m.Timestamp)
		x.perm(m.Perm)
		for _, id := range m.ParentInodeIds {
			x.leaf("PARENT_INODEID", id)
		}
		if m.ParentPerm != nil {
			x.open("PARENT_PERMISSION_STATUS")
			x.leaf("USERNAME", m.ParentPerm.Owner)
			x.leaf("GROUPNAME", m.ParentPerm.Group)
			x.leaf("MODE", m.ParentPerm.Mode)
			x.close("PARENT_PERMISSION_STATUS")
		}
	case *editpb.Op_Add:
		a := b.Add
		x.leaf("LENGTH", 0)
		x.leaf("INODEID", a.InodeId)
		x.leaf("PATH", a.Path)
		x.leaf("REPLICATION", a.Replication)
		x.leaf("MTIME", a.Mtime)
		x.leaf("ATIME", a.Atime)
		x.leaf("BLOCKSIZE", a.PreferredBlockSize)
		x.leaf("CLIENT_NAME", a.ClientName)
		x.leaf("CLIENT_MACHINE", a.ClientMachine)
		x.leaf("OVERWRITE", a.Overwrite)
		x.leaf("STORAGE_POLICY_ID", a.StoragePolicyId)
		x.perm(a.Perm)
		for _, id := range a.ParentInodeIds {
			x.leaf("PARENT_INODEID", id)
		}
	case *editpb.Op_Close:
		c := b.Close
		x.leaf("LENGTH", 0)
		x.leaf("PATH", c.Path)
		x.leaf("MTIME", c.Mtime)
		x.leaf("ATIME", c.Atime)
		x.blocks(c.Blocks)
	case *editpb.Op_AddBlock:
		x.leaf("PATH", b.AddBlock.Path)
		x.block("BLOCK", b.AddBlock.PenultimateBlock)
		x.block("BLOCK", b.AddBlock.LastBlock)
	case *editpb.Op_UpdateBlocks:
		x.leaf("PATH", b.UpdateBlocks.Path)
		x.blocks(b.UpdateBlocks.Blocks)
	case *editpb.Op_Delete:
		x.leaf("LENGTH", 0)
		x.leaf("PATH", b.Delete.Path)
		x.leaf("TIMESTAMP", b.Delete.Timestamp)
	case *editpb.Op_RenameOld:
		x.leaf("LENGTH", 0)
		x.leaf("SRC", b.RenameOld.Src)
		x.leaf("DST", b.RenameOld.Dst)
		x.leaf("TIMESTAMP", b.RenameOld.Timestamp)
	case *editpb.Op_Rename:
		x.leaf("LENGTH", 0)
		x.leaf("SRC", b.Rename.Src)
		x.leaf("DST", b.Rename.Dst)
		x.leaf("TIMESTAMP", b.Rename.Timestamp)
		if b.Rename.Overwrite {
			x.leaf("OPTIONS", "OVERWRITE")
		} else {
			x.leaf("OPTIONS", "NONE")
		}
	case *editpb.Op_SetPermissions:
		x.leaf("SRC", b.SetPermissions.Path)
		x.leaf("MODE", b.SetPermissions.Mode)
	case *editpb.Op_SetOwner:
		x.leaf("SRC", b.SetOwner.Path)
		x.leaf("USERNAME", b.SetOwner.Username)
		x.leaf("GROUPNAME", b.SetOwner.Groupname)
	case *editpb.Op_Times:
		x.leaf("LENGTH", 0)
		x.leaf("PATH", b.Times.Path)
		x.leaf("MTIME", b.Times.Mtime)
		x.leaf("ATIME", b.Times.Atime)
	case *editpb.Op_SetReplication:
		x.leaf("PATH", b.SetReplication.Path)
		x.leaf("REPLICATION", b.SetReplication.Replication)
	case *editpb.Op_SetXattr:
		x.leaf("SRC", b.SetXattr.Path)
		x.xattrs(b.SetXattr.Xattrs)
	case *editpb.Op_RemoveXattr:
		x.leaf("SRC", b.RemoveXattr.Path)
		x.xattrs(b.RemoveXattr.Xattrs)
	case *editpb.Op_Truncate:
		t := b.Truncate
		x.leaf("SRC", t.Path)
		x.leaf("CLIENTNAME", t.ClientName)
		x.leaf("CLIENTMACHINE", t.ClientMachine)
		x.leaf("NEWLENGTH", t.NewLength)
		x.leaf("TIMESTAMP", t.Timestamp)
		x.leaf("UNDER_CONSTRUCTION", t.UnderConstruction)
		x.blocks(t.Blocks)
	case *editpb.Op_Append:
		x.leaf("PATH", b.Append.Path)
		x.leaf("CLIENT_NAME", b.Append.ClientName)
		x.leaf("CLIENT_MACHINE", b.Append.ClientMachine)
		x.leaf("NEWBLOCK", b.Append.NewBlock)
	case *editpb.Op_ReassignLease:
		x.leaf("LEASEHOLDER", b.ReassignLease.LeaseHolder)
		x.leaf("PATH", b.ReassignLease.Path)
		x.leaf("NEWHOLDER", b.ReassignLease.NewHolder)
	case *editpb.Op_SetGenstampV2:
		x.leaf("GENSTAMPV2", b.SetGenstampV2.GenStamp)
	case *editpb.Op_AllocateBlockId:
		x.leaf("BLOCK_ID", b.AllocateBlockId.BlockId)
	case *editpb.Op_StartLogSegment, *editpb.Op_EndLogSegment:
	}
	x.rpcIDs(op)
	x.close("DATA")
	x.close("RECORD")
	return nil
}
