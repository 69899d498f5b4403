package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/namenode/namespace"
	"github.com/hdfsha/hdfsha/proto/editpb"
)

// oivImage saves an image of a small namespace into a name directory and returns
// the name directory and the image.
func oivImage(t *testing.T) (string, image.Info) {
	t.Helper()
	ns, err := namespace.Open(filepath.Join(t.TempDir(), "work"), namespace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	root := &editpb.Permission{Mode: 0o755, Owner: "hadoop", Group: "supergroup"}
	if err := ns.Format(namespace.NamespaceInfo{NamespaceID: 42, ClusterID: "CID-1", BlockPoolID: "BP-1", CTime: 1}, root, 1409403918000); err != nil {
		t.Fatal(err)
	}
	now := int64(1409403918690)
	apply := func(op *editpb.Op, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ns.Apply(ns.LastAppliedTxID()+1, op); err != nil {
			t.Fatal(err)
		}
	}
	call := func() namespace.Call { return namespace.Call{User: "hadoop", Now: now} }
	apply(ns.PrepareMkdirs(call(), "/user/hadoop", 0o755, true))
	apply(ns.PrepareMkdirs(call(), "/tmp", 0o1777, true))
	apply(ns.PrepareCreate(call(), namespace.CreateRequest{Path: "/user/hadoop/a.txt", Mode: 0o644, ClientName: "DFSClient_1",
		ClientMachine: "127.0.0.1", Replication: 3, BlockSize: 128 << 20}))
	op, b, err := ns.PrepareAddBlock(call(), "/user/hadoop/a.txt", "DFSClient_1", nil)
	apply(op, err)
	apply(ns.PrepareComplete(call(), "/user/hadoop/a.txt", "DFSClient_1", &editpb.Block{BlockId: b.BlockId, GenStamp: b.GenStamp, NumBytes: 5}))
	apply(ns.PrepareCreate(call(), namespace.CreateRequest{Path: "/user/hadoop/<open>", Mode: 0o600, ClientName: "DFSClient_2",
		ClientMachine: "10.0.0.2", Replication: 1, BlockSize: 1 << 20}))
	nameDir := t.TempDir()
	info, err := image.Save(ns, nameDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return nameDir, info
}

func TestOIVIndented(t *testing.T) {
	nameDir, info := oivImage(t)
	want := `drwxr-xr-x - hadoop supergroup 1409403918690 0 /
drwxrwxrwt - hadoop supergroup 1409403918690 0 /tmp
drwxr-xr-x - hadoop supergroup 1409403918690 0 /user
drwxr-xr-x - hadoop supergroup 1409403918690 0 /user/hadoop
-rw------- 1 hadoop supergroup 1409403918690 0 /user/hadoop/<open>
-rw-r--r-- 3 hadoop supergroup 1409403918690 5 /user/hadoop/a.txt
`
	// The image directory, the name directory (newest image), and -p in any case.
	runHDFS(t, nil, "oiv", "-i", info.Path).want(t, 0, want)
	runHDFS(t, nil, "oiv", "-p", "indented", "-i", nameDir, "-o", "-").want(t, 0, want)
	out := filepath.Join(t.TempDir(), "out.txt")
	runHDFS(t, nil, "oiv", "-i", info.Path, "-o", out, "-p", "Indented", "-t", t.TempDir()).want(t, 0, "")
	if b, err := os.ReadFile(out); err != nil || string(b) != want {
		t.Fatalf("output file %q, %v", b, err)
	}
	// oiv never changes the image.
	if err := image.Verify(info); err != nil {
		t.Fatal(err)
	}
}

func TestOIVDelimited(t *testing.T) {
	_, info := oivImage(t)
	tm := time.UnixMilli(1409403918690).In(time.Local).Format("2006-01-02 15:04")
	zero := time.UnixMilli(0).In(time.Local).Format("2006-01-02 15:04")
	rows := []string{
		"Path\tReplication\tModificationTime\tAccessTime\tPreferredBlockSize\tBlocksCount\tFileSize\tNSQUOTA\tDSQUOTA\tPermission\tUserName\tGroupName",
		"/\t0\t" + tm + "\t" + zero + "\t0\t0\t0\t-1\t-1\tdrwxr-xr-x\thadoop\tsupergroup",
		"/tmp\t0\t" + tm + "\t" + zero + "\t0\t0\t0\t-1\t-1\tdrwxrwxrwt\thadoop\tsupergroup",
		"/user\t0\t" + tm + "\t" + zero + "\t0\t0\t0\t-1\t-1\tdrwxr-xr-x\thadoop\tsupergroup",
		"/user/hadoop\t0\t" + tm + "\t" + zero + "\t0\t0\t0\t-1\t-1\tdrwxr-xr-x\thadoop\tsupergroup",
		"/user/hadoop/<open>\t1\t" + tm + "\t" + tm + "\t1048576\t0\t0\t0\t0\t-rw-------\thadoop\tsupergroup",
		"/user/hadoop/a.txt\t3\t" + tm + "\t" + tm + "\t134217728\t1\t5\t0\t0\t-rw-r--r--\thadoop\tsupergroup",
	}
	runHDFS(t, nil, "oiv", "-i", info.Path, "-p", "Delimited").want(t, 0, strings.Join(rows, "\n")+"\n")
	r := runHDFS(t, nil, "oiv", "-i", info.Path, "-p", "Delimited", "-delimiter", ",")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Path,Replication,ModificationTime,") || !strings.Contains(r.stdout, "\n/user/hadoop/a.txt,3,") {
		t.Fatalf("delimiter: %+v", r)
	}
}

func TestDelimitedText(t *testing.T) {
	for in, want := range map[string]string{
		"/a/b":       "/a/b",
		"/a,b":       `"/a,b"`,
		`/a"b`:       `"/a""b"`,
		"/a\nb":      `"/a%x0Ab"`,
		"/a\r\nb":    `"/a%x0D%x0Ab"`,
		"/tab\there": "/tab\there",
	} {
		if got := delimitedText(in); got != want {
			t.Errorf("delimitedText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOIVXML(t *testing.T) {
	_, info := oivImage(t)
	r := runHDFS(t, nil, "oiv", "-i", info.Path, "-p", "XML")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, s := range []string{
		"<?xml version=\"1.0\"?>\n<fsimage><version><layoutVersion>" + itoa(namespace.LayoutVersion) + "</layoutVersion>",
		"<NameSection><namespaceId>42</namespaceId>",
		"<txid>" + itoa(info.TxID) + "</txid></NameSection>",
		"<inode><id>16385</id><type>DIRECTORY</type><name></name><mtime>1409403918690</mtime><permission>hadoop:supergroup:0755</permission><nsquota>-1</nsquota><dsquota>-1</dsquota></inode>\n",
		"<type>FILE</type><name>a.txt</name><replication>3</replication><mtime>1409403918690</mtime><atime>1409403918690</atime><preferredBlockSize>134217728</preferredBlockSize><permission>hadoop:supergroup:0644</permission><blocks><block><id>1073741825</id>",
		"<numBytes>5</numBytes></block></blocks><storagePolicyId>0</storagePolicyId></inode>\n",
		"<name>&lt;open&gt;</name>",
		"<file-under-construction><clientName>DFSClient_2</clientName><clientMachine>10.0.0.2</clientMachine></file-under-construction>",
		"<INodeDirectorySection><directory><parent>16385</parent><child>",
		"<FileUnderConstructionSection><inode><id>",
		"<path>/user/hadoop/&lt;open&gt;</path></inode>\n</FileUnderConstructionSection>\n</fsimage>\n",
	} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("XML lacks %q:\n%s", s, r.stdout)
		}
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func TestOIVErrors(t *testing.T) {
	_, info := oivImage(t)
	for _, c := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"oiv"}, "Usage: hdfs [OPTIONS] oiv"},
		{[]string{"oiv", "-o", "-"}, "-i IMAGE is required"},
		{[]string{"oiv", "-i", info.Path, "-p", "Web"}, "unknown processor Web"},
		{[]string{"oiv", "-i", info.Path, "-x"}, "illegal option -x"},
		{[]string{"oiv", "-i", info.Path, "-p", "XML", "-delimiter", ","}, "only to the Delimited processor"},
		{[]string{"oiv", "-i", filepath.Join(t.TempDir(), "nope")}, "no such file or directory"},
		{[]string{"oiv", "-i", t.TempDir()}, "not an image directory"},
	} {
		r := runHDFS(t, nil, c.args...)
		if r.code != 255 || !strings.Contains(r.stderr, c.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want 255 and %q", c.args, r.code, r.stderr, c.stderr)
		}
	}
	// A corrupt image is refused and named.
	ents, _ := os.ReadDir(info.Path)
	var victim string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".sst") || strings.HasPrefix(e.Name(), "MANIFEST") {
			victim = e.Name()
		}
	}
	p := filepath.Join(info.Path, victim)
	b, _ := os.ReadFile(p)
	b[len(b)-1] ^= 0xff
	os.WriteFile(p, b, 0o644)
	r := runHDFS(t, nil, "oiv", "-i", info.Path)
	if r.code != 255 || !strings.Contains(r.stderr, "corrupt image "+info.Path+": file "+victim+": checksum mismatch") || r.stdout != "" {
		t.Fatalf("corrupt image: %+v", r)
	}
}
