package main

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/namenode/namespace"
)

// oiv is Hadoop's offline image viewer (OfflineImageViewerPB) for hdfsha images:
//
//	hdfs oiv -i IMAGE [-o OUT] [-p Indented|XML|Delimited] [-delimiter D] [-t TEMPDIR]
//
// IMAGE is an image directory (<name dir>/current/fsimage_<txid>) or a name directory,
// whose newest image is read. The image is verified, then opened from a temporary copy
// (under -t, default the system's temporary directory), so oiv never writes it and works
// while a NameNode runs. OUT "-" (the default) is stdout. Processor names ignore case.
//
//   - Indented: one line per inode, depth first, children in name order, in the shape of
//     Hadoop's ls-style listing: "drwxr-xr-x - hadoop supergroup 1409403918690 0 /user"
//     for a directory, "-rw-r--r-- 3 hadoop supergroup 1409403918690 5 /user/a" for a
//     file (replication, owner, group, mtime in ms, length, path).
//   - Delimited: PBImageDelimitedTextWriter's header and rows; times as
//     "yyyy-MM-dd HH:mm" in local time; directories have replication, block size, block
//     count and size 0; quotas are -1 for directories (hdfsha has no quotas) and 0 for
//     files, as Hadoop prints them; text fields are CSV-escaped like Hadoop's (a path
//     holding a comma is double-quoted, a newline becomes %x0A).
//   - XML: PBImageXmlWriter's sections (version, NameSection, INodeSection,
//     INodeDirectorySection, FileUnderConstructionSection); inodes depth first rather
//     than by id.
//
// Hadoop's default processor is Web (an HTTP server); hdfsha has none and defaults to
// Indented. Errors exit 255, Hadoop's -1.
func oivTool() *hadoopTool {
	t := &hadoopTool{
		Name:        "oiv",
		Category:    categoryAdmin,
		Summary:     "apply the offline fsimage viewer to an fsimage",
		Description: "hdfs oiv prints the namespace of an image offline: -i IMAGE [-o OUT] [-p Indented|XML|Delimited] [-delimiter D] [-t TEMPDIR]",
		NoConf:      true,
	}
	for _, o := range []struct{ name, args, help string }{
		{"-i", "<image>", "image directory (fsimage_<txid>) or name directory (its newest image); required"},
		{"-o", "<file>", "output file; - (the default) is stdout"},
		{"-p", "<processor>", "Indented (default), XML or Delimited"},
		{"-delimiter", "<string>", "field delimiter of the Delimited processor (default: tab)"},
		{"-t", "<dir>", "where the temporary copy of the image is opened (default: the system temp dir)"},
	} {
		name := o.name
		t.Ops = append(t.Ops, toolOp{Name: name, Args: o.args, Help: o.help, MinArgs: 1, MaxArgs: -1,
			Run: func(tc *toolContext, args []string) error { return runOIV(tc, append([]string{name}, args...)) }})
	}
	return t
}

func runOIV(tc *toolContext, args []string) error {
	opts, rest, err := parseOpOptions(args, map[string]bool{"-i": true, "-o": true, "-p": true, "-delimiter": true, "-t": true})
	if err != nil {
		return tc.UsageError("oiv: %v", err)
	}
	if len(rest) > 0 {
		return tc.UsageError("oiv: unexpected argument %s", rest[0])
	}
	in := opts["-i"]
	if in == "" {
		return tc.UsageError("oiv: -i IMAGE is required")
	}
	proc := "indented"
	if p, ok := opts["-p"]; ok {
		proc = strings.ToLower(p)
	}
	delim, hasDelim := opts["-delimiter"]
	if !hasDelim {
		delim = "\t"
	}
	switch proc {
	case "indented", "xml":
		if hasDelim {
			return tc.UsageError("oiv: -delimiter applies only to the Delimited processor")
		}
	case "delimited":
	default:
		return tc.UsageError("oiv: unknown processor %s (Indented, XML or Delimited)", opts["-p"])
	}

	info, err := image.At(in)
	if err != nil {
		return tc.Fail(exitToolError, "oiv: %v", err)
	}
	tmp, err := os.MkdirTemp(opts["-t"], "hdfs-oiv-")
	if err != nil {
		return tc.Fail(exitToolError, "oiv: %v", err)
	}
	defer os.RemoveAll(tmp)
	ns, err := image.Load(info, path.Join(tmp, "ns"), namespace.Options{CacheSize: 8 << 20})
	if err != nil {
		return tc.Fail(exitToolError, "oiv: %v", err)
	}
	defer ns.Close()

	out, closeOut, err := openOutput(tc, opts["-o"])
	if err != nil {
		return tc.Fail(exitToolError, "oiv: %v", err)
	}
	w := bufio.NewWriterSize(out, 64<<10)
	v := &oivWalker{ns: ns, w: w, delim: delim}
	switch proc {
	case "indented":
		err = v.walk(v.indented)
	case "delimited":
		fmt.Fprintln(w, strings.Join([]string{"Path", "Replication", "ModificationTime", "AccessTime", "PreferredBlockSize",
			"BlocksCount", "FileSize", "NSQUOTA", "DSQUOTA", "Permission", "UserName", "GroupName"}, delim))
		err = v.walk(v.delimited)
	case "xml":
		err = v.xml(info)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return tc.Fail(exitToolError, "oiv: %v", err)
	}
	return nil
}

// openOutput opens -o: "" or "-" is stdout, anything else a file (overwritten).
func openOutput(tc *toolContext, name string) (io.Writer, func() error, error) {
	if name == "" || name == "-" {
		return tc.Out, func() error { return nil }, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}

type oivWalker struct {
	ns    *namespace.Namespace
	w     *bufio.Writer
	delim string
}

const oivPage = 1000

// walk calls fn for the root and every inode below it, depth first, children in name
// order.
func (v *oivWalker) walk(fn func(p string, st *namespace.FileStatus) error) error {
	root, err := v.ns.GetFileInfo("hdfs", "/")
	if err != nil {
		return err
	}
	if root == nil {
		return fmt.Errorf("image has no root directory")
	}
	return v.walkFrom("/", root, fn)
}

func (v *oivWalker) walkFrom(p string, st *namespace.FileStatus, fn func(string, *namespace.FileStatus) error) error {
	if err := fn(p, st); err != nil {
		return err
	}
	if !st.Dir {
		return nil
	}
	after := ""
	for {
		l, err := v.ns.List("hdfs", p, after, oivPage)
		if err != nil {
			return err
		}
		if l == nil {
			return fmt.Errorf("directory %s vanished", p)
		}
		for _, c := range l.Entries {
			if err := v.walkFrom(path.Join(p, c.Name), c, fn); err != nil {
				return err
			}
			after = c.Name
		}
		if l.Remaining == 0 || len(l.Entries) == 0 {
			return nil
		}
	}
}

// permString is FsPermission.toString with the type letter: "drwxr-xr-t".
func permString(st *namespace.FileStatus) string {
	var b [10]byte
	b[0] = '-'
	if st.Dir {
		b[0] = 'd'
	}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if st.Mode&(1<<(8-i)) != 0 {
			b[1+i] = rwx[i]
		} else {
			b[1+i] = '-'
		}
	}
	if st.Mode&0o1000 != 0 {
		if b[9] == 'x' {
			b[9] = 't'
		} else {
			b[9] = 'T'
		}
	}
	return string(b[:])
}

func (v *oivWalker) indented(p string, st *namespace.FileStatus) error {
	var err error
	if st.Dir {
		_, err = fmt.Fprintf(v.w, "%s - %s %s %d 0 %s\n", permString(st), st.Owner, st.Group, st.Mtime, p)
	} else {
		_, err = fmt.Fprintf(v.w, "%s %d %s %s %d %d %s\n", permString(st), st.Replication, st.Owner, st.Group, st.Mtime, st.Length, p)
	}
	return err
}

// oivTime is PBImageDelimitedTextWriter's date format, yyyy-MM-dd HH:mm, local time.
func oivTime(ms int64) string {
	return time.UnixMilli(ms).In(time.Local).Format("2006-01-02 15:04")
}

// delimitedText is how PBImageDelimitedTextWriter writes a text field: commons-lang
// escapeCsv (a field holding a comma, a double quote, CR or LF is double-quoted with
// inner quotes doubled), then CRLF as "%x0D%x0A", or else LF as "%x0A".
func delimitedText(s string) string {
	if strings.ContainsAny(s, ",\"\r\n") {
		s = `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	if strings.Contains(s, "\r\n") {
		return strings.ReplaceAll(s, "\r\n", "%x0D%x0A")
	}
	return strings.ReplaceAll(s, "\n", "%x0A")
}

func (v *oivWalker) delimited(p string, st *namespace.FileStatus) error {
	var f []string
	if st.Dir {
		f = []string{delimitedText(p), "0", oivTime(st.Mtime), oivTime(0), "0", "0", "0", "-1", "-1"}
	} else {
		f = []string{delimitedText(p), strconv.FormatUint(uint64(st.Replication), 10), oivTime(st.Mtime), oivTime(st.Atime),
			strconv.FormatUint(st.BlockSize, 10), strconv.Itoa(len(st.Blocks)), strconv.FormatUint(st.Length, 10), "0", "0"}
	}
	f = append(f, permString(st), delimitedText(st.Owner), delimitedText(st.Group))
	_, err := fmt.Fprintln(v.w, strings.Join(f, v.delim))
	return err
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// xml writes PBImageXmlWriter's shape: one line per section header, one per inode.
func (v *oivWalker) xml(info image.Info) error {
	w := v.w
	nsInfo := v.ns.Info()
	c := v.ns.Counters()
	fmt.Fprint(w, "<?xml version=\"1.0\"?>\n<fsimage>")
	fmt.Fprintf(w, "<version><layoutVersion>%d</layoutVersion><onDiskVersion>1</onDiskVersion><oivRevision>hdfsha</oivRevision></version>\n", namespace.LayoutVersion)
	fmt.Fprintf(w, "<NameSection><namespaceId>%d</namespaceId><genstampV1>1000</genstampV1><genstampV2>%d</genstampV2><genstampV1Limit>0</genstampV1Limit><lastAllocatedBlockId>%d</lastAllocatedBlockId><txid>%d</txid></NameSection>\n",
		nsInfo.NamespaceID, c.GenStamp, c.LastBlockID, info.TxID)
	fmt.Fprintf(w, "<INodeSection><lastInodeId>%d</lastInodeId><numInodes>%d</numInodes>\n", c.LastINodeID, c.Files+c.Dirs)
	var uc []string
	err := v.walk(func(p string, st *namespace.FileStatus) error {
		perm := fmt.Sprintf("%s:%s:%04o", xmlText(st.Owner), xmlText(st.Group), st.Mode)
		if st.Dir {
			_, err := fmt.Fprintf(w, "<inode><id>%d</id><type>DIRECTORY</type><name>%s</name><mtime>%d</mtime><permission>%s</permission><nsquota>-1</nsquota><dsquota>-1</dsquota></inode>\n",
				st.ID, xmlText(st.Name), st.Mtime, perm)
			return err
		}
		fmt.Fprintf(w, "<inode><id>%d</id><type>FILE</type><name>%s</name><replication>%d</replication><mtime>%d</mtime><atime>%d</atime><preferredBlockSize>%d</preferredBlockSize><permission>%s</permission>",
			st.ID, xmlText(st.Name), st.Replication, st.Mtime, st.Atime, st.BlockSize, perm)
		if len(st.Blocks) > 0 {
			fmt.Fprint(w, "<blocks>")
			for _, b := range st.Blocks {
				fmt.Fprintf(w, "<block><id>%d</id><genstamp>%d</genstamp><numBytes>%d</numBytes></block>", b.BlockId, b.GenStamp, b.NumBytes)
			}
			fmt.Fprint(w, "</blocks>")
		}
		if st.UnderConstruction() {
			fmt.Fprintf(w, "<file-under-construction><clientName>%s</clientName><clientMachine>%s</clientMachine></file-under-construction>",
				xmlText(st.ClientName), xmlText(st.ClientMachine))
			uc = append(uc, fmt.Sprintf("<inode><id>%d</id><path>%s</path></inode>\n", st.ID, xmlText(p)))
		}
		_, err := fmt.Fprintf(w, "<storagePolicyId>%d</storagePolicyId></inode>\n", st.StoragePolicy)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprint(w, "</INodeSection>\n<INodeDirectorySection>")
	err = v.walk(func(p string, st *namespace.FileStatus) error {
		if !st.Dir || st.Children == 0 {
			return nil
		}
		fmt.Fprintf(w, "<directory><parent>%d</parent>", st.ID)
		after := ""
		for {
			l, err := v.ns.List("hdfs", p, after, oivPage)
			if err != nil || l == nil {
				return err
			}
			for _, c := range l.Entries {
				fmt.Fprintf(w, "<child>%d</child>", c.ID)
				after = c.Name
			}
			if l.Remaining == 0 || len(l.Entries) == 0 {
				break
			}
		}
		_, err := fmt.Fprint(w, "</directory>\n")
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprint(w, "</INodeDirectorySection>\n<FileUnderConstructionSection>")
	for _, s := range uc {
		fmt.Fprint(w, s)
	}
	_, err = fmt.Fprint(w, "</FileUnderConstructionSection>\n</fsimage>\n")
	return err
}
