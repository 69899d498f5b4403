package conf

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Keys used by HA resolution.
const (
	KeyDefaultFS          = "fs.defaultFS"
	KeyNameservices       = "dfs.nameservices"
	KeyNameserviceID      = "dfs.nameservice.id"
	KeyHANameNodes        = "dfs.ha.namenodes" // + ".<ns>"
	KeyHANameNodeID       = "dfs.ha.namenode.id"
	KeyNNRPCAddress       = "dfs.namenode.rpc-address"
	KeyNNServiceRPC       = "dfs.namenode.servicerpc-address"
	KeyNNHTTPAddress      = "dfs.namenode.http-address"
	KeySharedEditsDir     = "dfs.namenode.shared.edits.dir"
	KeyAutoFailover       = "dfs.ha.automatic-failover.enabled"
	DefaultNNRPCPort      = 8020
	DefaultNNHTTPPort     = 9870
	DefaultJournalRPCPort = 8485
)

// nameNodeSpecificKeys are Hadoop's NameNode.NAMENODE_SPECIFIC_KEYS: keys an
// operator may suffix with .<ns>.<nn> to configure one NameNode.
var nameNodeSpecificKeys = [...]string{
	"dfs.namenode.rpc-address",
	"dfs.namenode.rpc-bind-host",
	"dfs.namenode.name.dir",
	"dfs.namenode.edits.dir",
	"dfs.namenode.shared.edits.dir",
	"dfs.namenode.checkpoint.dir",
	"dfs.namenode.checkpoint.edits.dir",
	"dfs.namenode.lifeline.rpc-address",
	"dfs.namenode.lifeline.rpc-bind-host",
	"dfs.namenode.servicerpc-address",
	"dfs.namenode.servicerpc-bind-host",
	"dfs.namenode.http-address",
	"dfs.namenode.https-address",
	"dfs.namenode.http-bind-host",
	"dfs.namenode.https-bind-host",
	"dfs.namenode.keytab.file",
	"dfs.namenode.secondary.http-address",
	"dfs.namenode.secondary.https-address",
	"dfs.secondary.namenode.keytab.file",
	"dfs.namenode.backup.address",
	"dfs.namenode.backup.http-address",
	"dfs.namenode.backup.dnrpc-address",
	"dfs.namenode.kerberos.principal",
	"dfs.namenode.kerberos.internal.spnego.principal",
	"dfs.ha.fencing.methods",
	"dfs.ha.zkfc.port",
}

// nameserviceSpecificKeys are Hadoop's NAMESERVICE_SPECIFIC_KEYS: keys that
// may be suffixed with .<ns> but not with .<ns>.<nn>.
var nameserviceSpecificKeys = [...]string{
	KeyAutoFailover,
}

// NameNodeSpecificKeys returns the keys that ForNameNode resolves per
// NameNode (Hadoop's NAMENODE_SPECIFIC_KEYS).
func NameNodeSpecificKeys() []string { return slices.Clone(nameNodeSpecificKeys[:]) }

// NameNode is one configured NameNode. Addresses are host:port with the
// Hadoop default port filled in when the configuration omits it.
type NameNode struct {
	Nameservice string // "" for a cluster without dfs.nameservices
	ID          string // "" when the nameservice is not HA
	RPCAddress  string
	// HTTPAddress is dfs.namenode.http-address.<ns>.<nn>; when that is unset,
	// the RPC host with the port of dfs.namenode.http-address[.<ns>]
	// (9870 by default).
	HTTPAddress string
	// ServiceRPCAddress is dfs.namenode.servicerpc-address.<ns>.<nn>, or
	// RPCAddress when unset (the address DataNodes and other daemons use).
	ServiceRPCAddress string
}

// Host returns the host part of the RPC address.
func (n NameNode) Host() string {
	h, _, err := net.SplitHostPort(n.RPCAddress)
	if err != nil {
		return n.RPCAddress
	}
	return h
}

// suffixed joins key and the non-empty suffixes with dots.
func suffixed(key string, suffixes ...string) string {
	for _, s := range suffixes {
		if s != "" {
			key += "." + s
		}
	}
	return key
}

// GetNN looks up a NameNode-specific key: key.<ns>.<nn>, then key.<ns>, then
// key, returning the first that is set (expanded, like Get). Empty ns or nn
// drop the corresponding suffix.
func (c *Conf) GetNN(key, ns, nn string) (string, bool) {
	var candidates []string
	if ns != "" && nn != "" {
		candidates = append(candidates, suffixed(key, ns, nn))
	}
	if ns != "" {
		candidates = append(candidates, suffixed(key, ns))
	} else if nn != "" {
		candidates = append(candidates, suffixed(key, nn))
	}
	candidates = append(candidates, key)
	for _, k := range candidates {
		if v, ok := c.Get(k); ok {
			return v, true
		}
	}
	return "", false
}

// getSet returns the trimmed value of key when it is set and not blank.
func (c *Conf) getSet(key string) (string, bool) {
	v, ok := c.Get(key)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

// Nameservices returns dfs.nameservices.
func (c *Conf) Nameservices() []string { return c.GetStrings(KeyNameservices) }

// isNameservice reports whether ns is configured: listed in dfs.nameservices
// or given NameNodes with dfs.ha.namenodes.<ns>.
func (c *Conf) isNameservice(ns string) bool {
	if ns == "" {
		return false
	}
	if slices.Contains(c.Nameservices(), ns) {
		return true
	}
	return len(c.GetStrings(suffixed(KeyHANameNodes, ns))) > 0
}

// IsHA reports whether ns has more than one NameNode (Hadoop's
// HAUtil.isHAEnabled).
func (c *Conf) IsHA(ns string) bool {
	return ns != "" && len(c.GetStrings(suffixed(KeyHANameNodes, ns))) > 1
}

// NameNodes returns the NameNodes of ns in dfs.ha.namenodes.<ns> order. Each
// needs dfs.namenode.rpc-address.<ns>.<nn>. A nameservice without
// dfs.ha.namenodes.<ns> (federation without HA) has one NameNode with an
// empty ID at dfs.namenode.rpc-address.<ns>. With ns empty and no
// dfs.nameservices, it returns the single NameNode of a non-HA cluster (see
// AllNameNodes).
func (c *Conf) NameNodes(ns string) ([]NameNode, error) {
	if ns == "" && len(c.Nameservices()) == 0 {
		return c.AllNameNodes()
	}
	if !c.isNameservice(ns) {
		return nil, fmt.Errorf("conf: %w %q: not in %s (%q) and no %s set",
			ErrUnknownNameservice, ns, KeyNameservices, strings.Join(c.Nameservices(), ","),
			suffixed(KeyHANameNodes, ns))
	}
	ids := c.GetStrings(suffixed(KeyHANameNodes, ns))
	if len(ids) == 0 {
		ids = []string{""}
	}
	out := make([]NameNode, 0, len(ids))
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			return nil, fmt.Errorf("conf: %w: NameNode ID %q appears twice in %s",
				ErrBadValue, id, suffixed(KeyHANameNodes, ns))
		}
		nn, err := c.nameNode(ns, id)
		if err != nil {
			return nil, err
		}
		out = append(out, nn)
	}
	return out, nil
}

// nameNode resolves the addresses of one NameNode. Addresses use the exact
// .<ns>.<nn> key, as Hadoop's DFSUtil does: a generic address shared by
// every NameNode of an HA pair would be wrong for all but one of them.
func (c *Conf) nameNode(ns, id string) (NameNode, error) {
	rpcKey := suffixed(KeyNNRPCAddress, ns, id)
	rpc, ok := c.getSet(rpcKey)
	if !ok {
		return NameNode{}, fmt.Errorf("conf: %w: %s is not set (NameNode %q of nameservice %q)",
			ErrMissing, rpcKey, id, ns)
	}
	return c.completeNameNode(ns, id, rpcKey, rpc)
}

// completeNameNode fills in a NameNode from its RPC address.
func (c *Conf) completeNameNode(ns, id, rpcKey, rpc string) (NameNode, error) {
	rpcAddr, err := withDefaultPort(rpc, DefaultNNRPCPort)
	if err != nil {
		return NameNode{}, c.addrError(rpcKey, err)
	}
	nn := NameNode{Nameservice: ns, ID: id, RPCAddress: rpcAddr, ServiceRPCAddress: rpcAddr}
	rpcHost, _, _ := net.SplitHostPort(rpcAddr)

	svcKey := suffixed(KeyNNServiceRPC, ns, id)
	if v, ok := c.getSet(svcKey); ok {
		if nn.ServiceRPCAddress, err = withDefaultPort(v, DefaultNNRPCPort); err != nil {
			return NameNode{}, c.addrError(svcKey, err)
		}
	}

	httpKey := suffixed(KeyNNHTTPAddress, ns, id)
	if v, ok := c.getSet(httpKey); ok {
		a, err := withDefaultPort(v, DefaultNNHTTPPort)
		if err != nil {
			return NameNode{}, c.addrError(httpKey, err)
		}
		// A wildcard host (a bind address) means "the RPC host", as in
		// Hadoop's DFSUtil.getInfoServerWithDefaultHost.
		h, p, _ := net.SplitHostPort(a)
		if isWildcardHost(h) {
			a = net.JoinHostPort(rpcHost, p)
		}
		nn.HTTPAddress = a
		return nn, nil
	}
	// Take only the port from the broader keys; the host is the RPC host.
	port := strconv.Itoa(DefaultNNHTTPPort)
	for _, k := range []string{suffixed(KeyNNHTTPAddress, ns), KeyNNHTTPAddress} {
		if k == httpKey {
			continue
		}
		if v, ok := c.getSet(k); ok {
			a, err := withDefaultPort(v, DefaultNNHTTPPort)
			if err != nil {
				return NameNode{}, c.addrError(k, err)
			}
			_, port, _ = net.SplitHostPort(a)
			break
		}
	}
	nn.HTTPAddress = net.JoinHostPort(rpcHost, port)
	return nn, nil
}

func isWildcardHost(h string) bool {
	ip := net.ParseIP(h)
	return ip != nil && ip.IsUnspecified()
}

func (c *Conf) addrError(key string, err error) error {
	raw, _ := c.Raw(key)
	return &ValueError{Key: key, Value: raw, Source: c.Source(key), Err: fmt.Errorf("%w: %w", ErrBadValue, err)}
}

// withDefaultPort validates host[:port] and adds port when it is missing.
func withDefaultPort(addr string, port int) (string, error) {
	addr = strings.TrimSpace(addr)
	if strings.Contains(addr, "://") {
		return "", errors.New("want host:port, not a URI")
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		// No port: a plain host name, an IPv4 address or a bracketed or
		// bare IPv6 address.
		host = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
		if host == "" || strings.ContainsAny(host, "[]/ ") || (strings.Contains(host, ":") && net.ParseIP(host) == nil) {
			return "", errors.New("want host:port")
		}
		return net.JoinHostPort(host, strconv.Itoa(port)), nil
	}
	if host == "" || strings.ContainsAny(host, "/ ") {
		return "", errors.New("want host:port with a host")
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("bad port %q", p)
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}

// AllNameNodes returns the NameNodes of every nameservice in
// dfs.nameservices order. Without dfs.nameservices it returns the single
// NameNode of a non-HA cluster: dfs.namenode.rpc-address, else the authority
// of an hdfs:// fs.defaultFS (port 8020 when omitted). If fs.defaultFS names
// a logical nameservice with dfs.ha.namenodes.<ns> set, that one is used.
func (c *Conf) AllNameNodes() ([]NameNode, error) {
	nss := c.Nameservices()
	if len(nss) == 0 {
		if ns, ok := c.defaultFSHost(); ok && c.isNameservice(ns) {
			return c.NameNodes(ns)
		}
		nn, err := c.singleNameNode()
		if err != nil {
			return nil, err
		}
		return []NameNode{nn}, nil
	}
	var out []NameNode
	for _, ns := range nss {
		nns, err := c.NameNodes(ns)
		if err != nil {
			return nil, err
		}
		out = append(out, nns...)
	}
	return out, nil
}

// singleNameNode resolves the NameNode of a cluster without nameservices.
func (c *Conf) singleNameNode() (NameNode, error) {
	if rpc, ok := c.getSet(KeyNNRPCAddress); ok {
		return c.completeNameNode("", "", KeyNNRPCAddress, rpc)
	}
	u, ok := c.defaultFSURL()
	if ok && u.Host != "" {
		return c.completeNameNode("", "", KeyDefaultFS, u.Host)
	}
	fsv, _ := c.Get(KeyDefaultFS)
	return NameNode{}, fmt.Errorf("conf: %w: no NameNode address: set %s, or %s to hdfs://host:port (it is %q), or %s",
		ErrMissing, KeyNNRPCAddress, KeyDefaultFS, fsv, KeyNameservices)
}

// defaultFSURL parses fs.defaultFS when it is an hdfs:// URI.
func (c *Conf) defaultFSURL() (*url.URL, bool) {
	v, ok := c.getSet(KeyDefaultFS)
	if !ok {
		return nil, false
	}
	u, err := url.Parse(v)
	if err != nil || !strings.EqualFold(u.Scheme, "hdfs") {
		return nil, false
	}
	return u, true
}

// defaultFSHost returns the host of an hdfs:// fs.defaultFS without a port,
// the form a logical nameservice URI takes.
func (c *Conf) defaultFSHost() (string, bool) {
	u, ok := c.defaultFSURL()
	if !ok || u.Host == "" || u.Port() != "" {
		return "", false
	}
	return u.Hostname(), true
}

// DefaultNameservice returns the nameservice clients use by default: the
// host of fs.defaultFS=hdfs://<ns> when <ns> is a configured nameservice,
// else dfs.nameservice.id, else the only entry of dfs.nameservices. It fails
// (wrapping ErrMissing) when none of these names one.
func (c *Conf) DefaultNameservice() (string, error) {
	if ns, ok := c.defaultFSHost(); ok && c.isNameservice(ns) {
		return ns, nil
	}
	if ns, ok := c.getSet(KeyNameserviceID); ok {
		return ns, nil
	}
	nss := c.Nameservices()
	if len(nss) == 1 {
		return nss[0], nil
	}
	fsv, _ := c.Get(KeyDefaultFS)
	if len(nss) == 0 {
		return "", fmt.Errorf("conf: %w: no nameservice: %s is %q and %s is empty",
			ErrMissing, KeyDefaultFS, fsv, KeyNameservices)
	}
	return "", fmt.Errorf("conf: %w: cannot choose a nameservice among %s=%q: set %s=hdfs://<nameservice> or %s",
		ErrMissing, KeyNameservices, strings.Join(nss, ","), KeyDefaultFS, KeyNameserviceID)
}

// ForNameNode returns a copy of c in which every NameNode-specific key (see
// NameNodeSpecificKeys) holds its .<ns>.<nn> value, else its .<ns> value,
// when one is set, and dfs.ha.automatic-failover.enabled holds its .<ns>
// value, so the code of one
// NameNode (or its ZKFC) can read plain keys. It also sets
// dfs.nameservice.id and dfs.ha.namenode.id. This is Hadoop's
// NameNode.initializeGenericKeys; like Hadoop, the suffixed value wins even
// over a generic key marked final.
func (c *Conf) ForNameNode(ns, nn string) *Conf {
	out := c.Clone()
	if ns == "" && nn == "" {
		return out
	}
	if ns != "" {
		out.set(KeyNameserviceID, ns, SourceOverride, true)
	}
	if nn != "" {
		out.set(KeyHANameNodeID, nn, SourceOverride, true)
	}
	// copyGeneric installs the first of the suffixed keys that is set.
	copyGeneric := func(key string, from ...string) {
		c.mu.RLock()
		defer c.mu.RUnlock()
		for _, f := range from {
			if f == key {
				continue
			}
			if e, ok := c.rawLocked(f); ok {
				out.set(key, e.value, e.source, true)
				return
			}
		}
	}
	for _, k := range nameNodeSpecificKeys {
		copyGeneric(k, suffixed(k, ns, nn), suffixed(k, ns))
	}
	for _, k := range nameserviceSpecificKeys {
		copyGeneric(k, suffixed(k, ns))
	}
	return out
}

// SharedEditsDir returns the parsed dfs.namenode.shared.edits.dir of one
// NameNode (suffix-aware, see GetNN). ok is false when it is unset or blank.
// Only qjournal:// URIs are supported, and only one of them.
func (c *Conf) SharedEditsDir(ns, nn string) (QJournal, bool, error) {
	v, ok := c.GetNN(KeySharedEditsDir, ns, nn)
	v = strings.TrimSpace(v)
	if !ok || v == "" {
		return QJournal{}, false, nil
	}
	key := KeySharedEditsDir
	for _, k := range []string{suffixed(KeySharedEditsDir, ns, nn), suffixed(KeySharedEditsDir, ns)} {
		if _, set := c.Raw(k); set {
			key = k
			break
		}
	}
	fail := func(err error) error {
		raw, _ := c.Raw(key)
		return &ValueError{Key: key, Value: raw, Source: c.Source(key), Err: err}
	}
	if strings.Contains(v, ",") {
		return QJournal{}, false, fail(fmt.Errorf("%w: only one shared edits directory is supported", ErrBadValue))
	}
	qj, err := ParseQJournalURI(v)
	if err != nil {
		return QJournal{}, false, fail(err)
	}
	return qj, true, nil
}

// JournalNodeAddresses returns the distinct JournalNode host:port addresses
// named by the shared edits directory of every configured NameNode, in
// first-seen order (what `hdfs getconf -journalNodes` lists).
func (c *Conf) JournalNodeAddresses() ([]string, error) {
	nns, err := c.AllNameNodes()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, nn := range nns {
		qj, ok, err := c.SharedEditsDir(nn.Nameservice, nn.ID)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		for _, h := range qj.Hosts {
			if !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
	}
	return out, nil
}

// LocalNameNode identifies the NameNode this process is, within ns.
//
// dfs.ha.namenode.id (read as dfs.ha.namenode.id.<ns>, then plain) wins when
// set and must name one of the NameNodes of ns. Otherwise the one NameNode
// whose RPC host resolves to an address in localAddrs is chosen; nil
// localAddrs means this machine's interface addresses, where, as in Hadoop,
// any loopback address counts as local. No match wraps ErrNoLocalNameNode,
// several matches wrap ErrAmbiguousNameNode.
//
// With ns empty the nameservice is dfs.nameservice.id, else the only one
// configured, else (several) every nameservice is searched; without
// nameservices the single non-HA NameNode is returned.
func (c *Conf) LocalNameNode(ns string, localAddrs []net.IP) (NameNode, error) {
	var isLocal func(net.IP) bool
	if localAddrs == nil {
		m, err := interfaceMatcher()
		if err != nil {
			return NameNode{}, fmt.Errorf("conf: list local addresses: %w", err)
		}
		isLocal = m
	} else {
		isLocal = func(ip net.IP) bool {
			return slices.ContainsFunc(localAddrs, ip.Equal)
		}
	}
	return c.localNameNode(ns, isLocal, net.LookupIP)
}

func interfaceMatcher() (func(net.IP) bool, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var ips []net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			ips = append(ips, n.IP)
		}
	}
	return func(ip net.IP) bool {
		return ip.IsLoopback() || slices.ContainsFunc(ips, ip.Equal)
	}, nil
}

func (c *Conf) localNameNode(ns string, isLocal func(net.IP) bool, lookup func(string) ([]net.IP, error)) (NameNode, error) {
	var candidates []NameNode
	if ns == "" {
		if id, ok := c.getSet(KeyNameserviceID); ok {
			ns = id
		} else if nss := c.Nameservices(); len(nss) == 1 {
			ns = nss[0]
		} else if len(nss) == 0 {
			if logical, ok := c.defaultFSHost(); ok && c.isNameservice(logical) {
				ns = logical
			} else {
				return c.singleNameNode()
			}
		} else {
			all, err := c.AllNameNodes()
			if err != nil {
				return NameNode{}, err
			}
			candidates = all
		}
	}
	if ns != "" {
		nns, err := c.NameNodes(ns)
		if err != nil {
			return NameNode{}, err
		}
		if id, ok := c.getSet(suffixed(KeyHANameNodeID, ns)); ok {
			return pickID(nns, ns, suffixed(KeyHANameNodeID, ns), id)
		}
		if id, ok := c.getSet(KeyHANameNodeID); ok {
			return pickID(nns, ns, KeyHANameNodeID, id)
		}
		if len(nns) == 1 && nns[0].ID == "" {
			return nns[0], nil // a non-HA nameservice has only one NameNode
		}
		candidates = nns
	}

	var matches []NameNode
	var checked []string
	for _, nn := range candidates {
		checked = append(checked, nameNodeLabel(nn)+"="+nn.RPCAddress)
		host := nn.Host()
		ips := []net.IP{net.ParseIP(host)}
		if ips[0] == nil {
			var err error
			if ips, err = lookup(host); err != nil {
				continue // Hadoop skips addresses it cannot resolve
			}
		}
		if slices.ContainsFunc(ips, isLocal) {
			matches = append(matches, nn)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return NameNode{}, fmt.Errorf("conf: %w: none of %s is an address of this host; set %s",
			ErrNoLocalNameNode, strings.Join(checked, ", "), KeyHANameNodeID)
	}
	var names []string
	for _, m := range matches {
		names = append(names, nameNodeLabel(m)+"="+m.RPCAddress)
	}
	return NameNode{}, fmt.Errorf("conf: %w: %s all match this host's addresses; set %s and %s",
		ErrAmbiguousNameNode, strings.Join(names, ", "), KeyNameserviceID, KeyHANameNodeID)
}

func nameNodeLabel(nn NameNode) string {
	if nn.ID == "" {
		return nn.Nameservice
	}
	return nn.Nameservice + "." + nn.ID
}

func pickID(nns []NameNode, ns, key, id string) (NameNode, error) {
	for _, nn := range nns {
		if nn.ID == id {
			return nn, nil
		}
	}
	var ids []string
	for _, nn := range nns {
		ids = append(ids, nn.ID)
	}
	return NameNode{}, fmt.Errorf("conf: %w: %s=%q is not one of %s (%s)",
		ErrBadValue, key, id, suffixed(KeyHANameNodes, ns), strings.Join(ids, ","))
}
