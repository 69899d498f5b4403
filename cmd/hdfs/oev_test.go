package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/proto/editpb"
)

// oevSegment writes a finalized segment of a few ops and returns its path.
func oevSegment(t *testing.T) string {
	t.Helper()
	perm := &editpb.Permission{Mode: 0o755, Owner: "hadoop", Group: "supergroup"}
	ops := []*editpb.Op{
		{Body: &editpb.Op_StartLogSegment{StartLogSegment: &editpb.StartLogSegment{}}},
		{Body: &editpb.Op_Mkdir{Mkdir: &editpb.Mkdir{Path: "/user/hadoop", InodeId: 16387, Perm: perm, Timestamp: 1409403918690,
			ParentInodeIds: []uint64{16386}, ParentPerm: perm}}},
		{RpcClientId: []byte{0x2d, 0x6b, 0x27, 0x5a, 0xc6, 0x4e, 0x4a, 0x33, 0x95, 0x8d, 0x3c, 0x43, 0x2a, 0x48, 0x5b, 0x7c}, RpcCallId: 7,
			Body: &editpb.Op_Add{Add: &editpb.Add{Path: "/user/hadoop/a&b", InodeId: 16388, Perm: &editpb.Permission{Mode: 0o644, Owner: "hadoop", Group: "supergroup"},
				Mtime: 1409403918691, Atime: 1409403918691, Replication: 3, PreferredBlockSize: 134217728, ClientName: "DFSClient_1", ClientMachine: "127.0.0.1"}}},
		{Body: &editpb.Op_AllocateBlockId{AllocateBlockId: &editpb.AllocateBlockId{BlockId: 1073741825}}},
		{Body: &editpb.Op_SetGenstampV2{SetGenstampV2: &editpb.SetGenstampV2{GenStamp: 1001}}},
		{Body: &editpb.Op_AddBlock{AddBlock: &editpb.AddBlock{Path: "/user/hadoop/a&b", LastBlock: &editpb.Block{BlockId: 1073741825, GenStamp: 1001}}}},
		{Body: &editpb.Op_Close{Close: &editpb.Close{Path: "/user/hadoop/a&b", Mtime: 1409403918700, Atime: 1409403918691,
			Blocks: []*editpb.Block{{BlockId: 1073741825, GenStamp: 1001, NumBytes: 5}}}}},
		{Body: &editpb.Op_SetPermissions{SetPermissions: &editpb.SetPermissions{Path: "/user/hadoop", Mode: 0o700}}},
		{Body: &editpb.Op_Rename{Rename: &editpb.Rename{Src: "/user/hadoop/a&b", Dst: "/user/hadoop/c", Timestamp: 1409403918800, Overwrite: true}}},
		{Body: &editpb.Op_Delete{Delete: &editpb.Delete{Path: "/user/hadoop/c", Timestamp: 1409403918900}}},
		{Body: &editpb.Op_Mkdir{Mkdir: &editpb.Mkdir{Path: "/tmp", InodeId: 16389, Perm: perm, Timestamp: 1409403919000}}},
		{Body: &editpb.Op_EndLogSegment{EndLogSegment: &editpb.EndLogSegment{}}},
	}
	dir := t.TempDir()
	name := filepath.Join(dir, edits.FinalizedName(1, int64(len(ops))))
	w, err := edits.CreateSegment(vfs.Default, name, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, op := range ops {
		b, err := proto.Marshal(op)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Append(int64(i+1), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestOEVXML(t *testing.T) {
	seg := oevSegment(t)
	r := runHDFS(t, nil, "oev", "-i", seg, "-o", "-")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, s := range []string{
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<EDITS>\n  <EDITS_VERSION>1</EDITS_VERSION>\n  <RECORD>\n    <OPCODE>OP_START_LOG_SEGMENT</OPCODE>\n    <DATA>\n      <TXID>1</TXID>\n    </DATA>\n  </RECORD>\n",
		`  <RECORD>
    <OPCODE>OP_MKDIR</OPCODE>
    <DATA>
      <TXID>2</TXID>
      <LENGTH>0</LENGTH>
      <INODEID>16387</INODEID>
      <PATH>/user/hadoop</PATH>
      <TIMESTAMP>1409403918690</TIMESTAMP>
      <PERMISSION_STATUS>
        <USERNAME>hadoop</USERNAME>
        <GROUPNAME>supergroup</GROUPNAME>
        <MODE>493</MODE>
      </PERMISSION_STATUS>
      <PARENT_INODEID>16386</PARENT_INODEID>
`,
		"<OPCODE>OP_ADD</OPCODE>",
		"      <PATH>/user/hadoop/a&amp;b</PATH>\n      <REPLICATION>3</REPLICATION>\n",
		"      <RPC_CLIENTID>2d6b275a-c64e-4a33-958d-3c432a485b7c</RPC_CLIENTID>\n      <RPC_CALLID>7</RPC_CALLID>\n",
		"<OPCODE>OP_ALLOCATE_BLOCK_ID</OPCODE>\n    <DATA>\n      <TXID>4</TXID>\n      <BLOCK_ID>1073741825</BLOCK_ID>\n",
		"<GENSTAMPV2>1001</GENSTAMPV2>",
		"<OPCODE>OP_ADD_BLOCK</OPCODE>",
		"      <BLOCK>\n        <BLOCK_ID>1073741825</BLOCK_ID>\n        <NUM_BYTES>5</NUM_BYTES>\n        <GENSTAMP>1001</GENSTAMP>\n      </BLOCK>\n",
		"<OPCODE>OP_CLOSE</OPCODE>",
		"<OPCODE>OP_SET_PERMISSIONS</OPCODE>\n    <DATA>\n      <TXID>8</TXID>\n      <SRC>/user/hadoop</SRC>\n      <MODE>448</MODE>\n",
		"<OPCODE>OP_RENAME</OPCODE>",
		"<OPTIONS>OVERWRITE</OPTIONS>",
		"<OPCODE>OP_DELETE</OPCODE>",
		"    <OPCODE>OP_END_LOG_SEGMENT</OPCODE>\n    <DATA>\n      <TXID>12</TXID>\n    </DATA>\n  </RECORD>\n</EDITS>\n",
	} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("XML lacks %q", s)
		}
	}
	if t.Failed() {
		t.Log(r.stdout)
	}
	// -p xml explicitly, to a file.
	out := filepath.Join(t.TempDir(), "edits.xml")
	runHDFS(t, nil, "oev", "-p", "XML", "-i", seg, "-o", out).want(t, 0, "")
	if b, _ := os.ReadFile(out); string(b) != r.stdout {
		t.Fatal("file output differs from stdout")
	}
}

func TestOEVStats(t *testing.T) {
	seg := oevSegment(t)
	r := runHDFS(t, nil, "oev", "-i", seg, "-o", "-", "-p", "stats")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if lines[0] != "    VERSION                             : 1" {
		t.Fatalf("first line %q", lines[0])
	}
	for _, want := range []string{
		"    OP_ADD                         (  0): 1",
		"    OP_RENAME_OLD                  (  1): 0",
		"    OP_DELETE                      (  2): 1",
		"    OP_MKDIR                       (  3): 2",
		"    OP_CLOSE                       (  9): 1",
		"    OP_START_LOG_SEGMENT           ( 24): 1",
		"    OP_SET_XATTR                   ( 43): 0",
		"    OP_APPEND                      ( 47): 0",
		"    OP_INVALID                     ( -1): 0",
	} {
		if !strings.Contains(r.stdout, want+"\n") {
			t.Errorf("stats lack %q:\n%s", want, r.stdout)
		}
	}
	if len(lines) != 1+49+1 {
		t.Fatalf("%d lines", len(lines))
	}
}

func TestOEVErrors(t *testing.T) {
	seg := oevSegment(t)
	for _, c := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"oev"}, "Usage: hdfs [OPTIONS] oev"},
		{[]string{"oev", "-i", seg}, "-i EDITS and -o OUT are required"},
		{[]string{"oev", "-i", seg, "-o", "-", "-p", "binary"}, "unknown processor binary"},
		{[]string{"oev", "-i", filepath.Join(t.TempDir(), "nope"), "-o", "-"}, "no such file or directory"},
	} {
		r := runHDFS(t, nil, c.args...)
		if r.code != 255 || !strings.Contains(r.stderr, c.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want 255 and %q", c.args, r.code, r.stderr, c.stderr)
		}
	}

	// A flipped byte in the third record, with valid records after it: corruption,
	// named with file and offset, after the records before it.
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	off := edits.SegmentHeaderSize
	for i := 0; i < 2; i++ {
		_, n, err := edits.DecodeRecord(b[off:])
		if err != nil {
			t.Fatal(err)
		}
		off += n
	}
	bad := append([]byte(nil), b...)
	bad[off+edits.RecordHeaderSize+2] ^= 0x55
	badSeg := filepath.Join(t.TempDir(), filepath.Base(seg))
	os.WriteFile(badSeg, bad, 0o644)
	for _, p := range []string{"xml", "stats"} {
		r := runHDFS(t, nil, "oev", "-i", badSeg, "-o", "-", "-p", p)
		want := "corruption in " + badSeg + " at offset " + itoa(int64(off))
		if r.code != 255 || !strings.Contains(r.stderr, want) {
			t.Fatalf("%s: exit %d, stderr %q; want %q", p, r.code, r.stderr, want)
		}
		if p == "stats" && (!strings.Contains(r.stdout, "OP_MKDIR                       (  3): 1\n") || !strings.Contains(r.stdout, "\nEXITING ON ERROR: edits: corruption in ")) {
			t.Fatalf("stats before the corruption: %s", r.stdout)
		}
		if p == "xml" && (!strings.Contains(r.stdout, "<TXID>2</TXID>") || strings.Contains(r.stdout, "<TXID>3</TXID>")) {
			t.Fatalf("xml before the corruption: %s", r.stdout)
		}
	}

	// A record whose bytes are not an edit op.
	dir := t.TempDir()
	name := filepath.Join(dir, edits.FinalizedName(1, 1))
	w, _ := edits.CreateSegment(vfs.Default, name, 1)
	w.Append(1, []byte{0xff, 0xff, 0xff})
	w.Sync()
	w.Close()
	r := runHDFS(t, nil, "oev", "-i", name, "-o", "-")
	if r.code != 255 || !strings.Contains(r.stderr, "corruption in "+name+" at offset 8: txid 1 does not decode") {
		t.Fatalf("undecodable op: %+v", r)
	}

	// A torn tail in a finalized segment fails, naming the file and offset.
	tornDir := t.TempDir()
	torn := filepath.Join(tornDir, filepath.Base(seg))
	os.WriteFile(torn, b[:len(b)-3], 0o644)
	r = runHDFS(t, nil, "oev", "-i", torn, "-o", "-", "-p", "stats")
	if r.code != 255 || !strings.Contains(r.stderr, "torn tail") || !strings.Contains(r.stderr, torn) {
		t.Fatalf("torn tail: %+v", r)
	}
	// In an in-progress segment it is what a crash leaves: a warning, exit 0.
	inProgress := filepath.Join(tornDir, edits.InProgressName(1))
	os.WriteFile(inProgress, b[:len(b)-3], 0o644)
	r = runHDFS(t, nil, "oev", "-i", inProgress, "-o", "-", "-p", "stats")
	if r.code != 0 || !strings.Contains(r.stderr, "oev: warning: edits: torn tail") || !strings.Contains(r.stdout, "OP_DELETE                      (  2): 1\n") {
		t.Fatalf("torn tail in progress: %+v", r)
	}
	// A finalized segment that ends before the last txid of its name.
	short := filepath.Join(t.TempDir(), edits.FinalizedName(1, 13))
	os.WriteFile(short, b, 0o644)
	r = runHDFS(t, nil, "oev", "-i", short, "-o", "-")
	if r.code != 255 || !strings.Contains(r.stderr, "ends at txid 12 but its name says 13") {
		t.Fatalf("short segment: %+v", r)
	}
}
