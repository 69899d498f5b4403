package fsck

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/rpc"
)

// Hadoop's status words (NamenodeFsck): DFSck decides its exit status from
// the end of the last line.
const (
	HealthyStatus     = "is HEALTHY"
	CorruptStatus     = "is CORRUPT"
	NonexistentStatus = "does not exist"
	FailureStatus     = "FAILED"
)

// DefaultMaxCorruptFiles is dfs.corruptfilesreturned.max: how many corrupt
// file blocks one -list-corruptfileblocks answer holds.
const DefaultMaxCorruptFiles = 500

// Config is what a fsck run reads besides its request.
type Config struct {
	Namespace Namespace
	Blocks    Blocks
	// Superuser reports whether user is the NameNode's superuser (or in
	// dfs.permissions.superusergroup); -list-corruptfileblocks needs it.
	// Nil treats every user as superuser (permissions disabled).
	Superuser func(user string) bool
	// Now is the clock of the "started"/"ended" lines and the elapsed time;
	// nil is time.Now.
	Now func() time.Time
	// MaxCorruptFiles bounds a -list-corruptfileblocks page
	// (dfs.corruptfilesreturned.max); 0 means DefaultMaxCorruptFiles.
	MaxCorruptFiles int
	// StaticUser is the user of a request without ugi or user.name
	// (hadoop.http.staticuser.user, "dr.who" by default).
	StaticUser string
	Logger     *zap.Logger
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Request is one fsck run: the FsckServlet's query parameters.
type Request struct {
	User string
	// RemoteIP is the client's address, printed as Java prints an
	// InetAddress without a host name: "/127.0.0.1".
	RemoteIP string
	// Path is the absolute path to check.
	Path string
	// Files, Blocks, Locations, Racks, OpenForWrite: -files, -blocks,
	// -locations, -racks, -openforwrite.
	Files, Blocks, Locations, Racks, OpenForWrite bool
	// ListCorruptFileBlocks: -list-corruptfileblocks, continuing after the
	// cookie StartBlockAfter ("" for the first page).
	ListCorruptFileBlocks bool
	StartBlockAfter       string
}

// Run writes the report of req to w, as NamenodeFsck.fsck does. Problems
// of the namespace (a denied permission, a standby NameNode) end the report
// with Hadoop's FAILED lines, not an error; Run returns an error only when w
// fails (the client went away) or ctx ends.
func Run(ctx context.Context, cfg Config, req Request, w io.Writer) error {
	bw := &errWriter{w: bufio.NewWriterSize(w, 32<<10)}
	if f, ok := w.(interface{ Flush() }); ok {
		bw.flusher = f
	}
	c := &checker{ctx: ctx, cfg: &cfg, req: req, out: bw}
	c.run()
	if bw.err == nil {
		bw.err = bw.w.Flush()
	}
	if bw.err != nil {
		return bw.err
	}
	return ctx.Err()
}

// errWriter keeps the first write error; writes after it do nothing.
type errWriter struct {
	w   *bufio.Writer
	err error
	// flusher pushes what was written to the client (an http.ResponseWriter's
	// Flush), so a long walk keeps the client's read timeout alive.
	flusher interface{ Flush() }
}

func (e *errWriter) print(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *errWriter) printf(format string, a ...any) { e.print(fmt.Sprintf(format, a...)) }

func (e *errWriter) flush() {
	if e.err == nil {
		e.err = e.w.Flush()
	}
	if e.err == nil && e.flusher != nil {
		e.flusher.Flush()
	}
}

// errStop ends a walk whose output cannot be written.
var errStop = errors.New("fsck: output closed")

type checker struct {
	ctx     context.Context
	cfg     *Config
	req     Request
	out     *errWriter
	cluster Cluster

	totalDirs, totalSymlinks int64
	repl                     result
}

func (c *checker) ugi() string { return c.req.User + " (auth:SIMPLE)" }

func (c *checker) run() {
	start := c.cfg.now()
	c.out.printf("FSCK started by %s from /%s for path %s at %s\n", c.ugi(), c.req.RemoteIP, c.req.Path, javaDate(start))
	if c.cfg.Logger != nil {
		c.cfg.Logger.Info("fsck", zap.String("user", c.req.User), zap.String("from", c.req.RemoteIP), zap.String("path", c.req.Path))
	}
	err := c.check(start)
	if err == nil || errors.Is(err, errStop) || c.ctx.Err() != nil {
		return
	}
	// NamenodeFsck's catch: the end line, the exception's message, FAILED.
	end := c.cfg.now()
	c.out.printf("FSCK ended at %s in %d milliseconds\n", javaDate(end), end.Sub(start).Milliseconds())
	c.out.print(remoteMessage(err) + "\n")
	c.out.printf("\n\nFsck on path '%s' %s", c.req.Path, FailureStatus)
}

// remoteMessage is what Java's getMessage gives for err: the text without
// the exception class.
func remoteMessage(err error) string {
	var re *rpc.RemoteError
	if errors.As(err, &re) {
		return re.Message
	}
	return err.Error()
}

func (c *checker) check(start time.Time) error {
	f, err := c.cfg.Namespace.Stat(c.ctx, c.req.User, c.req.Path)
	if err != nil {
		return err
	}
	if f == nil {
		c.out.printf("\n\nPath '%s' %s", c.req.Path, NonexistentStatus)
		return nil
	}
	if c.req.ListCorruptFileBlocks {
		return c.listCorruptFileBlocks()
	}
	c.cluster = c.cfg.Blocks.Cluster()
	c.repl.replication = c.cluster.DefaultReplication
	c.repl.minReplication = c.cluster.MinReplication
	f.Name = ""
	if err := c.checkFile(c.req.Path, *f); err != nil {
		return err
	}
	status := "HEALTHY"
	if !c.repl.healthy() {
		status = "CORRUPT"
	}
	c.out.printf("\nStatus: %s\n", status)
	c.out.printf(" Number of data-nodes:\t%d\n", c.cluster.LiveDatanodes)
	c.out.printf(" Number of racks:\t\t%d\n", c.cluster.Racks)
	c.out.printf(" Total dirs:\t\t\t%d\n", c.totalDirs)
	c.out.printf(" Total symlinks:\t\t%d\n", c.totalSymlinks)
	c.out.print("\nReplicated Blocks:\n")
	c.out.print(c.repl.replicatedString() + "\n")
	c.out.print("\nErasure Coded Block Groups:\n")
	c.out.print((&result{}).erasureCodedString() + "\n")
	end := c.cfg.now()
	c.out.printf("FSCK ended at %s in %d milliseconds\n", javaDate(end), end.Sub(start).Milliseconds())
	// DFSck reads the status from the end of this, the last line.
	if c.repl.healthy() {
		c.out.printf("\n\nThe filesystem under path '%s' %s", c.req.Path, HealthyStatus)
	} else {
		c.out.printf("\n\nThe filesystem under path '%s' %s", c.req.Path, CorruptStatus)
	}
	return nil
}

// fullName is HdfsFileStatus.getFullName: parent joined with the local name.
func fullName(parent, name string) string {
	if name == "" {
		return parent
	}
	if strings.HasSuffix(parent, "/") {
		return parent + name
	}
	return parent + "/" + name
}

func (c *checker) checkFile(parent string, f File) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	if c.out.err != nil {
		return errStop
	}
	p := fullName(parent, f.Name)
	// Hadoop shows progress with a blank line every 1000 entries (the
	// first included) and flushes there.
	if (c.totalDirs+c.totalSymlinks+c.repl.totalFiles)%1000 == 0 {
		c.out.print("\n")
		c.out.flush()
	}
	switch {
	case f.Dir:
		return c.checkDir(p)
	case f.Symlink:
		if c.req.Files {
			c.out.print(p + " <symlink>\n")
		}
		c.totalSymlinks++
		return nil
	}
	c.collectFileSummary(p, f)
	c.collectBlocksSummary(p, f)
	return nil
}

func (c *checker) checkDir(p string) error {
	if c.req.Files {
		c.out.print(p + " <dir>\n")
	}
	c.totalDirs++
	after := ""
	for {
		entries, more, err := c.cfg.Namespace.List(c.ctx, c.req.User, p, after)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := c.checkFile(p, e); err != nil {
				return err
			}
		}
		if !more || len(entries) == 0 {
			return nil
		}
		after = entries[len(entries)-1].Name
	}
}

func (c *checker) collectFileSummary(p string, f File) {
	r := &c.repl
	n := int64(len(f.Blocks))
	if f.UnderConstruction && !c.req.OpenForWrite {
		r.totalOpenFilesSize += int64(f.Length)
		r.totalOpenFilesBlocks += n
		r.totalOpenFiles++
		return
	}
	r.totalFiles++
	r.totalSize += int64(f.Length)
	r.totalBlocks += n
	policy := fmt.Sprintf("replicated: replication=%d,", f.Replication)
	switch {
	case c.req.OpenForWrite && f.UnderConstruction:
		c.out.printf("%s %d bytes, %s %d block(s), OPENFORWRITE: ", p, f.Length, policy, n)
	case c.req.Files:
		c.out.printf("%s %d bytes, %s %d block(s): ", p, f.Length, policy, n)
	case r.totalFiles%100 == 0:
		c.out.print(".")
	}
}

func (c *checker) blockName(b Block) string {
	return fmt.Sprintf("%s:blk_%d_%d", c.cluster.BlockPoolID, b.ID, b.GenStamp)
}

// count is Hadoop's NumberReplicas for one block.
type count struct {
	live, corrupt, decommissioning, decommissioned, entering, inMaint, excess int
}

func countReplicas(rs Replicas) count {
	var n count
	for _, r := range rs.Nodes {
		switch r.State {
		case Live:
			n.live++
		case Corrupt:
			n.corrupt++
		case Decommissioning:
			n.decommissioning++
		case Decommissioned:
			n.decommissioned++
		case EnteringMaintenance:
			n.entering++
		case InMaintenance:
			n.inMaint++
		case Excess:
			n.excess++
		}
	}
	return n
}

// located is what getBlockLocations returns for a block: every replica when
// all are corrupt (then corrupt is true), else the ones that are not corrupt.
func located(rs Replicas, n count) (locs []Replica, corrupt bool) {
	corrupt = n.corrupt > 0 && n.corrupt == len(rs.Nodes)
	for _, r := range rs.Nodes {
		if corrupt || r.State != Corrupt {
			locs = append(locs, r)
		}
	}
	return locs, corrupt
}

// placement is BlockPlacementPolicyDefault.verifyBlockPlacement: a block
// should span min(2, replication) racks, or every rack there is.
func (c *checker) placement(locs []Replica, replication int) (ok bool, desc string) {
	if !c.cluster.MultiRack {
		return true, ""
	}
	required := min(2, replication)
	racks := map[string]bool{}
	for _, r := range locs {
		racks[r.Node.rack()] = true
	}
	current, total := len(racks), c.cluster.Racks
	if required <= current || current >= total {
		return true, ""
	}
	return false, fmt.Sprintf("Block should be additionally replicated on %d more rack(s). Total number of racks in the cluster: %d", required-current, total)
}

// replicaInfo is getReplicaInfo: " [...]" of every storage, "" unless
// -locations or -racks.
func (c *checker) replicaInfo(rs Replicas) string {
	if !c.req.Locations && !c.req.Racks {
		return ""
	}
	var b strings.Builder
	b.WriteString(" [")
	for i, r := range rs.Nodes {
		if i > 0 {
			b.WriteString(", ")
		}
		if c.req.Racks {
			b.WriteString(r.Node.rack() + "/" + r.Node.XferAddr())
		} else {
			st := r.StorageType
			if st == "" {
				st = "DISK"
			}
			fmt.Fprintf(&b, "DatanodeInfoWithStorage[%s,%s,%s]", r.Node.XferAddr(), r.StorageID, st)
		}
	}
	b.WriteString("]")
	return b.String()
}

func (c *checker) collectBlocksSummary(p string, f File) {
	if f.UnderConstruction && !c.req.OpenForWrite {
		return
	}
	r := &c.repl
	var (
		missing, corrupt                int
		missingSize, corruptSize        int64
		underPerFile, misReplicatedFile int
		report                          strings.Builder
		blockNumber                     int
	)
	// lastUC holds the replicas of an open file's last block while it is
	// being written (LocatedBlocks' !isLastBlockComplete).
	var lastUC *Replicas
	if f.UnderConstruction && len(f.Blocks) > 0 {
		if rs := c.cfg.Blocks.Replicas(f.Blocks[len(f.Blocks)-1]); !rs.Complete {
			lastUC = &rs
		}
	}
	target := int(f.Replication)
	for i, b := range f.Blocks {
		if lastUC != nil && i == len(f.Blocks)-1 {
			// The block being written is shown apart, below.
			continue
		}
		rs := c.cfg.Blocks.Replicas(b)
		n := countReplicas(rs)
		r.decommissionedReplicas += int64(n.decommissioned)
		r.decommissioningReplicas += int64(n.decommissioning)
		r.enteringMaintenanceReplicas += int64(n.entering)
		r.inMaintenanceReplicas += int64(n.inMaint)
		total := n.live + n.decommissioned + n.decommissioning + n.entering + n.inMaint
		r.totalReplicas += int64(total)
		isMissing := total == 0
		r.numExpectedReplicas += int64(target)
		if total < c.cluster.MinReplication {
			r.numUnderMinReplicatedBlocks++
		}
		if n.live > target {
			r.excessiveReplicas += int64(n.live - target)
			r.numOverReplicatedBlocks++
		}
		locs, isCorrupt := located(rs, n)
		name := c.blockName(b)
		if isCorrupt {
			r.corruptBlocks++
			r.corruptSize += int64(b.NumBytes)
			corrupt++
			corruptSize += int64(b.NumBytes)
			c.out.printf("\n%s: CORRUPT blockpool %s block blk_%d\n", p, c.cluster.BlockPoolID, b.ID)
		}
		if total >= c.cluster.MinReplication {
			r.numMinReplicatedBlocks++
		}
		if total < target && !isMissing {
			r.missingReplicas += int64(target - total)
			r.numUnderReplicatedBlocks++
			underPerFile++
			if !c.req.Files {
				c.out.printf("\n%s: ", p)
			}
			c.out.printf(" Under replicated %s. Target Replicas is %d but found %d live replica(s), %d decommissioned replica(s), %d decommissioning replica(s).\n",
				name, target, n.live, n.decommissioned, n.decommissioning)
		}
		if ok, desc := c.placement(locs, target); !ok {
			r.numMisReplicatedBlocks++
			misReplicatedFile++
			if !c.req.Files {
				if underPerFile == 0 {
					c.out.print("\n")
				}
				c.out.print(p + ": ")
			}
			c.out.printf(" Replica placement policy is violated for %s. %s\n", name, desc)
		}
		fmt.Fprintf(&report, "%d. %s len=%d", blockNumber, name, b.NumBytes)
		if isMissing && !isCorrupt {
			// A block whose every replica is corrupt is reported corrupt,
			// not missing: a client may have marked good copies wrongly.
			report.WriteString(" MISSING!")
			r.missingIDs++
			r.missingSize += int64(b.NumBytes)
			missing++
			missingSize += int64(b.NumBytes)
		} else {
			fmt.Fprintf(&report, " Live_repl=%d", n.live)
			if info := c.replicaInfo(rs); info != "" {
				report.WriteString(" " + info)
			}
		}
		report.WriteString("\n")
		blockNumber++
	}
	if lastUC != nil {
		b, rs := f.Blocks[len(f.Blocks)-1], *lastUC
		fmt.Fprintf(&report, "\nUnder Construction Block:\n%d. %s len=%d Expected_repl=%d", blockNumber, c.blockName(b), b.NumBytes, len(rs.Nodes))
		if info := c.replicaInfo(rs); info != "" {
			report.WriteString(" " + info)
		}
	}
	if missing > 0 || corrupt > 0 {
		if !c.req.Files {
			if missing > 0 {
				c.out.printf("\n%s: MISSING %d blocks of total size %d B.", p, missing, missingSize)
			}
			if corrupt > 0 {
				c.out.printf("\n%s: CORRUPT %d blocks of total size %d B.", p, corrupt, corruptSize)
			}
		}
		r.corruptFiles++
	}
	if c.req.Files {
		switch {
		case missing > 0 || corrupt > 0:
			if missing > 0 {
				c.out.printf(" MISSING %d blocks of total size %d B\n", missing, missingSize)
			}
			if corrupt > 0 {
				c.out.printf(" CORRUPT %d blocks of total size %d B\n", corrupt, corruptSize)
			}
		case underPerFile == 0 && misReplicatedFile == 0:
			c.out.print(" OK\n")
		}
		if c.req.Blocks {
			c.out.print(report.String() + "\n")
		}
	}
}

// listCorruptFileBlocks is NamenodeFsck.listCorruptFileBlocks over
// FSNamesystem.listCorruptFileBlocks: the corrupt blocks of files under the
// path, a page at a time; the cookie counts the blocks walked so far.
func (c *checker) listCorruptFileBlocks() error {
	if c.cfg.Superuser != nil && !c.cfg.Superuser(c.req.User) {
		return rpc.Errorf(rpc.ErrAccessControl, "Access denied for user %s. Superuser privilege is required", c.req.User)
	}
	skip := 0
	if c.req.StartBlockAfter != "" {
		n, err := strconv.Atoi(c.req.StartBlockAfter)
		if err != nil {
			return fmt.Errorf("For input string: %q", c.req.StartBlockAfter)
		}
		skip = n
	}
	limit := c.cfg.MaxCorruptFiles
	if limit <= 0 {
		limit = DefaultMaxCorruptFiles
	}
	ids := c.cfg.Blocks.CorruptBlocks()
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var lines []string
	cookie := skip
	for i := skip; i < len(ids); i++ {
		cookie++
		src, err := c.cfg.Namespace.FileOfBlock(c.ctx, ids[i])
		if err != nil {
			return err
		}
		if src == "" || !isParentEntry(src, c.req.Path) {
			continue
		}
		lines = append(lines, fmt.Sprintf("blk_%d\t%s", ids[i], src))
		if len(lines) >= limit {
			break
		}
	}
	filler := strconv.Itoa(len(lines))
	switch {
	case len(lines) > 0:
	case cookie == 0:
		filler = "no"
	default:
		filler = "no more"
	}
	c.out.printf("Cookie:\t%d\n", cookie)
	for _, l := range lines {
		c.out.print(l + "\n")
	}
	c.out.printf("\n\nThe filesystem under path '%s' has %s CORRUPT files\n\n", c.req.Path, filler)
	return nil
}

// isParentEntry is FSNamesystem.isParentEntry: path is parent or below it.
func isParentEntry(path, parent string) bool {
	if !strings.HasPrefix(path, parent) {
		return false
	}
	if parent == "/" || len(path) == len(parent) {
		return true
	}
	return path[len(parent)] == '/'
}
