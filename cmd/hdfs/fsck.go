package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/client"
	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/namenode/fsck"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// `hdfs fsck` is Hadoop's DFSck: it finds the active NameNode of the path's file system,
// asks its HTTP server for /fsck and copies the report to stdout. The report is built on
// the NameNode (namenode/fsck); the exit status comes from the report's last line.
//
// DFSck's arguments are not "-op args": the path and the switches come in any order
// (`hdfs fsck / -files -blocks`), so fsck is a cli.Command of its own rather than a
// hadoopTool with ops; it still reads Hadoop's generic options first.

// fsckUsage is DFSck's usage, for the switches this fsck implements.
const fsckUsage = "Usage: hdfs fsck <path> [-list-corruptfileblocks | [-openforwrite] [-files [-blocks [-locations | -racks]]]]\n" +
	"\t<path>\tstart checking from this path\n" +
	"\t-files\tprint out files being checked\n" +
	"\t-openforwrite\tprint out files opened for write\n" +
	"\t-list-corruptfileblocks\tprint out list of missing blocks and files they belong to\n" +
	"\t-files -blocks\tprint out block report\n" +
	"\t-files -blocks -locations\tprint out locations for every block\n" +
	"\t-files -blocks -racks\tprint out network topology for data-node locations\n" +
	"\n" +
	"Please Note:\n" +
	"\t1. By default fsck ignores files opened for write, use -openforwrite to report such files. " +
	"They are usually  tagged CORRUPT or HEALTHY depending on their block allocation status\n"

// fsckFlags maps each switch to the query parameter DFSck sends for it.
var fsckFlags = map[string]string{
	"-files":                  "files",
	"-openforwrite":           "openforwrite",
	"-blocks":                 "blocks",
	"-locations":              "locations",
	"-racks":                  "racks",
	"-list-corruptfileblocks": "listcorruptfileblocks",
}

// Client-side fsck timeouts (HdfsClientConfigKeys), Hadoop's defaults.
const (
	keyFsckConnectTimeout = "dfs.client.fsck.connect.timeout"
	keyFsckReadTimeout    = "dfs.client.fsck.read.timeout"
	defaultFsckTimeout    = 60 * time.Second
)

func (e *appEnv) fsckCommand() *cli.Command {
	return &cli.Command{
		Name:            "fsck",
		Usage:           "run a DFS filesystem checking utility",
		Category:        categoryAdmin,
		SkipFlagParsing: true,
		HideHelp:        true,
		Action: func(c *cli.Context) error {
			return e.runFsck(c.Context, c.Args().Slice())
		},
	}
}

func printFsckUsage(w io.Writer) {
	fmt.Fprint(w, fsckUsage+"\n")
	printGenericUsage(w)
}

func (e *appEnv) runFsck(ctx context.Context, args []string) error {
	if len(args) == 1 && isHelpArg(args[0]) {
		printFsckUsage(e.stdout)
		return nil
	}
	// Hadoop's generic options parser owns -files, so DFSck refuses it first.
	if len(args) == 0 || args[0] == "-files" {
		printFsckUsage(e.stderr)
		return cli.Exit("", exitToolError)
	}
	generic, err := conf.ParseGenericArgs(args)
	if err != nil {
		fmt.Fprintf(e.stderr, "fsck: %v\n", err)
		printGenericUsage(e.stderr)
		return cli.Exit("", exitToolError)
	}
	c, err := e.loadConf(generic)
	if err != nil {
		return cli.Exit(fmt.Sprintf("fsck: %v", err), exitShellError)
	}
	f := &fsckRun{e: e, conf: c, ctx: ctx}
	return f.run(generic.Rest)
}

type fsckRun struct {
	e    *appEnv
	conf *conf.Conf
	ctx  context.Context
}

func (f *fsckRun) run(args []string) error {
	u := f.e.hadoopUser()
	var query strings.Builder
	query.WriteString("/fsck?ugi=" + javaURLEncode(u))
	dir := ""
	listCorrupt := false
	for _, a := range args {
		if p, ok := fsckFlags[a]; ok {
			query.WriteString("&" + p + "=1")
			listCorrupt = listCorrupt || a == "-list-corruptfileblocks"
			continue
		}
		if !strings.HasPrefix(a, "-") {
			if dir != "" {
				fmt.Fprintf(f.e.stderr, "fsck: can only operate on one path at a time '%s'\n", a)
				printFsckUsage(f.e.stderr)
				return cli.Exit("", exitToolError)
			}
			dir = a
			continue
		}
		fmt.Fprintf(f.e.stderr, "fsck: Illegal option '%s'\n", a)
		printFsckUsage(f.e.stderr)
		return cli.Exit("", exitToolError)
	}
	if dir == "" {
		dir = "/"
	}

	httpAddr, resolved, err := f.resolve(u, dir)
	if err != nil {
		// DFSck: the file system could not be reached or the path not resolved;
		// it says so and exits 0.
		fmt.Fprintf(f.e.stderr, "FileSystem is inaccessible due to:\n%s\n", javaException(err))
		fmt.Fprintln(f.e.stderr, "DFSck exiting.")
		return nil
	}
	target := "http://" + httpAddr + query.String() + "&path=" + javaURLEncode(resolved)
	fmt.Fprintf(f.e.stderr, "Connecting to namenode via %s\n", target)

	if listCorrupt {
		return f.listCorruptFileBlocks(dir, target)
	}
	last := fsck.CorruptStatus
	err = f.get(target, func(line string) bool {
		fmt.Fprintln(f.e.stdout, line)
		last = line
		return true
	})
	if err != nil {
		return cli.Exit(fmt.Sprintf("fsck: %v", err), exitShellError)
	}
	switch {
	case strings.HasSuffix(last, fsck.HealthyStatus):
		return nil
	case strings.HasSuffix(last, fsck.CorruptStatus):
		return cli.Exit("", 1)
	case strings.HasSuffix(last, fsck.NonexistentStatus):
		return nil
	}
	return cli.Exit("", exitToolError)
}

// listCorruptFileBlocks is DFSck.listCorruptFileBlocks: it pages through the NameNode's
// list with the cookie it returns and prints the blocks; exit 0 when there are none.
func (f *fsckRun) listCorruptFileBlocks(dir, baseURL string) error {
	const (
		noCorrupt     = "has no CORRUPT files"
		noMoreCorrupt = "has no more CORRUPT files"
		cookiePrefix  = "Cookie:"
	)
	numCorrupt, cookie := 0, 0
	for done := false; !done; {
		u := baseURL
		if cookie > 0 {
			u += "&startblockafter=" + strconv.Itoa(cookie)
		}
		denied := false
		err := f.get(u, func(line string) bool {
			switch {
			case strings.HasPrefix(line, cookiePrefix):
				_, v, _ := strings.Cut(line, "\t")
				n, err := strconv.Atoi(v)
				if err != nil {
					done = true
					return false
				}
				cookie = n
				return true
			case strings.HasSuffix(line, noCorrupt), strings.HasSuffix(line, noMoreCorrupt),
				strings.HasSuffix(line, fsck.NonexistentStatus):
				done = true
				return false
			case strings.HasPrefix(line, "Access denied for user"):
				denied = true
				return false
			case line == "", strings.HasPrefix(line, "FSCK started by"), strings.HasPrefix(line, "FSCK ended at"),
				strings.HasPrefix(line, "The filesystem under path"):
				return true
			}
			numCorrupt++
			if numCorrupt == 1 {
				fmt.Fprintf(f.e.stdout, "The list of corrupt blocks under path '%s' are:\n", dir)
			}
			fmt.Fprintln(f.e.stdout, line)
			return true
		})
		if err != nil {
			return cli.Exit(fmt.Sprintf("fsck: %v", err), exitShellError)
		}
		if denied {
			fmt.Fprintf(f.e.stdout, "Failed to open path '%s': Permission denied\n", dir)
			return cli.Exit("", exitToolError)
		}
		if !done && cookie == 0 {
			// An answer without a cookie (a FAILED report) would repeat forever.
			done = true
		}
	}
	fmt.Fprintf(f.e.stdout, "The filesystem under path '%s' has %d CORRUPT blocks\n", dir, numCorrupt)
	if numCorrupt == 0 {
		return nil
	}
	return cli.Exit("", exitToolError)
}

// get streams the lines of an HTTP GET to fn until fn returns false.
func (f *fsckRun) get(target string, fn func(line string) bool) error {
	connect, err := f.conf.GetDuration(keyFsckConnectTimeout, time.Millisecond, defaultFsckTimeout)
	if err != nil {
		return err
	}
	read, err := f.conf.GetDuration(keyFsckReadTimeout, time.Millisecond, defaultFsckTimeout)
	if err != nil {
		return err
	}
	dialer := &net.Dialer{Timeout: connect}
	hc := &http.Client{Transport: &http.Transport{
		// The read timeout bounds every read, as Java's URLConnection read timeout
		// does: a NameNode walking a large tree writes at least every 1000 entries.
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return readDeadlineConn{Conn: conn, timeout: read}, nil
		},
	}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("Server returned HTTP response code: %d for URL: %s", resp.StatusCode, target)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if !fn(sc.Text()) {
			return nil
		}
	}
	return sc.Err()
}

// resolve resolves dir on its file system (relative paths against /user/<user>, as
// FileSystem.resolvePath does through getFileInfo) and returns the HTTP address of the
// NameNode that answered, the active one, and the absolute path.
func (f *fsckRun) resolve(u, dir string) (httpAddr, resolved string, err error) {
	fs := ""
	p := dir
	if strings.Contains(dir, "://") {
		pu, err := url.Parse(dir)
		if err != nil {
			return "", "", err
		}
		if pu.Scheme != "hdfs" {
			return "", "", fmt.Errorf("FileSystem is %s", pu.Scheme+"://"+pu.Host)
		}
		fs, p = "hdfs://"+pu.Host, pu.Path
	}
	if !strings.HasPrefix(p, "/") {
		p = path.Join("/user", u, p)
	}
	p = path.Clean(p)
	c, err := client.New(client.Config{Conf: f.conf, User: u, Logger: f.log()}, fs)
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	var resp hdfspb.GetFileInfoResponseProto
	if err := c.Call(f.ctx, "getFileInfo", &hdfspb.GetFileInfoRequestProto{Src: &p}, &resp); err != nil {
		return "", "", err
	}
	if resp.GetFs() == nil {
		return "", "", rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", p)
	}
	httpAddr, err = httpAddressOf(f.conf, c.Active())
	return httpAddr, p, err
}

// httpAddressOf is DFSUtil.getInfoServer: the configured HTTP address of the NameNode
// whose RPC address is rpcAddr, else its host with the port of dfs.namenode.http-address.
func httpAddressOf(c *conf.Conf, rpcAddr string) (string, error) {
	if nns, err := c.AllNameNodes(); err == nil {
		for _, nn := range nns {
			if nn.RPCAddress == rpcAddr && nn.HTTPAddress != "" {
				return nn.HTTPAddress, nil
			}
		}
	}
	host, _, err := net.SplitHostPort(rpcAddr)
	if err != nil {
		return "", fmt.Errorf("NameNode address %q: %w", rpcAddr, err)
	}
	port := "9870"
	if v := c.GetTrimmed("dfs.namenode.http-address", ""); v != "" {
		if _, p, err := net.SplitHostPort(v); err == nil {
			port = p
		}
	}
	return net.JoinHostPort(host, port), nil
}

// javaException is Throwable.toString: "<class>: <message>".
func javaException(err error) string {
	var re *rpc.RemoteError
	if errors.As(err, &re) {
		return re.Class + ": " + re.Message
	}
	return "java.io.IOException: " + err.Error()
}

// javaURLEncode is java.net.URLEncoder.encode(s, "UTF-8"): letters, digits and ".-*_"
// stay, a space becomes '+', every other byte %XX.
func javaURLEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9',
			ch == '.', ch == '-', ch == '*', ch == '_':
			b.WriteByte(ch)
		case ch == ' ':
			b.WriteByte('+')
		default:
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

func (f *fsckRun) log() *zap.Logger {
	if f.e.globals.log == nil {
		return zap.NewNop()
	}
	return f.e.globals.log.Named("fsck").Named("client")
}

// readDeadlineConn sets a fresh read deadline before every read.
type readDeadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c readDeadlineConn) Read(p []byte) (int, error) {
	if c.timeout > 0 {
		if err := c.Conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(p)
}
