package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/minicluster"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

func TestChmodModes(t *testing.T) {
	for _, c := range []struct {
		mode     string
		existing uint32
		dir      bool
		want     uint32
	}{
		{"755", 0o644, false, 0o755},
		{"755", 0o1644, true, 0o1755}, // three digits keep the sticky bit
		{"0755", 0o1644, true, 0o755},
		{"1777", 0o755, true, 0o1777},
		{"+755", 0o600, false, 0o755},
		{"u+x", 0o644, false, 0o744},
		{"g-w,o=r", 0o777, false, 0o754},
		{"a+rwx", 0o600, false, 0o777},
		{"+rwx", 0o600, false, 0o777},
		{"+t", 0o755, true, 0o1755},
		{"-t", 0o1755, true, 0o755},
		{"a+X", 0o644, false, 0o644}, // X: not on a file without x
		{"a+X", 0o744, false, 0o755},
		{"a+X", 0o644, true, 0o755},
		{"u+r,u+w", 0o444, false, 0o644}, // Hadoop: the later clause about u replaces the earlier
		{" u+w , g+w ", 0o444, false, 0o664},
	} {
		spec, err := parseChmodMode(c.mode)
		if err != nil {
			t.Fatalf("%q: %v", c.mode, err)
		}
		if got := spec.apply(c.existing, c.dir); got != c.want {
			t.Errorf("%q on %o (dir %v) = %o, want %o", c.mode, c.existing, c.dir, got, c.want)
		}
	}
	for _, bad := range []string{"", "abc", "u+q", "8755", "75", "27777", "u+x g+w", "o=", "2755"} {
		if _, err := parseChmodMode(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// fakeClock advances by step on every reading.
type fakeClock struct {
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time {
	c.t = c.t.Add(c.step)
	return c.t
}

func TestProgressWriter(t *testing.T) {
	var data, out bytes.Buffer
	clk := &fakeClock{t: time.Unix(1000, 0), step: 100 * time.Millisecond}
	p := newProgressWriter(&data, &out, "/d/f", clk.now)
	chunk := make([]byte, 512*1024)
	for range 10 {
		if _, err := p.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	p.finish()
	if data.Len() != 10*len(chunk) {
		t.Fatalf("copied %d bytes", data.Len())
	}
	// 100 ms per write: the line is drawn on every third write (at most every 250 ms),
	// then once more at the end.
	want := "\r/d/f: 1.5 MB copied, 5 MB/s" +
		"\r/d/f: 3 MB copied, 5 MB/s  " + // blanks what the longer line left
		"\r/d/f: 4.5 MB copied, 5 MB/s" +
		"\r/d/f: 5 MB copied, 4.5 MB/s\n"
	if out.String() != want {
		t.Fatalf("progress %q\nwant     %q", out.String(), want)
	}

	// A copy faster than one interval draws nothing.
	out.Reset()
	p = newProgressWriter(&data, &out, "x", (&fakeClock{step: time.Millisecond}).now)
	_, _ = p.Write(chunk)
	p.finish()
	if out.Len() != 0 {
		t.Fatalf("short copy drew %q", out.String())
	}
	if isTerminal(&out) {
		t.Fatal("a buffer is a terminal")
	}
}

// TestDfsManageCommands runs -mv, -cp, -rmdir, -count, -du, -df, -chmod, -chown and
// -chgrp in-process against a mini cluster, with Hadoop's output and exit statuses.
func TestDfsManageCommands(t *testing.T) {
	testcluster.CheckLeaks(t)
	mc := minicluster.Start(t, minicluster.Options{DataNodes: 2, Replication: 2})
	su := mc.User()
	run := func(user string, args ...string) result {
		t.Helper()
		env := map[string]string{"HADOOP_USER_NAME": user}
		return runHDFS(t, env, append([]string{"dfs", "-D", "fs.defaultFS=" + mc.URI(), "-D", "dfs.client.socket-timeout=10000", "-D", "dfs.replication=2"}, args...)...)
	}
	dfs := func(args ...string) result { t.Helper(); return run(su, args...) }
	wantErr := func(r result, code int, stderr string) {
		t.Helper()
		if r.code != code || r.stderr != stderr {
			t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stderr %q", r.code, r.stdout, r.stderr, code, stderr)
		}
	}
	stat := func(p string) *hdfspb.HdfsFileStatusProto {
		t.Helper()
		resp := &hdfspb.GetFileInfoResponseProto{}
		if err := mc.CallActive("getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String(p)}, resp); err != nil {
			t.Fatal(err)
		}
		return resp.GetFs()
	}
	local := t.TempDir()
	put := func(name, body, dst string) {
		t.Helper()
		src := filepath.Join(local, name)
		if err := os.WriteFile(src, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		dfs("-put", src, dst).want(t, 0, "")
	}

	dfs("-mkdir", "-p", "/a/sub", "/b", "/empty").want(t, 0, "")
	put("f1", "hello\n", "/a/f1")                 // 6 bytes
	put("f2", "0123456789", "/a/sub/f2")          // 10 bytes
	put("f3", strings.Repeat("x", 2000), "/b/f3") // 2000 bytes

	// -count and -du: sizes, disk space with replication 2, headers, -h, -q.
	dfs("-count", "/a", "/b/f3").want(t, 0,
		"           2            2                 16 /a\n"+
			"           0            1               2000 /b/f3\n")
	dfs("-count", "-q", "-h", "-v", "/b").want(t, 0,
		"       QUOTA       REM_QUOTA     SPACE_QUOTA REM_SPACE_QUOTA    DIR_COUNT   FILE_COUNT       CONTENT_SIZE PATHNAME\n"+
			"        none             inf            none             inf            1            1              2.0 K /b\n")
	dfs("-count", "-v", "-u", "/b").want(t, 0,
		"       QUOTA       REM_QUOTA     SPACE_QUOTA REM_SPACE_QUOTA PATHNAME\n"+
			"        none             inf            none             inf /b\n")
	wantErr(dfs("-count", "/nope"), 1, "count: `/nope': No such file or directory\n")
	wantErr(dfs("-count"), 255, "-count: Not enough arguments: expected 1 but got 0\n"+
		"Usage: hadoop fs [generic options] -count [-q] [-h] [-v] [-u] <path> ...\n")
	dfs("-du", "/a").want(t, 0, "6   12  /a/f1\n10  20  /a/sub\n")
	dfs("-du", "-s", "-h", "/a", "/b").want(t, 0, "16     32     /a\n2.0 K  3.9 K  /b\n")
	dfs("-du", "-v", "-s", "/b").want(t, 0,
		"SIZE  DISK_SPACE_CONSUMED_WITH_ALL_REPLICAS  FULL_PATH_NAME\n"+
			"2000  4000                                   /b\n")
	dfs("-du", "/empty").want(t, 0, "")
	dfs("-du", "-s", "/[ab]").want(t, 0, "16    32    /a\n2000  4000  /b\n")  // a glob
	wantErr(dfs("-count", "."), 1, "count: `.': No such file or directory\n") // no home directory yet
	wantErr(dfs("-du", "/nope", "/a/f1"), 1, "du: `/nope': No such file or directory\n")
	if r := dfs("-df"); r.code != 0 || !strings.HasPrefix(r.stdout, "Filesystem  ") || !strings.Contains(r.stdout, "\n"+mc.URI()+"  ") || strings.Count(r.stdout, "\n") != 2 {
		t.Fatalf("df: %+v", r)
	}
	if r := dfs("-df", "-h", "/a"); r.code != 0 || !strings.Contains(r.stdout, "%\n") {
		t.Fatalf("df -h: %+v", r)
	}

	// -mv: into a directory, to a new name, and the errors.
	dfs("-mv", "/a/f1", "/b").want(t, 0, "")
	if stat("/b/f1") == nil || stat("/a/f1") != nil {
		t.Fatal("mv /a/f1 /b did not move it")
	}
	dfs("-mv", "/b/f1", "/b/g1").want(t, 0, "")
	wantErr(dfs("-mv", "/b/g1", "/b/f3"), 1, "mv: `/b/f3': File exists\n")
	wantErr(dfs("-mv", "/nope", "/b"), 1, "mv: `/nope': No such file or directory\n")
	wantErr(dfs("-mv", "/b/g1", "/nope/x"), 1, "mv: `/nope/x': No such file or directory\n")
	wantErr(dfs("-mv", "/b/g1", "/b/f3", "/nope"), 1, "mv: `/nope': No such file or directory\n")
	wantErr(dfs("-mv", "/b/g1", "/b/f3", "/a/sub/f2"), 1, "mv: `/a/sub/f2': Is not a directory\n")
	wantErr(dfs("-mv", "/a", "/a/sub"), 1, "mv: `/a' to `/a/sub/a': is a subdirectory of itself\n")
	wantErr(dfs("-mv", "/b/g1"), 255, "-mv: Not enough arguments: expected 2 but got 1\nUsage: hadoop fs [generic options] -mv <src> ... <dst>\n")

	// -cp: a file, a tree, overwrite, -p.
	dfs("-cp", "/b/g1", "/b/copy").want(t, 0, "")
	dfs("-cat", "/b/copy").want(t, 0, "hello\n")
	wantErr(dfs("-cp", "/b/g1", "/b/copy"), 1, "cp: `/b/copy': File exists\n")
	dfs("-cp", "-f", "/b/f3", "/b/copy").want(t, 0, "")
	if st := stat("/b/copy"); st.GetLength() != 2000 {
		t.Fatalf("cp -f: length %d", st.GetLength())
	}
	dfs("-cp", "/a", "/c").want(t, 0, "")
	dfs("-cat", "/c/sub/f2").want(t, 0, "0123456789")
	dfs("-cp", "/a", "/c").want(t, 0, "") // merges into /c/a
	dfs("-cat", "/c/a/sub/f2").want(t, 0, "0123456789")
	wantErr(dfs("-cp", "/a", "/a/sub"), 1, "cp: `/a' to `/a/sub/a': is a subdirectory of itself\n")
	wantErr(dfs("-cp", "/a/sub", "/a"), 1, "cp: `/a/sub' to `"+mc.URI()+"/a/sub': are identical\n")
	dfs("-chmod", "600", "/b/g1").want(t, 0, "")
	dfs("-cp", "-p", "/b/g1", "/b/kept").want(t, 0, "")
	if src, dst := stat("/b/g1"), stat("/b/kept"); dst.GetPermission().GetPerm() != 0o600 || dst.GetModificationTime() != src.GetModificationTime() {
		t.Fatalf("cp -p: %o %d, source %d", dst.GetPermission().GetPerm(), dst.GetModificationTime(), src.GetModificationTime())
	}
	if r := dfs("-ls", "-R", "/b", "/c"); strings.Contains(r.stdout, "_COPYING_") {
		t.Fatalf("a temporary file is left: %s", r.stdout)
	}

	// -rmdir.
	dfs("-rmdir", "/empty").want(t, 0, "")
	wantErr(dfs("-rmdir", "/empty"), 1, "rmdir: `/empty': No such file or directory\n")
	wantErr(dfs("-rmdir", "/b"), 1, "rmdir: `/b': Directory is not empty\n")
	wantErr(dfs("-rmdir", "/b/g1"), 1, "rmdir: `/b/g1': Is not a directory\n")
	dfs("-rmdir", "--ignore-fail-on-non-empty", "/b").want(t, 0, "")

	// -chmod, -chown, -chgrp, -R, and a denial for another user.
	dfs("-chmod", "-R", "go-rx", "/c").want(t, 0, "")
	for _, p := range []string{"/c", "/c/sub", "/c/sub/f2", "/c/a/sub/f2"} {
		if perm := stat(p).GetPermission().GetPerm(); perm&0o055 != 0 {
			t.Fatalf("chmod -R: %s is %o", p, perm)
		}
	}
	dfs("-chmod", "1777", "/c").want(t, 0, "")
	if perm := stat("/c").GetPermission().GetPerm(); perm != 0o1777 {
		t.Fatalf("chmod 1777: %o", perm)
	}
	wantErr(dfs("-chmod", "u+q", "/c"), 255, "-chmod: chmod : mode 'u+q' does not match the expected pattern.\n"+
		"Usage: hadoop fs [generic options] -chmod [-R] <MODE[,MODE]... | OCTALMODE> PATH...\n")
	wantErr(dfs("-chmod", "755", "/nope"), 1, "chmod: `/nope': No such file or directory\n")
	dfs("-chown", "-R", "alice:staff", "/c/sub").want(t, 0, "")
	for _, p := range []string{"/c/sub", "/c/sub/f2"} {
		if st := stat(p); st.GetOwner() != "alice" || st.GetGroup() != "staff" {
			t.Fatalf("chown -R: %s is %s:%s", p, st.GetOwner(), st.GetGroup())
		}
	}
	dfs("-chgrp", "wheel", "/c/sub/f2").want(t, 0, "")
	if st := stat("/c/sub/f2"); st.GetOwner() != "alice" || st.GetGroup() != "wheel" {
		t.Fatalf("chgrp: %s:%s", st.GetOwner(), st.GetGroup())
	}
	wantErr(dfs("-chown", "a:b:c", "/c"), 255, "-chown: 'a:b:c' does not match expected pattern for [owner][:group].\n"+
		"Usage: hadoop fs [generic options] -chown [-R] [OWNER][:[GROUP]] PATH...\n")
	wantErr(dfs("-chgrp", "a:b", "/c"), 255, "-chgrp: 'a:b' does not match expected pattern for group\n"+
		"Usage: hadoop fs [generic options] -chgrp [-R] GROUP PATH...\n")
	// alice owns /c/sub but not /c.
	run("alice", "-chmod", "700", "/c/sub").want(t, 0, "")
	r := run("alice", "-chmod", "700", "/c")
	wantErr(r, 1, "chmod: changing permissions of '/c': Permission denied. user=alice is not the owner of inode=/c\n")
	r = run("alice", "-chown", "bob", "/c/sub")
	wantErr(r, 1, "chown: changing ownership of '/c/sub': User alice is not a super user (non-super user cannot change owner).\n")
	// The sticky bit of /c keeps alice from moving root's /c/a; no WRITE on /b keeps her
	// from moving /b/kept.
	r = run("alice", "-mv", "/c/a", "/c/sub/a")
	wantErr(r, 1, "mv: Permission denied by sticky bit: user=alice, path=\"/c/a\":"+su+":supergroup:drwx------, parent=\"/c\":"+su+":supergroup:drwxrwxrwt\n")
	r = run("alice", "-mv", "/b/kept", "/c/sub/kept")
	wantErr(r, 1, "mv: Permission denied: user=alice, access=WRITE, inode=\"/b\":"+su+":supergroup:drwxr-xr-x\n")
}
