// Package filesink is the file sink of the metadata mirror: a directory,
// for example an NFS mount (namespace.mirror.uri=file:///dir).
package filesink

import (
	"errors"

	"github.com/hdfsha/hdfsha/tablestore"
)

// Sink is a mirror in a directory.
type Sink struct{ tablestore.Sink }

// Open opens (creating it if needed) the mirror directory dir.
func Open(dir string) (*Sink, error) { return nil, errors.New("filesink: not implemented yet") }
