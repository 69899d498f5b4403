package main

// `hdfs dfs` commands that move, copy, size and change files, after Hadoop's
// MoveCommands.Rename, CopyCommands.Cp, Delete.Rmdir, Count, FsUsage.Du/Df and
// FsShellPermissions:
//
//   - -mv and -cp take sources (globs) and one destination. With several sources the
//     destination must be an existing directory; with one it may be an existing
//     directory (the source goes inside it under its own name) or a new name whose
//     parent exists. A directory is never moved or copied into itself. -mv renames on
//     the NameNode (same filesystem only); -cp reads through the client and writes
//     "<dst>._COPYING_", renamed into place when complete (as -put), recursively for
//     directories, merging into existing ones.
//   - -count, -du: getContentSummary per path (-du one level below a directory unless
//     -s); -df: getFsStats. Output columns and widths are Hadoop's.
//   - -chmod, -chown, -chgrp change only what differs, -R descending into directories
//     after changing the directory itself; failures read
//     "chmod: changing permissions of '<path>': <NameNode's message>".

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// manageOps are the commands of this file, for dfsTool.
func manageOps(shellOp func(name, args, help string, run func(*fsShell, []string) error) toolOp) []toolOp {
	return []toolOp{
		shellOp("-mv", "<src> ... <dst>",
			"Move files that match the specified file pattern <src> to a destination <dst>. When moving multiple files, the destination must be a directory.",
			runMv),
		shellOp("-cp", "[-f] [-p | -p[top]] [-d] <src> ... <dst>",
			"Copy files that match the file pattern <src> to a destination. When copying multiple files, the destination must be a directory. "+
				"-f: Overwrites the destination if it already exists. -p: preserves timestamps, ownership and permission "+
				"(-p[top]: t timestamps, o ownership, p permission). -d: Skip creation of temporary file(<dst>._COPYING_).",
			runCp),
		shellOp("-rmdir", "[--ignore-fail-on-non-empty] <dir> ...",
			"Removes the directory entry specified by each directory argument, provided it is empty. "+
				"--ignore-fail-on-non-empty: do not report a directory that is not empty.",
			runRmdir),
		shellOp("-count", "[-q] [-h] [-v] [-u] <path> ...",
			"Count the number of directories, files and bytes under the paths that match the specified file pattern. "+
				"The output columns are: DIR_COUNT FILE_COUNT CONTENT_SIZE PATHNAME, or with -q: "+
				"QUOTA REM_QUOTA SPACE_QUOTA REM_SPACE_QUOTA DIR_COUNT FILE_COUNT CONTENT_SIZE PATHNAME. "+
				"-h: human-readable sizes. -v: a header line. -u: the quotas and their usage only.",
			runCount),
		shellOp("-du", "[-s] [-h] [-v] [-x] <path> ...",
			"Show the amount of space, in bytes, used by the files that match the specified file pattern. "+
				"-s: the total (summary) size of each argument instead of each entry one level below it. -h: human-readable sizes. "+
				"-v: a header line. -x: exclude snapshots (there are none here). The output is: size, disk space consumed (with all replicas), name.",
			runDu),
		shellOp("-df", "[-h] [<path> ...]",
			"Shows the capacity, free and used space of the filesystem. -h: human-readable sizes.",
			runDf),
		shellOp("-chmod", "[-R] <MODE[,MODE]... | OCTALMODE> PATH...",
			"Changes permissions of a file. -R: recursively. MODE is as in the shell's chmod with the letters rwxXt "+
				"(e.g. +t,a+r,g-w,+rwx,o=r); without u, g, o or a, 'a' is meant and no umask applies. "+
				"OCTALMODE is 3 or 4 digits; a 4th (first) digit 1 or 0 sets or clears the sticky bit.",
			runChmod),
		shellOp("-chown", "[-R] [OWNER][:[GROUP]] PATH...",
			"Changes owner and group of a file. -R: recursively. With only an owner or a group given, only that is changed. "+
				"Names may consist of letters, digits and any of -_./@ and are case sensitive.",
			runChown),
		shellOp("-chgrp", "[-R] GROUP PATH...", "This is equivalent to -chown ... :GROUP ...", runChgrp),
	}
}

// ---- -mv and -cp ----

// destination is CommandWithDestination's check of the destination against the
// (expanded, existing) sources: it returns false, having displayed why, when the
// command cannot go on.
func (sh *fsShell) destination(srcArgs []string, dstArg string, overwrite bool) (*fsPath, []*fsPath, bool) {
	dst, err := sh.resolve(dstArg)
	if err == nil {
		err = sh.stat(dst)
	}
	if err != nil {
		sh.displayError(err)
		return nil, nil, false
	}
	srcs := sh.existingPaths(srcArgs)
	if len(srcs) == 0 {
		return nil, nil, false
	}
	switch {
	case len(srcs) > 1 && dst.stat == nil:
		sh.displayError(pathNotFound{dst.display})
	case len(srcs) > 1 && !isDir(dst):
		sh.displayError(pathIsNotDirectory{dst.display})
	case len(srcs) == 1 && dst.stat != nil && !isDir(dst) && !overwrite:
		sh.displayError(pathExists{dst.display})
	case len(srcs) == 1 && dst.stat == nil:
		par := dst.parent()
		if par == nil {
			return dst, srcs, true
		}
		if err := sh.stat(par); err != nil {
			sh.displayError(err)
		} else if par.stat == nil {
			sh.displayError(pathNotFound{dst.display})
		} else {
			return dst, srcs, true
		}
	default:
		return dst, srcs, true
	}
	return nil, nil, false
}

// target is where src goes under dst: inside it when dst is an existing directory.
func (sh *fsShell) target(src, dst *fsPath) (*fsPath, error) {
	if dst.stat == nil || !isDir(dst) {
		return dst, nil
	}
	t := dst.join(path.Base(src.abs), nil)
	if err := sh.stat(t); err != nil {
		return nil, err
	}
	return t, nil
}

// checkNotInside refuses to move or copy a directory onto or into itself.
func (sh *fsShell) checkNotInside(src, target *fsPath) error {
	if !isDir(src) || src.fs != target.fs {
		return nil
	}
	if src.abs == target.abs {
		return fmt.Errorf("`%s' to `%s%s': are identical", src.display, target.fs, target.abs)
	}
	prefix := strings.TrimSuffix(src.abs, "/") + "/"
	if strings.HasPrefix(target.abs, prefix) {
		return fmt.Errorf("`%s' to `%s': is a subdirectory of itself", src.display, target.display)
	}
	return nil
}

func runMv(sh *fsShell, args []string) error {
	_, rest, err := parseFsOptions(args, 2, "")
	if err != nil {
		return err
	}
	dst, srcs, ok := sh.destination(rest[:len(rest)-1], rest[len(rest)-1], false)
	if !ok {
		return nil
	}
	for _, src := range srcs {
		if err := sh.mvOne(src, dst); err != nil {
			sh.displayError(err)
		}
	}
	return nil
}

func (sh *fsShell) mvOne(src, dst *fsPath) error {
	target, err := sh.target(src, dst)
	if err != nil {
		return err
	}
	if err := sh.checkNotInside(src, target); err != nil {
		return err
	}
	// Hadoop compares scheme and host only.
	if fsHost(src.fs) != fsHost(target.fs) {
		return fmt.Errorf("`%s': Does not match target filesystem", src.display)
	}
	if target.stat != nil {
		return pathExists{target.display}
	}
	resp := &hdfspb.RenameResponseProto{}
	if err := sh.call(target.fs, "rename", &hdfspb.RenameRequestProto{Src: proto.String(src.abs), Dst: proto.String(target.abs)}, resp); err != nil {
		return err
	}
	if !resp.GetResult() {
		return pathIOError{src.display}
	}
	return nil
}

// fsHost is "hdfs://host" of "hdfs://host:port".
func fsHost(fs string) string {
	if i := strings.LastIndex(fs, ":"); i > len("hdfs:") {
		return fs[:i]
	}
	return fs
}

// cpOptions are -cp's switches; the preserve flags come from -p or -p[top].
type cpOptions struct {
	overwrite, direct  bool
	times, owner, perm bool
}

func runCp(sh *fsShell, args []string) error {
	var o cpOptions
	// Hadoop takes the first -p... switch out before the others are parsed.
	for i, a := range args {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-p") {
			continue
		}
		if a == "-p" {
			o.times, o.owner, o.perm = true, true, true
		}
		for _, c := range a[2:] {
			switch c {
			case 't':
				o.times = true
			case 'o':
				o.owner = true
			case 'p':
				o.perm = true
			default:
				return fsUsageError{"Illegal option " + a}
			}
		}
		args = append(args[:i:i], args[i+1:]...)
		break
	}
	opts, rest, err := parseFsOptions(args, 2, "fd")
	if err != nil {
		return err
	}
	o.overwrite, o.direct = opts['f'], opts['d']
	dst, srcs, ok := sh.destination(rest[:len(rest)-1], rest[len(rest)-1], o.overwrite)
	if !ok {
		return nil
	}
	for _, src := range srcs {
		target, err := sh.target(src, dst)
		if err == nil {
			err = sh.checkNotInside(src, target)
		}
		if err == nil {
			err = sh.cpOne(o, src, target)
		}
		if err != nil {
			sh.displayError(err)
		}
	}
	return nil
}

// cpOne copies src to target, a directory with everything under it.
func (sh *fsShell) cpOne(o cpOptions, src, target *fsPath) error {
	if !isDir(src) {
		return sh.cpFile(o, src, target)
	}
	if target.stat != nil && !isDir(target) {
		return pathIsNotDirectory{target.display}
	}
	if target.stat == nil {
		if err := sh.mkdirOne(target, false); err != nil {
			return err
		}
	}
	children, err := sh.list(src)
	if err != nil {
		return err
	}
	for _, c := range children {
		t := target.join(path.Base(c.abs), nil)
		err := sh.stat(t)
		if err == nil {
			err = sh.cpOne(o, c, t)
		}
		if err != nil {
			sh.displayError(err)
		}
	}
	return sh.cpPreserve(o, src, target)
}

func (sh *fsShell) cpFile(o cpOptions, src, target *fsPath) error {
	if target.stat != nil && (isDir(target) || !o.overwrite) {
		return pathExists{target.display}
	}
	r, err := sh.open(src)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := sh.putStream(putOptions{overwrite: o.overwrite, direct: o.direct}, r, nil, target); err != nil {
		return err
	}
	return sh.cpPreserve(o, src, target)
}

// cpPreserve gives target src's times, ownership and permission as -p asks.
func (sh *fsShell) cpPreserve(o cpOptions, src, target *fsPath) error {
	st := src.stat
	if o.times {
		req := &hdfspb.SetTimesRequestProto{Src: proto.String(target.abs), Mtime: proto.Uint64(st.GetModificationTime()), Atime: proto.Uint64(st.GetAccessTime())}
		if err := sh.call(target.fs, "setTimes", req, &hdfspb.SetTimesResponseProto{}); err != nil {
			return err
		}
	}
	if o.owner {
		req := &hdfspb.SetOwnerRequestProto{Src: proto.String(target.abs), Username: proto.String(st.GetOwner()), Groupname: proto.String(st.GetGroup())}
		if err := sh.call(target.fs, "setOwner", req, &hdfspb.SetOwnerResponseProto{}); err != nil {
			return err
		}
	}
	if o.perm {
		req := &hdfspb.SetPermissionRequestProto{Src: proto.String(target.abs), Permission: &hdfspb.FsPermissionProto{Perm: proto.Uint32(st.GetPermission().GetPerm() & 0o1777)}}
		if err := sh.call(target.fs, "setPermission", req, &hdfspb.SetPermissionResponseProto{}); err != nil {
			return err
		}
	}
	return nil
}

// ---- -rmdir ----

func runRmdir(sh *fsShell, args []string) error {
	words, args := wordOptions(args, "-ignore-fail-on-non-empty")
	_, paths, err := parseFsOptions(args, 1, "")
	if err != nil {
		return err
	}
	sh.expandEach(paths, nil, func(p *fsPath) error {
		return sh.rmdirOne(p, words["-ignore-fail-on-non-empty"])
	})
	return nil
}

func (sh *fsShell) rmdirOne(p *fsPath, ignoreNonEmpty bool) error {
	if !isDir(p) {
		return pathIsNotDirectory{p.display}
	}
	resp := &hdfspb.GetListingResponseProto{}
	req := &hdfspb.GetListingRequestProto{Src: proto.String(p.abs), StartAfter: []byte{}, NeedLocation: proto.Bool(false)}
	if err := sh.call(p.fs, "getListing", req, resp); err != nil {
		return err
	}
	if len(resp.GetDirList().GetPartialListing()) != 0 {
		if ignoreNonEmpty {
			return nil
		}
		return fmt.Errorf("`%s': Directory is not empty", p.display)
	}
	del := &hdfspb.DeleteResponseProto{}
	if err := sh.call(p.fs, "delete", &hdfspb.DeleteRequestProto{Src: proto.String(p.abs), Recursive: proto.Bool(false)}, del); err != nil {
		return err
	}
	if !del.GetResult() {
		return pathIOError{p.display}
	}
	return nil
}

// ---- -count, -du, -df ----

func (sh *fsShell) contentSummary(p *fsPath) (*hdfspb.ContentSummaryProto, error) {
	resp := &hdfspb.GetContentSummaryResponseProto{}
	if err := sh.call(p.fs, "getContentSummary", &hdfspb.GetContentSummaryRequestProto{Path: proto.String(p.abs)}, resp); err != nil {
		return nil, err
	}
	return resp.GetSummary(), nil
}

// quotaColumns are ContentSummary's QUOTA REM_QUOTA SPACE_QUOTA REM_SPACE_QUOTA
// ("%12s %15s %15s %15s "); spaceFromZero is QuotaUsage's rule (a space quota of 0 is
// shown), ContentSummary shows only positive ones.
func quotaColumns(cs *hdfspb.ContentSummaryProto, human, spaceFromZero bool) string {
	quota, spaceQuota := int64(cs.GetQuota()), int64(cs.GetSpaceQuota())
	q, qRem, s, sRem := "none", "inf", "none", "inf"
	if quota > 0 {
		q = formatSigned(quota, human)
		qRem = formatSigned(quota-int64(cs.GetDirectoryCount()+cs.GetFileCount()), human)
	}
	if spaceQuota > 0 || (spaceFromZero && spaceQuota == 0) {
		s = formatSigned(spaceQuota, human)
		sRem = formatSigned(spaceQuota-int64(cs.GetSpaceConsumed()), human)
	}
	return fmt.Sprintf("%12s %15s %15s %15s ", q, qRem, s, sRem)
}

// formatSigned is formatSize for a count that may be negative (a quota overrun).
func formatSigned(n int64, human bool) string {
	if n < 0 {
		return "-" + formatSize(uint64(-n), human)
	}
	return formatSize(uint64(n), human)
}

func runCount(sh *fsShell, args []string) error {
	opts, paths, err := parseFsOptions(args, 1, "qhvu")
	if err != nil {
		return err
	}
	human, quotas, quotasOnly := opts['h'], opts['q'], opts['u']
	if opts['v'] {
		header := fmt.Sprintf("%12s %12s %18s ", "DIR_COUNT", "FILE_COUNT", "CONTENT_SIZE")
		quotaHeader := fmt.Sprintf("%12s %15s %15s %15s ", "QUOTA", "REM_QUOTA", "SPACE_QUOTA", "REM_SPACE_QUOTA")
		switch {
		case quotasOnly:
			header = quotaHeader
		case quotas:
			header = quotaHeader + header
		}
		sh.tc.Println(header + "PATHNAME")
	}
	sh.expandEach(paths, nil, func(p *fsPath) error {
		cs, err := sh.contentSummary(p)
		if err != nil {
			return err
		}
		if quotasOnly {
			sh.tc.Println(quotaColumns(cs, human, true) + p.display)
			return nil
		}
		line := fmt.Sprintf("%12s %12s %18s ", formatSize(cs.GetDirectoryCount(), human),
			formatSize(cs.GetFileCount(), human), formatSize(cs.GetLength(), human))
		if quotas {
			line = quotaColumns(cs, human, false) + line
		}
		sh.tc.Println(line + p.display)
		return nil
	})
	return nil
}

// usageTable is FsUsage's TableBuilder: columns padded to their widest cell and
// separated by two spaces, left-aligned unless right-aligned, the last left-aligned
// column unpadded. A table holding only its header prints nothing.
type usageTable struct {
	rows   [][]string
	right  []bool
	header bool
}

func (t *usageTable) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *usageTable) String() string {
	if len(t.rows) == 0 || (t.header && len(t.rows) == 1) {
		return ""
	}
	n := len(t.rows[0])
	widths := make([]int, n)
	for _, r := range t.rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			switch {
			case i < len(t.right) && t.right[i]:
				fmt.Fprintf(&b, "%*s", widths[i], c)
			case i == n-1:
				b.WriteString(c)
			default:
				fmt.Fprintf(&b, "%-*s", widths[i], c)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func runDu(sh *fsShell, args []string) error {
	opts, paths, err := parseFsOptions(args, 0, "shvx")
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	t := &usageTable{}
	if opts['v'] {
		t.header = true
		t.add("SIZE", "DISK_SPACE_CONSUMED_WITH_ALL_REPLICAS", "FULL_PATH_NAME")
	}
	row := func(p *fsPath) error {
		cs, err := sh.contentSummary(p)
		if err != nil {
			return err
		}
		t.add(formatSize(cs.GetLength(), opts['h']), formatSize(cs.GetSpaceConsumed(), opts['h']), p.display)
		return nil
	}
	sh.expandEach(paths, nil, func(p *fsPath) error {
		if opts['s'] || !isDir(p) {
			return row(p)
		}
		// One level deep: each entry of the directory.
		children, err := sh.list(p)
		if err != nil {
			return err
		}
		for _, c := range children {
			if err := row(c); err != nil {
				sh.displayError(err)
			}
		}
		return nil
	})
	fmt.Fprint(sh.tc.Out, t.String())
	return nil
}

func runDf(sh *fsShell, args []string) error {
	opts, paths, err := parseFsOptions(args, 0, "h")
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		paths = []string{"/"}
	}
	t := &usageTable{header: true, right: []bool{false, true, true, true, true}}
	t.add("Filesystem", "Size", "Used", "Available", "Use%")
	sh.expandEach(paths, nil, func(p *fsPath) error {
		resp := &hdfspb.GetFsStatsResponseProto{}
		if err := sh.call(p.fs, "getFsStats", &hdfspb.GetFsStatusRequestProto{}, resp); err != nil {
			return err
		}
		size, used := resp.GetCapacity(), resp.GetUsed()
		t.add(p.fs, formatSize(size, opts['h']), formatSize(used, opts['h']), formatSize(resp.GetRemaining(), opts['h']),
			formatPercent(float64(used)/float64(size)))
		return nil
	})
	fmt.Fprint(sh.tc.Out, t.String())
	return nil
}

// formatPercent is StringUtils.formatPercent(f, 0): "37%", and "NaN%" for 0/0.
func formatPercent(f float64) string {
	if math.IsNaN(f) {
		return "NaN%"
	}
	return fmt.Sprintf("%.0f%%", math.Floor(f*100+0.5))
}

// ---- -chmod, -chown, -chgrp ----

// eachPathR is expandEach that also walks everything under a directory when recursive:
// the directory first, then its entries; a directory for which fn failed is not
// descended into.
func (sh *fsShell) eachPathR(args []string, recursive bool, fn func(p *fsPath) error) {
	var walk func(p *fsPath) error
	walk = func(p *fsPath) error {
		if err := fn(p); err != nil {
			return err
		}
		if !recursive || !isDir(p) {
			return nil
		}
		children, err := sh.list(p)
		if err != nil {
			return err
		}
		for _, c := range children {
			if err := walk(c); err != nil {
				sh.displayError(err)
			}
		}
		return nil
	}
	sh.expandEach(args, nil, walk)
}

func runChmod(sh *fsShell, args []string) error {
	opts, rest, err := parseFsOptions(args, 2, "R")
	if err != nil {
		return err
	}
	spec, err := parseChmodMode(rest[0])
	if err != nil {
		return fsUsageError{"chmod : mode '" + rest[0] + "' does not match the expected pattern."}
	}
	sh.eachPathR(rest[1:], opts['R'], func(p *fsPath) error {
		old := p.stat.GetPermission().GetPerm() & 0o1777
		perm := spec.apply(old, isDir(p))
		if perm == old {
			return nil
		}
		req := &hdfspb.SetPermissionRequestProto{Src: proto.String(p.abs), Permission: &hdfspb.FsPermissionProto{Perm: proto.Uint32(perm)}}
		if err := sh.call(p.fs, "setPermission", req, &hdfspb.SetPermissionResponseProto{}); err != nil {
			return fmt.Errorf("changing permissions of '%s': %v", p.display, err) // %v: displayError would print only the NameNode's text
		}
		return nil
	})
	return nil
}

// ownerChars are the characters Hadoop allows in owner and group names.
const ownerChars = `[-_./@a-zA-Z0-9]`

var (
	chownPattern = regexp.MustCompile(`^\s*(` + ownerChars + `+)?(:(` + ownerChars + `*))?\s*$`)
	chgrpPattern = regexp.MustCompile(`^\s*(` + ownerChars + `+)\s*$`)
)

func runChown(sh *fsShell, args []string) error {
	opts, rest, err := parseFsOptions(args, 2, "R")
	if err != nil {
		return err
	}
	m := chownPattern.FindStringSubmatch(rest[0])
	if m == nil {
		return fsUsageError{"'" + rest[0] + "' does not match expected pattern for [owner][:group]."}
	}
	owner, group := m[1], m[3]
	if owner == "" && group == "" {
		return fsUsageError{"'" + rest[0] + "' does not specify owner or group."}
	}
	sh.setOwners(rest[1:], opts['R'], owner, group)
	return nil
}

func runChgrp(sh *fsShell, args []string) error {
	opts, rest, err := parseFsOptions(args, 2, "R")
	if err != nil {
		return err
	}
	m := chgrpPattern.FindStringSubmatch(rest[0])
	if m == nil {
		return fsUsageError{"'" + rest[0] + "' does not match expected pattern for group"}
	}
	sh.setOwners(rest[1:], opts['R'], "", m[1])
	return nil
}

// setOwners sets the owner and group ("" leaves one as it is) where they differ.
func (sh *fsShell) setOwners(args []string, recursive bool, owner, group string) {
	sh.eachPathR(args, recursive, func(p *fsPath) error {
		newOwner, newGroup := owner, group
		if newOwner == p.stat.GetOwner() {
			newOwner = ""
		}
		if newGroup == p.stat.GetGroup() {
			newGroup = ""
		}
		if newOwner == "" && newGroup == "" {
			return nil
		}
		req := &hdfspb.SetOwnerRequestProto{Src: proto.String(p.abs)}
		if newOwner != "" {
			req.Username = proto.String(newOwner)
		}
		if newGroup != "" {
			req.Groupname = proto.String(newGroup)
		}
		if err := sh.call(p.fs, "setOwner", req, &hdfspb.SetOwnerResponseProto{}); err != nil {
			return fmt.Errorf("changing ownership of '%s': %v", p.display, err) // as for chmod
		}
		return nil
	})
}
