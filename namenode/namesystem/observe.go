package namesystem

// Read-only views for the NameNode's HTTP server (fsck).

import (
	"context"

	"github.com/hdfsha/hdfsha/namenode/namespace"
)

// ReadNamespace runs fn with the namespace under the namesystem read lock, as
// a client read is served: refused on a standby (StandbyException) or a
// failed namesystem, and waiting for the sync of what fn saw. fsck's
// NamespaceWalker reads through it, a page at a time.
func (s *Namesystem) ReadNamespace(ctx context.Context, fn func(ns *namespace.Namespace) error) error {
	return s.read(ctx, func() error { return fn(s.ns) })
}

// IsSuperuser reports whether user is the NameNode's superuser or in
// dfs.permissions.superusergroup (FSPermissionChecker.isSuperUser).
func (s *Namesystem) IsSuperuser(user string) bool { return s.isSuperuser(user) }
