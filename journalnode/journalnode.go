package journalnode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/journalnode/storage"
)

// fetchTimeout bounds one download of a segment during acceptRecovery.
const fetchTimeout = 2 * time.Minute

// JournalNode serves QJournalProtocol over Hadoop IPC and segment
// transfer over HTTP for every journal under its edits directory.
type JournalNode struct {
	cfg  Config
	fs   vfs.FS
	log  *zap.Logger
	http *http.Client // fetches segments from peers (acceptRecovery)

	mu struct {
		sync.Mutex
		started, stopped bool
		rpc              *rpc.Server
		httpSrv          *http.Server
		httpLn           net.Listener
		// journals are opened lazily, one per journal id, and closed by Stop.
		journals map[string]*journal
	}
	// serving counts the goroutines running Serve loops and the HTTP
	// handlers in progress; Stop waits for them. An HTTP handler joins only
	// under mu while not stopped, so every Add happens before Stop's Wait.
	serving sync.WaitGroup
}

// journal is one open journal and the lock on its directory.
type journal struct {
	*storage.Journal
	unlock func() error
}

var _ interface {
	Start(context.Context) error
	Stop() error
} = (*JournalNode)(nil)

// New validates cfg and returns a JournalNode that does not listen yet.
func New(cfg Config) (*JournalNode, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	j := &JournalNode{cfg: cfg, fs: cfg.FS, log: cfg.Logger}
	if j.fs == nil {
		j.fs = vfs.Default
	}
	if j.log == nil {
		j.log = zap.NewNop()
	}
	j.http = &http.Client{Timeout: fetchTimeout, Transport: &http.Transport{Proxy: nil}}
	j.mu.journals = make(map[string]*journal)
	return j, nil
}

// Start creates the edits directory, opens the journals already in it
// (subdirectories with a current/ directory, taking their locks), binds the RPC and HTTP addresses and
// serves until Stop. ctx bounds the start-up only. After a failed Start,
// Stop releases whatever was taken.
func (j *JournalNode) Start(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.mu.started {
		return errors.New("journalnode: already started")
	}
	j.mu.started = true
	if j.mu.stopped {
		return errors.New("journalnode: stopped")
	}
	if err := vfs.MkdirAllDurable(j.fs, j.cfg.EditsDir, 0o755); err != nil {
		return fmt.Errorf("journalnode: create %s: %w", j.cfg.EditsDir, err)
	}
	names, err := j.fs.List(j.cfg.EditsDir)
	if err != nil {
		return fmt.Errorf("journalnode: list %s: %w", j.cfg.EditsDir, err)
	}
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		if checkJournalID(n) != nil {
			continue
		}
		// Only what looks like a journal (it has current/): an edits
		// directory on its own mount also holds lost+found and the like.
		if fi, err := j.fs.Stat(vfs.Join(j.cfg.EditsDir, n, "current")); err != nil || !fi.IsDir() {
			continue
		}
		if _, err := j.journalLocked(n, false); err != nil {
			return fmt.Errorf("journalnode: %w", err)
		}
	}

	rcfg := rpc.DefaultServerConfig()
	rcfg.Addr = j.cfg.RPCAddress
	rcfg.Logger = j.log.Named("rpc")
	srv, err := rpc.NewServer(rcfg)
	if err != nil {
		return fmt.Errorf("journalnode: %s: %w", KeyRPCAddress, err)
	}
	j.mu.rpc = srv
	j.registerRPC(srv)

	ln, err := net.Listen("tcp", j.cfg.HTTPAddress)
	if err != nil {
		return fmt.Errorf("journalnode: %s: listen on %s: %w", KeyHTTPAddress, j.cfg.HTTPAddress, err)
	}
	j.mu.httpLn = ln
	j.mu.httpSrv = &http.Server{
		Handler:           j.httpHandler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          zap.NewStdLog(j.log.Named("http")),
	}

	j.serving.Add(2)
	go func() {
		defer j.serving.Done()
		srv.Serve()
	}()
	go func(hs *http.Server) {
		defer j.serving.Done()
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			j.log.Error("HTTP server failed", zap.Error(err))
		}
	}(j.mu.httpSrv)
	j.log.Info("JournalNode started",
		zap.String("rpc_address", srv.Addr().String()),
		zap.String("http_address", ln.Addr().String()),
		zap.String("edits_dir", j.cfg.EditsDir))
	return nil
}

// Stop stops serving, waits for every goroutine the JournalNode started,
// closes the journals and releases their directory locks. It is idempotent
// and safe after a failed Start.
func (j *JournalNode) Stop() error {
	j.mu.Lock()
	if j.mu.stopped {
		j.mu.Unlock()
		return nil
	}
	j.mu.stopped = true
	srv, hs, ln := j.mu.rpc, j.mu.httpSrv, j.mu.httpLn
	j.mu.Unlock()

	var errs []error
	if hs != nil {
		// Close, not Shutdown: a segment download in progress is cut
		// off; its reader sees a short body and retries elsewhere.
		if err := hs.Close(); err != nil {
			errs = append(errs, err)
		}
	} else if ln != nil {
		ln.Close()
	}
	if srv != nil {
		// Waits for handlers, so no journal is in use afterwards.
		srv.Close()
	}
	j.serving.Wait()
	j.http.CloseIdleConnections()

	j.mu.Lock()
	defer j.mu.Unlock()
	for id, jr := range j.mu.journals {
		if err := jr.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close journal %s: %w", id, err))
		}
		if err := jr.unlock(); err != nil {
			errs = append(errs, fmt.Errorf("unlock journal %s: %w", id, err))
		}
		delete(j.mu.journals, id)
	}
	if srv != nil {
		j.log.Info("JournalNode stopped")
	}
	return errors.Join(errs...)
}

// RPCAddress returns the bound RPC address after Start, else the
// configured one.
func (j *JournalNode) RPCAddress() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.mu.rpc != nil {
		return j.mu.rpc.Addr().String()
	}
	return j.cfg.RPCAddress
}

// HTTPAddress returns the bound HTTP address after Start, else the
// configured one.
func (j *JournalNode) HTTPAddress() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.mu.httpLn != nil {
		return j.mu.httpLn.Addr().String()
	}
	return j.cfg.HTTPAddress
}

// httpURL is the base URL peers fetch segments from: the bound HTTP
// address, with a wildcard host replaced by the RPC host or, failing that,
// this machine's name.
func (j *JournalNode) httpURL() string {
	addr := j.HTTPAddress()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = ""
		if rh, _, err := net.SplitHostPort(j.RPCAddress()); err == nil {
			if ip := net.ParseIP(rh); rh != "" && (ip == nil || !ip.IsUnspecified()) {
				host = rh
			}
		}
		if host == "" {
			if h, err := os.Hostname(); err == nil {
				host = h
			} else {
				host = "localhost"
			}
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

func (j *JournalNode) httpPort() uint32 {
	_, port, _ := net.SplitHostPort(j.HTTPAddress())
	p, _ := strconv.Atoi(port)
	return uint32(p)
}

// checkJournalID applies Hadoop's QuorumJournalManager.checkJournalId, and
// refuses anything that is not a plain directory name.
func checkJournalID(jid string) error {
	if jid == "" || jid == "." || jid == ".." || strings.HasPrefix(jid, ".") ||
		strings.ContainsAny(jid, "/\\\x00") {
		return fmt.Errorf("bad journal id: %s", jid)
	}
	return nil
}

// getJournal returns the journal jid, opening it (and creating its
// directory) on first use unless mustExist.
func (j *JournalNode) getJournal(jid string, mustExist bool) (*journal, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.mu.stopped {
		return nil, errStopped
	}
	return j.journalLocked(jid, mustExist)
}

var errStopped = errors.New("JournalNode is stopping")

// errNoJournal is returned by getJournal(jid, true) for a journal that
// does not exist on this node.
var errNoJournal = errors.New("no such journal")

func (j *JournalNode) journalLocked(jid string, mustExist bool) (*journal, error) {
	if err := checkJournalID(jid); err != nil {
		return nil, err
	}
	if jr, ok := j.mu.journals[jid]; ok {
		return jr, nil
	}
	dir := vfs.Join(j.cfg.EditsDir, jid)
	if mustExist {
		if _, err := j.fs.Stat(dir); err != nil {
			return nil, fmt.Errorf("%w: %s", errNoJournal, jid)
		}
	}
	// Durable: a journal formatted in it must survive a crash.
	if err := vfs.MkdirAllDurable(j.fs, dir, 0o755); err != nil {
		return nil, fmt.Errorf("create journal directory %s: %w", dir, err)
	}
	unlock := func() error { return nil }
	if j.fs == vfs.Default {
		var err error
		if unlock, err = vfs.LockDir(dir, "JournalNode"); err != nil {
			return nil, err
		}
	}
	sj, err := storage.Open(storage.Options{FS: j.fs, Dir: dir, JournalID: jid, CacheBytes: j.cfg.CacheBytes})
	if err != nil {
		unlock()
		return nil, err
	}
	jr := &journal{Journal: sj, unlock: unlock}
	j.mu.journals[jid] = jr
	j.log.Info("opened journal", zap.String("journal_id", jid), zap.String("dir", dir), zap.Bool("formatted", sj.IsFormatted()))
	return jr, nil
}
