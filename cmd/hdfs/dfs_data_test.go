package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/minicluster"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// TestDfsDataCommands runs -put, -get, -cat and -rm in-process against a mini cluster
// (a NameNode and two DataNodes), with Hadoop's messages and exit statuses.
func TestDfsDataCommands(t *testing.T) {
	testcluster.CheckLeaks(t)
	mc := minicluster.Start(t, minicluster.Options{DataNodes: 2, Replication: 1})
	env := map[string]string{"HADOOP_USER_NAME": mc.User()}
	dfs := func(args ...string) result {
		t.Helper()
		return runHDFS(t, env, append([]string{"dfs", "-D", "fs.defaultFS=" + mc.URI(), "-D", "dfs.client.socket-timeout=10000"}, args...)...)
	}
	wantErr := func(r result, stderr string) {
		t.Helper()
		if r.code != 1 || r.stderr != stderr {
			t.Fatalf("exit %d, stderr %q; want exit 1, %q", r.code, r.stderr, stderr)
		}
	}
	local := t.TempDir()
	data := make([]byte, 1<<20+1<<19) // 1.5 blocks of 1 MiB
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(local, "data.bin")
	if err := os.WriteFile(src, data, 0o640); err != nil {
		t.Fatal(err)
	}

	dfs("-mkdir", "-p", "/d").want(t, 0, "")
	// -put into a directory, with generic options applied to the write.
	dfs("-D", "dfs.blocksize=1048576", "-D", "dfs.replication=2", "-put", src, "/d").want(t, 0, "")
	st := &hdfspb.GetFileInfoResponseProto{}
	if err := mc.CallActive("getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String("/d/data.bin")}, st); err != nil || st.GetFs() == nil {
		t.Fatalf("getFileInfo /d/data.bin: %v", err)
	}
	if st.GetFs().GetLength() != uint64(len(data)) || st.GetFs().GetBlocksize() != 1<<20 || st.GetFs().GetBlockReplication() != 2 {
		t.Fatalf("put wrote %+v", st.GetFs())
	}
	if r := dfs("-ls", "/d"); r.code != 0 || strings.Contains(r.stdout, "_COPYING_") {
		t.Fatalf("ls after put: %+v", r)
	}
	// An existing target needs -f; -p keeps the local mode; a missing parent or local
	// file is named as Hadoop names it.
	wantErr(dfs("-put", src, "/d/data.bin"), "put: `/d/data.bin': File exists\n")
	dfs("-put", "-f", "-p", src, "/d/data.bin").want(t, 0, "")
	if err := mc.CallActive("getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String("/d/data.bin")}, st); err != nil || st.GetFs().GetPermission().GetPerm() != 0o640 {
		t.Fatalf("put -p: permission %o, %v", st.GetFs().GetPermission().GetPerm(), err)
	}
	wantErr(dfs("-put", src, "/nope/f"), "put: `/nope/f': No such file or directory\n")
	// "-" reads standard input.
	if r := runHDFSInput(t, "from stdin\n", "dfs", "-D", "fs.defaultFS="+mc.URI(), "-put", "-", "/d/stdin.txt"); r.code != 0 {
		t.Fatalf("put -: %+v", r)
	}
	dfs("-cat", "/d/stdin.txt").want(t, 0, "from stdin\n")
	// No destination: the home directory, which does not exist yet.
	wantErr(dfs("-put", src), "put: `.': No such file or directory\n")
	wantErr(dfs("-put", filepath.Join(local, "missing"), "/d"), "put: `"+filepath.Join(local, "missing")+"': No such file or directory\n")

	// -cat and -get return the bytes; -get refuses to overwrite without -f.
	if r := dfs("-cat", "/d/data.bin"); r.code != 0 || !bytes.Equal([]byte(r.stdout), data) {
		t.Fatalf("cat: exit %d, %d bytes, %q", r.code, len(r.stdout), r.stderr)
	}
	wantErr(dfs("-cat", "/d"), "cat: `/d': Is a directory\n")
	dst := filepath.Join(local, "copy.bin")
	dfs("-get", "/d/data.bin", dst).want(t, 0, "")
	if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get: %d bytes, %v", len(got), err)
	}
	wantErr(dfs("-get", "/d/data.bin", dst), "get: `"+dst+"': File exists\n")
	dfs("-get", "-f", "/d/data.bin", dst).want(t, 0, "")

	// A local directory goes up and comes back recursively.
	tree := filepath.Join(local, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"a.txt": "alpha\n", "sub/b.txt": "beta\n", "empty": ""} {
		if err := os.WriteFile(filepath.Join(tree, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dfs("-put", tree, "/t").want(t, 0, "")
	dfs("-cat", "/t/sub/b.txt", "/t/a.txt").want(t, 0, "beta\nalpha\n")
	back := filepath.Join(local, "back")
	dfs("-get", "/t", back).want(t, 0, "")
	if b, err := os.ReadFile(filepath.Join(back, "sub", "b.txt")); err != nil || string(b) != "beta\n" {
		t.Fatalf("get -r: %q %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(back, "empty")); err != nil || fi.Size() != 0 {
		t.Fatalf("get of an empty file: %v %v", fi, err)
	}

	// -rm: files, directories with -r, missing paths with and without -f, the trash.
	wantErr(dfs("-rm", "/t"), "rm: `/t': Is a directory\n")
	dfs("-rm", "-r", "/t").want(t, 0, "Deleted /t\n")
	wantErr(dfs("-rm", "/t"), "rm: `/t': No such file or directory\n")
	dfs("-rm", "-f", "/t").want(t, 0, "")
	r := dfs("-D", "fs.trash.interval=60", "-rm", "/d/data.bin")
	trashed := "/user/" + mc.User() + "/.Trash/Current/d/data.bin"
	if r.code != 0 || !strings.Contains(r.stderr, "Moved: '"+mc.URI()+"/d/data.bin' to trash at: "+mc.URI()+trashed) {
		t.Fatalf("rm with trash: %+v", r)
	}
	if r := dfs("-cat", trashed); r.code != 0 || len(r.stdout) != len(data) {
		t.Fatalf("the trashed file: exit %d, %d bytes", r.code, len(r.stdout))
	}
	dfs("-rm", "-skipTrash", trashed).want(t, 0, "Deleted "+trashed+"\n")
}
