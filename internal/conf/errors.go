package conf

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps one of them, so
// callers branch with errors.Is and still print a message that names the key,
// the value and where it came from.
var (
	// ErrParse: a configuration file is not well-formed XML or not a Hadoop
	// <configuration> document.
	ErrParse = errors.New("bad configuration file")
	// ErrBadValue: a value cannot be read as the type a getter asked for.
	ErrBadValue = errors.New("bad value")
	// ErrSubstitutionDepth: expanding ${...} needed more than 20
	// substitutions (Hadoop's MAX_SUBST), usually a loop between keys.
	ErrSubstitutionDepth = errors.New("variable substitution depth too large")
	// ErrSubstitutionLoop: a value refers to itself, e.g. a=${a}/x.
	ErrSubstitutionLoop = errors.New("variable refers to itself")
	// ErrMissing: a key that the requested resolution needs is not set.
	ErrMissing = errors.New("missing configuration")
	// ErrUnknownNameservice: the nameservice is neither listed in
	// dfs.nameservices nor has dfs.ha.namenodes.<ns>.
	ErrUnknownNameservice = errors.New("unknown nameservice")
	// ErrNoLocalNameNode: no configured NameNode address belongs to this host.
	ErrNoLocalNameNode = errors.New("no NameNode address matches this host")
	// ErrAmbiguousNameNode: several configured NameNode addresses belong to
	// this host, so it cannot tell which NameNode it is.
	ErrAmbiguousNameNode = errors.New("several NameNode addresses match this host")
	// ErrBadQJournalURI: a qjournal:// URI is malformed.
	ErrBadQJournalURI = errors.New("bad qjournal URI")
	// ErrUsage: generic command-line options are malformed.
	ErrUsage = errors.New("bad generic option")
)

// ValueError reports a value that a getter could not use. Source is the file
// the value came from, "-D" for a programmatic override, or "default".
type ValueError struct {
	Key    string
	Value  string
	Source string
	Err    error
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("conf: %s=%q (from %s): %v", e.Key, e.Value, e.Source, e.Err)
}

func (e *ValueError) Unwrap() error { return e.Err }
