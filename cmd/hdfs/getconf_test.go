package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/testcluster"
)

// haConfDir is a two-NameNode, three-JournalNode HA configuration with named hosts.
func haConfDir(t *testing.T) string {
	return writeConfDir(t,
		prop("fs.defaultFS", "hdfs://mycluster"),
		prop("dfs.nameservices", "mycluster")+
			prop("dfs.ha.namenodes.mycluster", "nn1,nn2")+
			prop("dfs.namenode.rpc-address.mycluster.nn1", "nn1.example.com:8020")+
			prop("dfs.namenode.rpc-address.mycluster.nn2", "nn2.example.com:8020")+
			prop("dfs.namenode.http-address.mycluster.nn1", "nn1.example.com:9870")+
			prop("dfs.namenode.http-address.mycluster.nn2", "nn2.example.com:9870")+
			prop("dfs.namenode.shared.edits.dir", "qjournal://jn1.example.com:8485;jn2.example.com:8485;jn3.example.com:8485/mycluster")+
			prop("dfs.replication", "2")+
			prop("dfs.hosts", "/etc/hadoop/dfs.include")+
			prop("padded.key", "  spaced out  ")+
			prop("derived.key", "${dfs.replication}x"))
}

func TestGetconfHA(t *testing.T) {
	dir := haConfDir(t)
	cases := []struct {
		args   []string
		stdout string
	}{
		{[]string{"-namenodes"}, "nn1.example.com nn2.example.com\n"},
		{[]string{"-NameNodes"}, "nn1.example.com nn2.example.com\n"},
		{[]string{"-journalNodes"}, "jn1.example.com jn2.example.com jn3.example.com\n"},
		{[]string{"-nnRpcAddresses"}, "nn1.example.com:8020\nnn2.example.com:8020\n"},
		{[]string{"-confKey", "dfs.replication"}, "2\n"},
		{[]string{"-confKey", "padded.key"}, "spaced out\n"},
		{[]string{"-confKey", "derived.key"}, "2x\n"},
		{[]string{"-includeFile"}, "/etc/hadoop/dfs.include\n"},
		{[]string{"-excludeFile"}, "\n"},
	}
	for _, c := range cases {
		r := runHDFS(t, nil, append([]string{"--config", dir, "getconf"}, c.args...)...)
		if r.code != 0 || r.stdout != c.stdout || r.stderr != "" {
			t.Errorf("getconf %q: exit %d, stdout %q, stderr %q; want 0, %q", c.args, r.code, r.stdout, r.stderr, c.stdout)
		}
	}
}

func TestGetconfReadsHadoopConfDir(t *testing.T) {
	dir := haConfDir(t)
	runHDFS(t, map[string]string{"HADOOP_CONF_DIR": dir}, "getconf", "-confKey", "dfs.replication").want(t, 0, "2\n")

	// --config beats the environment.
	other := writeConfDir(t, "", prop("dfs.replication", "9"))
	runHDFS(t, map[string]string{"HADOOP_CONF_DIR": dir}, "--config", other, "getconf", "-confKey", "dfs.replication").want(t, 0, "9\n")
}

func TestGetconfCompiledInDefault(t *testing.T) {
	want, ok := conf.DefaultValue("dfs.blocksize")
	if !ok {
		t.Fatal("no compiled-in default for dfs.blocksize")
	}
	runHDFS(t, nil, "getconf", "-confKey", "dfs.blocksize").want(t, 0, want+"\n")
}

func TestGetconfGenericOptions(t *testing.T) {
	dir := haConfDir(t)
	extra := filepath.Join(t.TempDir(), "extra.xml")
	if err := os.WriteFile(extra, []byte("<configuration>"+prop("dfs.replication", "7")+prop("only.in.extra", "yes")+"</configuration>"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args   []string
		stdout string
	}{
		{[]string{"-D", "dfs.replication=5", "-confKey", "dfs.replication"}, "5\n"},
		{[]string{"-Ddfs.replication=6", "-confKey", "dfs.replication"}, "6\n"},
		{[]string{"-D", "dfs.replication=5", "-D", "dfs.replication=8", "-confKey", "dfs.replication"}, "8\n"},
		{[]string{"-conf", extra, "-confKey", "dfs.replication"}, "7\n"},
		{[]string{"-conf", extra, "-confKey", "only.in.extra"}, "yes\n"},
		// -D beats -conf whatever the order on the command line.
		{[]string{"-D", "dfs.replication=4", "-conf", extra, "-confKey", "dfs.replication"}, "4\n"},
		// -D changes what the HA lookups see.
		{[]string{"-D", "dfs.namenode.servicerpc-address.mycluster.nn1=nn1.example.com:8021", "-nnRpcAddresses"},
			"nn1.example.com:8021\nnn2.example.com:8020\n"},
		{[]string{"-fs", "hdfs://othercluster", "-confKey", "fs.defaultFS"}, "hdfs://othercluster\n"},
	}
	for _, c := range cases {
		r := runHDFS(t, nil, append([]string{"--config", dir, "getconf"}, c.args...)...)
		if r.code != 0 || r.stdout != c.stdout {
			t.Errorf("getconf %q: exit %d, stdout %q, stderr %q; want 0, %q", c.args, r.code, r.stdout, r.stderr, c.stdout)
		}
	}
}

func TestGetconfFailures(t *testing.T) {
	dir := haConfDir(t)
	cases := []struct {
		args   []string
		code   int
		stderr string // exact when it ends in a newline, else a substring
	}{
		{[]string{"--config", dir, "getconf", "-confKey", "no.such.key"}, exitToolError, "Configuration no.such.key is missing.\n"},
		{[]string{"--config", dir, "getconf", "-confKey"}, exitToolError, "usage: -confKey [key]\n"},
		{[]string{"--config", dir, "getconf", "-confKey", "a", "b"}, exitToolError, "usage: -confKey [key]\n"},
		{[]string{"--config", dir, "getconf", "-namenodes", "extra"}, exitToolError, "Did not expect argument: extra\n"},
		{[]string{"--config", dir, "getconf", "-bogus"}, exitToolError, "getconf: unknown command -bogus"},
		{[]string{"--config", dir, "getconf"}, exitToolError, "Usage: hdfs [OPTIONS] getconf"},
		{[]string{"--config", dir, "getconf", "-D"}, exitToolError, "Generic options supported are"},
		{[]string{"--config", dir, "getconf", "-secondaryNameNodes"}, exitToolError,
			"Incorrect configuration: secondary namenode address dfs.namenode.secondary.http-address is not configured.\n"},
		// No configuration at all: no NameNode to report.
		{[]string{"getconf", "-namenodes"}, exitToolError,
			"Incorrect configuration: namenode address dfs.namenode.servicerpc-address or dfs.namenode.rpc-address is not configured."},
		{[]string{"getconf", "-nnRpcAddresses"}, exitToolError, "is not configured."},
		{[]string{"--config", dir, "getconf", "-D", "dfs.internal.nameservices=elsewhere", "-namenodes"}, exitToolError, "Unknown nameservice: elsewhere\n"},
		{[]string{"--config", dir, "getconf", "-D", "dfs.namenode.shared.edits.dir=qjournal://a:1;a:1/j", "-journalNodes"}, exitToolError, "dfs.namenode.shared.edits.dir: "},
	}
	for _, c := range cases {
		r := runHDFS(t, nil, c.args...)
		okErr := strings.Contains(r.stderr, c.stderr)
		if strings.HasSuffix(c.stderr, "\n") {
			okErr = r.stderr == c.stderr
		}
		if r.code != c.code || r.stdout != "" || !okErr {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d, stderr %q", c.args, r.code, r.stdout, r.stderr, c.code, c.stderr)
		}
	}
}

func TestGetconfBadXMLNamesTheFile(t *testing.T) {
	dir := writeConfDir(t, prop("fs.defaultFS", "hdfs://mycluster"), "")
	bad := filepath.Join(dir, "hdfs-site.xml")
	if err := os.WriteFile(bad, []byte("<configuration><property><name>x</name>\n<value>1</valu></property></configuration>"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runHDFS(t, nil, "--config", dir, "getconf", "-confKey", "x")
	if r.code != exitShellError || r.stdout != "" || !strings.Contains(r.stderr, bad) || !strings.HasPrefix(r.stderr, "getconf: ") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 and an error naming %s", r.code, r.stdout, r.stderr, bad)
	}

	// A broken -conf file is named too.
	good := haConfDir(t)
	r = runHDFS(t, nil, "--config", good, "getconf", "-conf", bad, "-confKey", "x")
	if r.code != exitShellError || !strings.Contains(r.stderr, bad) {
		t.Fatalf("-conf: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestGetconfWithoutNameservices(t *testing.T) {
	dir := writeConfDir(t, prop("fs.defaultFS", "hdfs://single.example.com:9000"), "")
	runHDFS(t, nil, "--config", dir, "getconf", "-namenodes").want(t, 0, "single.example.com\n")
	runHDFS(t, nil, "--config", dir, "getconf", "-nnRpcAddresses").want(t, 0, "single.example.com:9000\n")
	// Hadoop's default secondary address, and no JournalNodes.
	runHDFS(t, nil, "--config", dir, "getconf", "-secondaryNameNodes").want(t, 0, "0.0.0.0\n")
	runHDFS(t, nil, "--config", dir, "getconf", "-journalNodes").want(t, 0, "\n")
}

func TestGetconfSharedEditsPerNameservice(t *testing.T) {
	dir := writeConfDir(t, "",
		prop("dfs.nameservices", "ns1,ns2")+
			prop("dfs.ha.namenodes.ns1", "a,b")+
			prop("dfs.ha.namenodes.ns2", "c,d")+
			prop("dfs.namenode.rpc-address.ns1.a", "a.example.com:8020")+
			prop("dfs.namenode.rpc-address.ns1.b", "b.example.com:8020")+
			prop("dfs.namenode.rpc-address.ns2.c", "c.example.com:8020")+
			prop("dfs.namenode.rpc-address.ns2.d", "d.example.com:8020")+
			prop("dfs.namenode.shared.edits.dir.ns1", "qjournal://j1.example.com:8485;j2.example.com:8485;j3.example.com:8485/ns1")+
			prop("dfs.namenode.shared.edits.dir.ns2.c", "qjournal://j3.example.com:8485;j4.example.com:8485;j5.example.com:8485/ns2"))
	runHDFS(t, nil, "--config", dir, "getconf", "-journalNodes").
		want(t, 0, "j1.example.com j2.example.com j3.example.com j4.example.com j5.example.com\n")
	runHDFS(t, nil, "--config", dir, "getconf", "-namenodes").
		want(t, 0, "a.example.com b.example.com c.example.com d.example.com\n")
	runHDFS(t, nil, "--config", dir, "getconf", "-D", "dfs.internal.nameservices=ns2", "-namenodes").
		want(t, 0, "c.example.com d.example.com\n")
}

// TestGetconfOnTestClusterLayout closes the loop with the harness: the files it writes for
// process-level tests describe the cluster it laid out.
func TestGetconfOnTestClusterLayout(t *testing.T) {
	ha := testcluster.NewHA(t, testcluster.HAOptions{})
	var rpc []string
	for _, nn := range ha.NameNodes {
		rpc = append(rpc, nn.RPCAddress+"\n")
	}
	runHDFS(t, nil, "--config", ha.ConfDir, "getconf", "-nnRpcAddresses").want(t, 0, strings.Join(rpc, ""))
	runHDFS(t, nil, "--config", ha.ConfDir, "getconf", "-namenodes").want(t, 0, "127.0.0.1 127.0.0.1\n")
	// Hadoop lists distinct JournalNode hosts.
	runHDFS(t, nil, "--config", ha.ConfDir, "getconf", "-journalNodes").want(t, 0, "127.0.0.1\n")
	runHDFS(t, nil, "--config", ha.ConfDir, "getconf", "-confKey", "dfs.namenode.shared.edits.dir").want(t, 0, ha.SharedEditsDir+"\n")
	runHDFS(t, nil, "--config", ha.NameNodes[1].ConfDir, "getconf", "-confKey", "dfs.ha.namenode.id").want(t, 0, "nn2\n")
}

func TestGetconfHelp(t *testing.T) {
	for _, h := range []string{"-h", "-help", "--help"} {
		r := runHDFS(t, nil, "getconf", h)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("getconf %s: exit %d, stderr %q", h, r.code, r.stderr)
		}
		for _, op := range []string{"[-namenodes]", "[-secondaryNameNodes]", "[-journalNodes]", "[-includeFile]", "[-excludeFile]", "[-nnRpcAddresses]", "[-confKey [key]]", "-D <property=value>"} {
			if !strings.Contains(r.stdout, op) {
				t.Errorf("getconf %s: usage lacks %q", h, op)
			}
		}
	}
}

func writeBroken(t *testing.T, dir string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "hdfs-site.xml"), []byte("<configuration><property>"), 0o644); err != nil {
		t.Fatal(err)
	}
}
