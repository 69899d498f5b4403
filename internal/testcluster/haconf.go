package testcluster

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hdfsha/hdfsha/internal/conf"
)

// HAOptions shape the cluster NewHA lays out. Zero values take the defaults noted.
type HAOptions struct {
	// Nameservice is the logical name clients use (hdfs://<Nameservice>); default
	// "mycluster". It is also the journal ID.
	Nameservice string
	// NameNodes is how many NameNodes (nn1..nnN); default 2.
	NameNodes int
	// JournalNodes is how many JournalNodes (jn1..jnM); default 3.
	JournalNodes int
	// Host is the address every daemon binds; default DefaultHost.
	Host string
	// ZooKeeper, when set, becomes ha.zookeeper.quorum and turns on automatic failover.
	ZooKeeper string
	// Extra properties go into hdfs-site.xml after the generated ones and win over them.
	Extra map[string]string
}

// HA is the layout of a test HA cluster: addresses on reserved loopback ports, a directory
// per daemon under the test's temp dir, and the Hadoop configuration describing it all,
// written as core-site.xml and hdfs-site.xml so both in-process daemons (NameNodeConf,
// JournalNodeConf) and real processes (`hdfs --config <ConfDir> ...`) can use it.
//
// The ports are reserved with ReservePort, so each stays stable for the whole test and a
// daemon can be restarted on it.
type HA struct {
	// Dir is the cluster's root directory; everything below is removed with the test.
	Dir string
	// ConfDir holds the shared core-site.xml and hdfs-site.xml (what clients and tools use).
	ConfDir     string
	Nameservice string
	JournalID   string
	// SharedEditsDir is the qjournal:// URI of dfs.namenode.shared.edits.dir.
	SharedEditsDir string
	NameNodes      []NameNodeLayout
	JournalNodes   []JournalNodeLayout

	core []Property
	hdfs []Property
}

// NameNodeLayout is one NameNode of an HA layout.
type NameNodeLayout struct {
	ID          string // nn1, nn2, ...
	RPCAddress  string // host:port
	HTTPAddress string // host:port
	// NameDir is its dfs.namenode.name.dir, set as dfs.namenode.name.dir.<ns>.<id>.
	NameDir string
	// ConfDir is the shared configuration plus dfs.ha.namenode.id=<ID>: with every
	// NameNode on one host, address matching cannot tell them apart, so a NameNode
	// process started with `hdfs --config <ConfDir> namenode` is told who it is.
	ConfDir string
}

// JournalNodeLayout is one JournalNode of an HA layout.
type JournalNodeLayout struct {
	ID          string // jn1, jn2, ...
	RPCAddress  string // host:port, listed in the qjournal URI
	HTTPAddress string // host:port
	// EditsDir is its dfs.journalnode.edits.dir.
	EditsDir string
	// ConfDir is the shared configuration plus this JournalNode's
	// dfs.journalnode.rpc-address, http-address and edits.dir (Hadoop has no per-JN key
	// suffixes, so each JournalNode process needs its own files).
	ConfDir string
}

// Property is one <property> of a Hadoop configuration file.
type Property struct{ Name, Value string }

// Configuration keys the layout sets beyond those internal/conf names.
const (
	keyNameDir          = "dfs.namenode.name.dir"
	keyFailoverProxy    = "dfs.client.failover.proxy.provider"
	keyFencingMethods   = "dfs.ha.fencing.methods"
	keyZKQuorum         = "ha.zookeeper.quorum"
	keyHadoopTmpDir     = "hadoop.tmp.dir"
	keyJNRPCAddress     = "dfs.journalnode.rpc-address"
	keyJNHTTPAddress    = "dfs.journalnode.http-address"
	keyJNEditsDir       = "dfs.journalnode.edits.dir"
	configuredFailover  = "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider"
	alwaysSucceedFence  = "shell(/bin/true)"
	coreSiteFile        = "core-site.xml"
	hdfsSiteFile        = "hdfs-site.xml"
	defaultNameservice  = "mycluster"
	defaultNameNodes    = 2
	defaultJournalNodes = 3
)

// NewHA lays out an HA cluster for t: it reserves ports, creates the directories and
// writes the configuration files. Nothing is started.
func NewHA(t testing.TB, opts HAOptions) *HA {
	t.Helper()
	if opts.Nameservice == "" {
		opts.Nameservice = defaultNameservice
	}
	if opts.NameNodes == 0 {
		opts.NameNodes = defaultNameNodes
	}
	if opts.JournalNodes == 0 {
		opts.JournalNodes = defaultJournalNodes
	}
	if opts.Host == "" {
		opts.Host = DefaultHost
	}
	ns := opts.Nameservice
	root := t.TempDir()
	h := &HA{
		Dir:         root,
		ConfDir:     mkdir(t, root, "conf"),
		Nameservice: ns,
		JournalID:   ns,
	}

	var jnHosts []string
	for i := 1; i <= opts.JournalNodes; i++ {
		id := "jn" + strconv.Itoa(i)
		jn := JournalNodeLayout{
			ID:          id,
			RPCAddress:  ReserveAddr(t, opts.Host),
			HTTPAddress: ReserveAddr(t, opts.Host),
			EditsDir:    mkdir(t, root, id, "edits"),
			ConfDir:     mkdir(t, root, id, "conf"),
		}
		h.JournalNodes = append(h.JournalNodes, jn)
		jnHosts = append(jnHosts, jn.RPCAddress)
	}
	h.SharedEditsDir = "qjournal://" + strings.Join(jnHosts, ";") + "/" + h.JournalID

	var nnIDs []string
	for i := 1; i <= opts.NameNodes; i++ {
		id := "nn" + strconv.Itoa(i)
		h.NameNodes = append(h.NameNodes, NameNodeLayout{
			ID:          id,
			RPCAddress:  ReserveAddr(t, opts.Host),
			HTTPAddress: ReserveAddr(t, opts.Host),
			NameDir:     mkdir(t, root, id, "name"),
			ConfDir:     mkdir(t, root, id, "conf"),
		})
		nnIDs = append(nnIDs, id)
	}

	h.core = []Property{
		{"fs.defaultFS", "hdfs://" + ns},
		{keyHadoopTmpDir, mkdir(t, root, "tmp")},
	}
	if opts.ZooKeeper != "" {
		h.core = append(h.core, Property{keyZKQuorum, opts.ZooKeeper})
	}
	h.hdfs = []Property{
		{conf.KeyNameservices, ns},
		{conf.KeyHANameNodes + "." + ns, strings.Join(nnIDs, ",")},
	}
	for _, nn := range h.NameNodes {
		h.hdfs = append(h.hdfs,
			Property{conf.KeyNNRPCAddress + "." + ns + "." + nn.ID, nn.RPCAddress},
			Property{conf.KeyNNHTTPAddress + "." + ns + "." + nn.ID, nn.HTTPAddress},
			Property{keyNameDir + "." + ns + "." + nn.ID, nn.NameDir},
		)
	}
	h.hdfs = append(h.hdfs,
		Property{conf.KeySharedEditsDir, h.SharedEditsDir},
		Property{keyFailoverProxy + "." + ns, configuredFailover},
		Property{keyFencingMethods, alwaysSucceedFence},
		Property{conf.KeyAutoFailover, strconv.FormatBool(opts.ZooKeeper != "")},
	)
	for _, k := range sortedKeys(opts.Extra) {
		h.hdfs = append(h.hdfs, Property{k, opts.Extra[k]})
	}

	h.write(t, h.ConfDir, nil)
	for _, nn := range h.NameNodes {
		h.write(t, nn.ConfDir, []Property{{conf.KeyHANameNodeID, nn.ID}})
	}
	for _, jn := range h.JournalNodes {
		h.write(t, jn.ConfDir, []Property{
			{keyJNRPCAddress, jn.RPCAddress},
			{keyJNHTTPAddress, jn.HTTPAddress},
			{keyJNEditsDir, jn.EditsDir},
		})
	}
	return h
}

// CoreSite returns the generated core-site.xml properties, in file order.
func (h *HA) CoreSite() []Property { return append([]Property(nil), h.core...) }

// HDFSSite returns the generated hdfs-site.xml properties of ConfDir, in file order.
func (h *HA) HDFSSite() []Property { return append([]Property(nil), h.hdfs...) }

// Conf loads ConfDir through internal/conf, as a client or tool would.
func (h *HA) Conf(t testing.TB) *conf.Conf {
	t.Helper()
	return load(t, h.ConfDir)
}

// NameNodeConf is the configuration the i-th NameNode (0-based) runs with: its ConfDir,
// resolved for it (conf.ForNameNode), so plain keys such as dfs.namenode.name.dir and
// dfs.namenode.rpc-address hold this NameNode's values.
func (h *HA) NameNodeConf(t testing.TB, i int) *conf.Conf {
	t.Helper()
	return load(t, h.NameNodes[i].ConfDir).ForNameNode(h.Nameservice, h.NameNodes[i].ID)
}

// JournalNodeConf is the configuration the i-th JournalNode (0-based) runs with.
func (h *HA) JournalNodeConf(t testing.TB, i int) *conf.Conf {
	t.Helper()
	return load(t, h.JournalNodes[i].ConfDir)
}

func load(t testing.TB, dir string) *conf.Conf {
	t.Helper()
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatalf("testcluster: load generated configuration: %v", err)
	}
	return c
}

// write puts core-site.xml and hdfs-site.xml (the shared properties plus extra) in dir.
func (h *HA) write(t testing.TB, dir string, extra []Property) {
	t.Helper()
	if err := WriteSiteXML(filepath.Join(dir, coreSiteFile), h.core); err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	if err := WriteSiteXML(filepath.Join(dir, hdfsSiteFile), append(h.HDFSSite(), extra...)); err != nil {
		t.Fatalf("testcluster: %v", err)
	}
}

// WriteSiteXML writes props as a Hadoop configuration file at path.
func WriteSiteXML(path string, props []Property) error {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<configuration>\n")
	for _, p := range props {
		b.WriteString("  <property>\n    <name>")
		b.WriteString(xmlEscape(p.Name))
		b.WriteString("</name>\n    <value>")
		b.WriteString(xmlEscape(p.Value))
		b.WriteString("</value>\n  </property>\n")
	}
	b.WriteString("</configuration>\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;", "'", "&apos;")

func xmlEscape(s string) string { return xmlEscaper.Replace(s) }

func mkdir(t testing.TB, elem ...string) string {
	t.Helper()
	dir := filepath.Join(elem...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	return dir
}

func sortedKeys(m map[string]string) []string {
	// Sorted, so the files are the same for the same options.
	return slices.Sorted(maps.Keys(m))
}
