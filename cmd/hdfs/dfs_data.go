package main

// `hdfs dfs` commands that move data: -put/-copyFromLocal, -get/-copyToLocal, -cat, and
// -rm. They follow Hadoop's CopyCommands, Display and Delete:
//
//   - -put writes each local source to "<dst>._COPYING_" and renames it into place when
//     it is complete (-d writes the target directly), so a reader never sees half a file
//     under its real name; -f overwrites, -p keeps the local times and permission. A
//     directory source is copied recursively. "-" reads standard input.
//   - -get does the same in the other direction ("<localdst>._COPYING_", then a rename).
//   - -rm deletes (-r for directories, -f quiet about missing paths); with
//     fs.trash.interval > 0 it moves to /user/<user>/.Trash/Current instead, unless
//     -skipTrash.
//
// Writes use dfs.replication and dfs.blocksize from the configuration, so
// "-D dfs.blocksize=1048576 -D dfs.replication=2" apply.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// copyingSuffix marks a copy in progress (Hadoop's CommandWithDestination).
const copyingSuffix = "._COPYING_"

func dataOps(shellOp func(name, args, help string, run func(*fsShell, []string) error) toolOp) []toolOp {
	putHelp := "Copy files from the local file system into fs. Copying fails if the file already exists, unless the -f flag is given. " +
		"-p: Preserves access and modification times and permission. -f: Overwrites the destination if it already exists. " +
		"-d: Skip creation of temporary file(<dst>._COPYING_). -l: accepted (lazy persist is not supported)."
	getHelp := "Copy files that match the file pattern <src> to the local name. <src> is kept. -f: Overwrites the destination if it already exists. " +
		"-p: Preserves access and modification times and permission. -ignoreCrc and -crc are accepted; checksums are always verified."
	return []toolOp{
		shellOp("-put", "[-f] [-p] [-l] [-d] <localsrc> ... <dst>", putHelp, runPut),
		shellOp("-copyFromLocal", "[-f] [-p] [-l] [-d] <localsrc> ... <dst>", "Identical to the -put command.", runPut),
		shellOp("-get", "[-f] [-p] [-ignoreCrc] [-crc] <src> ... <localdst>", getHelp, runGet),
		shellOp("-copyToLocal", "[-f] [-p] [-ignoreCrc] [-crc] <src> ... <localdst>", "Identical to the -get command.", runGet),
		shellOp("-cat", "[-ignoreCrc] <src> ...", "Fetch all files that match the file pattern <src> and display their contents on stdout.", runCat),
		shellOp("-rm", "[-f] [-r|-R] [-skipTrash] <src> ...",
			"Delete all files that match the specified file pattern. -f: no message and no error for a missing file. "+
				"-[rR]: Recursively deletes directories. -skipTrash: delete at once instead of moving to the trash (fs.trash.interval).",
			runRm),
	}
}

// wordOptions removes the multi-letter switches in words (e.g. "-skipTrash") from the
// leading switches of args, as Hadoop's CommandFormat accepts them, and reports which
// were present.
func wordOptions(args []string, words ...string) (map[string]bool, []string) {
	set := map[string]bool{}
	var rest []string
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		matched := false
		for _, w := range words {
			if a == "-"+w {
				set[w], matched = true, true
			}
		}
		if !matched {
			rest = append(rest, a)
		}
	}
	return set, append(rest, args[i:]...)
}

// dataCtx bounds nothing: a copy takes as long as its data needs; SIGINT cancels it.
func (sh *fsShell) dataCtx() context.Context { return sh.tc.Ctx }

// ---- -put ----

type putOptions struct{ overwrite, preserve, direct bool }

func runPut(sh *fsShell, args []string) error {
	opts, rest, err := parseFsOptions(args, 1, "fpld")
	if err != nil {
		return err
	}
	o := putOptions{overwrite: opts['f'], preserve: opts['p'], direct: opts['d']}
	srcs, dstArg := rest, "."
	if len(rest) > 1 {
		srcs, dstArg = rest[:len(rest)-1], rest[len(rest)-1]
	}
	dst, err := sh.resolve(dstArg)
	if err == nil {
		err = sh.stat(dst)
	}
	if err != nil {
		sh.displayError(err)
		return nil
	}
	dstIsDir := dst.stat != nil && isDir(dst)
	if (len(srcs) > 1 || dstArg == ".") && !dstIsDir {
		if dst.stat == nil {
			sh.displayError(pathNotFound{dst.display})
		} else {
			sh.displayError(pathIsNotDirectory{dst.display})
		}
		return nil
	}
	for _, src := range srcs {
		target := dst
		if dstIsDir {
			name := filepath.Base(src)
			if src == "-" {
				sh.displayError(errors.New("`-': stdin can only be copied to a file, not into a directory"))
				continue
			}
			target = dst.join(name, nil)
			if err := sh.stat(target); err != nil {
				sh.displayError(err)
				continue
			}
		}
		if err := sh.putOne(o, src, target); err != nil {
			sh.displayError(err)
		}
	}
	return nil
}

func (sh *fsShell) putOne(o putOptions, src string, target *fsPath) error {
	if src == "-" {
		return sh.putStream(o, sh.tc.In, nil, target)
	}
	fi, err := os.Stat(src)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return pathNotFound{src}
		}
		return err
	}
	if !fi.IsDir() {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		return sh.putStream(o, f, fi, target)
	}
	// A directory: create it (or use the existing one) and copy its entries.
	if target.stat != nil && !isDir(target) {
		return pathIsNotDirectory{target.display}
	}
	if target.stat == nil {
		if err := sh.mkdirOne(target, false); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		child := target.join(e.Name(), nil)
		if err := sh.stat(child); err != nil {
			return err
		}
		if err := sh.putOne(o, filepath.Join(src, e.Name()), child); err != nil {
			sh.displayError(err)
		}
	}
	if o.preserve {
		return sh.preserve(target, fi)
	}
	return nil
}

// putStream copies r (the local file fi, nil for stdin) to target.
func (sh *fsShell) putStream(o putOptions, r io.Reader, fi os.FileInfo, target *fsPath) error {
	if target.stat != nil {
		if isDir(target) {
			return pathIsDirectory{target.display}
		}
		if !o.overwrite {
			return pathExists{target.display}
		}
	}
	if err := sh.parentMustExist(target); err != nil {
		return err
	}
	c, err := sh.client(target.fs)
	if err != nil {
		return err
	}
	ctx := sh.dataCtx()
	tmp := target.abs
	if !o.direct {
		tmp += copyingSuffix
	}
	w, err := c.Create(ctx, tmp, client.CreateOptions{Overwrite: true, Perm: sh.filePerm()})
	if err != nil {
		return err
	}
	if _, err := sh.copyProgress(w, r, target.display); err != nil {
		w.Abort()
		sh.removeQuietly(target.fs, tmp)
		return err
	}
	if err := w.Close(); err != nil {
		sh.removeQuietly(target.fs, tmp)
		return err
	}
	if tmp != target.abs {
		req := &hdfspb.Rename2RequestProto{Src: proto.String(tmp), Dst: proto.String(target.abs), OverwriteDest: proto.Bool(o.overwrite)}
		if err := sh.call(target.fs, "rename2", req, &hdfspb.Rename2ResponseProto{}); err != nil {
			sh.removeQuietly(target.fs, tmp)
			return err
		}
	}
	if o.preserve && fi != nil {
		return sh.preserve(target, fi)
	}
	return nil
}

// preserve sets target's times and permission from the local fi (-p).
func (sh *fsShell) preserve(target *fsPath, fi os.FileInfo) error {
	ms := uint64(fi.ModTime().UnixMilli())
	if err := sh.call(target.fs, "setTimes", &hdfspb.SetTimesRequestProto{Src: proto.String(target.abs), Mtime: proto.Uint64(ms), Atime: proto.Uint64(ms)}, &hdfspb.SetTimesResponseProto{}); err != nil {
		return err
	}
	perm := &hdfspb.FsPermissionProto{Perm: proto.Uint32(uint32(fi.Mode().Perm()))}
	return sh.call(target.fs, "setPermission", &hdfspb.SetPermissionRequestProto{Src: proto.String(target.abs), Permission: perm}, &hdfspb.SetPermissionResponseProto{})
}

func (sh *fsShell) removeQuietly(fsName, p string) {
	_ = sh.call(fsName, "delete", &hdfspb.DeleteRequestProto{Src: proto.String(p), Recursive: proto.Bool(false)}, &hdfspb.DeleteResponseProto{})
}

// ---- -get ----

func runGet(sh *fsShell, args []string) error {
	_, args = wordOptions(args, "ignoreCrc", "crc")
	opts, rest, err := parseFsOptions(args, 1, "fp")
	if err != nil {
		return err
	}
	srcArgs, dst := rest, "."
	if len(rest) > 1 {
		srcArgs, dst = rest[:len(rest)-1], rest[len(rest)-1]
	}
	srcs := sh.existingPaths(srcArgs)
	di, statErr := os.Stat(dst)
	dstIsDir := statErr == nil && di.IsDir()
	if len(srcs) > 1 && !dstIsDir {
		if statErr != nil {
			sh.displayError(pathNotFound{dst})
		} else {
			sh.displayError(pathIsNotDirectory{dst})
		}
		return nil
	}
	for _, p := range srcs {
		target := dst
		if dstIsDir {
			target = filepath.Join(dst, path.Base(p.abs))
		}
		if err := sh.getOne(opts['f'], opts['p'], p, target); err != nil {
			sh.displayError(err)
		}
	}
	return nil
}

func (sh *fsShell) getOne(overwrite, preserve bool, p *fsPath, target string) error {
	ti, err := os.Stat(target)
	exists := err == nil
	if isDir(p) {
		if exists && !ti.IsDir() {
			return pathIsNotDirectory{target}
		}
		if !exists {
			if err := os.Mkdir(target, 0o777); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return pathNotFound{target}
				}
				return err
			}
		}
		items, err := sh.list(p)
		if err != nil {
			return err
		}
		for _, c := range items {
			if err := sh.getOne(overwrite, preserve, c, filepath.Join(target, path.Base(c.abs))); err != nil {
				sh.displayError(err)
			}
		}
		return nil
	}
	if exists {
		if ti.IsDir() {
			return pathIsDirectory{target}
		}
		if !overwrite {
			return pathExists{target}
		}
	}
	r, err := sh.open(p)
	if err != nil {
		return err
	}
	defer r.Close()
	tmp := target + copyingSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return pathNotFound{target}
		}
		return err
	}
	if _, err := sh.copyProgress(f, r, p.display); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, target); err != nil {
		os.Remove(tmp)
		return err
	}
	if preserve {
		mtime := time.UnixMilli(int64(p.stat.GetModificationTime()))
		if err := os.Chtimes(target, time.UnixMilli(int64(p.stat.GetAccessTime())), mtime); err != nil {
			return err
		}
		return os.Chmod(target, fs.FileMode(p.stat.GetPermission().GetPerm()&0o777))
	}
	return nil
}

// ---- -cat ----

func runCat(sh *fsShell, args []string) error {
	_, args = wordOptions(args, "ignoreCrc")
	_, paths, err := parseFsOptions(args, 1, "")
	if err != nil {
		return err
	}
	sh.expandEach(paths, nil, func(p *fsPath) error {
		if isDir(p) {
			return pathIsDirectory{p.display}
		}
		return sh.catOne(p)
	})
	return nil
}

// open opens file p for reading through its filesystem's client.
func (sh *fsShell) open(p *fsPath) (*client.FileReader, error) {
	c, err := sh.client(p.fs)
	if err != nil {
		return nil, err
	}
	return c.Open(sh.dataCtx(), p.abs)
}

func (sh *fsShell) catOne(p *fsPath) error {
	r, err := sh.open(p)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(sh.tc.Out, r)
	return err
}

// ---- -rm ----

func runRm(sh *fsShell, args []string) error {
	words, args := wordOptions(args, "skipTrash", "safely")
	opts, paths, err := parseFsOptions(args, 1, "frR")
	if err != nil {
		return err
	}
	recursive := opts['r'] || opts['R']
	trash, err := sh.tc.Conf.GetDuration("fs.trash.interval", time.Minute, 0)
	if err != nil {
		return err
	}
	useTrash := trash > 0 && !words["skipTrash"]
	for _, a := range paths {
		ps, err := sh.expand(a)
		if err != nil {
			var nf pathNotFound
			if !(opts['f'] && errors.As(err, &nf)) {
				sh.displayError(err)
			}
			continue
		}
		for _, p := range ps {
			if err := sh.rmOne(p, recursive, opts['f'], useTrash); err != nil {
				sh.displayError(err)
			}
		}
	}
	return nil
}

func (sh *fsShell) rmOne(p *fsPath, recursive, force, useTrash bool) error {
	switch {
	case p.stat == nil:
		if force {
			return nil
		}
		return pathNotFound{p.display}
	case isDir(p) && !recursive:
		return pathIsDirectory{p.display}
	}
	if useTrash {
		moved, err := sh.moveToTrash(p)
		if err != nil || moved {
			return err
		}
	}
	resp := &hdfspb.DeleteResponseProto{}
	if err := sh.call(p.fs, "delete", &hdfspb.DeleteRequestProto{Src: proto.String(p.abs), Recursive: proto.Bool(recursive)}, resp); err != nil {
		return err
	}
	if !resp.GetResult() {
		return pathIOError{p.display}
	}
	fmt.Fprintf(sh.tc.Out, "Deleted %s\n", p.display)
	return nil
}

// moveToTrash is TrashPolicyDefault.moveToTrash: rename p under
// /user/<user>/.Trash/Current/<abs path>, adding the time in milliseconds to the name
// when that exists already. Paths inside the trash are deleted (false: not moved).
func (sh *fsShell) moveToTrash(p *fsPath) (bool, error) {
	trashRoot := sh.home + "/.Trash"
	if p.abs == trashRoot || strings.HasPrefix(p.abs, trashRoot+"/") {
		return false, nil
	}
	current := trashRoot + "/Current"
	dst := current + p.abs
	parent := &fsPath{fs: p.fs, abs: path.Dir(dst), display: path.Dir(dst)}
	req := &hdfspb.MkdirsRequestProto{Src: proto.String(parent.abs), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o700)}, CreateParent: proto.Bool(true)}
	if err := sh.call(p.fs, "mkdirs", req, &hdfspb.MkdirsResponseProto{}); err != nil {
		return false, err
	}
	probe := &fsPath{fs: p.fs, abs: dst}
	if err := sh.stat(probe); err != nil {
		return false, err
	}
	if probe.stat != nil {
		dst += fmt.Sprint(time.Now().UnixMilli())
	}
	if err := sh.call(p.fs, "rename2", &hdfspb.Rename2RequestProto{Src: proto.String(p.abs), Dst: proto.String(dst), OverwriteDest: proto.Bool(false)}, &hdfspb.Rename2ResponseProto{}); err != nil {
		return false, err
	}
	fmt.Fprintf(sh.tc.Err, "INFO fs.TrashPolicyDefault: Moved: '%s%s' to trash at: %s%s\n", p.fs, p.abs, p.fs, dst)
	return true, nil
}
