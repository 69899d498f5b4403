package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
)

// ClientProtocol is the protocol name of Hadoop's ClientNamenodeProtocol on the wire.
const ClientProtocol = "org.apache.hadoop.hdfs.protocol.ClientProtocol"

// ErrNoNameNode is returned by New when a URI or the configuration names no NameNode.
var ErrNoNameNode = errors.New("client: no NameNode configured")

// Config configures a Client.
type Config struct {
	Conf   *conf.Conf // Hadoop configuration (nameservices, failover keys)
	User   string     // effective user ("" = $HADOOP_USER_NAME, else the OS user)
	Logger *zap.Logger

	// Sleep waits d or until ctx ends, returning ctx's error then. Nil uses a timer;
	// tests pass a fake to observe the backoff without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1) scaling each backoff by 0.5+Jitter(), as Hadoop
	// does. Nil uses math/rand.
	Jitter func() float64
	// Dial opens connections; nil uses net.Dialer (see rpc.ClientConfig.Dial).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Data tunes file reads and writes beyond Hadoop's keys (see DataOptions).
	Data DataOptions
}

// Client calls the NameNodes of one HDFS URI with failover. It is safe for concurrent use.
type Client struct {
	rpc    *rpc.Client
	addrs  []string
	policy Policy
	log    *zap.Logger
	sleep  func(ctx context.Context, d time.Duration) error
	jitter func() float64
	// succeeded is set once any call succeeded: before that, a client's
	// first failover (the usual "nn1 is the standby") is logged at DEBUG,
	// as Hadoop's RetryInvocationHandler does.
	succeeded atomic.Bool
	// dfsState is the data path: file reads and writes (dfs.go).
	dfsState

	mu struct {
		sync.Mutex
		// current is the index into addrs calls go to first.
		current int
		// known is true once a call to addrs[current] succeeded.
		known bool
	}
}

// DefaultUser is the user the CLI runs as: $HADOOP_USER_NAME, else the OS user.
func DefaultUser() string {
	if u := os.Getenv("HADOOP_USER_NAME"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "hdfs"
}

// New resolves uri ("hdfs://mycluster", "hdfs://host:port", or "" for fs.defaultFS)
// to its NameNodes and returns a Client for them. It opens no connection.
func New(cfg Config, uri string) (*Client, error) {
	c := cfg.Conf
	if c == nil {
		c = conf.New()
	}
	addrs, err := Resolve(c, uri)
	if err != nil {
		return nil, err
	}
	policy, err := PolicyFromConf(c)
	if err != nil {
		return nil, err
	}
	userName := cfg.User
	if userName == "" {
		userName = DefaultUser()
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	rc := rpc.DefaultClientConfig(userName)
	if rc.DialTimeout, err = c.GetDuration(KeyConnectTimeout, time.Millisecond, rc.DialTimeout); err != nil {
		return nil, err
	}
	rc.Logger = log.Named("rpc")
	rc.Dial = cfg.Dial
	r, err := rpc.NewClient(rc)
	if err != nil {
		return nil, err
	}
	cl := &Client{rpc: r, addrs: addrs, policy: policy, log: log, sleep: cfg.Sleep, jitter: cfg.Jitter}
	if cl.sleep == nil {
		cl.sleep = sleepCtx
	}
	if cl.jitter == nil {
		cl.jitter = rand.Float64
	}
	if cl.dfsState, err = newDFSState(c, cfg, cl); err != nil {
		r.Close()
		return nil, err
	}
	return cl, nil
}

// Resolve returns the NameNode RPC addresses of uri, in configuration order:
//
//   - hdfs://<nameservice>, a nameservice in dfs.nameservices or with dfs.ha.namenodes.<ns>:
//     every NameNode of it;
//   - hdfs://host:port: that address; hdfs://host: host:8020;
//   - "" : fs.defaultFS when it is an hdfs:// URI, else the default nameservice, else the
//     single NameNode of a non-HA configuration (dfs.namenode.rpc-address).
func Resolve(c *conf.Conf, uri string) ([]string, error) {
	uri = strings.TrimSpace(uri)
	if uri == "" {
		if v := c.GetTrimmed(conf.KeyDefaultFS, ""); strings.HasPrefix(strings.ToLower(v), "hdfs://") {
			uri = v
		}
	}
	if uri == "" {
		var nns []conf.NameNode
		ns, err := c.DefaultNameservice()
		if err == nil {
			nns, err = c.NameNodes(ns)
		} else {
			nns, err = c.AllNameNodes()
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoNameNode, err)
		}
		return rpcAddrs(nns)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("client: bad URI %q: %w", uri, err)
	}
	if !strings.EqualFold(u.Scheme, "hdfs") || u.Host == "" {
		return nil, fmt.Errorf("client: %q is not an hdfs://<nameservice> or hdfs://host:port URI", uri)
	}
	if u.Port() != "" {
		return []string{u.Host}, nil
	}
	ns := u.Hostname()
	if slices.Contains(c.Nameservices(), ns) || len(c.GetStrings(conf.KeyHANameNodes+"."+ns)) > 0 {
		nns, err := c.NameNodes(ns)
		if err != nil {
			return nil, err
		}
		return rpcAddrs(nns)
	}
	return []string{net.JoinHostPort(ns, strconv.Itoa(conf.DefaultNNRPCPort))}, nil
}

func rpcAddrs(nns []conf.NameNode) ([]string, error) {
	addrs := make([]string, 0, len(nns))
	for _, nn := range nns {
		addrs = append(addrs, nn.RPCAddress)
	}
	if len(addrs) == 0 {
		return nil, ErrNoNameNode
	}
	return addrs, nil
}

// Call calls ClientNamenodeProtocol method with failover.
func (c *Client) Call(ctx context.Context, method string, req, resp proto.Message) error {
	return c.CallProtocol(ctx, ClientProtocol, method, req, resp)
}

// CallProtocol is Call for another protocol served on the NameNode RPC port.
//
// The call starts at the NameNode last found active (the first one before that). On a
// StandbyException, a refused or lost connection, it moves to the next NameNode in order
// (wrapping around) after the policy's backoff, resending the same call: same client id and
// call id, the retry count one higher, so a NameNode that already ran it answers from its
// retry cache. After dfs.client.failover.max.attempts failovers it returns the last error.
// A RetriableException is retried on the same NameNode up to dfs.client.retry.max.attempts
// times. Any other error, and ctx ending, return at once. With a single NameNode there is
// nothing to fail over to: only a connection that could not be made is retried
// (ipc.client.connect.max.retries times, ipc.client.connect.retry.interval apart).
func (c *Client) CallProtocol(ctx context.Context, protocol, method string, req, resp proto.Message) error {
	attempt := c.rpc.NewAttempt()
	failovers, retries := 0, 0
	for {
		idx := c.currentIndex()
		addr := c.addrs[idx]
		err := c.rpc.Call(ctx, addr, protocol, method, req, resp, rpc.WithAttempt(attempt))
		if err == nil {
			c.markActive(idx)
			c.succeeded.Store(true)
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		kind := Classify(err)
		var re *rpc.RemoteError
		if kind == Permanent && errors.As(err, &re) {
			// Only an active NameNode gets as far as, say, FileNotFoundException.
			c.markActive(idx)
		}
		var (
			decision Decision
			sleep    time.Duration
		)
		if len(c.addrs) == 1 {
			decision, sleep = c.policy.DecideSingle(kind, retries, c.jitter())
		} else {
			decision, sleep = c.policy.Decide(kind, failovers, retries, c.jitter())
		}
		switch decision {
		case Fail:
			switch {
			case retries > 0:
				return fmt.Errorf("client: %s: giving up after %d retries on %s: %w", method, retries, addr, err)
			case failovers > 0:
				return fmt.Errorf("client: %s: giving up after %d failovers: %w", method, failovers, err)
			}
			return err
		case FailoverAndRetry:
			next := c.failover(idx)
			failovers++
			logf := c.log.Info
			if failovers == 1 && !c.succeeded.Load() {
				logf = c.log.Debug
			}
			logf("failing over",
				zap.String("method", method), zap.String("from", addr), zap.String("to", c.addrs[next]),
				zap.Int("failovers", failovers), zap.Duration("sleep", sleep), zap.Error(err))
		case RetrySame:
			retries++
			c.log.Info("retrying", zap.String("method", method), zap.String("address", addr),
				zap.Int("retries", retries), zap.Duration("sleep", sleep), zap.Error(err))
		}
		if sleep > 0 {
			if err := c.sleep(ctx, sleep); err != nil {
				return err
			}
		}
		attempt = attempt.Retry()
	}
}

// CallAddr calls one NameNode, without failover: for admin commands that address each
// NameNode of a nameservice in turn (dfsadmin -safemode, -saveNamespace). addr should be one
// of Addresses().
func (c *Client) CallAddr(ctx context.Context, addr, protocol, method string, req, resp proto.Message) error {
	return c.rpc.Call(ctx, addr, protocol, method, req, resp)
}

func (c *Client) currentIndex() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.current
}

func (c *Client) markActive(idx int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.current = idx
	c.mu.known = true
}

// failover moves on from addrs[failed] and returns the index to try next. When another
// call has already moved on from failed, its choice stands: concurrent calls failing on the
// same NameNode advance once, not once each (as Hadoop's proxy provider does).
func (c *Client) failover(failed int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.current == failed {
		c.mu.current = (failed + 1) % len(c.addrs)
		c.mu.known = false
	}
	return c.mu.current
}

// Addresses returns every NameNode RPC address, in order.
func (c *Client) Addresses() []string { return slices.Clone(c.addrs) }

// Active returns the address last found active: the last NameNode that answered a call, with
// success or with an error only an active NameNode gives ("" before that, and after a
// failover until the next answer).
func (c *Client) Active() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.mu.known {
		return ""
	}
	return c.addrs[c.mu.current]
}

// ClientID returns the 16-byte client id sent with every call, to every NameNode.
func (c *Client) ClientID() []byte { return c.rpc.ClientID() }

// Close closes the files still open for writing (completing them, as Hadoop's
// DFSClient.close does), stops the lease renewal and closes every connection.
func (c *Client) Close() error {
	c.closeFiles()
	c.leases.close()
	return c.rpc.Close()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
