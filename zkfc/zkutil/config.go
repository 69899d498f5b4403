package zkutil

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hdfsha/hdfsha/internal/conf"
)

// Configuration keys: Hadoop's ZKFailoverController keys (each may carry a
// .<nameservice>.<namenode> or .<nameservice> suffix) and the elector's retry
// count.
const (
	KeyQuorum             = "ha.zookeeper.quorum"
	KeySessionTimeout     = "ha.zookeeper.session-timeout.ms"
	KeyParentZNode        = "ha.zookeeper.parent-znode"
	KeyACL                = "ha.zookeeper.acl"
	KeyAuth               = "ha.zookeeper.auth"
	KeyOpRetries          = "ha.failover-controller.active-standby-elector.zk.op.retries"
	DefaultSessionTimeout = 10 * time.Second
	DefaultParentZNode    = "/hadoop-ha"
	DefaultACL            = "world:anyone:rwcda"
	DefaultOpRetries      = 3
)

// ErrBadConfig: a ZooKeeper setting is missing or malformed. The error's text
// is Hadoop's where Hadoop has one.
var ErrBadConfig = errors.New("bad ZooKeeper configuration")

func badConfig(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadConfig, fmt.Sprintf(format, a...))
}

// Auth is one ha.zookeeper.auth entry: what a client sends with AddAuth.
type Auth struct {
	Scheme string // "digest"
	Auth   []byte // "user:password"
}

// Config is how one ZKFC reaches ZooKeeper, read by ConfigFromConf.
type Config struct {
	// Quorum is ha.zookeeper.quorum split at commas: "host:port" each
	// (port 2181 when omitted).
	Quorum []string
	// SessionTimeout is ha.zookeeper.session-timeout.ms (10 s). Connect also
	// waits this long for the first session.
	SessionTimeout time.Duration
	// WorkingZNode is where this nameservice's election lives:
	// ha.zookeeper.parent-znode + "/" + nameservice, "/hadoop-ha/mycluster".
	// Hadoop's messages call it "the parent znode".
	WorkingZNode string
	// ACL is ha.zookeeper.acl (world:anyone:rwcda), after @file indirection;
	// an empty list is creator-all (auth::cdrwa), as in Hadoop.
	ACL []zk.ACL
	// Auth is ha.zookeeper.auth, after @file indirection.
	Auth []Auth
	// OpRetries bounds the attempts of one ZooKeeper operation that lost
	// its connection (ha.failover-controller.active-standby-elector.zk.op.retries,
	// 3).
	OpRetries int
}

// ConfigFromConf reads the ZooKeeper settings of NameNode nn of nameservice
// ns. Each key is looked up as key.<ns>.<nn>, then key.<ns>, then key, as
// Hadoop's DFSZKFailoverController does. Missing quorum, a bad timeout, ACL or
// auth, or an unreadable @file wrap ErrBadConfig.
func ConfigFromConf(c *conf.Conf, ns, nn string) (Config, error) {
	get := func(key string) (string, bool) {
		v, ok := c.GetNN(key, ns, nn)
		return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
	}
	cfg := Config{SessionTimeout: DefaultSessionTimeout, OpRetries: DefaultOpRetries}

	q, ok := get(KeyQuorum)
	if !ok {
		return Config{}, badConfig("Missing required configuration '%s' for ZooKeeper quorum", KeyQuorum)
	}
	var err error
	if cfg.Quorum, err = ParseQuorum(q); err != nil {
		return Config{}, err
	}
	if v, ok := get(KeySessionTimeout); ok {
		ms, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return Config{}, badConfig("%s: %q is not a number of milliseconds", KeySessionTimeout, v)
		}
		if ms <= 0 {
			return Config{}, badConfig("Invalid ZK session timeout %d", ms)
		}
		cfg.SessionTimeout = time.Duration(ms) * time.Millisecond
	}
	if v, ok := get(KeyOpRetries); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return Config{}, badConfig("%s: %q is not a number", KeyOpRetries, v)
		}
		cfg.OpRetries = n
	}

	parent := DefaultParentZNode
	if v, ok := c.GetNN(KeyParentZNode, ns, nn); ok {
		parent = v
	}
	cfg.WorkingZNode = WorkingZNode(parent, ns)
	if err := validatePath(cfg.WorkingZNode); err != nil {
		return Config{}, err
	}

	aclText := DefaultACL
	if v, ok := c.GetNN(KeyACL, ns, nn); ok {
		aclText = v
	}
	if aclText, err = ResolveConfIndirection(aclText); err != nil {
		return Config{}, err
	}
	if cfg.ACL, err = ParseACLs(aclText); err != nil {
		return Config{}, err
	}
	if len(cfg.ACL) == 0 {
		cfg.ACL = zk.AuthACL(zk.PermAll)
	}

	if v, ok := c.GetNN(KeyAuth, ns, nn); ok {
		if v, err = ResolveConfIndirection(v); err != nil {
			return Config{}, err
		}
		if cfg.Auth, err = ParseAuth(v); err != nil {
			return Config{}, err
		}
	}
	return cfg, nil
}

// WorkingZNode joins the parent znode and the nameservice as Hadoop does:
// "/hadoop-ha" or "/hadoop-ha/" with "mycluster" is "/hadoop-ha/mycluster".
func WorkingZNode(parent, ns string) string {
	if !strings.HasSuffix(parent, "/") {
		parent += "/"
	}
	return parent + ns
}

func validatePath(p string) error {
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
		return badConfig("Invalid path: %s", p)
	}
	return nil
}

// ParseQuorum splits ha.zookeeper.quorum ("zk1:2181,zk2:2181,zk3") into
// servers. A chroot suffix ("zk1:2181/hdfs") is refused: the Go client does not
// support it; set ha.zookeeper.parent-znode instead.
func ParseQuorum(q string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(q, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "/") {
			return nil, badConfig("%s: a chroot path (%q) is not supported; use %s", KeyQuorum, s, KeyParentZNode)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, badConfig("Missing required configuration '%s' for ZooKeeper quorum", KeyQuorum)
	}
	return zk.FormatServers(out), nil
}

// ParseACLs reads a comma-separated list of scheme:id:perms entries
// ("world:anyone:rwcda", "digest:hdfs-zkfcs:vlUvLnd8MlacsE80rDuu6ONESbM=:rwcda",
// "sasl:nn/host@REALM:cdrwa"); the id is everything between the first and
// the last colon. Blank entries are skipped. Errors carry Hadoop's
// BadAclFormatException texts.
func ParseACLs(s string) ([]zk.ACL, error) {
	var acls []zk.ACL
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		first, last := strings.Index(a, ":"), strings.LastIndex(a, ":")
		if first < 0 || first == last {
			return nil, badConfig("ACL '%s' not of expected form scheme:id:perm", a)
		}
		perms, err := parsePerms(a[last+1:])
		if err != nil {
			return nil, err
		}
		acls = append(acls, zk.ACL{Scheme: a[:first], ID: a[first+1 : last], Perms: perms})
	}
	return acls, nil
}

func parsePerms(s string) (int32, error) {
	var p int32
	for _, c := range s {
		switch c {
		case 'r':
			p |= zk.PermRead
		case 'w':
			p |= zk.PermWrite
		case 'c':
			p |= zk.PermCreate
		case 'd':
			p |= zk.PermDelete
		case 'a':
			p |= zk.PermAdmin
		default:
			return 0, badConfig("Invalid permission '%c' in permission string '%s'", c, s)
		}
	}
	return p, nil
}

// ParseAuth reads a comma-separated list of scheme:auth entries
// ("digest:hdfs-zkfcs:mypassword"), the syntax of ZooKeeper's addauth.
func ParseAuth(s string) ([]Auth, error) {
	var out []Auth
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		scheme, auth, ok := strings.Cut(a, ":")
		if !ok {
			return nil, badConfig("Auth '%s' not of expected form scheme:auth", a)
		}
		out = append(out, Auth{Scheme: scheme, Auth: []byte(auth)})
	}
	return out, nil
}

// ResolveConfIndirection returns v, or, when v is "@/path/to/file", the
// file's trimmed contents: ACLs and credentials may be kept out of the XML
// files, as in Hadoop.
func ResolveConfIndirection(v string) (string, error) {
	if !strings.HasPrefix(v, "@") {
		return v, nil
	}
	b, err := os.ReadFile(strings.TrimSpace(v[1:]))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	return strings.TrimSpace(string(b)), nil
}
