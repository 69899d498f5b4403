package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/minicluster"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// TestDfsInspectCommands runs -stat, -test, -head, -tail, -getmerge, -appendToFile,
// -touchz, -touch, -truncate, -setrep and -checksum in-process against a mini cluster,
// with Hadoop's output, messages and exit statuses.
func TestDfsInspectCommands(t *testing.T) {
	testcluster.CheckLeaks(t)
	mc := minicluster.Start(t, minicluster.Options{DataNodes: 2, Replication: 1})
	env := map[string]string{"HADOOP_USER_NAME": mc.User()}
	base := []string{"dfs", "-D", "fs.defaultFS=" + mc.URI(), "-D", "dfs.client.socket-timeout=10000",
		"-D", "dfs.replication=1", "-D", "dfs.blocksize=1048576"}
	dfs := func(args ...string) result {
		t.Helper()
		return runHDFS(t, env, append(base, args...)...)
	}
	dfsIn := func(stdin string, args ...string) result {
		t.Helper()
		var out, errb lockedBuffer
		code := runIO(t.Context(), &appEnv{}, env, stdin, &out, &errb, nil, append(base, args...)...)
		return result{code: code, stdout: out.String(), stderr: errb.String()}
	}
	wantErr := func(r result, stderr string) {
		t.Helper()
		if r.code != 1 || r.stdout != "" || r.stderr != stderr {
			t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1, %q", r.code, r.stdout, r.stderr, stderr)
		}
	}
	wantUsage := func(r result, stderr string) {
		t.Helper()
		if r.code != 255 || r.stderr != stderr {
			t.Fatalf("exit %d, stderr %q; want exit 255, %q", r.code, r.stderr, stderr)
		}
	}
	fileInfo := func(p string) *hdfspb.HdfsFileStatusProto {
		t.Helper()
		resp := &hdfspb.GetFileInfoResponseProto{}
		if err := mc.CallActive("getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String(p)}, resp); err != nil || resp.GetFs() == nil {
			t.Fatalf("getFileInfo %s: %v", p, err)
		}
		return resp.GetFs()
	}
	local := t.TempDir()
	writeLocal := func(name, body string) string {
		t.Helper()
		p := filepath.Join(local, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := strings.Repeat("0123456789abcdef", 200) // 3200 bytes
	bigSrc := writeLocal("big", big)
	one, two := writeLocal("one", "one\n"), writeLocal("two", "two\n")

	dfs("-mkdir", "-p", "/d").want(t, 0, "")

	// -appendToFile creates a missing file, appends to an existing one, reads "-" as stdin.
	dfs("-appendToFile", one, "/d/f").want(t, 0, "")
	dfs("-appendToFile", two, one, "/d/f").want(t, 0, "")
	dfsIn("stdin\n", "-appendToFile", "-", "/d/f").want(t, 0, "")
	dfs("-cat", "/d/f").want(t, 0, "one\ntwo\none\nstdin\n")
	wantErr(dfs("-appendToFile", one, "/d"), "appendToFile: `/d': Is a directory\n")
	wantErr(dfs("-appendToFile", "/d/f"), "appendToFile: missing destination argument\n")
	if r := dfs("-appendToFile", filepath.Join(local, "missing"), one, "/d/g"); r.code != 1 ||
		r.stderr != "appendToFile: `"+filepath.Join(local, "missing")+"': No such file or directory\n" {
		t.Fatalf("appendToFile of a missing local file: %+v", r)
	}
	dfs("-cat", "/d/g").want(t, 0, "one\n")
	dfs("-appendToFile", bigSrc, "/d/big").want(t, 0, "")

	// -stat: every format letter, the default %y, several paths, errors.
	st := fileInfo("/d/f")
	mtime := time.UnixMilli(int64(st.GetModificationTime())).UTC().Format("2006-01-02 15:04:05")
	dfs("-stat", "/d/f").want(t, 0, mtime+"\n")
	want := "regular file|18|1|" + strconv.FormatUint(st.GetBlocksize(), 10) + "|" + st.GetOwner() + "|" + st.GetGroup() +
		"|f|644|rw-r--r--|" + strconv.FormatUint(st.GetModificationTime(), 10) + "|" + mtime + "|q\n"
	dfs("-stat", "%F|%b|%r|%o|%u|%g|%n|%a|%A|%Y|%y|%q", "/d/f").want(t, 0, want)
	dfs("-stat", "%F %n %b", "/d", "/d/g").want(t, 0, "directory d 0\nregular file g 4\n")
	r := dfs("-stat", "%n", "/nope", "/d/g")
	if r.code != 1 || r.stdout != "g\n" || r.stderr != "stat: `/nope': No such file or directory\n" {
		t.Fatalf("stat of a missing path: %+v", r)
	}
	wantUsage(dfs("-stat"), "-stat: Not enough arguments: expected 1 but got 0\nUsage: hadoop fs [generic options] -stat [format] <path> ...\n")

	// -test: an exit status and no output.
	for _, c := range []struct {
		flag, path string
		code       int
	}{
		{"-e", "/d/f", 0}, {"-e", "/nope", 1}, {"-d", "/d", 0}, {"-d", "/d/f", 1}, {"-f", "/d/f", 0},
		{"-f", "/d", 1}, {"-s", "/d/f", 0}, {"-z", "/d/f", 1}, {"-d", "/nope", 1}, {"-r", "/d/f", 0}, {"-w", "/d/f", 0},
	} {
		dfs("-test", c.flag, c.path).want(t, c.code, "")
		if r := dfs("-test", c.flag, c.path); r.stderr != "" {
			t.Fatalf("-test %s %s wrote %q", c.flag, c.path, r.stderr)
		}
	}
	testUsage := "Usage: hadoop fs [generic options] -test -[defswrz] <path>\n"
	wantUsage(dfs("-test", "/d"), "-test: No test flag given\n"+testUsage)
	wantUsage(dfs("-test", "-e", "-d", "/d"), "-test: Only one test flag is allowed\n"+testUsage)
	wantUsage(dfs("-test", "-x", "/d"), "-test: Illegal option -x\n"+testUsage)
	wantUsage(dfs("-test", "-e", "/d", "/d/f"), "-test: Too many arguments: expected 1 but got 2\n"+testUsage)

	// -head and -tail: the first and last KiB.
	dfs("-head", "/d/big").want(t, 0, big[:1024])
	dfs("-tail", "/d/big").want(t, 0, big[len(big)-1024:])
	dfs("-head", "/d/g").want(t, 0, "one\n")
	dfs("-tail", "/d/g").want(t, 0, "one\n")
	wantErr(dfs("-head", "/d"), "head: `/d': Is a directory\n")
	wantErr(dfs("-tail", "/nope"), "tail: `/nope': No such file or directory\n")
	wantUsage(dfs("-head"), "-head: Not enough arguments: expected 1 but got 0\nUsage: hadoop fs [generic options] -head <file>\n")
	wantUsage(dfs("-tail", "-x", "/d/g"), "-tail: Illegal option -x\nUsage: hadoop fs [generic options] -tail [-f] [-s <sleep interval>] <file>\n")

	// -touchz: empty files only.
	dfs("-touchz", "/d/z", "z2").want(t, 1, "")
	if fileInfo("/d/z").GetLength() != 0 {
		t.Fatal("touchz wrote data")
	}
	wantErr(dfs("-touchz", "/d/f"), "touchz: `/d/f': Not a zero-length file\n")
	wantErr(dfs("-touchz", "/d"), "touchz: `/d': Is a directory\n")
	wantErr(dfs("-touchz", "/nope/x"), "touchz: `/nope/x': No such file or directory\n")
	dfs("-touchz", "/d/z").want(t, 0, "")
	dfs("-test", "-z", "/d/z").want(t, 0, "")

	// -getmerge: files and a directory's files, -nl, -skip-empty-file.
	merged := filepath.Join(local, "merged")
	dfs("-getmerge", "/d/f", "/d/g", merged).want(t, 0, "")
	if b, _ := os.ReadFile(merged); string(b) != "one\ntwo\none\nstdin\none\n" {
		t.Fatalf("getmerge wrote %q", b)
	}
	dfs("-mkdir", "/m").want(t, 0, "")
	dfs("-appendToFile", one, "/m/a").want(t, 0, "")
	dfs("-touchz", "/m/b").want(t, 0, "")
	dfs("-appendToFile", two, "/m/c").want(t, 0, "")
	dfs("-mkdir", "/m/sub").want(t, 0, "")
	dfs("-getmerge", "-nl", "/m", merged).want(t, 0, "")
	if b, _ := os.ReadFile(merged); string(b) != "one\n\n\ntwo\n\n" {
		t.Fatalf("getmerge -nl wrote %q", b)
	}
	dfs("-getmerge", "-nl", "-skip-empty-file", "/m/*", merged).want(t, 0, "")
	if b, _ := os.ReadFile(merged); string(b) != "one\n\ntwo\n\n" {
		t.Fatalf("getmerge -nl -skip-empty-file wrote %q", b)
	}
	wantErr(dfs("-getmerge", "/m", local), "getmerge: `"+local+"': Is a directory\n")
	wantErr(dfs("-getmerge", "/nope", merged), "getmerge: `/nope': No such file or directory\n")
	wantUsage(dfs("-getmerge", "/m"), "-getmerge: Not enough arguments: expected 2 but got 1\nUsage: hadoop fs [generic options] -getmerge [-nl] [-skip-empty-file] <src> <localdst>\n")

	// -touch: times now or from -t, -a/-m alone, -c creates nothing.
	ts := time.Date(2020, 1, 2, 3, 4, 5, 0, time.Local).UnixMilli()
	dfs("-touch", "-t", "20200102:030405", "/d/t").want(t, 0, "")
	if st := fileInfo("/d/t"); int64(st.GetModificationTime()) != ts || int64(st.GetAccessTime()) != ts {
		t.Fatalf("touch -t: mtime %d atime %d, want %d", st.GetModificationTime(), st.GetAccessTime(), ts)
	}
	dfs("-touch", "-a", "-t", "20210102:030405", "/d/t").want(t, 0, "")
	ts2 := time.Date(2021, 1, 2, 3, 4, 5, 0, time.Local).UnixMilli()
	if st := fileInfo("/d/t"); int64(st.GetModificationTime()) != ts || int64(st.GetAccessTime()) != ts2 {
		t.Fatalf("touch -a: mtime %d atime %d", st.GetModificationTime(), st.GetAccessTime())
	}
	dfs("-touch", "-m", "/d/t").want(t, 0, "")
	if st := fileInfo("/d/t"); int64(st.GetModificationTime()) == ts || int64(st.GetAccessTime()) != ts2 {
		t.Fatalf("touch -m: mtime %d atime %d", st.GetModificationTime(), st.GetAccessTime())
	}
	dfs("-touch", "-c", "/d/none").want(t, 0, "")
	dfs("-test", "-e", "/d/none").want(t, 1, "")
	wantErr(dfs("-touch", "/d"), "touch: `/d': Is a directory\n")
	touchUsage := "Usage: hadoop fs [generic options] -touch [-a] [-m] [-t TIMESTAMP (yyyyMMdd:HHmmss) ] [-c] <path> ...\n"
	wantUsage(dfs("-touch", "-t", "yesterday", "/d/t"), "-touch: Unable to parse the specified timestamp yesterday. The expected format is yyyyMMdd:HHmmss\n"+touchUsage)

	// -setrep: files, a directory's files recursively, -w, bad numbers.
	dfs("-setrep", "1", "/d/f").want(t, 0, "Replication 1 set: /d/f\n")
	dfs("-setrep", "-w", "1", "/m").want(t, 0, "Replication 1 set: /m/a\nReplication 1 set: /m/b\nReplication 1 set: /m/c\n"+
		"Waiting for /m/a ... done\nWaiting for /m/b ... done\nWaiting for /m/c ... done\n")
	wantErr(dfs("-setrep", "1", "/nope"), "setrep: `/nope': No such file or directory\n")
	setrepUsage := "Usage: hadoop fs [generic options] -setrep [-R] [-w] <rep> <path> ...\n"
	wantUsage(dfs("-setrep", "x", "/d/f"), "setrep: Illegal replication, a positive integer expected\n-setrep: For input string: \"x\"\n"+setrepUsage)
	wantUsage(dfs("-setrep", "0", "/d/f"), "-setrep: replication must be >= 1\n"+setrepUsage)

	// -checksum: Hadoop's algorithm name and the serialized checksum in hex.
	r = dfs("-checksum", "/d/f", "/d/big")
	line := `\tMD5-of-0MD5-of-512CRC32C\t000002000000000000000000[0-9a-f]{32}\n`
	if r.code != 0 || !regexp.MustCompile("^/d/f"+line+"/d/big"+line+"$").MatchString(r.stdout) {
		t.Fatalf("checksum: %+v", r)
	}
	r = dfs("-checksum", "-v", "/d/f")
	if r.code != 0 || !strings.HasSuffix(r.stdout, "\tBlockSize="+strconv.FormatUint(st.GetBlocksize(), 10)+"\n") {
		t.Fatalf("checksum -v: %+v", r)
	}
	wantErr(dfs("-checksum", "/d"), "checksum: `/d': Is a directory\n")

	// -truncate: on a block boundary at once; inside a block after recovery (-w).
	dfs("-truncate", "0", "/d/g").want(t, 0, "Truncated /d/g to length: 0\n")
	dfs("-truncate", "-w", "100", "/d/big").want(t, 0, "Waiting for /d/big ...\nTruncated /d/big to length: 100\n")
	dfs("-cat", "/d/big").want(t, 0, big[:100])
	truncUsage := "Usage: hadoop fs [generic options] -truncate [-w] <length> <path> ...\n"
	wantUsage(dfs("-truncate", "5000", "/d/big"), "-truncate: Cannot truncate to a larger file size. Current size: 100, truncate size: 5000.\n"+truncUsage)
	wantUsage(dfs("-truncate", "ten", "/d/big"), "truncate: Illegal length, a non-negative integer expected\n-truncate: For input string: \"ten\"\n"+truncUsage)
	wantErr(dfs("-truncate", "1", "/d"), "truncate: `/d': Is a directory\n")
	r = dfs("-truncate", "1", "/d/f")
	if r.code != 0 || r.stdout != "Truncating /d/f to length: 1. Wait for block recovery to complete before further updating this file.\n" {
		t.Fatalf("truncate without -w: %+v", r)
	}
}

// TestDfsTailFollow runs -tail -f while data is appended, and stops it by cancelling
// the tool's context (SIGINT).
func TestDfsTailFollow(t *testing.T) {
	testcluster.CheckLeaks(t)
	mc := minicluster.Start(t, minicluster.Options{DataNodes: 1, Replication: 1})
	env := map[string]string{"HADOOP_USER_NAME": mc.User()}
	base := []string{"dfs", "-D", "fs.defaultFS=" + mc.URI(), "-D", "dfs.replication=1"}
	runHDFS(t, env, append(base, "-mkdir", "/d")...).want(t, 0, "")
	var in, inErr lockedBuffer
	if code := runIO(t.Context(), &appEnv{}, env, "first\n", &in, &inErr, nil, append(base, "-appendToFile", "-", "/d/log")...); code != 0 {
		t.Fatalf("appendToFile: %d %s", code, inErr.String())
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- runIO(ctx, &appEnv{}, env, "", &out, &errb, nil, append(base, "-tail", "-f", "-s", "20", "/d/log")...)
	}()
	waitOutput := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second) // a hang guard, not a timing assertion
		for out.String() != want {
			if time.Now().After(deadline) {
				t.Fatalf("tail -f printed %q (stderr %q), want %q", out.String(), errb.String(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitOutput("first\n")
	if code := runIO(t.Context(), &appEnv{}, env, "second\n", &in, &inErr, nil, append(base, "-appendToFile", "-", "/d/log")...); code != 0 {
		t.Fatalf("appendToFile: %d %s", code, inErr.String())
	}
	waitOutput("first\nsecond\n")
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("tail -f exit %d, stderr %q", code, errb.String())
	}
}

func TestStatFormat(t *testing.T) {
	p := &fsPath{display: "x", abs: "/", stat: &hdfspb.HdfsFileStatusProto{
		FileType: hdfspb.HdfsFileStatusProto_IS_DIR.Enum(), Permission: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o1777)},
		ModificationTime: proto.Uint64(0), AccessTime: proto.Uint64(1000),
	}}
	if got := statFormat("%n|%a|%A|%F|%x|%X|%%|%", p); got != "|1777|rwxrwxrwt|directory|1970-01-01 00:00:01|1000|%|" {
		t.Fatalf("statFormat: %q", got)
	}
}

func TestReplicationReached(t *testing.T) {
	for _, c := range []struct {
		counts           []int
		rep              int
		done, decreasing bool
	}{
		{nil, 3, true, false},
		{[]int{2, 2}, 2, true, false},
		{[]int{2, 1}, 2, false, false},
		{[]int{3, 2}, 2, false, true},
	} {
		if d, dec := replicationReached(c.counts, c.rep); d != c.done || dec != c.decreasing {
			t.Errorf("replicationReached(%v, %d) = %v, %v", c.counts, c.rep, d, dec)
		}
	}
}
