package main

// `hdfs dfs` commands that inspect and touch files: -stat, -test, -head, -tail,
// -getmerge, -appendToFile, -touchz, -touch, -truncate, -setrep and -checksum. They
// follow Hadoop's FsShell classes of the same names (Stat, Test, Head, Tail, Merge,
// AppendToFile, Touchz, Touch, Truncate, SetReplication, Checksum): the same switches,
// usage lines, output and messages, and the exit statuses of dfs.go (0, 1 when a path
// failed, 255 for a usage error).
//
// The waits (-tail -f, -setrep -w, -truncate -w) poll the NameNode; their intervals are
// Hadoop's (5 s, 10 s, 1 s) and live in inspectIntervals; -tail -s <ms> sets the one of
// -tail -f as in Hadoop. Every wait ends when the tool's context is cancelled (SIGINT).

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// inspectIntervals are the polling intervals of the commands that wait.
type inspectIntervals struct {
	// tailFollow is -tail -f's pause between looks at the file (Tail's followDelay).
	tailFollow time.Duration
	// setrepWait is -setrep -w's pause between looks at the block locations.
	setrepWait time.Duration
	// truncateWait is -truncate -w's pause while the last block is recovered.
	truncateWait time.Duration
}

// defaultInspectIntervals are Hadoop's.
var defaultInspectIntervals = inspectIntervals{tailFollow: 5 * time.Second, setrepWait: 10 * time.Second, truncateWait: time.Second}

// headTailBytes is how much -head and -tail show (1 KiB).
const headTailBytes = 1024

// inspectOps are the commands of this file, for dfsTool.
func inspectOps(shellOp func(name, args, help string, run func(*fsShell, []string) error) toolOp) []toolOp {
	iv := defaultInspectIntervals
	return []toolOp{
		shellOp("-stat", "[format] <path> ...",
			"Print statistics about the file/directory at <path> in the specified format. Format accepts "+
				"permissions in octal (%a) and symbolic (%A), filesize in bytes (%b), type (%F), group name of owner (%g), "+
				"name (%n), block size (%o), replication (%r), user name of owner (%u), access date (%x, %X), "+
				"modification date (%y, %Y). %x and %y show UTC date as \"yyyy-MM-dd HH:mm:ss\", %X and %Y show "+
				"milliseconds since January 1, 1970 UTC. If the format is not specified, %y is used by default.",
			runStat),
		shellOp("-test", "-[defswrz] <path>",
			"Answer various questions about <path>, with result via exit status. -d: true if <path> is a directory. "+
				"-e: true if <path> exists. -f: true if <path> is a file. -s: true if <path> is not empty. "+
				"-r: true if <path> exists and read permission is granted. -w: true if <path> exists and write permission is granted. "+
				"-z: true if <path> is a zero length file.",
			runTest),
		shellOp("-head", "<file>", "Show the first 1KB of the file.", runHead),
		shellOp("-tail", "[-f] [-s <sleep interval>] <file>",
			"Show the last 1KB of the file. -f: Shows appended data as the file grows. "+
				"-s: With -f, defines the sleep interval between iterations in milliseconds.",
			func(sh *fsShell, a []string) error { return runTail(sh, a, iv) }),
		shellOp("-getmerge", "[-nl] [-skip-empty-file] <src> <localdst>",
			"Get all the files in the directories that match the source file pattern and merge and sort them to only one file on local fs. "+
				"<src> is kept. -nl: Add a newline character at the end of each file. -skip-empty-file: Do not add new line character for empty file.",
			runGetmerge),
		shellOp("-appendToFile", "<localsrc> ... <dst>",
			"Appends the contents of all the given local files to the given dst file. The dst file will be created if it does not exist. "+
				"If <localSrc> is -, then the input is read from stdin.",
			runAppendToFile),
		shellOp("-touchz", "<path> ...",
			"Creates a file of zero length at <path> with current time as the timestamp of that <path>. "+
				"An error is returned if the file exists with non-zero length.",
			runTouchz),
		shellOp("-touch", "[-a] [-m] [-t TIMESTAMP (yyyyMMdd:HHmmss) ] [-c] <path> ...",
			"Updates the access and modification times of the file specified by the <path> to the current time. "+
				"If the file does not exist, then a zero length file is created at <path> with current time as the timestamp of that <path>. "+
				"-a: Change only the access time. -m: Change only the modification time. "+
				"-t TIMESTAMP: Use specified timestamp instead of current time. TIMESTAMP format yyyyMMdd:HHmmss. -c: Do not create any files.",
			runTouch),
		shellOp("-truncate", "[-w] <length> <path> ...",
			"Truncate all files that match the specified file pattern to the specified length. "+
				"-w: Requests that the command wait for block recovery to complete, if necessary.",
			func(sh *fsShell, a []string) error { return runTruncate(sh, a, iv) }),
		shellOp("-setrep", "[-R] [-w] <rep> <path> ...",
			"Set the replication level of a file. If <path> is a directory then the command recursively changes the replication factor "+
				"of all files under the directory tree rooted at <path>. -w: It requests that the command waits for the replication to complete. "+
				"This can potentially take a very long time. -R: It is accepted for backwards compatibility. It has no effect.",
			func(sh *fsShell, a []string) error { return runSetrep(sh, a, iv) }),
		shellOp("-checksum", "[-v] <src> ...",
			"Dump checksum information for files that match the file pattern <src> to stdout. Note that this requires a round-trip "+
				"to a datanode storing each block of the file, and thus is not efficient to run on a large number of files. "+
				"-v: Display block size.",
			runChecksum),
	}
}

// tooManyArgs is CommandFormat's TooManyArgumentsException.
func tooManyArgs(max, got int) error {
	return fsUsageError{fmt.Sprintf("Too many arguments: expected %d but got %d", max, got)}
}

// ---- -stat ----

func runStat(sh *fsShell, args []string) error {
	opts, rest, err := parseFsOptions(args, 1, "R")
	if err != nil {
		return err
	}
	format := "%y"
	if strings.Contains(rest[0], "%") {
		format, rest = rest[0], rest[1:]
		if len(rest) == 0 {
			return fsUsageError{"Not enough arguments: expected 1 but got 0"}
		}
	}
	sh.eachPathR(rest, opts['R'], func(p *fsPath) error {
		sh.tc.Println(statFormat(format, p))
		return nil
	})
	return nil
}

// statTimeLayout is Stat's "yyyy-MM-dd HH:mm:ss", shown in UTC.
const statTimeLayout = "2006-01-02 15:04:05"

// statFormat expands format for p as Hadoop's Stat does; an unknown %c prints c, and a
// trailing lone % is dropped.
func statFormat(format string, p *fsPath) string {
	st := p.stat
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+1 == len(format) {
			break
		}
		i++
		switch format[i] {
		case 'a':
			b.WriteString(strconv.FormatUint(uint64(st.GetPermission().GetPerm()&0o7777), 8))
		case 'A':
			b.WriteString(strings.TrimRight(lsPermString(st), " +"))
		case 'b':
			b.WriteString(strconv.FormatUint(st.GetLength(), 10))
		case 'F':
			switch st.GetFileType() {
			case hdfspb.HdfsFileStatusProto_IS_DIR:
				b.WriteString("directory")
			case hdfspb.HdfsFileStatusProto_IS_FILE:
				b.WriteString("regular file")
			default:
				b.WriteString("symlink")
			}
		case 'g':
			b.WriteString(st.GetGroup())
		case 'n':
			if p.abs != "/" {
				b.WriteString(path.Base(p.abs))
			}
		case 'o':
			b.WriteString(strconv.FormatUint(st.GetBlocksize(), 10))
		case 'r':
			b.WriteString(strconv.FormatUint(uint64(st.GetBlockReplication()), 10))
		case 'u':
			b.WriteString(st.GetOwner())
		case 'x':
			b.WriteString(time.UnixMilli(int64(st.GetAccessTime())).UTC().Format(statTimeLayout))
		case 'X':
			b.WriteString(strconv.FormatUint(st.GetAccessTime(), 10))
		case 'y':
			b.WriteString(time.UnixMilli(int64(st.GetModificationTime())).UTC().Format(statTimeLayout))
		case 'Y':
			b.WriteString(strconv.FormatUint(st.GetModificationTime(), 10))
		default:
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

// ---- -test ----

func runTest(sh *fsShell, args []string) error {
	opts, rest, err := parseFsOptions(args, 1, "defswrz")
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		return tooManyArgs(1, len(rest))
	}
	var flag byte
	switch len(opts) {
	case 0:
		return fsUsageError{"No test flag given"}
	case 1:
		for k := range opts {
			flag = k
		}
	default:
		return fsUsageError{"Only one test flag is allowed"}
	}
	ps, err := sh.expand(rest[0])
	if err != nil {
		var nf pathNotFound
		if errors.As(err, &nf) {
			sh.numErrors++ // false: exit 1, no message
			return nil
		}
		return err
	}
	for _, p := range ps {
		if p.stat == nil || !testFlag(flag, p, sh.user) {
			sh.numErrors++
			return nil
		}
	}
	return nil
}

// testFlag answers one -test question about an existing path. -r and -w look at the
// permission bits as the NameNode would for user: the owner's bits when user owns the
// path, else the others' (the client does not know the user's groups).
func testFlag(flag byte, p *fsPath, user string) bool {
	st := p.stat
	switch flag {
	case 'e':
		return true
	case 'd':
		return isDir(p)
	case 'f':
		return st.GetFileType() == hdfspb.HdfsFileStatusProto_IS_FILE
	case 's':
		return st.GetLength() > 0
	case 'z':
		return st.GetLength() == 0
	case 'r', 'w':
		bit := uint32(0o4)
		if flag == 'w' {
			bit = 0o2
		}
		perm := st.GetPermission().GetPerm()
		if st.GetOwner() == user {
			return perm&(bit<<6) != 0
		}
		return perm&bit != 0
	}
	return false
}

// ---- -head and -tail ----

func runHead(sh *fsShell, args []string) error {
	_, rest, err := parseFsOptions(args, 1, "")
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		return tooManyArgs(1, len(rest))
	}
	sh.expandEach(rest, nil, func(p *fsPath) error {
		if isDir(p) {
			return pathIsDirectory{p.display}
		}
		_, err := sh.dumpRange(p, 0, min(int64(p.stat.GetLength()), headTailBytes))
		return err
	})
	return nil
}

// dumpRange copies bytes [from, to) of p to stdout and returns to.
func (sh *fsShell) dumpRange(p *fsPath, from, to int64) (int64, error) {
	if to <= from {
		return from, nil
	}
	r, err := sh.open(p)
	if err != nil {
		return from, err
	}
	defer r.Close()
	n, err := io.Copy(sh.tc.Out, io.NewSectionReader(r, from, to-from))
	return from + n, err
}

// valueOptions takes every "<name> <value>" out of the leading switches of args (a switch
// with a value, which CommandFormat's single-letter switches cannot be) and returns the
// values in order and the other arguments; missing is true when the last one has no
// value.
func valueOptions(args []string, name string) (values, rest []string, missing bool) {
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		if a != name {
			rest = append(rest, a)
			continue
		}
		if i+1 >= len(args) {
			return values, nil, true
		}
		i++
		values = append(values, args[i])
	}
	return values, append(rest, args[i:]...), false
}

func runTail(sh *fsShell, args []string, iv inspectIntervals) error {
	delays, args, missing := valueOptions(args, "-s")
	delay := iv.tailFollow
	for _, v := range delays {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			return fsUsageError{fmt.Sprintf("For input string: %q", v)}
		}
		delay = time.Duration(ms) * time.Millisecond
	}
	if missing {
		return fsUsageError{"Not enough arguments: expected 1 but got 0"}
	}
	opts, rest, err := parseFsOptions(args, 1, "f")
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		return tooManyArgs(1, len(rest))
	}
	sh.expandEach(rest, nil, func(p *fsPath) error {
		if isDir(p) {
			return pathIsDirectory{p.display}
		}
		size := int64(p.stat.GetLength())
		offset, err := sh.dumpRange(p, max(size-headTailBytes, 0), size)
		if err != nil || !opts['f'] {
			return err
		}
		for {
			select {
			case <-sh.tc.Ctx.Done():
				return nil
			case <-time.After(delay):
			}
			if err := sh.stat(p); err != nil {
				return err
			}
			if p.stat == nil {
				return pathNotFound{p.display}
			}
			size := int64(p.stat.GetLength())
			if size < offset {
				// Truncated or replaced: go on from its new end, as Tail does.
				offset = size
				continue
			}
			if offset, err = sh.dumpRange(p, offset, size); err != nil {
				return err
			}
		}
	})
	return nil
}

// ---- -getmerge ----

func runGetmerge(sh *fsShell, args []string) error {
	words, args := wordOptions(args, "nl", "skip-empty-file")
	_, rest, err := parseFsOptions(args, 2, "")
	if err != nil {
		return err
	}
	srcArgs, dst := rest[:len(rest)-1], rest[len(rest)-1]
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		sh.displayError(pathIsDirectory{dst})
		return nil
	}
	// Merge's processPath: files as they are, a directory's files (not its
	// subdirectories) in listing order.
	var srcs []*fsPath
	sh.expandEach(srcArgs, nil, func(p *fsPath) error {
		if !isDir(p) {
			srcs = append(srcs, p)
			return nil
		}
		items, err := sh.list(p)
		if err != nil {
			return err
		}
		for _, c := range items {
			if !isDir(c) {
				srcs = append(srcs, c)
			}
		}
		return nil
	})
	if sh.numErrors > 0 {
		return nil
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return pathNotFound{dst}
		}
		return err
	}
	for _, p := range srcs {
		if p.stat.GetLength() != 0 {
			r, err := sh.open(p)
			if err != nil {
				f.Close()
				return err
			}
			_, err = io.Copy(f, r)
			r.Close()
			if err != nil {
				f.Close()
				return err
			}
		} else if words["skip-empty-file"] {
			continue
		}
		if words["nl"] {
			if _, err := f.Write([]byte("\n")); err != nil {
				f.Close()
				return err
			}
		}
	}
	return f.Close()
}

// ---- -appendToFile ----

func runAppendToFile(sh *fsShell, args []string) error {
	_, rest, err := parseFsOptions(args, 0, "")
	if err != nil {
		return err
	}
	if len(rest) < 2 {
		return errors.New("missing destination argument")
	}
	srcArgs, dstArg := rest[:len(rest)-1], rest[len(rest)-1]
	dst, err := sh.resolve(dstArg)
	if err == nil {
		err = sh.stat(dst)
	}
	if err != nil {
		return err
	}
	if dst.stat != nil && isDir(dst) {
		return pathIsDirectory{dst.display}
	}
	stdin := false
	var srcs []*os.File
	defer func() {
		for _, f := range srcs {
			f.Close()
		}
	}()
	for _, a := range srcArgs {
		if a == "-" {
			stdin = true
			continue
		}
		f, err := os.Open(a)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				err = pathNotFound{a}
			}
			sh.displayError(err)
			continue
		}
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			f.Close()
			sh.displayError(pathIsDirectory{a})
			continue
		}
		srcs = append(srcs, f)
	}
	if stdin && len(srcArgs) > 1 {
		return errors.New("stdin (-) must be the sole input argument when present")
	}
	c, err := sh.client(dst.fs)
	if err != nil {
		return err
	}
	var w *client.FileWriter
	if dst.stat == nil {
		w, err = c.Create(sh.dataCtx(), dst.abs, client.CreateOptions{Perm: sh.filePerm(), CreateParent: true})
	} else {
		w, err = c.Append(sh.dataCtx(), dst.abs)
	}
	if err != nil {
		return err
	}
	var readers []io.Reader
	if stdin {
		readers = append(readers, sh.tc.In)
	}
	for _, f := range srcs {
		readers = append(readers, f)
	}
	if _, err := io.Copy(w, io.MultiReader(readers...)); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// ---- -touchz and -touch ----

func runTouchz(sh *fsShell, args []string) error {
	_, rest, err := parseFsOptions(args, 1, "")
	if err != nil {
		return err
	}
	create := func(p *fsPath) error {
		if err := sh.parentMustExist(p); err != nil {
			return err
		}
		return sh.createEmpty(p)
	}
	sh.expandEach(rest, create, func(p *fsPath) error {
		switch {
		case isDir(p):
			return pathIsDirectory{p.display}
		case p.stat.GetLength() != 0:
			return fmt.Errorf("`%s': Not a zero-length file", p.display)
		}
		return sh.createEmpty(p)
	})
	return nil
}

// parentMustExist is PathData.parentExists for a path about to be created.
func (sh *fsShell) parentMustExist(p *fsPath) error {
	par := p.parent()
	if par == nil {
		return nil
	}
	if err := sh.stat(par); err != nil {
		return err
	}
	if par.stat == nil || !isDir(par) {
		return pathNotFound{p.display}
	}
	return nil
}

// filePerm is a new file's permission: FsPermission.getFileDefault() (0666) masked by
// fs.permissions.umask-mode.
func (sh *fsShell) filePerm() fs.FileMode { return 0o666 &^ fs.FileMode(sh.umask) }

// createEmpty is FileSystem.create(path).close(): an empty file, replacing one.
func (sh *fsShell) createEmpty(p *fsPath) error {
	c, err := sh.client(p.fs)
	if err != nil {
		return err
	}
	w, err := c.Create(sh.dataCtx(), p.abs, client.CreateOptions{Overwrite: true, Perm: sh.filePerm()})
	if err != nil {
		return err
	}
	return w.Close()
}

// touchTimestampLayout is Touch's "yyyyMMdd:HHmmss" (local time, as the JVM's default
// time zone).
const touchTimestampLayout = "20060102:150405"

func runTouch(sh *fsShell, args []string) error {
	timestamps, args, missing := valueOptions(args, "-t")
	if missing {
		return fsUsageError{"option -t requires 1 argument."}
	}
	var timestamp string
	if len(timestamps) > 0 {
		timestamp = timestamps[len(timestamps)-1]
	}
	opts, rest, err := parseFsOptions(args, 1, "amc")
	if err != nil {
		return err
	}
	var at *time.Time
	if timestamp != "" {
		t, err := time.ParseInLocation(touchTimestampLayout, timestamp, time.Local)
		if err != nil {
			return fsUsageError{"Unable to parse the specified timestamp " + timestamp + ". The expected format is yyyyMMdd:HHmmss"}
		}
		at = &t
	}
	update := func(p *fsPath) error {
		ms := time.Now().UnixMilli()
		if at != nil {
			ms = at.UnixMilli()
		}
		mtime, atime := ms, ms
		if opts['a'] != opts['m'] {
			if opts['a'] {
				mtime = -1
			} else {
				atime = -1
			}
		}
		return sh.call(p.fs, "setTimes", &hdfspb.SetTimesRequestProto{Src: proto.String(p.abs),
			Mtime: proto.Uint64(uint64(mtime)), Atime: proto.Uint64(uint64(atime))}, &hdfspb.SetTimesResponseProto{})
	}
	create := func(p *fsPath) error {
		if opts['c'] {
			return nil
		}
		if err := sh.parentMustExist(p); err != nil {
			return err
		}
		if err := sh.createEmpty(p); err != nil {
			return err
		}
		if at != nil {
			return update(p)
		}
		return nil
	}
	sh.expandEach(rest, create, func(p *fsPath) error {
		if isDir(p) {
			return pathIsDirectory{p.display}
		}
		return update(p)
	})
	return nil
}

// ---- -truncate ----

func runTruncate(sh *fsShell, args []string, iv inspectIntervals) error {
	opts, rest, err := parseFsOptions(args, 2, "w")
	if err != nil {
		return err
	}
	length, err := strconv.ParseInt(rest[0], 10, 64)
	if err != nil {
		fmt.Fprintf(sh.tc.Err, "%s: Illegal length, a non-negative integer expected\n", sh.name)
		return fsUsageError{fmt.Sprintf("For input string: %q", rest[0])}
	}
	if length < 0 {
		return fsUsageError{"length must be >= 0"}
	}
	var usage error
	var wait []*fsPath
	sh.expandEach(rest[1:], nil, func(p *fsPath) error {
		if usage != nil {
			return nil
		}
		if isDir(p) {
			return pathIsDirectory{p.display}
		}
		if old := int64(p.stat.GetLength()); length > old {
			usage = fsUsageError{fmt.Sprintf("Cannot truncate to a larger file size. Current size: %d, truncate size: %d.", old, length)}
			return nil
		}
		c, err := sh.client(p.fs)
		if err != nil {
			return err
		}
		resp := &hdfspb.TruncateResponseProto{}
		req := &hdfspb.TruncateRequestProto{Src: proto.String(p.abs), NewLength: proto.Uint64(uint64(length)), ClientName: proto.String(c.ClientName())}
		if err := sh.call(p.fs, "truncate", req, resp); err != nil {
			return err
		}
		switch {
		case resp.GetResult():
			sh.tc.Printf("Truncated %s to length: %d\n", p.display, length)
		case opts['w']:
			wait = append(wait, p)
		default:
			sh.tc.Printf("Truncating %s to length: %d. Wait for block recovery to complete before further updating this file.\n", p.display, length)
		}
		return nil
	})
	if usage != nil {
		return usage
	}
	for _, p := range wait {
		sh.tc.Printf("Waiting for %s ...\n", p.display)
		if err := sh.waitRecovered(p, iv.truncateWait); err != nil {
			sh.displayError(err)
			continue
		}
		sh.tc.Printf("Truncated %s to length: %d\n", p.display, length)
	}
	return nil
}

// waitRecovered polls until p's last block is no longer under recovery.
func (sh *fsShell) waitRecovered(p *fsPath, every time.Duration) error {
	for {
		resp := &hdfspb.GetBlockLocationsResponseProto{}
		req := &hdfspb.GetBlockLocationsRequestProto{Src: proto.String(p.abs), Offset: proto.Uint64(0), Length: proto.Uint64(1)}
		if err := sh.call(p.fs, "getBlockLocations", req, resp); err != nil {
			return err
		}
		if !resp.GetLocations().GetUnderConstruction() {
			return nil
		}
		select {
		case <-sh.tc.Ctx.Done():
			return sh.tc.Ctx.Err()
		case <-time.After(every):
		}
	}
}

// ---- -setrep ----

func runSetrep(sh *fsShell, args []string, iv inspectIntervals) error {
	opts, rest, err := parseFsOptions(args, 2, "Rw")
	if err != nil {
		return err
	}
	rep, err := strconv.ParseInt(rest[0], 10, 16)
	if err != nil {
		fmt.Fprintf(sh.tc.Err, "%s: Illegal replication, a positive integer expected\n", sh.name)
		return fsUsageError{fmt.Sprintf("For input string: %q", rest[0])}
	}
	if rep < 1 {
		return fsUsageError{"replication must be >= 1"}
	}
	var wait []*fsPath
	// Every file under a directory, whatever -R says.
	sh.eachPathR(rest[1:], true, func(p *fsPath) error {
		switch p.stat.GetFileType() {
		case hdfspb.HdfsFileStatusProto_IS_DIR:
			return nil
		case hdfspb.HdfsFileStatusProto_IS_FILE:
		default:
			return fmt.Errorf("`%s': Symlinks unsupported", p.display)
		}
		resp := &hdfspb.SetReplicationResponseProto{}
		if err := sh.call(p.fs, "setReplication", &hdfspb.SetReplicationRequestProto{Src: proto.String(p.abs), Replication: proto.Uint32(uint32(rep))}, resp); err != nil {
			return err
		}
		if !resp.GetResult() {
			return fmt.Errorf("Could not set replication for: %s", p.display)
		}
		sh.tc.Printf("Replication %d set: %s\n", rep, p.display)
		if opts['w'] {
			wait = append(wait, p)
		}
		return nil
	})
	for _, p := range wait {
		if err := sh.waitReplication(p, int(rep), iv.setrepWait); err != nil {
			sh.displayError(err)
		}
	}
	return nil
}

// waitReplication is SetReplication.waitForReplication: "Waiting for <p> ...", a dot per
// look that finds a block without exactly rep locations, then " done".
func (sh *fsShell) waitReplication(p *fsPath, rep int, every time.Duration) error {
	sh.tc.Printf("Waiting for %s ...", p.display)
	warned := false
	for {
		resp := &hdfspb.GetBlockLocationsResponseProto{}
		req := &hdfspb.GetBlockLocationsRequestProto{Src: proto.String(p.abs), Offset: proto.Uint64(0), Length: proto.Uint64(math.MaxInt64)}
		if err := sh.call(p.fs, "getBlockLocations", req, resp); err != nil {
			sh.tc.Println()
			return err
		}
		counts := blockReplicaCounts(resp.GetLocations())
		done, decreasing := replicationReached(counts, rep)
		if decreasing && !warned {
			sh.tc.Printf("\nWARNING: the waiting time may be long for DECREASING the number of replications.\n")
			warned = true
		}
		if done {
			sh.tc.Println(" done")
			return nil
		}
		sh.tc.Printf(".")
		select {
		case <-sh.tc.Ctx.Done():
			sh.tc.Println()
			return sh.tc.Ctx.Err()
		case <-time.After(every):
		}
	}
}

// blockReplicaCounts is the number of locations of each block.
func blockReplicaCounts(lbs *hdfspb.LocatedBlocksProto) []int {
	var out []int
	for _, b := range lbs.GetBlocks() {
		out = append(out, len(b.GetLocs()))
	}
	return out
}

// replicationReached reports whether every block has exactly rep replicas, and whether
// the first block that has not has more (a decrease, which waits for invalidation).
func replicationReached(counts []int, rep int) (done, decreasing bool) {
	for _, n := range counts {
		if n != rep {
			return false, n > rep
		}
	}
	return true, false
}

// ---- -checksum ----

func runChecksum(sh *fsShell, args []string) error {
	opts, rest, err := parseFsOptions(args, 1, "v")
	if err != nil {
		return err
	}
	sh.expandEach(rest, nil, func(p *fsPath) error {
		if isDir(p) {
			return pathIsDirectory{p.display}
		}
		c, err := sh.client(p.fs)
		if err != nil {
			return err
		}
		sum, err := c.GetFileChecksum(sh.dataCtx(), p.abs)
		if err != nil {
			return err
		}
		line := checksumLine(p.display, sum)
		if opts['v'] {
			line += "\tBlockSize=" + strconv.FormatUint(p.stat.GetBlocksize(), 10)
		}
		sh.tc.Println(line)
		return nil
	})
	return nil
}

// checksumLine is Checksum's "<path>\t<algorithm>\t<hex bytes>" ("<path>\tNONE\t" when
// the filesystem has none).
func checksumLine(display string, sum *client.FileChecksum) string {
	if sum == nil {
		return display + "\tNONE\t"
	}
	return display + "\t" + sum.Algorithm + "\t" + hex.EncodeToString(sum.Bytes[:sum.Length()])
}
