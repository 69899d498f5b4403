// Package usergroups maps a user to its groups the way Hadoop's default
// ShellBasedUnixGroupsMapping does: the groups the operating system gives
// the user, looked up once and cached for the life of the mapping. The
// NameNode's permission checks and the ZKFC's admin ACL use it.
package usergroups

import (
	"os/user"
	"sync"
)

// OS is a cached mapping from the operating system's user database. The
// zero value is ready to use and safe for concurrent use.
type OS struct {
	mu    sync.Mutex
	cache map[string][]string
}

// Groups returns the names of name's groups; none for an unknown user.
func (g *OS) Groups(name string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if gs, ok := g.cache[name]; ok {
		return gs
	}
	var out []string
	if u, err := user.Lookup(name); err == nil {
		if ids, err := u.GroupIds(); err == nil {
			for _, id := range ids {
				if gr, err := user.LookupGroupId(id); err == nil {
					out = append(out, gr.Name)
				}
			}
		}
	}
	if g.cache == nil {
		g.cache = map[string][]string{}
	}
	g.cache[name] = out
	return out
}
