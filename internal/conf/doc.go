// Package conf reads Hadoop configuration: the core-site.xml and
// hdfs-site.xml operators already have, Hadoop 3's defaults for the keys this
// project honours, -D style overrides, and the HA address resolution built on
// top of them (nameservices, NameNodes, the quorum journal URI, and which
// NameNode the local process is).
//
// It owns key names, defaults, value syntax and resolution rules. It does not
// decide what a key means to a daemon, and it never logs: non-fatal findings
// are returned by Warnings for the caller's logger.
//
// # Layers and precedence
//
// From lowest to highest:
//
//  1. compiled-in defaults (defaults.go; Source "default"),
//  2. $HADOOP_CONF_DIR/core-site.xml, then hdfs-site.xml (Load; a missing
//     file is skipped),
//  3. files added with AddResource, in call order,
//  4. Set, which is what -D does (Source "-D").
//
// A property marked <final>true</final> in a file freezes its key: later
// files and Set cannot change it, and the attempts are ignored (files record a
// Warning). Note that Java Hadoop lets Configuration.set override a final
// key; here -D does not, by design. A <property> with <final> but no <value>
// freezes the value loaded before it, as in Hadoop.
//
// # File format
//
// The root element must be <configuration>; nested <configuration> elements
// are read as containers. Each <property> has <name>, <value> and optionally
// <final>, as child elements or as attributes. <description>, <source>,
// <tag> and unknown elements are ignored; names are trimmed, values are kept
// as written. An empty <value></value> sets the empty string. XInclude
// (<xi:include>) is not supported: a file using it is rejected rather than
// silently missing the included properties. Files may be UTF-8, US-ASCII or
// ISO-8859-1. Errors wrap ErrParse and name the file and line.
//
// # Substitution
//
// Get expands ${name} references, leftmost first, rescanning the result.
// A name resolves to, in order: the process properties user.name, user.home,
// user.dir, java.io.tmpdir, file.separator and path.separator (Java system
// properties in Hadoop, which likewise beat configuration keys); for
// env.NAME, the environment variable NAME, with ${env.NAME:-default} (used
// when NAME is unset or empty) and ${env.NAME-default} (used when NAME is
// unset); otherwise the configuration key name. An unresolvable reference is
// left as written (Hadoop stops expanding there; this package goes on with
// the references after it). At most 20 substitutions are made per value
// (Hadoop's MAX_SUBST): more is ErrSubstitutionDepth, typically a loop
// between keys; a value that expands to a text containing its own reference
// is ErrSubstitutionLoop. Get then returns the unexpanded value (as Hadoop
// does for self-references); Lookup, the typed getters and Validate report
// the error.
//
// # Typed getters
//
// GetBool, GetInt, GetDuration and GetSize trim the value and return the
// caller's default when the key is unset or blank. A value they cannot parse
// is a *ValueError naming the key, the value and its Source, wrapping
// ErrBadValue. Durations take Hadoop's suffixes ns, us, ms, s, m, h, d; sizes
// take binary prefixes k, m, g, t, p, e (both case-insensitive).
//
// # Suffixed keys
//
// Per-NameNode settings may be written key.<nameservice>.<namenode>, per
// nameservice key.<nameservice>. GetNN looks up key.<ns>.<nn>, then
// key.<ns>, then key. ForNameNode returns a view of the configuration for one
// NameNode in which Hadoop's NAMENODE_SPECIFIC_KEYS (NameNodeSpecificKeys)
// hold their .<ns>.<nn> (else .<ns>) values, so daemon code can read plain
// keys.
//
// # HA resolution
//
// dfs.nameservices lists the nameservices; dfs.ha.namenodes.<ns> lists the
// NameNode IDs of one, in order. Each NameNode needs
// dfs.namenode.rpc-address.<ns>.<nn> (port 8020 if omitted); its HTTP address
// is dfs.namenode.http-address.<ns>.<nn>, or the RPC host with the port of
// the generic http-address (9870 by default); its service RPC address is
// dfs.namenode.servicerpc-address.<ns>.<nn>, or the RPC address. A
// nameservice is HA when it has more than one NameNode. Without
// dfs.nameservices the cluster has one NameNode at dfs.namenode.rpc-address,
// or at the authority of an hdfs:// fs.defaultFS. DefaultNameservice is the
// nameservice of fs.defaultFS=hdfs://<ns>, else dfs.nameservice.id, else the
// only configured one. LocalNameNode picks this process's NameNode by
// dfs.ha.namenode.id, else by matching RPC addresses against the local
// addresses, failing with ErrNoLocalNameNode or ErrAmbiguousNameNode.
// dfs.namenode.shared.edits.dir must be a single qjournal:// URI
// (ParseQJournalURI; JournalNode port 8485 if omitted).
//
// # Generic options
//
// ParseGenericArgs reads -D key=value, -Dkey=value, -conf FILE and -fs URI
// from the front of a subcommand's arguments and stops at the first other
// argument (a "--" is consumed). GenericOptions.Apply installs them in
// Hadoop's order: -conf files as resources, then -fs, then -D.
// ParseGenericOptions flattens the same into one override map for callers
// that only call Set.
package conf
