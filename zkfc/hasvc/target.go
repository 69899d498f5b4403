package hasvc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/hdfsha/hdfsha/internal/conf"
)

// Configuration keys a Target reads.
const (
	KeyFencingMethods = "dfs.ha.fencing.methods"
	KeyZKFCPort       = "dfs.ha.zkfc.port"
	DefaultZKFCPort   = 8019
)

// ErrBadTarget: the configuration does not name the requested NameNode (an
// IllegalArgumentException in Hadoop's haadmin). The error's text is Hadoop's.
var ErrBadTarget = errors.New("cannot resolve HA target")

type targetError struct{ msg string }

func (e *targetError) Error() string { return e.msg }
func (e *targetError) Unwrap() error { return ErrBadTarget }

// Target is one NameNode as an administrative command sees it: Hadoop's
// NNHAServiceTarget.
type Target struct {
	Nameservice string
	NameNodeID  string
	// Address is the HA service address, "host:port":
	// dfs.namenode.servicerpc-address.<ns>.<nn> when set, else
	// dfs.namenode.rpc-address.<ns>.<nn>.
	Address string
	// IP is Address's host resolved (Resolve), "" until then. It only
	// changes how the target is printed.
	IP string
	// AutoFailover is dfs.ha.automatic-failover.enabled for the nameservice.
	AutoFailover bool
	// ZKFCAddress is the host of Address with dfs.ha.zkfc.port; set only
	// when AutoFailover is.
	ZKFCAddress string
	// FencingMethods is dfs.ha.fencing.methods as it applies to this
	// NameNode; "" when none is configured.
	FencingMethods string
	// Conf is the configuration seen from this NameNode (conf.ForNameNode):
	// what its fencing methods read.
	Conf *conf.Conf
}

// Host is the host part of Address.
func (t Target) Host() string {
	h, _, err := net.SplitHostPort(t.Address)
	if err != nil {
		return t.Address
	}
	return h
}

// Port is the port of Address (0 when it has none).
func (t Target) Port() int {
	_, p, err := net.SplitHostPort(t.Address)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// SocketAddress prints Address as Java prints an InetSocketAddress:
// "host/ip:port" for a host name, "/ip:port" for an address given as an IP
// literal, "host/<unresolved>:port" for a name that did not resolve.
func (t Target) SocketAddress() string {
	h, port := t.Host(), strconv.Itoa(t.Port())
	if ip := net.ParseIP(h); ip != nil {
		return "/" + ip.String() + ":" + port
	}
	ip := t.IP
	if ip == "" {
		ip = "<unresolved>"
	}
	return h + "/" + ip + ":" + port
}

// String is how Hadoop names the target in messages: "NameNode at host/ip:port".
func (t Target) String() string { return "NameNode at " + t.SocketAddress() }

// FencingParameters are the values fencing methods receive about the target
// (Hadoop's getFencingParameters): address, host, port, nameserviceid,
// namenodeid. The shell fencer exports them as $target_<key>.
func (t Target) FencingParameters() map[string]string {
	return map[string]string{
		"address":       t.SocketAddress(),
		"host":          t.Host(),
		"port":          strconv.Itoa(t.Port()),
		"nameserviceid": t.Nameservice,
		"namenodeid":    t.NameNodeID,
	}
}

// Resolve fills IP from Address's host. A host that does not resolve keeps
// IP empty; that is not an error here (the RPC that follows reports it).
func (t *Target) Resolve(ctx context.Context, r *net.Resolver) {
	h := t.Host()
	if ip := net.ParseIP(h); ip != nil {
		t.IP = ip.String()
		return
	}
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupIPAddr(ctx, h)
	if err == nil && len(addrs) > 0 {
		t.IP = addrs[0].IP.String()
	}
}

// Nameservice picks the nameservice an administrative command works on when
// none is given (-ns): the only one listed in dfs.nameservices, else the one
// of fs.defaultFS or dfs.nameservice.id. The error's text is Hadoop's.
func Nameservice(c *conf.Conf) (string, error) {
	nss := c.Nameservices()
	if len(nss) == 1 {
		return nss[0], nil
	}
	if ns, err := c.DefaultNameservice(); err == nil && ns != "" {
		return ns, nil
	}
	if len(nss) > 1 {
		return "", &targetError{fmt.Sprintf("Unable to determine the name service ID. "+
			"This is an HA configuration with multiple name services configured. "+
			"%s is set to [%s]. Please re-run with the -ns option.", conf.KeyNameservices, strings.Join(nss, ", "))}
	}
	return "", &targetError{"Unable to determine the name service ID."}
}

// TargetIDs lists the NameNode IDs of ns (dfs.ha.namenodes.<ns>), in order;
// ns "" picks it as Nameservice does.
func TargetIDs(c *conf.Conf, ns string) ([]string, error) {
	if ns == "" {
		var err error
		if ns, err = Nameservice(c); err != nil {
			return nil, err
		}
	}
	return c.GetStrings(conf.KeyHANameNodes + "." + ns), nil
}

// TargetFromConf builds the target for NameNode nn of nameservice ns (ns ""
// picks it as Nameservice does). It does not validate the fencing methods:
// the fencer that parses them reports their errors when fencing is needed.
func TargetFromConf(c *conf.Conf, ns, nn string) (Target, error) {
	if ns == "" {
		var err error
		if ns, err = Nameservice(c); err != nil {
			return Target{}, err
		}
	}
	nns, err := c.NameNodes(ns)
	if err != nil {
		return Target{}, fmt.Errorf("%w: %w", &targetError{fmt.Sprintf("Unable to determine service address for namenode '%s'", nn)}, err)
	}
	var found *conf.NameNode
	for i := range nns {
		if nns[i].ID == nn {
			found = &nns[i]
			break
		}
	}
	if found == nil || found.ServiceRPCAddress == "" {
		return Target{}, &targetError{fmt.Sprintf("Unable to determine service address for namenode '%s'", nn)}
	}
	nc := c.ForNameNode(ns, nn)
	t := Target{
		Nameservice: ns,
		NameNodeID:  nn,
		Address:     found.ServiceRPCAddress,
		Conf:        nc,
	}
	if t.AutoFailover, err = nc.GetBool(conf.KeyAutoFailover, false); err != nil {
		return Target{}, err
	}
	if t.AutoFailover {
		port, err := nc.GetInt(KeyZKFCPort, DefaultZKFCPort)
		if err != nil {
			return Target{}, err
		}
		t.ZKFCAddress = net.JoinHostPort(t.Host(), strconv.FormatInt(port, 10))
	}
	if v, ok := nc.Get(KeyFencingMethods); ok && strings.TrimSpace(v) != "" {
		t.FencingMethods = v
	}
	return t, nil
}
