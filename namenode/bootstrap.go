package namenode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/namenode/qjm"
	"github.com/hdfsha/hdfsha/namenode/web"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// Exit statuses of `hdfs namenode -bootstrapStandby` (Hadoop's
// BootstrapStandby.ERR_CODE_*; 4 is no longer used). Any other failure
// exits 1, as an exception out of Hadoop's NameNode.main does.
const (
	BootstrapFailedConnect    = 2
	BootstrapInvalidVersion   = 3
	BootstrapAlreadyFormatted = 5
	BootstrapLogsUnavailable  = 6
)

// Sentinels of bootstrapStandby's coded failures; BootstrapExitCode maps
// them to the exit statuses above.
var (
	// ErrNoRemoteNameNode: no other NameNode of the nameservice answered
	// versionRequest.
	ErrNoRemoteNameNode = errors.New("namenode: no other NameNode answered")
	// ErrLayoutMismatch: the other NameNode runs another layout version.
	ErrLayoutMismatch = errors.New("namenode: layout version mismatch")
	// ErrLogsUnavailable: the shared edits lack txids between the other
	// NameNode's newest image and its last txid.
	ErrLogsUnavailable = errors.New("namenode: edits unavailable in the shared edits storage")
)

// BootstrapExitCode is the exit status of bootstrapStandby for err: 0 for
// nil, Hadoop's code for a coded failure (ErrFormatAborted is 5), else 1.
func BootstrapExitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrNoRemoteNameNode):
		return BootstrapFailedConnect
	case errors.Is(err, ErrLayoutMismatch):
		return BootstrapInvalidVersion
	case errors.Is(err, ErrFormatAborted):
		return BootstrapAlreadyFormatted
	case errors.Is(err, ErrLogsUnavailable):
		return BootstrapLogsUnavailable
	}
	return 1
}

// codedError is an operator-facing message (Hadoop's text) that matches a
// sentinel with errors.Is.
type codedError struct {
	kind error
	msg  string
}

func (e *codedError) Error() string { return e.msg }
func (e *codedError) Unwrap() error { return e.kind }

func coded(kind error, format string, args ...any) error {
	return &codedError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// BootstrapOptions are `hdfs namenode -bootstrapStandby`'s switches and
// streams.
type BootstrapOptions struct {
	Force, NonInteractive, SkipSharedEditsCheck bool
	// User calls the other NameNode; "" is cfg.Superuser (the NameNode's
	// own user, which NamenodeProtocol requires).
	User string
	// In answers the format prompt; Out receives the banner; Err the
	// prompt and notices.
	In       io.Reader
	Out, Err io.Writer
	// DialTimeout bounds connecting to the other NameNode
	// (ipc.client.connect.timeout when zero).
	DialTimeout time.Duration
}

// remoteNN is one other NameNode bootstrapStandby may copy from.
type remoteNN struct {
	id, ipc, http string
}

func (r remoteNN) String() string {
	return fmt.Sprintf("RemoteNameNodeInfo [nnId=%s, ipcAddress=%s, httpAddress=%s]", r.id, r.ipc, httpURL(r.http))
}

// BootstrapStandby is `hdfs namenode -bootstrapStandby`: it formats this
// NameNode's name directory with the namespace of another NameNode of the
// nameservice and copies that NameNode's newest image, so this one can
// start as a standby. In order:
//
//  1. ask each other NameNode in turn for versionRequest and
//     isUpgradeFinalized; none answering is ErrNoRemoteNameNode (exit 2);
//  2. refuse another layout version (ErrLayoutMismatch, exit 3);
//  3. print Hadoop's banner to o.Out;
//  4. confirm formatting a name directory holding data (Hadoop's prompt;
//     declined or -nonInteractive is ErrFormatAborted, exit 5);
//  5. ask for getMostRecentCheckpointTxId and getTransactionId and, unless
//     SkipSharedEditsCheck, check that the shared edits hold every txid
//     after the image up to that one (ErrLogsUnavailable, exit 6, with
//     Hadoop's advice to copy the logs or call saveNamespace);
//  6. empty <name dir>/current, download the image over HTTP
//     (/imagetransfer, every byte verified as it is written), and write
//     VERSION last: a directory with VERSION is complete.
//
// Before any of it, dfs.namenode.support.allow.format=false refuses (exit 1),
// as in Hadoop. The name directory is locked from step 4 on, so it fails while a
// NameNode runs on it.
func BootstrapStandby(ctx context.Context, cfg Config, o BootstrapOptions) error {
	cfg.setDefaults()
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Err == nil {
		o.Err = io.Discard
	}
	if o.In == nil {
		o.In = strings.NewReader("")
	}
	log := cfg.Logger
	c, ns, me := cfg.Conf, cfg.Nameservice, cfg.NameNodeID
	if ns == "" || !c.IsHA(ns) {
		return errors.New("HA is not enabled for this namenode.")
	}
	qj, shared, err := c.SharedEditsDir(ns, me)
	if err != nil {
		return err
	}
	if !shared {
		return errors.New("Shared edits storage is not enabled for this namenode.")
	}
	remotes, err := remoteNameNodes(c, ns, me, log)
	if err != nil {
		return err
	}
	if err := checkAllowFormat(c); err != nil {
		return err
	}

	user := o.User
	if user == "" {
		user = cfg.Superuser
	}
	rcfg := rpc.DefaultClientConfig(user)
	if rcfg.DialTimeout, err = c.GetDuration("ipc.client.connect.timeout", time.Millisecond, rcfg.DialTimeout); err != nil {
		return err
	}
	if o.DialTimeout > 0 {
		rcfg.DialTimeout = o.DialTimeout
	}
	rcfg.Logger = log.Named("rpc")
	rc, err := rpc.NewClient(rcfg)
	if err != nil {
		return err
	}
	defer rc.Close()
	nnCall := func(addr, method string, req, resp proto.Message) error {
		return rc.Call(ctx, addr, NamenodeProtocol, method, req, resp)
	}

	// 1. The first other NameNode that answers.
	var (
		from      remoteNN
		nsInfo    *hdfspb.NamespaceInfoProto
		finalized bool
	)
	for _, r := range remotes {
		var v hdfspb.VersionResponseProto
		err := nnCall(r.ipc, "versionRequest", &hdfspb.VersionRequestProto{}, &v)
		var u hdfspb.IsUpgradeFinalizedResponseProto
		if err == nil {
			err = nnCall(r.ipc, "isUpgradeFinalized", &hdfspb.IsUpgradeFinalizedRequestProto{}, &u)
		}
		if err != nil {
			log.Warn(fmt.Sprintf("Unable to fetch namespace information from remote NN at %s: %s", r.ipc, rpcMessage(err)))
			continue
		}
		from, nsInfo, finalized = r, v.GetInfo(), u.GetIsUpgradeFinalized()
		break
	}
	if nsInfo == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if nsInfo == nil {
		names := make([]string, len(remotes))
		for i, r := range remotes {
			names[i] = r.String()
		}
		return coded(ErrNoRemoteNameNode, "Unable to fetch namespace information from any remote NN. Possible NameNodes: [%s]", strings.Join(names, ", "))
	}
	st := nsInfo.GetStorageInfo()
	// 2. Layout.
	if lv := int32(st.GetLayoutVersion()); lv != LayoutVersion {
		return coded(ErrLayoutMismatch, "Layout version on remote node (%d) does not match this node's layout version (%d)", lv, LayoutVersion)
	}
	// 3. Banner.
	fmt.Fprintf(o.Out, "=====================================================\n"+
		"About to bootstrap Standby ID %s from:\n"+
		"           Nameservice ID: %s\n"+
		"        Other Namenode ID: %s\n"+
		"  Other NN's HTTP address: %s\n"+
		"  Other NN's IPC  address: %s\n"+
		"             Namespace ID: %d\n"+
		"            Block pool ID: %s\n"+
		"               Cluster ID: %s\n"+
		"           Layout version: %d\n"+
		"       isUpgradeFinalized: %t\n"+
		"=====================================================\n",
		me, ns, from.id, httpURL(from.http), javaSocketAddr(from.ipc),
		int32(st.GetNamespceID()), nsInfo.GetBlockPoolID(), st.GetClusterID(), int32(st.GetLayoutVersion()), finalized)

	// 4. Confirm, then hold the directory.
	fo := FormatOptions{Force: o.Force, NonInteractive: o.NonInteractive, In: o.In, Err: o.Err}
	ok, err := confirmFormat(cfg.NameDir, fo)
	if err != nil || !ok {
		return errors.Join(ErrFormatAborted, err)
	}
	unlock, err := lockNameDir(cfg.NameDir)
	if err != nil {
		return fmt.Errorf("namenode: %w", err)
	}
	defer unlock()

	// 5. What to copy, and whether the journal can take this NameNode from there.
	var ckpt hdfspb.GetMostRecentCheckpointTxIdResponseProto
	if err := nnCall(from.ipc, "getMostRecentCheckpointTxId", &hdfspb.GetMostRecentCheckpointTxIdRequestProto{}, &ckpt); err != nil {
		return fmt.Errorf("namenode: getMostRecentCheckpointTxId from %s: %w", from.ipc, err)
	}
	var cur hdfspb.GetTransactionIdResponseProto
	if err := nnCall(from.ipc, "getTransactionId", &hdfspb.GetTransactionIdRequestProto{}, &cur); err != nil {
		return fmt.Errorf("namenode: getTransactionId from %s: %w", from.ipc, err)
	}
	imageTxID, curTxID := int64(ckpt.GetTxId()), int64(cur.GetTxId())
	if !o.SkipSharedEditsCheck && curTxID > imageTxID {
		if err := checkLogsAvailable(ctx, cfg, nsInfo, imageTxID+1, curTxID); err != nil {
			return coded(ErrLogsUnavailable, "Unable to read transaction ids %d-%d from the configured shared edits storage %s. "+
				"Please copy these logs into the shared edits storage or call saveNamespace on the active node.\n"+
				"Error: %v", imageTxID+1, curTxID, qj, err)
		}
	}

	// 6. Image first, VERSION last.
	current := filepath.Join(cfg.NameDir, "current")
	if err := os.RemoveAll(current); err != nil {
		return err
	}
	if err := os.MkdirAll(current, 0o755); err != nil {
		return err
	}
	if err := downloadImage(ctx, from.http, cfg.NameDir, imageTxID); err != nil {
		return fmt.Errorf("namenode: downloading image txid %d from %s: %w", imageTxID, from.http, err)
	}
	si := StorageInfo{
		NamespaceID:   int32(st.GetNamespceID()),
		ClusterID:     st.GetClusterID(),
		BlockPoolID:   nsInfo.GetBlockPoolID(),
		CTime:         int64(st.GetCTime()),
		LayoutVersion: int32(st.GetLayoutVersion()),
	}
	if err := WriteVersion(cfg.NameDir, si, cfg.Now()); err != nil {
		return err
	}
	log.Info(fmt.Sprintf("Storage directory %s has been successfully formatted.", cfg.NameDir))
	log.Info("bootstrapped standby", zap.String("from", from.id), zap.Int64("imageTxId", imageTxID), zap.Int64("lastTxId", curTxID))
	return nil
}

// KeyAllowFormat is dfs.namenode.support.allow.format (default true): false protects a
// production namespace from being formatted.
const KeyAllowFormat = "dfs.namenode.support.allow.format"

// checkAllowFormat is Hadoop's NameNode.checkAllowFormat.
func checkAllowFormat(c *conf.Conf) error {
	ok, err := c.GetBool(KeyAllowFormat, true)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("The option %s is set to false for this filesystem, so it cannot be formatted. "+
			"You will need to set %s parameter to true in order to format this filesystem", KeyAllowFormat, KeyAllowFormat)
	}
	return nil
}

// remoteNameNodes lists the other NameNodes of ns in configuration order,
// with their service RPC and HTTP addresses.
func remoteNameNodes(c *conf.Conf, ns, me string, log *zap.Logger) ([]remoteNN, error) {
	nns, err := c.NameNodes(ns)
	if err != nil {
		return nil, err
	}
	var out []remoteNN
	for _, nn := range nns {
		if nn.ID == me {
			continue
		}
		log.Info(fmt.Sprintf("Found nn: %s, ipc: %s", nn.ID, nn.ServiceRPCAddress))
		host, port, err := net.SplitHostPort(nn.ServiceRPCAddress)
		if err != nil || port == "0" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
			log.Error(fmt.Sprintf("Could not determine valid IPC address for other NameNode (%s) , got: %s", nn.ID, nn.ServiceRPCAddress))
			continue
		}
		out = append(out, remoteNN{id: nn.ID, ipc: nn.ServiceRPCAddress, http: httpWithDefaultHost(nn.HTTPAddress, host)})
	}
	if len(out) == 0 {
		return nil, errors.New("Could not find any valid namenodes!")
	}
	return out, nil
}

// httpWithDefaultHost is Hadoop's DFSUtil.getInfoServerWithDefaultHost: an
// HTTP address bound to the wildcard (0.0.0.0:9870) is reached on the
// NameNode's RPC host.
func httpWithDefaultHost(httpAddr, rpcHost string) string {
	host, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return httpAddr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return net.JoinHostPort(rpcHost, port)
	}
	return httpAddr
}

// checkLogsAvailable checks that the shared edits can serve every txid in
// [first, last], as a NameNode starting from the image would read them.
func checkLogsAvailable(ctx context.Context, cfg Config, nsInfo *hdfspb.NamespaceInfoProto, first, last int64) error {
	qcfg, err := qjm.ConfigFromConf(cfg.Conf, cfg.Nameservice, cfg.NameNodeID, nsInfo)
	if err != nil {
		return err
	}
	qcfg.Logger = cfg.Logger.Named("qjm")
	m, err := qjm.NewManager(qcfg)
	if err != nil {
		return err
	}
	defer m.Close()
	s, err := m.SelectInputStreams(ctx, first, true)
	if err != nil {
		return err
	}
	defer s.Close()
	if got := s.LastTxID(); got < last {
		if got < first {
			return fmt.Errorf("the journal %s holds no transaction from %d on", m, first)
		}
		return fmt.Errorf("the journal %s holds transactions %d-%d only", m, first, got)
	}
	return nil
}

// downloadImage streams image txid from the NameNode at httpAddr into
// nameDir; image.Receive verifies it as it writes and leaves nothing
// behind on failure.
func downloadImage(ctx context.Context, httpAddr, nameDir string, txid int64) error {
	hc := web.NewImageClient(30 * time.Second)
	defer hc.CloseIdleConnections()
	return downloadImageWith(ctx, hc, httpAddr, nameDir, txid)
}

func downloadImageWith(ctx context.Context, hc *http.Client, httpAddr, nameDir string, txid int64) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := web.DownloadImage(ctx, hc, httpAddr, txid, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	_, err := image.Receive(pr, nameDir, txid)
	pr.CloseWithError(errors.New("image receiver stopped"))
	derr := <-done
	if err != nil {
		// The download's error says why the stream ended, when it did.
		if derr != nil && !strings.Contains(derr.Error(), "image receiver stopped") {
			return derr
		}
		return err
	}
	return nil
}

// rpcMessage is the message of a remote exception, or the error's text.
func rpcMessage(err error) string {
	var re *rpc.RemoteError
	if errors.As(err, &re) {
		return re.Message
	}
	return err.Error()
}

// httpURL is how Hadoop prints a NameNode's HTTP address (a java.net.URL).
func httpURL(addr string) string { return "http://" + addr }

// javaSocketAddr is how Java prints a resolved InetSocketAddress:
// host/ip:port, which is what Hadoop's banner shows.
func javaSocketAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	ip := host
	if net.ParseIP(host) == nil {
		if ips, err := net.LookupHost(host); err == nil && len(ips) > 0 {
			ip = ips[0]
		}
	}
	return host + "/" + ip + ":" + port
}
