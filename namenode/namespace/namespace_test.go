package namespace

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/editpb"
)

func TestFormatAndRoot(t *testing.T) {
	ns := newTestNS(t, testOptions())
	s, err := ns.GetFileInfo("alice", "/")
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != RootINodeID || !s.Dir || s.Owner != "hdfs" || s.Group != "supergroup" || s.Mode != 0o755 {
		t.Fatalf("root = %+v", s)
	}
	if ns.LastAppliedTxID() != 0 {
		t.Fatalf("txid after format = %d", ns.LastAppliedTxID())
	}
	if err := ns.Format(testInfo(), testRoot(), 1); err == nil {
		t.Fatal("second Format succeeded")
	}
	c := ns.Counters()
	if c.LastINodeID != RootINodeID || c.LastBlockID != LastReservedBlockID || c.GenStamp != LastReservedGenStamp || c.Dirs != 1 || c.Files != 0 {
		t.Fatalf("counters = %+v", c)
	}
}

func TestMkdirsCreatesParents(t *testing.T) {
	e := newEnv(t)
	if err := e.mkdirs("hdfs", "/a/b/c/", 0o750); err != nil {
		t.Fatal(err)
	}
	a, c := e.stat("/a"), e.stat("/a/b/c")
	if a.Mode != 0o750|0o300 || c.Mode != 0o750 || c.Owner != "hdfs" || c.Group != "supergroup" {
		t.Fatalf("modes: /a %o /a/b/c %o %+v", a.Mode, c.Mode, c)
	}
	if a.ID != RootINodeID+1 || c.ID != RootINodeID+3 || e.ns.LastAppliedTxID() != 1 {
		t.Fatalf("ids %d %d txid %d", a.ID, c.ID, e.ns.LastAppliedTxID())
	}
	if root := e.stat("/"); root.Children != 1 || root.Mtime != e.now {
		t.Fatalf("root after mkdirs: %+v", root)
	}
	// mkdirs of an existing directory succeeds without an edit.
	op, err := e.ns.PrepareMkdirs(e.call("hdfs"), "/a/b", 0o755, true)
	if op != nil || err != nil {
		t.Fatalf("mkdirs existing: %v %v", op, err)
	}
	if got := e.ns.Counters().Dirs; got != 4 {
		t.Fatalf("dirs = %d", got)
	}
	// The BSD rule: new inodes take the parent's group.
	e.must(e.ns.PrepareSetOwner(e.call("hdfs"), "/a", "alice", "staff"))
	if err := e.mkdirs("alice", "/a/x", 0o755); err != nil {
		t.Fatal(err)
	}
	if s := e.stat("/a/x"); s.Owner != "alice" || s.Group != "staff" {
		t.Fatalf("/a/x = %+v", s)
	}
}

func TestErrors(t *testing.T) {
	setup := func(e *env) {
		for _, d := range []string{"/d/sub", "/empty"} {
			if err := e.mkdirs("hdfs", d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.mkdirs("hdfs", "/tmp", 0o1777); err != nil {
			t.Fatal(err)
		}
		e.writeFile("hdfs", "/d/f", 1, 10)
		e.writeFile("hdfs", "/file", 0, 0)
	}
	tests := []struct {
		name string
		do   func(e *env) error
		kind error
		msg  string
	}{
		{"relative path", func(e *env) error { return e.mkdirs("hdfs", "a/b", 0o755) },
			rpc.ErrInvalidPath, "Invalid path name a/b"},
		{"dotdot", func(e *env) error { return e.mkdirs("hdfs", "/a/../b", 0o755) },
			rpc.ErrInvalidPath, "Invalid path name /a/../b"},
		{"colon", func(e *env) error { return e.create("hdfs", "/a:b", false) },
			rpc.ErrInvalidPath, "Invalid path name /a:b"},
		{"double slash", func(e *env) error { return e.mkdirs("hdfs", "/a//b", 0o755) },
			rpc.ErrInvalidPath, "Invalid path name /a//b"},
		{"create over existing file", func(e *env) error { return e.create("hdfs", "/d/f", false) },
			rpc.ErrFileAlreadyExists, "/d/f for client 127.0.0.1 already exists"},
		{"create over directory", func(e *env) error { return e.create("hdfs", "/d", true) },
			rpc.ErrFileAlreadyExists, "Cannot create file /d; already exists as a directory."},
		{"create under construction by another", func(e *env) error {
			if err := e.create("alice", "/tmp/uc", false); err != nil {
				return err
			}
			return e.create("bob", "/tmp/uc", false)
		}, rpc.ErrAlreadyBeingCreated, "Failed to CREATE_FILE /tmp/uc for DFSClient_bob on 127.0.0.1 because this file lease is currently owned by DFSClient_alice on 127.0.0.1"},
		{"create without parent", func(e *env) error {
			_, err := e.apply(e.ns.PrepareCreate(e.call("hdfs"), CreateRequest{Path: "/nope/f", Replication: 1, BlockSize: 1 << 20}))
			return err
		}, rpc.ErrFileNotFound, "Parent directory doesn't exist: /nope"},
		{"create bad replication", func(e *env) error {
			_, err := e.apply(e.ns.PrepareCreate(e.call("hdfs"), CreateRequest{Path: "/f", Replication: 0, BlockSize: 1 << 20}))
			return err
		}, rpc.ErrIO, "Requested replication factor of 0 is less than the required minimum of 1 for /f"},
		{"create small block", func(e *env) error {
			_, err := e.apply(e.ns.PrepareCreate(e.call("hdfs"), CreateRequest{Path: "/f", Replication: 1, BlockSize: 1}))
			return err
		}, rpc.ErrIO, "Specified block size is less than configured minimum value (dfs.namenode.fs-limits.min-block-size): 1 < 1048576"},
		{"component too long", func(e *env) error { return e.mkdirs("hdfs", "/d/"+strings.Repeat("x", 256)+"/y", 0o755) },
			rpc.ErrPathComponentTooLong, "The maximum path component name limit of " + strings.Repeat("x", 256) + " in directory /d is exceeded: limit=255 length=256"},
		{"directory item limit", func(e *env) error {
			e.ns.opts.Limits.MaxDirectoryItems = 2
			return e.create("hdfs", "/d/third", false)
		}, rpc.ErrMaxDirectoryItemsExceeded, "The directory item limit of /d is exceeded: limit=2 items=2"},
		{"mkdir under a file", func(e *env) error { return e.mkdirs("hdfs", "/file/x/y", 0o755) },
			rpc.ErrParentNotDirectory, "/file (is not a directory)"},
		{"create under a file", func(e *env) error { return e.create("hdfs", "/d/f/g", false) },
			rpc.ErrParentNotDirectory, "/d/f (is not a directory)"},
		{"mkdir over a file", func(e *env) error { return e.mkdirs("hdfs", "/d/f", 0o755) },
			rpc.ErrFileAlreadyExists, "Path is not a directory: /d/f"},
		{"non-empty delete without recursive", func(e *env) error {
			_, err := e.apply(e.ns.PrepareDelete(e.call("hdfs"), "/d", false))
			return err
		}, rpc.ErrPathIsNotEmptyDirectory, "`/d is non empty': Directory is not empty"},
		{"rename into own subtree", func(e *env) error {
			_, err := e.apply(e.ns.PrepareRename(e.call("hdfs"), "/d", "/d/sub/d", false))
			return err
		}, rpc.ErrIO, "Rename destination /d/sub/d is a directory or file under source /d"},
		{"rename missing source", func(e *env) error {
			_, err := e.apply(e.ns.PrepareRename(e.call("hdfs"), "/nope", "/x", false))
			return err
		}, rpc.ErrFileNotFound, "rename source /nope is not found."},
		{"rename root", func(e *env) error {
			_, err := e.apply(e.ns.PrepareRename(e.call("hdfs"), "/", "/x", false))
			return err
		}, rpc.ErrIO, "rename source cannot be the root"},
		{"rename onto existing without overwrite", func(e *env) error {
			_, err := e.apply(e.ns.PrepareRename(e.call("hdfs"), "/file", "/d/f", false))
			return err
		}, rpc.ErrFileAlreadyExists, "rename destination /d/f already exists"},
		{"rename file onto directory", func(e *env) error {
			_, err := e.apply(e.ns.PrepareRename(e.call("hdfs"), "/file", "/empty", true))
			return err
		}, rpc.ErrIO, "Source /file and destination /empty must both be directories"},
		{"rename onto non-empty directory", func(e *env) error {
			_, err := e.apply(e.ns.PrepareRename(e.call("hdfs"), "/empty", "/d", true))
			return err
		}, rpc.ErrIO, "rename destination directory is not empty: /d"},
		{"rename destination parent missing", func(e *env) error {
			_, err := e.apply(e.ns.PrepareRename(e.call("hdfs"), "/file", "/nope/x", false))
			return err
		}, rpc.ErrFileNotFound, "rename destination parent /nope/x not found."},
		{"set permission of missing", func(e *env) error {
			_, err := e.apply(e.ns.PrepareSetPermission(e.call("hdfs"), "/nope", 0o700))
			return err
		}, rpc.ErrFileNotFound, "File does not exist: /nope"},
		{"set times of missing", func(e *env) error {
			_, err := e.apply(e.ns.PrepareSetTimes(e.call("hdfs"), "/nope", 1, 1))
			return err
		}, rpc.ErrFileNotFound, "File/Directory /nope does not exist."},
		{"content summary of missing", func(e *env) error {
			_, err := e.ns.ContentSummary("hdfs", "/nope")
			return err
		}, rpc.ErrFileNotFound, "File does not exist: /nope"},
		{"add block without lease", func(e *env) error {
			_, _, err := e.ns.PrepareAddBlock(e.call("hdfs"), "/file", "DFSClient_hdfs", nil)
			return err
		}, rpc.ErrLeaseExpired, fmt.Sprintf("File is not open for writing: /file (inode %d) Holder DFSClient_hdfs does not have any open files.", RootINodeID+6)},
		{"truncate to larger size", func(e *env) error {
			_, _, err := e.ns.PrepareTruncate(e.call("hdfs"), "/d/f", 11, "c", "m")
			return err
		}, rpc.ErrIllegalArgument, "Cannot truncate to a larger file size. Current size: 10, truncate size: 11."},
		{"append to directory", func(e *env) error {
			_, err := e.ns.PrepareAppend(e.call("hdfs"), "/d", "c", "m")
			return err
		}, rpc.ErrFileAlreadyExists, "Cannot append to directory /d; already exists as a directory."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			setup(e)
			wantErr(t, tc.do(e), tc.kind, tc.msg)
		})
	}
}

func TestFalseAnswers(t *testing.T) {
	e := newEnv(t)
	if err := e.mkdirs("hdfs", "/d/sub", 0o755); err != nil {
		t.Fatal(err)
	}
	if op, err := e.ns.PrepareDelete(e.call("hdfs"), "/", true); op != nil || err != nil {
		t.Fatalf("delete of root: %v %v", op, err)
	}
	if op, err := e.ns.PrepareDelete(e.call("hdfs"), "/nope", true); op != nil || err != nil {
		t.Fatalf("delete of missing: %v %v", op, err)
	}
	if op, ok, err := e.ns.PrepareRenameOld(e.call("hdfs"), "/d", "/d/sub"); op != nil || ok || err != nil {
		t.Fatalf("old rename into own subtree: %v %v %v", op, ok, err)
	}
	if op, ok, err := e.ns.PrepareSetReplication(e.call("hdfs"), "/d", 2); op != nil || ok || err != nil {
		t.Fatalf("setReplication of a dir: %v %v %v", op, ok, err)
	}
}

func TestDeleteRenameAndBlocks(t *testing.T) {
	e := newEnv(t)
	e.writeFile("hdfs", "/a/b/f1", 2, 100)
	e.writeFile("hdfs", "/a/f2", 1, 7)
	f1 := e.stat("/a/b/f1")
	if f1.Length != 200 || len(f1.Blocks) != 2 || f1.UnderConstruction() {
		t.Fatalf("f1 = %+v", f1)
	}
	if f1.Blocks[0].BlockId != LastReservedBlockID+1 || f1.Blocks[0].GenStamp != LastReservedGenStamp+1 {
		t.Fatalf("first block = %v", f1.Blocks[0])
	}
	if owner, _ := e.ns.BlockOwner(f1.Blocks[1].BlockId); owner != f1.ID {
		t.Fatalf("block owner = %d, want %d", owner, f1.ID)
	}
	// Old rename into a directory moves inside it.
	op, ok, err := e.ns.PrepareRenameOld(e.call("hdfs"), "/a/f2", "/a/b")
	if !ok {
		t.Fatal("rename refused", err)
	}
	e.must(op, err)
	if e.stat("/a/b/f2") == nil || e.stat("/a/f2") != nil {
		t.Fatal("old rename did not move /a/f2 into /a/b")
	}
	if p, _ := e.ns.FullPath(e.stat("/a/b/f2").ID); p != "/a/b/f2" {
		t.Fatalf("FullPath = %q", p)
	}
	// rename2 with overwrite replaces the destination and drops its blocks.
	a := e.must(e.ns.PrepareRename(e.call("hdfs"), "/a/b/f2", "/a/b/f1", true))
	if len(a.RemovedBlocks) != 2 || e.stat("/a/b/f1").Length != 7 {
		t.Fatalf("overwrite rename removed %v", a.RemovedBlocks)
	}
	if owner, _ := e.ns.BlockOwner(f1.Blocks[0].BlockId); owner != 0 {
		t.Fatal("block of overwritten file still mapped")
	}
	// Create with overwrite drops the old file's blocks.
	a, err = e.apply(e.ns.PrepareCreate(e.call("hdfs"), CreateRequest{Path: "/a/b/f1", Overwrite: true, Replication: 1, BlockSize: 1 << 20, ClientName: "c"}))
	if err != nil || len(a.RemovedBlocks) != 1 {
		t.Fatalf("create overwrite: %v %v", a, err)
	}
	e.writeFile("hdfs", "/a/b/c/g", 3, 1)
	a = e.must(e.ns.PrepareDelete(e.call("hdfs"), "/a", true))
	if len(a.RemovedBlocks) != 3 {
		t.Fatalf("recursive delete removed %d blocks", len(a.RemovedBlocks))
	}
	if c := e.ns.Counters(); c.Files != 0 || c.Dirs != 1 {
		t.Fatalf("counters after delete: %+v", c)
	}
}

func TestAppendTruncateLease(t *testing.T) {
	e := newEnv(t)
	e.writeFile("hdfs", "/f", 2, 10)
	e.must(e.ns.PrepareAppend(e.call("hdfs"), "/f", "w2", "m"))
	_, err := e.ns.PrepareAppend(e.call("hdfs"), "/f", "w3", "m")
	wantErr(t, err, rpc.ErrAlreadyBeingCreated, "Failed to APPEND_FILE /f for w3 on m because this file lease is currently owned by w2 on m")
	last := e.stat("/f").Blocks[1]
	e.must(e.ns.PrepareComplete(e.call("hdfs"), "/f", "w2", last))
	op, ok, err := e.ns.PrepareTruncate(e.call("hdfs"), "/f", 10, "w", "m")
	if !ok {
		t.Fatal(err)
	}
	a := e.must(op, err)
	if len(a.RemovedBlocks) != 1 || e.stat("/f").Length != 10 {
		t.Fatalf("truncate: %v %+v", a, e.stat("/f"))
	}
	if _, _, err := e.ns.PrepareTruncate(e.call("hdfs"), "/f", 5, "w", "m"); err == nil {
		t.Fatal("truncate inside a block succeeded")
	}
}

func TestPermissions(t *testing.T) {
	setup := func(e *env) {
		for _, d := range []struct {
			p     string
			mode  uint32
			owner string
			group string
		}{
			{"/x", 0o755, "", ""},
			{"/private", 0o700, "alice", "alice"},
			{"/shared", 0o775, "alice", "staff"},
			{"/tmp", 0o1777, "", ""},
		} {
			if err := e.mkdirs("hdfs", d.p, d.mode); err != nil {
				t.Fatal(err)
			}
			if d.owner != "" {
				e.must(e.ns.PrepareSetOwner(e.call("hdfs"), d.p, d.owner, d.group))
			}
		}
		if err := e.create("alice", "/tmp/alicefile", false); err != nil {
			t.Fatal(err)
		}
		if err := e.mkdirs("alice", "/private/deep", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		do   func(e *env) error
		kind error
		msg  string // "" when the call must succeed
	}{
		{"write under another's dir", func(e *env) error { return e.mkdirs("alice", "/x/y", 0o755) },
			rpc.ErrAccessControl, `Permission denied: user=alice, access=WRITE, inode="/x":hdfs:supergroup:drwxr-xr-x`},
		{"create at root", func(e *env) error { return e.create("alice", "/f", false) },
			rpc.ErrAccessControl, `Permission denied: user=alice, access=WRITE, inode="/":hdfs:supergroup:drwxr-xr-x`},
		{"traverse", func(e *env) error {
			_, err := e.ns.GetFileInfo("bob", "/private/deep")
			return err
		}, rpc.ErrAccessControl, `Permission denied: user=bob, access=EXECUTE, inode="/private":alice:alice:drwx------`},
		{"list needs read", func(e *env) error {
			_, err := e.ns.List("bob", "/private", "", 10)
			return err
		}, rpc.ErrAccessControl, `Permission denied: user=bob, access=READ_EXECUTE, inode="/private":alice:alice:drwx------`},
		{"group write allowed", func(e *env) error { return e.mkdirs("bob", "/shared/b", 0o755) }, nil, ""},
		{"other write refused", func(e *env) error { return e.mkdirs("carol", "/shared/c", 0o755) },
			rpc.ErrAccessControl, `Permission denied: user=carol, access=WRITE, inode="/shared":alice:staff:drwxrwxr-x`},
		{"superuser by name", func(e *env) error { return e.mkdirs("hdfs", "/private/h", 0o755) }, nil, ""},
		{"superuser by group", func(e *env) error { return e.mkdirs("admin", "/private/a", 0o755) }, nil, ""},
		{"sticky bit delete", func(e *env) error {
			_, err := e.apply(e.ns.PrepareDelete(e.call("bob"), "/tmp/alicefile", false))
			return err
		}, rpc.ErrAccessControl, `Permission denied by sticky bit: user=bob, path="/tmp/alicefile":alice:supergroup:-rw-r--r--, parent="/tmp":hdfs:supergroup:drwxrwxrwt`},
		{"sticky bit owner deletes", func(e *env) error {
			_, err := e.apply(e.ns.PrepareDelete(e.call("alice"), "/tmp/alicefile", false))
			return err
		}, nil, ""},
		{"recursive delete needs subtree access", func(e *env) error {
			e.must(e.ns.PrepareSetPermission(e.call("hdfs"), "/private", 0o777))
			_, err := e.apply(e.ns.PrepareDelete(e.call("bob"), "/private/deep", true))
			if err != nil {
				return err
			}
			e.must(e.ns.PrepareSetPermission(e.call("hdfs"), "/private", 0o755))
			if err := e.mkdirs("hdfs", "/private/d2/sub", 0o755); err != nil {
				return err
			}
			_, err = e.apply(e.ns.PrepareDelete(e.call("bob"), "/private/d2", true))
			return err
		}, rpc.ErrAccessControl, `Permission denied: user=bob, access=WRITE, inode="/private":alice:alice:drwxr-xr-x`},
		{"chmod by non-owner", func(e *env) error {
			_, err := e.apply(e.ns.PrepareSetPermission(e.call("bob"), "/shared", 0o777))
			return err
		}, rpc.ErrAccessControl, "Permission denied. user=bob is not the owner of inode=/shared"},
		{"chown by non-superuser", func(e *env) error {
			_, err := e.apply(e.ns.PrepareSetOwner(e.call("alice"), "/shared", "bob", ""))
			return err
		}, rpc.ErrAccessControl, "User alice is not a super user (non-super user cannot change owner)."},
		{"chgrp to a foreign group", func(e *env) error {
			_, err := e.apply(e.ns.PrepareSetOwner(e.call("alice"), "/shared", "", "carol"))
			return err
		}, rpc.ErrAccessControl, "User alice does not belong to carol"},
		{"chgrp to own group", func(e *env) error {
			_, err := e.apply(e.ns.PrepareSetOwner(e.call("alice"), "/shared", "", "alice"))
			return err
		}, nil, ""},
		{"rename out of a foreign dir", func(e *env) error {
			_, err := e.apply(e.ns.PrepareRename(e.call("bob"), "/private/deep", "/tmp/deep", false))
			return err
		}, rpc.ErrAccessControl, `Permission denied: user=bob, access=EXECUTE, inode="/private":alice:alice:drwx------`},
		{"set times needs write", func(e *env) error {
			_, err := e.apply(e.ns.PrepareSetTimes(e.call("bob"), "/tmp/alicefile", 5, 5))
			return err
		}, rpc.ErrAccessControl, `Permission denied: user=bob, access=WRITE, inode="/tmp/alicefile":alice:supergroup:-rw-r--r--`},
		{"trusted xattr by non-superuser", func(e *env) error {
			_, err := e.apply(e.ns.PrepareSetXAttr(e.call("alice"), "/shared", &editpb.XAttr{Namespace: editpb.XAttrNamespace_TRUSTED, Name: "t"}, XAttrCreate))
			return err
		}, rpc.ErrAccessControl, "User doesn't have permission for xattr: trusted.t"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			setup(e)
			err := tc.do(e)
			if tc.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tc.kind, tc.msg)
		})
	}
	t.Run("disabled", func(t *testing.T) {
		opts := testOptions()
		opts.Permissions.Enabled = false
		e := &env{t: t, ns: newTestNS(t, opts), now: 1}
		if err := e.mkdirs("hdfs", "/p", 0o700); err != nil {
			t.Fatal(err)
		}
		if err := e.mkdirs("bob", "/p/q", 0o700); err != nil {
			t.Fatal(err)
		}
	})
}

func TestListPaging(t *testing.T) {
	e := newEnv(t)
	var names []string
	for i := 0; i < 25; i++ {
		names = append(names, fmt.Sprintf("n%02d", i))
	}
	// Create out of order: listings are in byte order of names anyway.
	for i := len(names) - 1; i >= 0; i-- {
		if err := e.mkdirs("hdfs", "/d/"+names[i], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.writeFile("hdfs", "/d/B", 1, 3) // "B" < "n.." in byte order
	want := append([]string{"B"}, names...)
	var got []string
	after := ""
	pages := 0
	for {
		l, err := e.ns.List("alice", "/d", after, 10)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range l.Entries {
			got = append(got, s.Name)
		}
		if l.Remaining == 0 {
			break
		}
		after = l.Entries[len(l.Entries)-1].Name
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || pages != 3 {
		t.Fatalf("pages %d, names %v", pages, got)
	}
	// startAfter need not exist.
	l, err := e.ns.List("alice", "/d", "n10x", 2)
	if err != nil || len(l.Entries) != 2 || l.Entries[0].Name != "n11" {
		t.Fatalf("startAfter missing name: %v %v", l, err)
	}
	// A file lists as itself; a missing path is nil.
	if l, _ := e.ns.List("alice", "/d/B", "", 10); len(l.Entries) != 1 || l.Entries[0].Length != 3 {
		t.Fatalf("file listing %v", l)
	}
	if l, err := e.ns.List("alice", "/nope", "", 10); l != nil || err != nil {
		t.Fatalf("missing listing %v %v", l, err)
	}
}

func TestContentSummary(t *testing.T) {
	e := newEnv(t)
	e.writeFile("hdfs", "/a/f", 2, 100)
	e.writeFile("hdfs", "/a/b/g", 1, 5)
	if err := e.mkdirs("hdfs", "/a/c/d", 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := e.ns.ContentSummary("alice", "/a")
	if err != nil {
		t.Fatal(err)
	}
	want := ContentSummary{Length: 205, FileCount: 2, DirectoryCount: 4, SpaceConsumed: 615, Quota: -1, SpaceQuota: -1}
	if *s != want {
		t.Fatalf("summary %+v, want %+v", *s, want)
	}
	e.must(e.ns.PrepareSetPermission(e.call("hdfs"), "/a/c/d", 0o700))
	_, err = e.ns.ContentSummary("alice", "/a")
	wantErr(t, err, rpc.ErrAccessControl, `Permission denied: user=alice, access=READ_EXECUTE, inode="/a/c/d":hdfs:supergroup:drwx------`)
}

func TestXAttrs(t *testing.T) {
	e := newEnv(t)
	if err := e.mkdirs("hdfs", "/tmp", 0o1777); err != nil {
		t.Fatal(err)
	}
	e.writeFile("alice", "/tmp/f", 0, 0)
	user := func(name, v string) *editpb.XAttr {
		return &editpb.XAttr{Namespace: editpb.XAttrNamespace_USER, Name: name, Value: []byte(v)}
	}
	e.must(e.ns.PrepareSetXAttr(e.call("alice"), "/tmp/f", user("color", "red"), XAttrCreate))
	_, err := e.ns.PrepareSetXAttr(e.call("alice"), "/tmp/f", user("color", "blue"), XAttrCreate)
	wantErr(t, err, rpc.ErrIO, "XAttr: user.color already exists. The REPLACE flag must be specified.")
	_, err = e.ns.PrepareSetXAttr(e.call("alice"), "/tmp/f", user("size", "1"), XAttrReplace)
	wantErr(t, err, rpc.ErrIO, "XAttr: user.size does not exist. The CREATE flag must be specified.")
	e.must(e.ns.PrepareSetXAttr(e.call("alice"), "/tmp/f", user("color", "blue"), XAttrCreate|XAttrReplace))
	e.must(e.ns.PrepareSetXAttr(e.call("hdfs"), "/tmp/f", &editpb.XAttr{Namespace: editpb.XAttrNamespace_TRUSTED, Name: "t", Value: []byte("1")}, XAttrCreate))
	_, err = e.ns.PrepareSetXAttr(e.call("alice"), "/tmp/f", &editpb.XAttr{Namespace: editpb.XAttrNamespace_SYSTEM, Name: "s"}, XAttrCreate)
	wantErr(t, err, rpc.ErrAccessControl, "User doesn't have permission for xattr: system.s")
	_, err = e.ns.PrepareSetXAttr(e.call("bob"), "/tmp/f", user("x", ""), XAttrCreate)
	wantErr(t, err, rpc.ErrAccessControl, `Permission denied: user=bob, access=WRITE, inode="/tmp/f":alice:supergroup:-rw-r--r--`)
	_, err = e.ns.PrepareSetXAttr(e.call("bob"), "/tmp", user("x", ""), XAttrCreate)
	wantErr(t, err, rpc.ErrAccessControl, "Permission denied. user=bob is not the owner of inode=/tmp")

	xs, err := e.ns.GetXAttrs("alice", "/tmp/f", nil)
	if err != nil || len(xs) != 1 || XAttrName(xs[0]) != "user.color" || string(xs[0].Value) != "blue" {
		t.Fatalf("alice sees %v %v", xs, err)
	}
	if xs, _ := e.ns.ListXAttrs("hdfs", "/tmp/f"); len(xs) != 2 {
		t.Fatalf("superuser lists %v", xs)
	}
	_, err = e.ns.GetXAttrs("alice", "/tmp/f", []*editpb.XAttr{user("nope", "")})
	wantErr(t, err, rpc.ErrIO, "At least one of the attributes provided was not found.")
	e.must(e.ns.PrepareRemoveXAttr(e.call("alice"), "/tmp/f", user("color", "")))
	_, err = e.ns.PrepareRemoveXAttr(e.call("alice"), "/tmp/f", user("color", ""))
	wantErr(t, err, rpc.ErrIO, "No matching attributes found for remove operation")
	// Deleting the file drops its xattrs with it.
	e.must(e.ns.PrepareDelete(e.call("alice"), "/tmp/f", false))
	if xs, _ := xattrsOf(e.ns.db, RootINodeID+3); len(xs) != 0 {
		t.Fatalf("xattrs survive delete: %v", xs)
	}
}

func TestSetters(t *testing.T) {
	e := newEnv(t)
	e.writeFile("hdfs", "/f", 1, 1)
	e.must(e.ns.PrepareSetTimes(e.call("hdfs"), "/f", 77, -1))
	op, ok, err := e.ns.PrepareSetReplication(e.call("hdfs"), "/f", 2)
	if !ok {
		t.Fatal(err)
	}
	e.must(op, err)
	e.must(e.ns.PrepareSetPermission(e.call("hdfs"), "/f", 0o1600))
	s := e.stat("/f")
	if s.Mtime != 77 || s.Atime == -1 || s.Replication != 2 || s.Mode != 0o1600 {
		t.Fatalf("after setters %+v", s)
	}
}

func TestApplyGapPanics(t *testing.T) {
	e := newEnv(t)
	op, err := e.ns.PrepareMkdirs(e.call("hdfs"), "/a", 0o755, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, txid := range []int64{0, 2} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Apply(%d) after txid 0 did not panic", txid)
				}
			}()
			e.ns.Apply(txid, op)
		}()
	}
}

func TestApplyCorruptOp(t *testing.T) {
	ns := newTestNS(t, testOptions())
	op := &editpb.Op{Body: &editpb.Op_Delete{Delete: &editpb.Delete{Path: "/missing"}}}
	if _, err := ns.Apply(1, op); err == nil || !errorsIs(err, ErrCorrupt) {
		t.Fatalf("apply of a delete of a missing path: %v", err)
	}
	if ns.LastAppliedTxID() != 0 {
		t.Fatal("a failed Apply advanced the txid")
	}
}

func TestCheckpointAndReopen(t *testing.T) {
	e := newEnv(t)
	e.writeFile("hdfs", "/a/f", 2, 9)
	e.must(e.ns.PrepareSetXAttr(e.call("hdfs"), "/a/f", &editpb.XAttr{Namespace: editpb.XAttrNamespace_USER, Name: "k", Value: []byte("v")}, XAttrCreate))
	sum, err := e.ns.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "image")
	txid, err := e.ns.Checkpoint(img)
	if err != nil {
		t.Fatal(err)
	}
	if txid != e.ns.LastAppliedTxID() {
		t.Fatalf("checkpoint txid %d, last applied %d", txid, e.ns.LastAppliedTxID())
	}
	if stamp, err := CheckpointTxID(nil, img); err != nil || stamp != txid {
		t.Fatalf("stamp %d %v", stamp, err)
	}
	// Changes after the checkpoint are not in it.
	if err := e.mkdirs("hdfs", "/later", 0o755); err != nil {
		t.Fatal(err)
	}
	cp, err := OpenCheckpoint(img, filepath.Join(t.TempDir(), "work"), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	got, err := cp.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	if got != sum || cp.LastAppliedTxID() != txid || cp.Counters() != (Counters{RootINodeID + 2, LastReservedBlockID + 2, LastReservedGenStamp + 2, 1, 2}) {
		t.Fatalf("checkpoint copy differs: txid %d counters %+v", cp.LastAppliedTxID(), cp.Counters())
	}
	if cp.Info() != e.ns.Info() {
		t.Fatalf("info %+v != %+v", cp.Info(), e.ns.Info())
	}
	// Replaying the op after the checkpoint catches the copy up.
	if _, err := cp.Apply(txid+1, e.ops[len(e.ops)-1]); err != nil {
		t.Fatal(err)
	}
	a, _ := e.ns.Checksum()
	b, _ := cp.Checksum()
	if a != b {
		t.Fatal("checkpoint + replay differs from the original")
	}
}

func TestUpdatePipelineAndLeases(t *testing.T) {
	e := newEnv(t)
	if err := e.create("hdfs", "/w/f", false); err != nil {
		t.Fatal(err)
	}
	op, b, err := e.ns.PrepareAddBlock(e.call("hdfs"), "/w/f", "DFSClient_hdfs", nil)
	e.must(op, err)
	gsOp, gs := e.ns.PrepareNextGenStamp(e.call("hdfs"))
	e.must(gsOp, nil)
	upd := &editpb.Block{BlockId: b.BlockId, GenStamp: gs, NumBytes: 5}
	e.must(e.ns.PrepareUpdatePipeline(e.call("hdfs"), "/w/f", "DFSClient_hdfs", b, upd))
	if got := e.stat("/w/f").Blocks[0]; got.GenStamp != gs || got.NumBytes != 5 {
		t.Fatalf("block after update %v", got)
	}
	stale := &editpb.Block{BlockId: b.BlockId, GenStamp: gs + 5}
	if _, err := e.ns.PrepareUpdatePipeline(e.call("hdfs"), "/w/f", "DFSClient_hdfs", b, stale); err == nil {
		t.Fatal("update to a stamp never handed out succeeded")
	}
	_, _, err = e.ns.PrepareAddBlock(e.call("hdfs"), "/w/f", "other", upd)
	wantErr(t, err, rpc.ErrLeaseExpired, fmt.Sprintf("Client (=other) is not the lease owner (=DFSClient_hdfs: /w/f (inode %d) Holder other does not have any open files.", RootINodeID+2))
	e.writeFile("hdfs", "/w/closed", 1, 1)
	var uc []string
	if err := e.ns.ForEachUnderConstruction(func(p string, s *FileStatus) error {
		uc = append(uc, p+"="+s.ClientName)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(uc) != "[/w/f=DFSClient_hdfs]" {
		t.Fatalf("under construction: %v", uc)
	}
	// Abandoning the last block drops it.
	a := e.must(e.ns.PrepareAbandonBlock(e.call("hdfs"), "/w/f", "DFSClient_hdfs", upd))
	if len(a.RemovedBlocks) != 1 || len(e.stat("/w/f").Blocks) != 0 {
		t.Fatalf("abandon: %v", a)
	}
}
