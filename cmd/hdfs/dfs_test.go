package main

import (
	"context"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/namenode"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// fakeTree is a NameNode that answers getFileInfo and getListing from a fixed tree, two
// entries a page, so -ls output can be checked byte for byte, paging included.
type fakeTree struct {
	stats map[string]*hdfspb.HdfsFileStatusProto
	calls []string // getListing startAfter values, in order
}

func (f *fakeTree) add(p string, dir bool, perm uint32, owner, group string, length uint64, repl uint32, mtime time.Time, flags uint32) {
	typ := hdfspb.HdfsFileStatusProto_IS_FILE
	if dir {
		typ = hdfspb.HdfsFileStatusProto_IS_DIR
	}
	f.stats[p] = &hdfspb.HdfsFileStatusProto{
		FileType: typ.Enum(), Path: []byte{}, Length: proto.Uint64(length),
		Permission: &hdfspb.FsPermissionProto{Perm: proto.Uint32(perm)},
		Owner:      proto.String(owner), Group: proto.String(group),
		ModificationTime: proto.Uint64(uint64(mtime.UnixMilli())), AccessTime: proto.Uint64(0),
		BlockReplication: proto.Uint32(repl), Flags: proto.Uint32(flags),
	}
}

func (f *fakeTree) serve(t *testing.T) string {
	srv, err := rpc.NewServer(rpc.DefaultServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv.Register(client.ClientProtocol,
		rpc.Unary("getFileInfo", func(_ context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
			return &hdfspb.GetFileInfoResponseProto{Fs: f.stats[req.GetSrc()]}, nil
		}),
		rpc.Unary("getListing", func(_ context.Context, req *hdfspb.GetListingRequestProto) (*hdfspb.GetListingResponseProto, error) {
			f.calls = append(f.calls, req.GetSrc()+"@"+string(req.GetStartAfter()))
			if f.stats[req.GetSrc()] == nil {
				return &hdfspb.GetListingResponseProto{}, nil
			}
			var names []string
			for p := range f.stats {
				if p != "/" && path.Dir(p) == req.GetSrc() && path.Base(p) > string(req.GetStartAfter()) {
					names = append(names, path.Base(p))
				}
			}
			slices.Sort(names)
			page := names[:min(2, len(names))]
			dl := &hdfspb.DirectoryListingProto{RemainingEntries: proto.Uint32(uint32(len(names) - len(page)))}
			for _, n := range page {
				st := proto.Clone(f.stats[path.Join(req.GetSrc(), n)]).(*hdfspb.HdfsFileStatusProto)
				st.Path = []byte(n)
				dl.PartialListing = append(dl.PartialListing, st)
			}
			return &hdfspb.GetListingResponseProto{DirList: dl}, nil
		}))
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve() }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return srv.Addr().String()
}

func TestDfsLsFormat(t *testing.T) {
	testcluster.CheckLeaks(t)
	t1 := time.Date(2024, 1, 1, 12, 0, 0, 0, time.Local)
	t2 := time.Date(2024, 3, 9, 8, 5, 0, 0, time.Local)
	f := &fakeTree{stats: map[string]*hdfspb.HdfsFileStatusProto{}}
	f.add("/", true, 0o755, "hdfs", "supergroup", 0, 0, t1, 0)
	f.add("/user", true, 0o755, "hdfs", "supergroup", 0, 0, t1, 0)
	f.add("/user/hadoop", true, 0o755, "hadoop", "supergroup", 0, 0, t1, 0)
	f.add("/user/hadoop/a", true, 0o700, "hadoop", "supergroup", 0, 0, t2, 0)
	f.add("/user/hadoop/b.txt", false, 0o644, "hadoop", "supergroup", 12345678901, 3, t2, 0)
	f.add("/user/hadoop/c", true, 0o775, "a-very-long-owner", "g", 0, 0, t2, uint32(hdfspb.HdfsFileStatusProto_HAS_ACL))
	f.add("/user/hadoop/a/x", true, 0o1777, "hadoop", "supergroup", 0, 0, t2, 0)
	f.add("/user/hadoop/a/y", true, 0o1776, "hadoop", "supergroup", 0, 0, t2, 0)
	f.add("/tmp", true, 0o1777, "hdfs", "supergroup", 0, 0, t1, 0)
	addr := f.serve(t)
	env := map[string]string{"HADOOP_USER_NAME": "hadoop"}
	fs := "hdfs://" + addr

	// The example line of the brief, under "Found N items".
	r := runHDFS(t, env, "dfs", "-fs", fs, "-ls", "/user")
	r.want(t, 0, "Found 1 items\n"+
		"drwxr-xr-x   - hadoop supergroup          0 2024-01-01 12:00 /user/hadoop\n")

	// No argument lists the home directory with bare names; widths grow with the owners,
	// a file shows its replication and size, an ACL shows as "+". Three entries take two
	// getListing pages.
	f.calls = nil
	r = runHDFS(t, env, "dfs", "-fs", fs, "-ls")
	r.want(t, 0, "Found 3 items\n"+
		"drwx------   - hadoop            supergroup           0 2024-03-09 08:05 a\n"+
		"-rw-r--r--   3 hadoop            supergroup 12345678901 2024-03-09 08:05 b.txt\n"+
		"drwxrwxr-x+  - a-very-long-owner g                    0 2024-03-09 08:05 c\n")
	if want := []string{"/user/hadoop@", "/user/hadoop@b.txt"}; !slices.Equal(f.calls, want) {
		t.Errorf("getListing calls %q, want %q", f.calls, want)
	}

	// -R: no header, depth first, relative names kept; sticky bits as t and T.
	r = runHDFS(t, env, "dfs", "-fs", fs, "-ls", "-R", "a")
	r.want(t, 0, ""+
		"drwxrwxrwt   - hadoop supergroup          0 2024-03-09 08:05 a/x\n"+
		"drwxrwxrwT   - hadoop supergroup          0 2024-03-09 08:05 a/y\n")

	// -C paths only; -h sizes; -t newest first (a tie keeps name order); -S largest
	// first; -r reverses; -u shows access times.
	r = runHDFS(t, env, "dfs", "-fs", fs, "-ls", "-C", "-r")
	r.want(t, 0, "c\nb.txt\na\n")
	r = runHDFS(t, env, "dfs", "-fs", fs, "-ls", "-h", "b.txt")
	r.want(t, 0, "-rw-r--r--   3 hadoop supergroup      11.5 G 2024-03-09 08:05 b.txt\n") // width from the byte count, as Hadoop

	r = runHDFS(t, env, "dfs", "-fs", fs, "-ls", "-C", "-t", "/")
	r.want(t, 0, "/tmp\n/user\n")
	f.stats["/user"].ModificationTime = proto.Uint64(uint64(t2.UnixMilli()))
	r = runHDFS(t, env, "dfs", "-fs", fs, "-ls", "-C", "-t", "/")
	r.want(t, 0, "/user\n/tmp\n")
	r = runHDFS(t, env, "dfs", "-fs", fs, "-ls", "-C", "-t", "-r", "/")
	r.want(t, 0, "/tmp\n/user\n")
	r = runHDFS(t, env, "dfs", "-fs", fs, "-ls", "-C", "-S")
	r.want(t, 0, "b.txt\na\nc\n")
	f.stats["/user/hadoop/b.txt"].AccessTime = proto.Uint64(uint64(t1.UnixMilli()))
	r = runHDFS(t, env, "dfs", "-fs", fs, "-ls", "-u", "b.txt")
	r.want(t, 0, "-rw-r--r--   3 hadoop supergroup 12345678901 2024-01-01 12:00 b.txt\n")

	// -d lists the directory itself; a file argument is listed as itself; a URI argument
	// keeps its scheme and authority in the names.
	r = runHDFS(t, env, "dfs", "-fs", fs, "-ls", "-d", "/tmp", "b.txt")
	r.want(t, 0, ""+
		"drwxrwxrwt   - hdfs supergroup          0 2024-01-01 12:00 /tmp\n"+
		"-rw-r--r--   3 hadoop supergroup 12345678901 2024-03-09 08:05 b.txt\n")
	r = runHDFS(t, env, "dfs", "-ls", fs+"/user")
	r.want(t, 0, "Found 1 items\n"+
		"drwxr-xr-x   - hadoop supergroup          0 2024-01-01 12:00 "+fs+"/user/hadoop\n")
	r = runHDFS(t, env, "dfs", "-ls", fs)
	if r.code != 0 || !strings.Contains(r.stdout, " "+fs+"/tmp\n") {
		t.Fatalf("ls %s: %d %q %q", fs, r.code, r.stdout, r.stderr)
	}

	// A missing path fails with Hadoop's text; the other arguments are still listed.
	r = runHDFS(t, env, "dfs", "-fs", fs, "-ls", "/nope", "/user")
	if r.code != 1 || r.stderr != "ls: `/nope': No such file or directory\n" || !strings.HasSuffix(r.stdout, " /user/hadoop\n") {
		t.Fatalf("ls /nope /user: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestDfsUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"-ls", "-x", "/"}, "-ls: Illegal option -x\nUsage: hadoop fs [generic options] -ls [-C] [-d] [-h] [-R] [-t] [-S] [-r] [-u] [<path> ...]\n"},
		{[]string{"-ls", "-dR", "/"}, "-ls: Illegal option -dR\nUsage: hadoop fs [generic options] -ls [-C] [-d] [-h] [-R] [-t] [-S] [-r] [-u] [<path> ...]\n"},
		{[]string{"-mkdir"}, "-mkdir: Not enough arguments: expected 1 but got 0\nUsage: hadoop fs [generic options] -mkdir [-p] <path> ...\n"},
		{[]string{"-mkdir", "-p"}, "-mkdir: Not enough arguments: expected 1 but got 0\nUsage: hadoop fs [generic options] -mkdir [-p] <path> ...\n"},
	} {
		r := runHDFS(t, nil, append([]string{"dfs", "-fs", "hdfs://127.0.0.1:1"}, tc.args...)...)
		if r.code != exitToolError || r.stdout != "" || r.stderr != tc.stderr {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want stderr %q", tc.args, r.code, r.stdout, r.stderr, tc.stderr)
		}
	}
	r := runHDFS(t, nil, "dfs", "-fs", "file:///", "-ls", "/")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "ls: ") {
		t.Errorf("ls on file:///: %d %q", r.code, r.stderr)
	}
	r = runHDFS(t, nil, "dfs", "-fs", "hdfs://127.0.0.1:1", "-ls", "s3a://bucket/x")
	if r.code != 1 || r.stderr != "ls: No FileSystem for scheme \"s3a\"\n" {
		t.Errorf("ls s3a://: %d %q", r.code, r.stderr)
	}
}

// startTestNameNode runs a single non-HA NameNode in-process on a fresh directory.
func startTestNameNode(t *testing.T) string {
	t.Helper()
	c := conf.New()
	c.Set("dfs.namenode.name.dir", "file://"+t.TempDir())
	c.Set("dfs.namenode.rpc-address", "127.0.0.1:0")
	c.Set("dfs.namenode.http-address", "")
	cfg, err := namenode.ConfigFromConf(c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = testcluster.Logger(t)
	cfg.Superuser = "hdfs"
	if _, err := namenode.Format(t.Context(), cfg, namenode.FormatOptions{NonInteractive: true, Err: &strings.Builder{}}); err != nil {
		t.Fatal(err)
	}
	nn, err := namenode.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.Start(context.Background()); err != nil {
		_ = nn.Stop()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nn.Stop() })
	return nn.RPCAddress()
}

func TestDfsMkdirAgainstNameNode(t *testing.T) {
	testcluster.CheckLeaks(t)
	fs := "hdfs://" + startTestNameNode(t)
	admin := map[string]string{"HADOOP_USER_NAME": "hdfs"}
	alice := map[string]string{"HADOOP_USER_NAME": "alice"}
	dfs := func(env map[string]string, args ...string) result {
		t.Helper()
		return runHDFS(t, env, append([]string{"dfs", "-D", "fs.defaultFS=" + fs}, args...)...)
	}

	dfs(admin, "-mkdir", "/user").want(t, 0, "")
	dfs(admin, "-mkdir", "/user/alice").want(t, 0, "") // owned by hdfs: alice cannot write
	// Without -p: the parent must exist, and the directory must not.
	r := dfs(admin, "-mkdir", "/a/b/c")
	if r.code != 1 || r.stderr != "mkdir: `/a/b': No such file or directory\n" {
		t.Fatalf("mkdir /a/b/c: %d %q", r.code, r.stderr)
	}
	r = dfs(admin, "-mkdir", "/user")
	if r.code != 1 || r.stderr != "mkdir: `/user': File exists\n" {
		t.Fatalf("mkdir /user: %d %q", r.code, r.stderr)
	}
	// -p creates parents and accepts existing directories; several paths in one go, and
	// one failure does not stop the others.
	dfs(admin, "-mkdir", "-p", "/a/b/c", "/user", "/d/e").want(t, 0, "")
	r = dfs(admin, "-mkdir", "/x/y", "/x", "/x/y")
	if r.code != 1 || r.stderr != "mkdir: `/x': No such file or directory\n" {
		t.Fatalf("mkdir /x/y /x /x/y: %d %q", r.code, r.stderr)
	}
	dfs(admin, "-ls", "-d", "/x/y").want(t, 0, dfs(admin, "-ls", "/x").stdout[len("Found 1 items\n"):])

	// The NameNode's own refusal comes through as the first line of its message.
	r = dfs(alice, "-mkdir", "mine")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "mkdir: Permission denied: user=alice, access=WRITE") {
		t.Fatalf("alice mkdir in a home she does not own: %d %q", r.code, r.stderr)
	}

	// Relative paths land in /user/<user>; ls without a path lists the home, by name.
	dfs(admin, "-mkdir", "-p", "rel/one", "rel/two").want(t, 0, "")
	r = dfs(admin, "-ls", "rel")
	line := regexp.MustCompile(`^drwxr-xr-x   - hdfs supergroup          0 \d{4}-\d\d-\d\d \d\d:\d\d rel/(one|two)$`)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 3 || lines[0] != "Found 2 items" || !line.MatchString(lines[1]) || !line.MatchString(lines[2]) ||
		!strings.HasSuffix(lines[1], "rel/one") {
		t.Fatalf("ls rel: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = dfs(admin, "-ls")
	if r.code != 0 || !strings.HasSuffix(r.stdout, " rel\n") {
		t.Fatalf("ls: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = dfs(admin, "-ls", "/user/hdfs/rel/one", "/nothing/here")
	if r.code != 1 || r.stdout != "" || r.stderr != "ls: `/nothing/here': No such file or directory\n" {
		t.Fatalf("ls empty dir and a missing one: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// -ls -R / lists every directory made above, depth first.
	r = dfs(admin, "-ls", "-R", "/")
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		f := strings.Fields(l)
		got = append(got, f[len(f)-1])
	}
	want := []string{"/a", "/a/b", "/a/b/c", "/d", "/d/e", "/user", "/user/alice", "/user/hdfs", "/user/hdfs/rel", "/user/hdfs/rel/one", "/user/hdfs/rel/two", "/x", "/x/y"}
	if r.code != 0 || !slices.Equal(got, want) {
		t.Fatalf("ls -R /: %d\n%s\n%s\nwant %q", r.code, r.stdout, r.stderr, want)
	}
}

func TestDfsPathResolution(t *testing.T) {
	sh := &fsShell{home: "/user/alice", defaultFS: "hdfs://mycluster"}
	for _, tc := range []struct {
		arg, display, fs, abs, parent string
	}{
		{"/", "/", "hdfs://mycluster", "/", ""},
		{"/a", "/a", "hdfs://mycluster", "/a", "/"},
		{"/a//b/", "/a/b", "hdfs://mycluster", "/a/b", "/a"},
		{"/a/../b", "/b", "hdfs://mycluster", "/b", "/"},
		{".", ".", "hdfs://mycluster", "/user/alice", "."}, // Hadoop's Path(".").getParent() is "." too
		{"x", "x", "hdfs://mycluster", "/user/alice/x", "."},
		{"./x/y", "x/y", "hdfs://mycluster", "/user/alice/x/y", "x"},
		{"../bob", "../bob", "hdfs://mycluster", "/user/bob", ".."},
		{"hdfs://other:8020/p/q", "hdfs://other:8020/p/q", "hdfs://other:8020", "/p/q", "hdfs://other:8020/p"},
		{"hdfs://other:8020/p", "hdfs://other:8020/p", "hdfs://other:8020", "/p", "hdfs://other:8020/"},
		{"hdfs://mycluster", "hdfs://mycluster", "hdfs://mycluster", "/", ""},
	} {
		p, err := sh.resolve(tc.arg)
		if err != nil {
			t.Fatalf("%q: %v", tc.arg, err)
		}
		parent := ""
		if par := p.parent(); par != nil {
			parent = par.display
		}
		if p.display != tc.display || p.fs != tc.fs || p.abs != tc.abs || parent != tc.parent {
			t.Errorf("%q: display %q fs %q abs %q parent %q; want %q %q %q %q", tc.arg, p.display, p.fs, p.abs, parent, tc.display, tc.fs, tc.abs, tc.parent)
		}
	}
	p, _ := sh.resolve("hdfs://mycluster")
	if c := p.child(&hdfspb.HdfsFileStatusProto{Path: []byte("x")}); c.display != "hdfs://mycluster/x" || c.abs != "/x" {
		t.Errorf("child of hdfs://mycluster: %q %q", c.display, c.abs)
	}
}

func TestDfsFormatSize(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0", 1023: "1023", 1024: "1 K", 1536: "1.5 K", 1048575: "1.0 M", 1 << 20: "1 M",
		12345678901: "11.5 G", 5 << 40: "5 T", 1 << 62: "4 E",
	} {
		if got := formatSize(n, true); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
	if got := formatSize(1536, false); got != "1536" {
		t.Errorf("without -h: %q", got)
	}
}

func TestDfsCompileGlob(t *testing.T) {
	for _, tc := range []struct {
		glob    string
		match   []string
		noMatch []string
	}{
		{"*", []string{"", "a", ".hidden", "a.b"}, nil},
		{"a*.txt", []string{"a.txt", "abc.txt"}, []string{"a.txt.gz", "b.txt", "aXtxt"}},
		{"d?", []string{"d1", "dx"}, []string{"d", "d12"}},
		{"[ab]c", []string{"ac", "bc"}, []string{"cc", "abc"}},
		{"[a-c]", []string{"a", "b", "c"}, []string{"d"}},
		{"[!a]", []string{"b"}, []string{"a"}},
		{"[^a]", []string{"b"}, []string{"a"}},
		{"{x,y*}z", []string{"xz", "yz", "yyyz"}, []string{"z", "xyz0"}},
		{"{a,{b,c}d}", []string{"a", "bd", "cd"}, []string{"b", "ad"}},
		{`a\*b*`, []string{"a*b", "a*bc"}, []string{"axbc"}},
		{"a+b(c)|$.*", []string{"a+b(c)|$.x"}, []string{"aab(c)|$.x", "a+b(c)|$xx"}},
	} {
		re, lit, err := compileGlob(tc.glob)
		if err != nil || re == nil {
			t.Fatalf("%q: %v, %v, %q", tc.glob, re, err, lit)
		}
		for _, s := range tc.match {
			if !re.MatchString(s) {
				t.Errorf("%q does not match %q", tc.glob, s)
			}
		}
		for _, s := range tc.noMatch {
			if re.MatchString(s) {
				t.Errorf("%q matches %q", tc.glob, s)
			}
		}
	}
	for glob, want := range map[string]string{`plain\,name`: "plain,name", `\*`: "*", "x.y": "x.y"} {
		if re, lit, err := compileGlob(glob); re != nil || lit != want || err != nil {
			t.Errorf("literal %q: %v %q %v", glob, re, lit, err)
		}
	}
	for glob, want := range map[string]string{
		"a[bc":   "Illegal file pattern: Unclosed character class at pos 4",
		"a{b,c":  "Illegal file pattern: Unclosed group at pos 5",
		`trail\`: "Illegal file pattern: Missing escaped character at pos 6",
	} {
		if _, _, err := compileGlob(glob); err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", glob, err, want)
		}
	}
}

func TestDfsGlobs(t *testing.T) {
	testcluster.CheckLeaks(t)
	mt := time.Date(2024, 1, 1, 12, 0, 0, 0, time.Local)
	f := &fakeTree{stats: map[string]*hdfspb.HdfsFileStatusProto{}}
	for _, d := range []string{"/", "/user", "/user/u", "/user/u/logs", "/user/u/logs/2024-01", "/user/u/logs/2024-02", "/user/u/logs/2023-12", "/user/u/data", "/tmp"} {
		f.add(d, true, 0o755, "u", "g", 0, 0, mt, 0)
	}
	f.add("/user/u/logs/2024-01/a.log", false, 0o644, "u", "g", 1, 1, mt, 0)
	f.add("/user/u/logs/2024-02/b.log", false, 0o644, "u", "g", 1, 1, mt, 0)
	f.add("/user/u/logs/2024-02/c.txt", false, 0o644, "u", "g", 1, 1, mt, 0)
	addr := f.serve(t)
	env := map[string]string{"HADOOP_USER_NAME": "u"}
	fs := "hdfs://" + addr
	names := func(args ...string) (string, int, string) {
		r := runHDFS(t, env, append([]string{"dfs", "-fs", fs}, args...)...)
		var out []string
		for _, l := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
			if fields := strings.Fields(l); len(fields) > 0 && !strings.HasPrefix(l, "Found ") {
				out = append(out, fields[len(fields)-1])
			}
		}
		return strings.Join(out, " "), r.code, r.stderr
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-ls", "-d", "/user/u/logs/2024-*"}, "/user/u/logs/2024-01 /user/u/logs/2024-02"},
		{[]string{"-ls", "/user/u/logs/*/*.log"}, "/user/u/logs/2024-01/a.log /user/u/logs/2024-02/b.log"},
		{[]string{"-ls", "logs/2024-0[2-9]"}, "logs/2024-02/b.log logs/2024-02/c.txt"},
		{[]string{"-ls", "-d", "*"}, "data logs"},
		{[]string{"-ls", "-d", "/{tmp,user}"}, "/tmp /user"},
		{[]string{"-ls", "-d", fs + "/user/u/l?gs"}, fs + "/user/u/logs"},
	} {
		got, code, stderr := names(tc.args...)
		if code != 0 || got != tc.want {
			t.Errorf("%q: exit %d, %q, stderr %q; want %q", tc.args, code, got, stderr, tc.want)
		}
	}
	if _, code, stderr := names("-ls", "/user/u/nope*", "/x[y"); code != 1 ||
		stderr != "ls: `/user/u/nope*': No such file or directory\nls: Illegal file pattern: Unclosed character class at pos 3\n" {
		t.Errorf("no match: exit %d, stderr %q", code, stderr)
	}
}
