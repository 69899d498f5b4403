package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// ClientProtocol is the RPC protocol name the benchmark calls.
const ClientProtocol = "org.apache.hadoop.hdfs.protocol.ClientProtocol"

// BaseDir is where every operation keeps its inputs, as in Hadoop.
const BaseDir = "/nnThroughputBenchmark"

// Operation names, Hadoop's spelling.
const (
	OpCreate     = "create"
	OpMkdirs     = "mkdirs"
	OpOpen       = "open"
	OpDelete     = "delete"
	OpFileStatus = "fileStatus"
	OpRename     = "rename"
	OpAll        = "all"
)

// AllOps is what -op all runs, in Hadoop's order (without the DataNode-simulating ops).
var AllOps = []string{OpCreate, OpMkdirs, OpOpen, OpDelete, OpFileStatus, OpRename}

// openBlockSize is the length getBlockLocations asks for, Hadoop's BLOCK_SIZE.
const openBlockSize = 16

// Caller issues RPCs; *rpc.Client is one.
type Caller interface {
	Call(ctx context.Context, addr, protocol, method string, req, resp proto.Message, opts ...rpc.CallOption) error
	Close() error
}

// NNThroughputConfig says where and how the benchmark runs.
type NNThroughputConfig struct {
	// Addr is the NameNode RPC address, host:port.
	Addr string
	// NewClient returns the RPC client of one worker (and one for setup and cleanup); each
	// worker gets its own, so workers do not share a connection, like independent clients.
	NewClient func() (Caller, error)
	// Replication and BlockSize go into create requests (dfs.replication, dfs.blocksize).
	Replication uint32
	BlockSize   uint64
	// Out receives the results; Log the progress.
	Out io.Writer
	Log *zap.Logger
}

// NNThroughputOptions are the benchmark's command-line options.
type NNThroughputOptions struct {
	Op          string
	Threads     int
	Files       int // -files, or -dirs for mkdirs
	FilesPerDir int // -filesPerDir
	Dirs        int // -dirs (mkdirs)
	DirsPerDir  int // -dirsPerDir (mkdirs)
	KeepResults bool
	UseExisting bool
}

// DefaultNNThroughputOptions are Hadoop's defaults: 3 threads, 10 operations, 4 files or 2
// directories per directory.
func DefaultNNThroughputOptions() NNThroughputOptions {
	return NNThroughputOptions{Threads: 3, Files: 10, FilesPerDir: 4, Dirs: 10, DirsPerDir: 2}
}

// NNThroughputUsage lists the accepted command lines, Hadoop's usage with this tool's name.
const NNThroughputUsage = `Usage: nnthroughput
	-op all <other ops options> [-keepResults]
	-op create [-threads T] [-files N] [-filesPerDir P] [-close] [-keepResults]
	-op mkdirs [-threads T] [-dirs N] [-dirsPerDir P] [-keepResults]
	-op open [-threads T] [-files N] [-filesPerDir P] [-useExisting] [-keepResults]
	-op delete [-threads T] [-files N] [-filesPerDir P] [-useExisting] [-keepResults]
	-op fileStatus [-threads T] [-files N] [-filesPerDir P] [-useExisting] [-keepResults]
	-op rename [-threads T] [-files N] [-filesPerDir P] [-useExisting] [-keepResults]
`

// ErrUsage marks a command line the benchmark does not accept.
var ErrUsage = errors.New("bad nnthroughput command line")

// ParseNNThroughputArgs reads Hadoop's NNThroughputBenchmark arguments: "-op OP" first, then
// the op's options. An option the op does not take is an error unless the op is all. For
// mkdirs, -files and -filesPerDir are accepted as -dirs and -dirsPerDir.
func ParseNNThroughputArgs(args []string) (NNThroughputOptions, error) {
	o := DefaultNNThroughputOptions()
	if len(args) < 2 || args[0] != "-op" {
		return o, fmt.Errorf("%w: it must start with -op OPERATION", ErrUsage)
	}
	o.Op = args[1]
	known := false
	for _, op := range append([]string{OpAll}, AllOps...) {
		known = known || op == o.Op
	}
	if !known {
		return o, fmt.Errorf("%w: unknown operation %s", ErrUsage, o.Op)
	}
	all := o.Op == OpAll
	fileOp := o.Op != OpMkdirs
	existingOp := o.Op != OpMkdirs && o.Op != OpCreate
	var filesSet, filesPerDirSet, dirsSet, dirsPerDirSet bool
	for i := 2; i < len(args); i++ {
		a := args[i]
		intArg := func() (int, error) {
			if i+1 >= len(args) {
				return 0, fmt.Errorf("%w: %s needs a value", ErrUsage, a)
			}
			i++
			n, err := strconv.Atoi(args[i])
			if err != nil || n < 0 {
				return 0, fmt.Errorf("%w: %s %s is not a count", ErrUsage, a, args[i])
			}
			return n, nil
		}
		var err error
		switch {
		case a == "-keepResults":
			o.KeepResults = true
		case a == "-threads":
			o.Threads, err = intArg()
		case a == "-files":
			o.Files, err = intArg()
			filesSet = true
		case a == "-filesPerDir":
			o.FilesPerDir, err = intArg()
			filesPerDirSet = true
		case a == "-dirs" && (all || !fileOp):
			o.Dirs, err = intArg()
			dirsSet = true
		case a == "-dirsPerDir" && (all || !fileOp):
			o.DirsPerDir, err = intArg()
			dirsPerDirSet = true
		case a == "-useExisting" && (all || existingOp):
			o.UseExisting = true
		case a == "-close" && (all || o.Op == OpCreate):
			// create always closes its files (complete), so -close changes nothing.
		default:
			return o, fmt.Errorf("%w: %s does not take %s", ErrUsage, o.Op, a)
		}
		if err != nil {
			return o, err
		}
	}
	if filesSet && !dirsSet {
		o.Dirs = o.Files
	}
	if filesPerDirSet && !dirsPerDirSet {
		o.DirsPerDir = o.FilesPerDir
	}
	if o.FilesPerDir < 1 || o.DirsPerDir < 1 {
		return o, fmt.Errorf("%w: files and directories per directory must be at least 1", ErrUsage)
	}
	return o, nil
}

// OpStats are one operation's inputs and results.
type OpStats struct {
	Op      string
	Threads int
	// Required is the number of operations asked for; Executed those that succeeded.
	Required, Executed int
	PerDir             int
	// Elapsed is wall time from the first worker's start to the last one's end; Cumulative
	// sums the time of every executed call (the timed call only: create excludes complete).
	Elapsed, Cumulative time.Duration
}

// AverageTime is Cumulative per executed operation, in whole milliseconds like Hadoop's.
func (s *OpStats) AverageTime() int64 {
	if s.Executed == 0 {
		return 0
	}
	return (s.Cumulative / time.Duration(s.Executed)).Milliseconds()
}

// OpsPerSecond is executed operations per second of elapsed time.
func (s *OpStats) OpsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Executed) / s.Elapsed.Seconds()
}

// Print writes the results with Hadoop's labels (OperationStatsBase.printStats and the
// printResults of each op).
func (s *OpStats) Print(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s inputs ---\n", s.Op)
	if s.Op == OpMkdirs {
		fmt.Fprintf(&b, "nrDirs = %d\nnrThreads = %d\nnrDirsPerDir = %d\n", s.Required, s.Threads, s.PerDir)
	} else {
		fmt.Fprintf(&b, "nrFiles = %d\nnrThreads = %d\nnrFilesPerDir = %d\n", s.Required, s.Threads, s.PerDir)
	}
	fmt.Fprintf(&b, "--- %s stats  ---\n", s.Op)
	fmt.Fprintf(&b, "# operations: %d\n", s.Executed)
	fmt.Fprintf(&b, "Elapsed Time: %d\n", s.Elapsed.Milliseconds())
	fmt.Fprintf(&b, " Ops per sec: %s\n", JavaDouble(s.OpsPerSecond()))
	fmt.Fprintf(&b, "Average Time: %d\n", s.AverageTime())
	_, _ = io.WriteString(w, b.String())
}

// JavaDouble formats v as Java's Double.toString does, so figures read like Hadoop's:
// "1234.5", "1000.0", "1.2345E7".
func JavaDouble(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	case v == 0:
		return "0.0"
	}
	a := math.Abs(v)
	if a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(v, 'E', -1, 64) // 1.2345E+07
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// RunNNThroughput runs o.Op (each op of AllOps for "all"), then prints every op's results to
// cfg.Out, each after an empty line, as Hadoop does. It returns the stats and the first error;
// an op whose calls fail still reports what it executed.
func RunNNThroughput(ctx context.Context, cfg NNThroughputConfig, o NNThroughputOptions) ([]*OpStats, error) {
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Replication == 0 {
		cfg.Replication = 3
	}
	if cfg.BlockSize == 0 {
		cfg.BlockSize = 128 << 20
	}
	ops := []string{o.Op}
	if o.Op == OpAll {
		ops = AllOps
	}
	admin, err := cfg.NewClient()
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	r := &runner{cfg: cfg, opts: o, admin: admin}
	var stats []*OpStats
	var firstErr error
	for _, op := range ops {
		cfg.Log.Info("Starting benchmark: " + op)
		st, err := r.run(ctx, op)
		if st != nil {
			stats = append(stats, st)
		}
		if err != nil {
			firstErr = fmt.Errorf("%s: %w", op, err)
			break
		}
	}
	for _, st := range stats {
		fmt.Fprintln(cfg.Out)
		st.Print(cfg.Out)
	}
	return stats, firstErr
}

type runner struct {
	cfg   NNThroughputConfig
	opts  NNThroughputOptions
	admin Caller
}

func (r *runner) call(ctx context.Context, c Caller, method string, req, resp proto.Message) error {
	return c.Call(ctx, r.cfg.Addr, ClientProtocol, method, req, resp)
}

// run prepares op's inputs, times it, and cleans up.
func (r *runner) run(ctx context.Context, op string) (*OpStats, error) {
	o := r.opts
	st := &OpStats{Op: op, Threads: o.Threads, Required: o.Files, PerDir: o.FilesPerDir}
	if op == OpMkdirs {
		st.Required, st.PerDir = o.Dirs, o.DirsPerDir
	}
	base := BaseDir + "/" + op
	prefix := "ThroughputBench"
	names := splitInputs(Names(base, prefix, st.PerDir, st.Required), opsPerThread(st.Required, o.Threads))

	clients := make([]Caller, len(names))
	defer func() {
		for _, c := range clients {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	for i := range clients {
		c, err := r.cfg.NewClient()
		if err != nil {
			return nil, err
		}
		clients[i] = c
	}

	if op != OpCreate && op != OpMkdirs {
		if err := r.prepareFiles(ctx, op, base, names, clients); err != nil {
			return nil, err
		}
	}

	var timed func(ctx context.Context, c Caller, thread int, src string) (time.Duration, error)
	switch op {
	case OpCreate:
		timed = r.createOp(op)
	case OpMkdirs:
		timed = func(ctx context.Context, c Caller, _ int, src string) (time.Duration, error) {
			start := time.Now()
			var resp hdfspb.MkdirsResponseProto
			err := r.call(ctx, c, "mkdirs", &hdfspb.MkdirsRequestProto{
				Src: proto.String(src), Masked: perm(0o755), CreateParent: proto.Bool(true),
			}, &resp)
			d := time.Since(start)
			if err == nil && !resp.GetResult() {
				err = fmt.Errorf("mkdirs %s returned false", src)
			}
			return d, err
		}
	case OpOpen:
		timed = func(ctx context.Context, c Caller, _ int, src string) (time.Duration, error) {
			start := time.Now()
			var resp hdfspb.GetBlockLocationsResponseProto
			err := r.call(ctx, c, "getBlockLocations", &hdfspb.GetBlockLocationsRequestProto{
				Src: proto.String(src), Offset: proto.Uint64(0), Length: proto.Uint64(openBlockSize),
			}, &resp)
			d := time.Since(start)
			if err == nil && resp.Locations == nil {
				err = fmt.Errorf("File does not exist: %s", src)
			}
			return d, err
		}
	case OpFileStatus:
		timed = func(ctx context.Context, c Caller, _ int, src string) (time.Duration, error) {
			start := time.Now()
			var resp hdfspb.GetFileInfoResponseProto
			err := r.call(ctx, c, "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String(src)}, &resp)
			d := time.Since(start)
			if err == nil && resp.Fs == nil {
				err = fmt.Errorf("File does not exist: %s", src)
			}
			return d, err
		}
	case OpRename:
		timed = func(ctx context.Context, c Caller, _ int, src string) (time.Duration, error) {
			start := time.Now()
			var resp hdfspb.RenameResponseProto
			err := r.call(ctx, c, "rename", &hdfspb.RenameRequestProto{
				Src: proto.String(src), Dst: proto.String(src + ".r"),
			}, &resp)
			d := time.Since(start)
			if err == nil && !resp.GetResult() {
				err = fmt.Errorf("rename %s returned false", src)
			}
			return d, err
		}
	case OpDelete:
		timed = func(ctx context.Context, c Caller, _ int, src string) (time.Duration, error) {
			start := time.Now()
			var resp hdfspb.DeleteResponseProto
			err := r.call(ctx, c, "delete", &hdfspb.DeleteRequestProto{
				Src: proto.String(src), Recursive: proto.Bool(false),
			}, &resp)
			d := time.Since(start)
			if err == nil && !resp.GetResult() {
				err = fmt.Errorf("delete %s returned false", src)
			}
			return d, err
		}
	default:
		return nil, fmt.Errorf("%w: unknown operation %s", ErrUsage, op)
	}

	r.cfg.Log.Info(fmt.Sprintf("Starting %d %s(s).", st.Required, op))
	executed, cumulative, elapsed, runErr := runPhase(ctx, clients, names, timed)
	st.Executed, st.Cumulative, st.Elapsed = executed, cumulative, elapsed

	if !r.opts.KeepResults {
		var resp hdfspb.DeleteResponseProto
		err := r.call(ctx, r.admin, "delete", &hdfspb.DeleteRequestProto{
			Src: proto.String(base), Recursive: proto.Bool(true),
		}, &resp)
		if err != nil && runErr == nil {
			runErr = fmt.Errorf("cleaning up %s: %w", base, err)
		}
	}
	return st, runErr
}

// createOp times create; complete (which closes the empty file, ending the lease) runs after
// the clock stops, as in Hadoop with -close.
func (r *runner) createOp(op string) func(ctx context.Context, c Caller, thread int, src string) (time.Duration, error) {
	return func(ctx context.Context, c Caller, thread int, src string) (time.Duration, error) {
		client := fmt.Sprintf("%s-client-%d", op, thread)
		start := time.Now()
		var resp hdfspb.CreateResponseProto
		err := r.call(ctx, c, "create", &hdfspb.CreateRequestProto{
			Src:          proto.String(src),
			Masked:       perm(0o644),
			ClientName:   proto.String(client),
			CreateFlag:   proto.Uint32(uint32(hdfspb.CreateFlagProto_CREATE | hdfspb.CreateFlagProto_OVERWRITE)),
			CreateParent: proto.Bool(true),
			Replication:  proto.Uint32(r.cfg.Replication),
			BlockSize:    proto.Uint64(r.cfg.BlockSize),
		}, &resp)
		d := time.Since(start)
		if err != nil {
			return d, err
		}
		return d, r.complete(ctx, c, src, client, resp.GetFs().GetFileId())
	}
}

// complete closes src, retrying while the NameNode answers false (not yet), like Hadoop's loop.
func (r *runner) complete(ctx context.Context, c Caller, src, client string, fileID uint64) error {
	for attempt := 0; ; attempt++ {
		var resp hdfspb.CompleteResponseProto
		err := r.call(ctx, c, "complete", &hdfspb.CompleteRequestProto{
			Src: proto.String(src), ClientName: proto.String(client), FileId: proto.Uint64(fileID),
		}, &resp)
		if err != nil {
			return fmt.Errorf("complete %s: %w", src, err)
		}
		if resp.GetResult() {
			return nil
		}
		if attempt == 100 {
			return fmt.Errorf("complete %s: still not complete after %d attempts", src, attempt+1)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// prepareFiles creates the files open, fileStatus, rename and delete work on, untimed. With
// UseExisting it creates nothing and, like Hadoop, adopts the create op's kept results when the
// op's own directory does not exist.
func (r *runner) prepareFiles(ctx context.Context, op, base string, names [][]string, clients []Caller) error {
	if !r.opts.UseExisting {
		r.cfg.Log.Info(fmt.Sprintf("Generate %d inputs for %s", countNames(names), op))
		create := r.createOp(op)
		_, _, _, err := runPhase(ctx, clients, names, create)
		if err != nil {
			return fmt.Errorf("creating inputs: %w", err)
		}
		return nil
	}
	exists := func(p string) (bool, error) {
		var resp hdfspb.GetFileInfoResponseProto
		err := r.call(ctx, r.admin, "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: proto.String(p)}, &resp)
		return resp.Fs != nil, err
	}
	ok, err := exists(base)
	if err != nil {
		return err
	}
	createBase := BaseDir + "/" + OpCreate
	if !ok {
		if have, err := exists(createBase); err != nil {
			return err
		} else if have {
			var resp hdfspb.RenameResponseProto
			if err := r.call(ctx, r.admin, "rename", &hdfspb.RenameRequestProto{
				Src: proto.String(createBase), Dst: proto.String(base),
			}, &resp); err != nil {
				return err
			}
		}
		if ok, err = exists(base); err != nil {
			return err
		}
	}
	if !ok {
		return fmt.Errorf("%s does not exist.", base)
	}
	r.cfg.Log.Info(fmt.Sprintf("useExisting = true. Assuming %d files have been created before.", countNames(names)))
	return nil
}

// runPhase runs fn over names[t] on worker t with clients[t], all workers at once, and returns
// the successful calls, their summed durations, the wall time and the first error. A worker
// stops at its first error (Hadoop's StatsDaemon does too).
func runPhase(ctx context.Context, clients []Caller, names [][]string,
	fn func(ctx context.Context, c Caller, thread int, src string) (time.Duration, error),
) (executed int, cumulative, elapsed time.Duration, err error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	start := time.Now()
	for t := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n int
			var cum time.Duration
			var werr error
			for _, src := range names[t] {
				if werr = ctx.Err(); werr != nil {
					break
				}
				d, err := fn(ctx, clients[t], t, src)
				if err != nil {
					werr = err
					break
				}
				n++
				cum += d
			}
			mu.Lock()
			defer mu.Unlock()
			executed += n
			cumulative += cum
			if werr != nil && first == nil {
				first = werr
			}
		}()
	}
	wg.Wait()
	return executed, cumulative, time.Since(start), first
}

func perm(p uint32) *hdfspb.FsPermissionProto {
	return &hdfspb.FsPermissionProto{Perm: proto.Uint32(p)}
}

// opsPerThread splits n operations between threads as Hadoop does: each thread gets the same
// number, ±1, and threads beyond n get none.
func opsPerThread(n, threads int) []int {
	out := make([]int, threads)
	scheduled := 0
	for t := 0; t < threads && scheduled < n; t++ {
		out[t] = max((n-scheduled)/(threads-t), 1)
		scheduled += out[t]
	}
	return out
}

func splitInputs(names []string, per []int) [][]string {
	out := make([][]string, len(per))
	i := 0
	for t, k := range per {
		out[t] = names[i : i+k]
		i += k
	}
	return out
}

func countNames(names [][]string) int {
	n := 0
	for _, ns := range names {
		n += len(ns)
	}
	return n
}

// Names returns n paths laid out like Hadoop's FileNameGenerator: perDir entries per
// directory, directories named <prefix>Dir<i> enumerated breadth first (all one-level
// directories, then all two-level ones, ...), files named <prefix><seq>.
func Names(base, prefix string, perDir, n int) []string {
	out := make([]string, n)
	var dir string
	for i := range n {
		if i%perDir == 0 {
			dir = dirName(base, prefix+"Dir", perDir, i/perDir)
		}
		out[i] = dir + "/" + prefix + strconv.Itoa(i)
	}
	return out
}

// dirName returns the d-th directory (0-based) of the breadth-first enumeration of the tree
// with fan-out k under base.
func dirName(base, prefix string, k, d int) string {
	depth, width := 1, k
	for d >= width {
		d -= width
		depth++
		if width > math.MaxInt/k {
			break // unreachable for any n that fits in memory
		}
		width *= k
	}
	digits := make([]int, depth)
	for i := depth - 1; i >= 0; i-- {
		digits[i] = d % k
		d /= k
	}
	var b strings.Builder
	b.WriteString(base)
	for _, x := range digits {
		b.WriteString("/")
		b.WriteString(prefix)
		b.WriteString(strconv.Itoa(x))
	}
	return b.String()
}
