package main

// `hdfs dfs`: Hadoop's FsShell, grown one command at a time.
//
// The shape every command follows is FsShell's (org.apache.hadoop.fs.shell.Command):
//
//   - the command's own switches come first and are single letters given separately
//     ("-ls -R -d /a", never "-Rd"); an unknown one, or too few paths, is a usage error:
//     "-ls: Illegal option -x" then "Usage: hadoop fs [generic options] -ls ...", exit 255;
//   - each path argument is processed on its own; a failure prints "<cmd>: <message>" on
//     stderr (the first line of the NameNode's exception, or "`<path>': No such file or
//     directory") and the command goes on with the next argument;
//   - the exit status is 0 when no argument failed, else 1.
//
// Paths resolve as Hadoop's Path does against the default filesystem: "hdfs://ns/a" names
// its filesystem, "/a" is on fs.defaultFS, and "a" is relative to the user's home
// /user/<user> on fs.defaultFS. Output names a path the way it was typed (relative paths
// stay relative), and children as "<typed path>/<name>".
//
// Every NameNode call goes through package client, so an HA nameservice fails over.
//
// To add a command: write a func(*fsShell, []string) error beside runMkdir and runLs,
// parse its switches with parseFsOptions, report per-path failures with sh.displayError,
// and add a toolOp to dfsTool. Path arguments go through sh.expandEach (sh.expand),
// which expands Hadoop globs (* ? [...] {a,b}, per path component). The commands that
// move data are in dfs_data.go, the inspection and touch commands in dfs_inspect.go, and
// moving, copying, sizes and permissions in dfs_manage*.go. Not yet here: braces
// spanning a "/", -ls -q/-e.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/user"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// fsUsagePrefix is how FsShell introduces a command's usage (Hadoop keeps "hadoop fs" in
// `hdfs dfs` too).
const fsUsagePrefix = "Usage: hadoop fs [generic options]"

// dfsCallTimeout bounds one NameNode call, failovers included.
const dfsCallTimeout = 2 * time.Minute

func dfsTool(e *appEnv) *hadoopTool {
	t := &hadoopTool{
		Name:     "dfs",
		Category: categoryClient,
		Summary:  "run a filesystem command on the file system",
		Description: "Runs a filesystem command on fs.defaultFS (or the filesystem a path names, hdfs://...).\n" +
			"Relative paths are relative to /user/<user> ($HADOOP_USER_NAME, else the OS user).",
	}
	shellOp := func(name, args, help string, run func(*fsShell, []string) error) toolOp {
		return toolOp{Name: name, Args: args, Help: help, MinArgs: 0, MaxArgs: -1,
			Run: func(tc *toolContext, a []string) error {
				sh, err := newFsShell(tc, e, name, args)
				if err != nil {
					return err
				}
				defer sh.close()
				return sh.finish(run(sh, a))
			}}
	}
	t.Ops = []toolOp{
		shellOp("-ls", "[-C] [-d] [-h] [-R] [-t] [-S] [-r] [-u] [<path> ...]",
			"List the contents that match the specified file pattern. If path is not specified, the contents of /user/<currentUser> will be listed. "+
				"For a directory a list of its direct children is returned (unless -d is given). -C: paths only. -d: Directories are listed as plain files. "+
				"-h: human-readable sizes. -R: Recursively list the contents of directories. -t: newest first. -S: largest first. -r: reverse the order. "+
				"-u: access time instead of modification time.",
			runLs),
		shellOp("-mkdir", "[-p] <path> ...",
			"Create a directory in specified location. -p: Do not fail if the directory already exists (and create missing parents).",
			runMkdir),
	}
	t.Ops = append(t.Ops, dataOps(shellOp)...)
	t.Ops = append(t.Ops, inspectOps(shellOp)...)
	t.Ops = append(t.Ops, manageOps(shellOp)...)
	return t
}

// fsShell is one run of one dfs command.
type fsShell struct {
	tc   *toolContext
	name string // "ls", as errors are prefixed
	args string // the command's usage arguments
	user string
	home string
	// defaultFS is the scheme and authority of fs.defaultFS ("hdfs://mycluster").
	defaultFS string
	umask     uint32
	clients   map[string]*client.Client
	numErrors int

	// -ls column widths; like Hadoop's Ls they only grow during one command.
	maxRepl, maxLen, maxOwner, maxGroup int
}

// hadoopUser is the user the client tools act as: $HADOOP_USER_NAME, else the OS user
// (client.DefaultUser, reading the environment through e).
func (e *appEnv) hadoopUser() string {
	if u := e.getenv("HADOOP_USER_NAME"); u != "" {
		return u
	}
	if cur, err := user.Current(); err == nil && cur.Username != "" {
		return cur.Username
	}
	return "hdfs"
}

func newFsShell(tc *toolContext, e *appEnv, op, args string) (*fsShell, error) {
	u := e.hadoopUser()
	umask, err := parseOctalUmask(tc.Conf.GetTrimmed("fs.permissions.umask-mode", "022"))
	if err != nil {
		return nil, err
	}
	fs := tc.Conf.GetTrimmed(conf.KeyDefaultFS, "file:///")
	d, err := url.Parse(fs)
	if err != nil {
		return nil, fmt.Errorf("bad fs.defaultFS %q: %w", fs, err)
	}
	return &fsShell{
		tc: tc, name: strings.TrimPrefix(op, "-"), args: args,
		user: u, home: "/user/" + u,
		defaultFS: strings.ToLower(d.Scheme) + "://" + d.Host,
		umask:     umask,
		clients:   map[string]*client.Client{},
		maxRepl:   3, maxLen: 10,
	}, nil
}

func (sh *fsShell) close() {
	for _, c := range sh.clients {
		_ = c.Close()
	}
}

// finish turns a command's result into the exit status FsShell gives: a usage error
// (255), else 1 when any path failed, else 0.
func (sh *fsShell) finish(err error) error {
	var ue fsUsageError
	if errors.As(err, &ue) {
		fmt.Fprintf(sh.tc.Err, "-%s: %s\n%s -%s %s\n", sh.name, ue.msg, fsUsagePrefix, sh.name, sh.args)
		return cli.Exit("", exitToolError)
	}
	if err != nil {
		sh.displayError(err)
	}
	if sh.numErrors > 0 {
		return cli.Exit("", exitShellError)
	}
	return nil
}

// displayError prints "<cmd>: <first line of the message>" and counts the failure.
func (sh *fsShell) displayError(err error) {
	sh.numErrors++
	msg := err.Error()
	var re *rpc.RemoteError
	if errors.As(err, &re) {
		msg = re.Message
	}
	msg, _, _ = strings.Cut(msg, "\n")
	fmt.Fprintf(sh.tc.Err, "%s: %s\n", sh.name, msg)
}

// fsUsageError is a bad command line (Hadoop's IllegalArgumentException from CommandFormat).
type fsUsageError struct{ msg string }

func (e fsUsageError) Error() string { return e.msg }

// parseFsOptions is Hadoop's CommandFormat: leading single-letter switches from opts, each
// given on its own, up to the first non-switch, a lone "-", or "--" (dropped). It then
// checks there are at least minArgs arguments left.
func parseFsOptions(args []string, minArgs int, opts string) (map[byte]bool, []string, error) {
	set := map[byte]bool{}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		if len(a) != 2 || !strings.ContainsRune(opts, rune(a[1])) {
			return nil, nil, fsUsageError{"Illegal option " + a}
		}
		set[a[1]] = true
	}
	rest := args[i:]
	if len(rest) < minArgs {
		return nil, nil, fsUsageError{fmt.Sprintf("Not enough arguments: expected %d but got %d", minArgs, len(rest))}
	}
	return set, rest, nil
}

// fsPath is one path argument (or a child found under one): where it is and how to show it.
type fsPath struct {
	// display is the path as the user wrote it, normalized as Hadoop's Path does: prefix
	// ("hdfs://ns" when the argument named its filesystem, else "") then the path part.
	display string
	prefix  string
	// fs is the scheme and authority of its filesystem ("hdfs://mycluster").
	fs string
	// abs is the absolute path inside that filesystem.
	abs  string
	stat *hdfspb.HdfsFileStatusProto
}

// pathNotFound is Hadoop's PathNotFoundException.
type pathNotFound struct{ path string }

func (e pathNotFound) Error() string { return "`" + e.path + "': No such file or directory" }

// pathIsDirectory, pathIsNotDirectory, pathExists and pathIOError are Hadoop's
// PathIsDirectoryException, PathIsNotDirectoryException, PathExistsException and
// PathIOException (a call that answered false).
type (
	pathIsDirectory    struct{ path string }
	pathIsNotDirectory struct{ path string }
	pathExists         struct{ path string }
	pathIOError        struct{ path string }
)

func (e pathIsDirectory) Error() string    { return "`" + e.path + "': Is a directory" }
func (e pathIsNotDirectory) Error() string { return "`" + e.path + "': Is not a directory" }
func (e pathExists) Error() string         { return "`" + e.path + "': File exists" }
func (e pathIOError) Error() string        { return "`" + e.path + "': Input/output error" }

// resolve turns an argument into an fsPath.
func (sh *fsShell) resolve(arg string) (*fsPath, error) {
	if arg == "" {
		return nil, errors.New("Can not create a Path from an empty string")
	}
	if scheme, rest, ok := strings.Cut(arg, "://"); ok && !strings.Contains(scheme, "/") {
		// Split by hand as Hadoop's Path does: '?' and '#' are glob and name characters
		// here, not a URI's query and fragment.
		if !strings.EqualFold(scheme, "hdfs") {
			return nil, fmt.Errorf("No FileSystem for scheme %q", scheme)
		}
		authority, p, hasPath := strings.Cut(rest, "/")
		fs := "hdfs://" + authority
		out := &fsPath{display: fs, prefix: fs, fs: fs, abs: cleanAbs(p)}
		if hasPath {
			out.display += out.abs
		}
		return out, nil
	}
	if !strings.HasPrefix(sh.defaultFS, "hdfs://") {
		return nil, fmt.Errorf("fs.defaultFS is %s: dfs needs an hdfs:// filesystem", sh.defaultFS)
	}
	if strings.HasPrefix(arg, "/") {
		abs := cleanAbs(arg)
		return &fsPath{display: abs, fs: sh.defaultFS, abs: abs}, nil
	}
	rel := path.Clean(arg)
	return &fsPath{display: rel, fs: sh.defaultFS, abs: cleanAbs(sh.home + "/" + rel)}, nil
}

func cleanAbs(p string) string { return path.Clean("/" + p) }

// child is the entry st under p, shown as Hadoop's PathData shows children: the bare name
// under ".", else "<p>/<name>".
func (p *fsPath) child(st *hdfspb.HdfsFileStatusProto) *fsPath {
	name := string(st.GetPath())
	display := p.display + "/" + name
	switch {
	case p.display == ".":
		display = name
	case strings.HasSuffix(p.display, "/"):
		display = p.display + name
	}
	return &fsPath{display: display, prefix: p.prefix, fs: p.fs, abs: path.Join(p.abs, name), stat: st}
}

// parent is p's parent directory as Hadoop's Path.getParent shows it ("." for a bare
// relative name); nil for a root.
func (p *fsPath) parent() *fsPath {
	if p.abs == "/" {
		return nil
	}
	part := strings.TrimPrefix(p.display, p.prefix)
	switch i := strings.LastIndex(part, "/"); {
	case i < 0:
		part = "."
	case i == 0:
		part = "/"
	default:
		part = part[:i]
	}
	return &fsPath{display: p.prefix + part, prefix: p.prefix, fs: p.fs, abs: path.Dir(p.abs)}
}

func (sh *fsShell) client(fs string) (*client.Client, error) {
	if c, ok := sh.clients[fs]; ok {
		return c, nil
	}
	c, err := client.New(client.Config{Conf: sh.tc.Conf, User: sh.user, Logger: sh.tc.Log.Named("client")}, fs)
	if err != nil {
		return nil, err
	}
	sh.clients[fs] = c
	return c, nil
}

func (sh *fsShell) call(fs, method string, req, resp proto.Message) error {
	c, err := sh.client(fs)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(sh.tc.Ctx, dfsCallTimeout)
	defer cancel()
	return c.Call(ctx, method, req, resp)
}

// stat fills p.stat; a missing path leaves it nil.
func (sh *fsShell) stat(p *fsPath) error {
	resp := &hdfspb.GetFileInfoResponseProto{}
	if err := sh.call(p.fs, "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String(p.abs)}, resp); err != nil {
		return err
	}
	p.stat = resp.Fs
	return nil
}

// list returns every entry of directory p, page by page (getListing with startAfter).
func (sh *fsShell) list(p *fsPath) ([]*fsPath, error) {
	var out []*fsPath
	after := []byte{}
	for {
		resp := &hdfspb.GetListingResponseProto{}
		req := &hdfspb.GetListingRequestProto{Src: proto.String(p.abs), StartAfter: after, NeedLocation: proto.Bool(false)}
		if err := sh.call(p.fs, "getListing", req, resp); err != nil {
			return nil, err
		}
		if resp.DirList == nil {
			// DistributedFileSystem.listStatus's text for a directory gone meanwhile.
			return nil, fmt.Errorf("File %s does not exist.", p.abs)
		}
		page := resp.DirList.GetPartialListing()
		for _, st := range page {
			out = append(out, p.child(st))
		}
		if resp.DirList.GetRemainingEntries() == 0 || len(page) == 0 {
			return out, nil
		}
		after = page[len(page)-1].GetPath()
	}
}

// ---- -mkdir ----

func runMkdir(sh *fsShell, args []string) error {
	opts, paths, err := parseFsOptions(args, 1, "p")
	if err != nil {
		return err
	}
	mkdir := func(p *fsPath) error { return sh.mkdirOne(p, opts['p']) }
	sh.expandEach(paths, mkdir, mkdir)
	return nil
}

func (sh *fsShell) mkdirOne(p *fsPath, parents bool) error {
	if p.stat != nil {
		switch {
		case p.stat.GetFileType() != hdfspb.HdfsFileStatusProto_IS_DIR:
			return pathIsNotDirectory{p.display}
		case !parents:
			return pathExists{p.display}
		}
		return nil
	}
	if !parents {
		if par := p.parent(); par != nil {
			if err := sh.stat(par); err != nil {
				return err
			}
			if par.stat == nil {
				return pathNotFound{par.display}
			}
		}
	}
	// DistributedFileSystem.mkdirs: the default directory permission 0777, masked by
	// fs.permissions.umask-mode, parents created.
	resp := &hdfspb.MkdirsResponseProto{}
	req := &hdfspb.MkdirsRequestProto{
		Src:          proto.String(p.abs),
		Masked:       &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o777 &^ sh.umask)},
		Unmasked:     &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o777)},
		CreateParent: proto.Bool(true),
	}
	if err := sh.call(p.fs, "mkdirs", req, resp); err != nil {
		return err
	}
	if !resp.GetResult() {
		return pathIOError{p.display}
	}
	return nil
}

// parseOctalUmask reads fs.permissions.umask-mode in its octal form ("022").
func parseOctalUmask(v string) (uint32, error) {
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil {
		return 0, fmt.Errorf("fs.permissions.umask-mode %q: dfs takes an octal umask", v)
	}
	return uint32(n) & 0o777, nil
}

// ---- -ls ----

// lsOptions are -ls's switches, as Hadoop's Ls reads them.
type lsOptions struct {
	pathOnly   bool // -C
	dirRecurse bool // not -d: a directory argument lists its entries
	recursive  bool // -R (and not -d)
	human      bool // -h
	byTime     bool // -t: newest first
	bySize     bool // -S (unless -t): largest first
	reverse    bool // -r
	atime      bool // -u: access time shown and sorted on instead of modification time
}

func runLs(sh *fsShell, args []string) error {
	opts, paths, err := parseFsOptions(args, 0, "CdhRtSru")
	if err != nil {
		return err
	}
	o := lsOptions{pathOnly: opts['C'], dirRecurse: !opts['d'], human: opts['h'],
		byTime: opts['t'], reverse: opts['r'], atime: opts['u']}
	o.recursive = opts['R'] && o.dirRecurse
	o.bySize = opts['S'] && !o.byTime
	if len(paths) == 0 {
		paths = []string{"."}
	}
	sh.expandEach(paths, nil, func(p *fsPath) error {
		if o.dirRecurse && isDir(p) {
			sh.lsRecurse(o, p)
		} else {
			sh.lsPaths(o, nil, []*fsPath{p})
		}
		return nil
	})
	return nil
}

// lsRecurse lists directory p's entries (Hadoop's recursePath).
func (sh *fsShell) lsRecurse(o lsOptions, p *fsPath) {
	items, err := sh.list(p)
	if err != nil {
		sh.displayError(err)
		return
	}
	sh.lsPaths(o, p, items)
}

// lsPaths prints items (Hadoop's Ls.processPaths): for a directory listed without -R,
// the "Found N items" header (not with -C) and the entries in -t/-S/-r order; then one
// line per item, descending into directories under -R right after each one's line.
func (sh *fsShell) lsPaths(o lsOptions, parent *fsPath, items []*fsPath) {
	if parent != nil && !o.recursive && len(items) != 0 {
		if !o.pathOnly {
			sh.tc.Printf("Found %d items\n", len(items))
		}
		slices.SortStableFunc(items, o.compare)
	}
	if o.pathOnly {
		for _, it := range items {
			sh.tc.Println(it.display)
			if o.recursive && isDir(it) {
				sh.lsRecurse(o, it)
			}
		}
		return
	}
	for _, it := range items {
		sh.maxRepl = max(sh.maxRepl, len(strconv.FormatUint(uint64(it.stat.GetBlockReplication()), 10)))
		sh.maxLen = max(sh.maxLen, len(strconv.FormatUint(it.stat.GetLength(), 10)))
		sh.maxOwner = max(sh.maxOwner, len(it.stat.GetOwner()))
		sh.maxGroup = max(sh.maxGroup, len(it.stat.GetGroup()))
	}
	for _, it := range items {
		sh.tc.Println(sh.lsLine(o, it))
		if o.recursive && isDir(it) {
			sh.lsRecurse(o, it)
		}
	}
}

// compare orders a directory's entries: newest first (-t), largest first (-S), else by
// path; -r reverses.
func (o lsOptions) compare(a, b *fsPath) int {
	var c int
	switch {
	case o.byTime:
		c = cmp.Compare(o.time(b.stat), o.time(a.stat))
	case o.bySize:
		c = cmp.Compare(b.stat.GetLength(), a.stat.GetLength())
	default:
		c = strings.Compare(a.display, b.display)
	}
	if o.reverse {
		return -c
	}
	return c
}

// time is the time -ls shows and sorts on, in milliseconds.
func (o lsOptions) time(st *hdfspb.HdfsFileStatusProto) uint64 {
	if o.atime {
		return st.GetAccessTime()
	}
	return st.GetModificationTime()
}

// lsLine is one line of -ls, column for column as Hadoop's Ls formats it.
func (sh *fsShell) lsLine(o lsOptions, p *fsPath) string {
	st := p.stat
	var b strings.Builder
	if isDir(p) {
		b.WriteString("d")
	} else {
		b.WriteString("-")
	}
	b.WriteString(lsPermString(st))
	repl := "-"
	if st.GetFileType() == hdfspb.HdfsFileStatusProto_IS_FILE {
		repl = strconv.FormatUint(uint64(st.GetBlockReplication()), 10)
	}
	fmt.Fprintf(&b, "%*s ", sh.maxRepl, repl)
	// Hadoop drops the padding and the separator for a column that is empty throughout.
	if sh.maxOwner > 0 {
		fmt.Fprintf(&b, "%-*s ", sh.maxOwner, st.GetOwner())
	} else {
		b.WriteString(st.GetOwner())
	}
	if sh.maxGroup > 0 {
		fmt.Fprintf(&b, "%-*s ", sh.maxGroup, st.GetGroup())
	} else {
		b.WriteString(st.GetGroup())
	}
	// The width comes from the byte counts even under -h, as in Hadoop.
	fmt.Fprintf(&b, "%*s ", sh.maxLen, formatSize(st.GetLength(), o.human))
	mtime := time.UnixMilli(int64(o.time(st))).In(time.Local)
	b.WriteString(mtime.Format("2006-01-02 15:04"))
	b.WriteString(" ")
	b.WriteString(p.display)
	return b.String()
}

// formatSize is the size column: bytes, or under -h Hadoop's
// TraditionalBinaryPrefix.long2String(size, "", 1): "1023", "1 K", "1.5 M", "11.5 G".
func formatSize(n uint64, human bool) string {
	if !human || n < 1024 {
		return strconv.FormatUint(n, 10)
	}
	const symbols = "KMGTPE"
	i := 0
	for i+1 < len(symbols) && n >= 1<<(10*(i+2)) {
		i++
	}
	shift := 10 * (i + 1)
	if n&(1<<shift-1) == 0 {
		return fmt.Sprintf("%d %c", n>>shift, symbols[i])
	}
	s := fmt.Sprintf("%.1f", float64(n)/float64(uint64(1)<<shift))
	if strings.HasPrefix(s, "1024") && i+1 < len(symbols) {
		// Rounded up to the next prefix: 1048575 is "1.0 M", not "1024.0 K".
		i++
		shift += 10
		s = fmt.Sprintf("%.1f", float64(n)/float64(uint64(1)<<shift))
	}
	return s + " " + string(symbols[i])
}

func isDir(p *fsPath) bool { return p.stat.GetFileType() == hdfspb.HdfsFileStatusProto_IS_DIR }

// aclBit is FsPermissionExtension's ACL bit in the permission of older NameNodes; newer
// ones set HAS_ACL in flags.
const aclBit = 1 << 12

// lsPermString is FsPermission.toString ("rwxr-xr-x", sticky shown as t/T) followed by "+"
// when the inode has an ACL, else a space.
func lsPermString(st *hdfspb.HdfsFileStatusProto) string {
	perm := st.GetPermission().GetPerm()
	const sym = "rwxrwxrwx"
	b := []byte("---------")
	for i := range 9 {
		if perm&(1<<(8-i)) != 0 {
			b[i] = sym[i]
		}
	}
	if perm&0o1000 != 0 {
		if b[8] == 'x' {
			b[8] = 't'
		} else {
			b[8] = 'T'
		}
	}
	if perm&aclBit != 0 || st.GetFlags()&uint32(hdfspb.HdfsFileStatusProto_HAS_ACL) != 0 {
		return string(b) + "+"
	}
	return string(b) + " "
}

// ---- globs ----

// expand is Hadoop's PathData.expandAsGlob: an argument without wildcards is one path
// (stat filled in, nil when missing); one with wildcards (* ? [...] {a,b}) is every
// existing path it matches, sorted, shown the way the argument was written (relative,
// absolute, or with scheme and authority). A pattern matching nothing is
// "`<arg>': No such file or directory".
func (sh *fsShell) expand(arg string) ([]*fsPath, error) {
	p, err := sh.resolve(arg)
	if err != nil {
		return nil, err
	}
	part := strings.TrimPrefix(p.display, p.prefix)
	if !hasWildcard(part) {
		if err := sh.stat(p); err != nil {
			return nil, err
		}
		return []*fsPath{p}, nil
	}
	// Walk the pattern one component at a time from "/" (absolute) or the home directory
	// (relative), listing a directory only where a component has wildcards.
	start := &fsPath{prefix: p.prefix, fs: p.fs, abs: "/", display: p.prefix + "/"}
	if !strings.HasPrefix(part, "/") {
		start = &fsPath{fs: p.fs, abs: sh.home, display: "."}
	}
	cur := []*fsPath{start}
	for _, comp := range strings.Split(strings.Trim(part, "/"), "/") {
		re, literal, err := compileGlob(comp)
		if err != nil {
			return nil, err
		}
		var next []*fsPath
		for _, m := range cur {
			if re == nil {
				next = append(next, m.join(literal, nil))
				continue
			}
			if err := sh.stat(m); err != nil {
				return nil, err
			}
			if m.stat == nil || !isDir(m) {
				continue
			}
			entries, err := sh.list(m)
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				if name := string(e.stat.GetPath()); re.MatchString(name) {
					next = append(next, m.join(name, e.stat))
				}
			}
		}
		cur = next
	}
	var out []*fsPath
	for _, m := range cur {
		if m.stat == nil {
			if err := sh.stat(m); err != nil {
				return nil, err
			}
		}
		if m.stat != nil {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, pathNotFound{arg}
	}
	slices.SortFunc(out, func(a, b *fsPath) int { return strings.Compare(a.display, b.display) })
	return out, nil
}

// expandEach expands every argument and calls fn for each match; a missing path (or a
// failed expansion) is reported and skipped, unless missing is given, which then
// handles missing paths itself.
func (sh *fsShell) expandEach(args []string, missing func(*fsPath) error, fn func(*fsPath) error) {
	for _, a := range args {
		ps, err := sh.expand(a)
		if err != nil {
			sh.displayError(err)
			continue
		}
		for _, p := range ps {
			switch {
			case p.stat == nil && missing == nil:
				err = pathNotFound{p.display}
			case p.stat == nil:
				err = missing(p)
			default:
				err = fn(p)
			}
			if err != nil {
				sh.displayError(err)
			}
		}
	}
}

// existingPaths is every existing path the arguments name, in order; missing paths and
// failed expansions are reported and left out.
func (sh *fsShell) existingPaths(args []string) []*fsPath {
	var out []*fsPath
	sh.expandEach(args, nil, func(p *fsPath) error {
		out = append(out, p)
		return nil
	})
	return out
}

// join is the path name under m, shown as m's children are (see child).
func (m *fsPath) join(name string, st *hdfspb.HdfsFileStatusProto) *fsPath {
	if st == nil {
		st = &hdfspb.HdfsFileStatusProto{Path: []byte(name)}
		c := m.child(st)
		c.stat = nil
		c.abs = path.Clean(c.abs)
		c.display = cleanDisplay(c.prefix, c.display)
		return c
	}
	c := m.child(proto.Clone(st).(*hdfspb.HdfsFileStatusProto))
	c.stat.Path = []byte(name)
	return c
}

// cleanDisplay normalizes the path part of a display as Path does ("a/../b" is "b").
func cleanDisplay(prefix, display string) string {
	part := path.Clean(strings.TrimPrefix(display, prefix))
	return prefix + part
}

// hasWildcard is GlobPattern.hasWildcard over a whole path: an unescaped * ? [ or {.
func hasWildcard(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '*', '?', '[', '{':
			return true
		}
	}
	return false
}

// compileGlob turns one path component of a Hadoop glob into a regular expression
// matching whole names: * any run of characters, ? one character, [abc] [a-z] [^a] [!a]
// a class, {x,y} alternatives (nestable), \c the character c. A component without
// wildcards returns a nil expression and its unescaped name.
func compileGlob(comp string) (*regexp.Regexp, string, error) {
	var re, lit strings.Builder
	inClass, groups, wild := false, 0, false
	for i := 0; i < len(comp); i++ {
		c := comp[i]
		switch {
		case c == '\\':
			i++
			if i >= len(comp) {
				return nil, "", fmt.Errorf("Illegal file pattern: Missing escaped character at pos %d", i)
			}
			re.WriteString(regexp.QuoteMeta(comp[i : i+1]))
			lit.WriteByte(comp[i])
		case inClass:
			switch {
			case c == ']':
				inClass = false
				re.WriteByte(c)
			case c == '[':
				return nil, "", fmt.Errorf("Illegal file pattern: Unclosed character class at pos %d", i)
			case (c == '!' || c == '^') && comp[i-1] == '[':
				re.WriteByte('^')
			case c == '-':
				re.WriteByte(c)
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		case c == '[':
			inClass, wild = true, true
			re.WriteByte(c)
		case c == '*':
			wild = true
			re.WriteString(".*")
		case c == '?':
			wild = true
			re.WriteByte('.')
		case c == '{':
			groups++
			wild = true
			re.WriteString("(?:")
		case c == ',' && groups > 0:
			re.WriteByte('|')
		case c == '}' && groups > 0:
			groups--
			re.WriteByte(')')
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
			lit.WriteByte(c)
		}
	}
	switch {
	case inClass:
		return nil, "", fmt.Errorf("Illegal file pattern: Unclosed character class at pos %d", len(comp))
	case groups > 0:
		return nil, "", fmt.Errorf("Illegal file pattern: Unclosed group at pos %d", len(comp))
	case !wild:
		return nil, lit.String(), nil
	}
	r, err := regexp.Compile("^(?s:" + re.String() + ")$")
	if err != nil {
		return nil, "", fmt.Errorf("Illegal file pattern: %w", err)
	}
	return r, "", nil
}
