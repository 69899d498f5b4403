package main

import (
	"errors"
	"net"
	"slices"
	"strings"

	"github.com/hdfsha/hdfsha/internal/conf"
)

// getconf prints what the configuration says, the way Hadoop's GetConf does, so cluster
// scripts (start-dfs.sh style) work unchanged:
//
//   - -namenodes and -secondaryNameNodes print host names on one line, separated by
//     spaces, one per configured NameNode (not de-duplicated);
//   - -journalNodes prints the distinct JournalNode host names on one line;
//   - -nnRpcAddresses prints one host:port per line;
//   - -confKey KEY prints the trimmed, ${}-expanded value; a key without a value prints
//     "Configuration KEY is missing." to stderr and exits 255, Hadoop's -1;
//   - -includeFile and -excludeFile print dfs.hosts and dfs.hosts.exclude (Hadoop's
//     defaults for both are empty, so an unset key prints an empty line).
//
// Op names match case-insensitively, as in Hadoop. Hosts are printed as configured;
// Hadoop prints InetSocketAddress.getHostName(), which may reverse-resolve an IP address.
func getconfTool() *hadoopTool {
	return &hadoopTool{
		Name:        "getconf",
		Category:    categoryClient,
		Summary:     "get config values from configuration",
		Description: "hdfs getconf prints configuration values and the cluster layout they describe.",
		FoldCase:    true,
		Ops: []toolOp{
			{Name: "-namenodes", Help: "gets list of namenodes in the cluster.", Run: getconfNameNodes},
			{Name: "-secondaryNameNodes", Help: "gets list of secondary namenodes in the cluster.", Run: getconfSecondaryNameNodes},
			{Name: "-journalNodes", Help: "gets list of journal nodes in the cluster.", Run: getconfJournalNodes},
			{Name: "-includeFile", Help: "gets the include file path that defines the datanodes that can join the cluster.", Run: getconfKeyOrEmpty("dfs.hosts")},
			{Name: "-excludeFile", Help: "gets the exclude file path that defines the datanodes that need to decommissioned.", Run: getconfKeyOrEmpty("dfs.hosts.exclude")},
			{Name: "-nnRpcAddresses", Help: "gets the namenode rpc addresses", Run: getconfNNRPCAddresses},
			{Name: "-confKey", Args: "[key]", Help: "gets a specific key from the configuration", MinArgs: 1, MaxArgs: 1, Run: getconfConfKey},
		},
	}
}

// keyInternalNameservices restricts the NameNodes getconf reports to the nameservices of
// this cluster when dfs.nameservices also lists remote ones.
const keyInternalNameservices = "dfs.internal.nameservices"

// clusterNameNodes returns the NameNodes of this cluster, as Hadoop's
// getNNServiceRpcAddressesForCluster does: the nameservices of dfs.internal.nameservices
// when set (each must be in dfs.nameservices), else all of them, else the single
// NameNode of a non-HA cluster.
func clusterNameNodes(tc *toolContext) ([]conf.NameNode, error) {
	c := tc.Conf
	internal := c.GetStrings(keyInternalNameservices)
	if len(internal) == 0 {
		nns, err := c.AllNameNodes()
		return nns, nameNodeLookupError(tc, err)
	}
	all := c.Nameservices()
	var out []conf.NameNode
	for _, ns := range internal {
		if !slices.Contains(all, ns) {
			return nil, tc.Fail(exitToolError, "Unknown nameservice: %s", ns)
		}
		nns, err := c.NameNodes(ns)
		if err != nil {
			return nil, nameNodeLookupError(tc, err)
		}
		out = append(out, nns...)
	}
	return out, nil
}

// nameNodeLookupError prints Hadoop's sentence for a configuration that names no
// NameNode, followed by the precise reason.
func nameNodeLookupError(tc *toolContext, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, conf.ErrMissing) || errors.Is(err, conf.ErrUnknownNameservice) {
		return tc.Fail(exitToolError, "Incorrect configuration: namenode address %s or %s is not configured.\n%v",
			conf.KeyNNServiceRPC, conf.KeyNNRPCAddress, err)
	}
	return tc.Fail(exitToolError, "%v", err)
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

func getconfNameNodes(tc *toolContext, _ []string) error {
	nns, err := clusterNameNodes(tc)
	if err != nil {
		return err
	}
	hosts := make([]string, len(nns))
	for i, nn := range nns {
		hosts[i] = hostOf(nn.ServiceRPCAddress)
	}
	tc.Println(strings.Join(hosts, " "))
	return nil
}

func getconfNNRPCAddresses(tc *toolContext, _ []string) error {
	nns, err := clusterNameNodes(tc)
	if err != nil {
		return err
	}
	if len(nns) == 0 {
		return tc.Fail(exitToolError, "Did not get namenode service rpc addresses.")
	}
	for _, nn := range nns {
		tc.Println(nn.ServiceRPCAddress)
	}
	return nil
}

const keySecondaryHTTPAddress = "dfs.namenode.secondary.http-address"

// getconfSecondaryNameNodes follows Hadoop's getAddresses: with nameservices, only the
// exact key.<ns>.<nn> (or key.<ns> for a nameservice without HA) counts; without them,
// the plain key, whose default is 0.0.0.0:9868. An HA cluster has no secondary NameNode,
// so it normally fails, and scripts take that as "none".
func getconfSecondaryNameNodes(tc *toolContext, _ []string) error {
	c := tc.Conf
	var hosts []string
	nss := c.Nameservices()
	if len(nss) == 0 {
		if v := c.GetTrimmed(keySecondaryHTTPAddress, ""); v != "" {
			hosts = append(hosts, hostOf(v))
		}
	}
	for _, ns := range nss {
		ids := c.GetStrings(conf.KeyHANameNodes + "." + ns)
		if len(ids) == 0 {
			ids = []string{""}
		}
		for _, id := range ids {
			key := keySecondaryHTTPAddress + "." + ns
			if id != "" {
				key += "." + id
			}
			if v := c.GetTrimmed(key, ""); v != "" {
				hosts = append(hosts, hostOf(v))
			}
		}
	}
	if len(hosts) == 0 {
		return tc.Fail(exitToolError, "Incorrect configuration: secondary namenode address %s is not configured.", keySecondaryHTTPAddress)
	}
	tc.Println(strings.Join(hosts, " "))
	return nil
}

// getconfJournalNodes follows Hadoop's getJournalNodeAddresses: the plain shared edits key
// if set, else per nameservice key.<ns>, else per NameNode key.<ns>.<nn>. A shared edits
// directory that is not a qjournal:// URI has no JournalNodes.
func getconfJournalNodes(tc *toolContext, _ []string) error {
	c := tc.Conf
	var hosts []string
	add := func(uri string) error {
		uri = strings.TrimSpace(uri)
		if !strings.HasPrefix(strings.ToLower(uri), "qjournal://") {
			return nil
		}
		qj, err := conf.ParseQJournalURI(uri)
		if err != nil {
			return tc.Fail(exitToolError, "%s: %v", conf.KeySharedEditsDir, err)
		}
		for _, h := range qj.Hosts {
			if host := hostOf(h); !slices.Contains(hosts, host) {
				hosts = append(hosts, host)
			}
		}
		return nil
	}
	if v, ok := c.Get(conf.KeySharedEditsDir); ok {
		if err := add(v); err != nil {
			return err
		}
	} else {
		for _, ns := range c.Nameservices() {
			if v, ok := c.Get(conf.KeySharedEditsDir + "." + ns); ok {
				if err := add(v); err != nil {
					return err
				}
				continue
			}
			for _, id := range c.GetStrings(conf.KeyHANameNodes + "." + ns) {
				if v, ok := c.Get(conf.KeySharedEditsDir + "." + ns + "." + id); ok {
					if err := add(v); err != nil {
						return err
					}
				}
			}
		}
	}
	tc.Println(strings.Join(hosts, " "))
	return nil
}

func getconfConfKey(tc *toolContext, args []string) error {
	key := args[0]
	v, ok, err := tc.Conf.Lookup(key)
	if err != nil {
		return tc.Fail(exitToolError, "%v", err)
	}
	if !ok {
		return tc.Fail(exitToolError, "Configuration %s is missing.", key)
	}
	tc.Println(strings.TrimSpace(v))
	return nil
}

// getconfKeyOrEmpty prints key, or an empty line when it is unset (Hadoop ships an empty
// default for the keys it is used with).
func getconfKeyOrEmpty(key string) func(*toolContext, []string) error {
	return func(tc *toolContext, _ []string) error {
		v, _, err := tc.Conf.Lookup(key)
		if err != nil {
			return tc.Fail(exitToolError, "%v", err)
		}
		tc.Println(strings.TrimSpace(v))
		return nil
	}
}
