package namespace

import (
	"strings"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/editpb"
)

// splitPath validates p like Hadoop's DFSUtil.isValidName and returns its
// components ("/" has none): absolute, no "." or ".." component, no ":" in a
// component, no empty component except a trailing "/".
func splitPath(p string) ([]string, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, rpc.Errorf(rpc.ErrInvalidPath, "Invalid path name %s", p)
	}
	parts := strings.Split(p[1:], "/")
	comps := parts[:0:0]
	for i, c := range parts {
		switch {
		case c == "":
			if i != len(parts)-1 {
				return nil, rpc.Errorf(rpc.ErrInvalidPath, "Invalid path name %s", p)
			}
			continue
		case c == "." || c == ".." || strings.ContainsAny(c, ":\x00"):
			return nil, rpc.Errorf(rpc.ErrInvalidPath, "Invalid path name %s", p)
		}
		comps = append(comps, c)
	}
	return comps, nil
}

// joinPath returns the normalised absolute path of comps.
func joinPath(comps []string) string {
	return "/" + strings.Join(comps, "/")
}

// resolved is a path walked from the root, like Hadoop's INodesInPath:
// inodes[0] is the root and inodes[i] the inode of comps[i-1], nil from the
// first missing component on.
type resolved struct {
	comps  []string
	inodes []*editpb.INode
}

func (r *resolved) last() *editpb.INode { return r.inodes[len(r.inodes)-1] }

// pathAt returns the path of inodes[i].
func (r *resolved) pathAt(i int) string { return joinPath(r.comps[:i]) }

func (r *resolved) path() string { return joinPath(r.comps) }

// lastExisting returns the index of the deepest existing inode.
func (r *resolved) lastExisting() int {
	i := len(r.inodes) - 1
	for r.inodes[i] == nil {
		i--
	}
	return i
}

// missingAncestors returns how many ancestors of the last component do
// not exist.
func (r *resolved) missingAncestors() int {
	i := len(r.inodes) - 2
	for i >= 0 && r.inodes[i] == nil {
		i--
	}
	return len(r.inodes) - 2 - i
}

// resolve walks comps from the root. A file met before the last component
// is Hadoop's ParentNotDirectoryException "<path> (is not a directory)",
// raised for every user as in Hadoop's traverse check.
func resolve(rd reader, comps []string) (*resolved, error) {
	r := &resolved{comps: comps, inodes: make([]*editpb.INode, len(comps)+1)}
	root, err := getINode(rd, RootINodeID)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, ErrNotFormatted
	}
	r.inodes[0] = root
	cur := root
	for i, name := range comps {
		if cur.Type != editpb.INodeType_DIRECTORY {
			return nil, rpc.Errorf(rpc.ErrParentNotDirectory, "%s (is not a directory)", r.pathAt(i))
		}
		id, err := lookup(rd, cur.Id, name)
		if err != nil {
			return nil, err
		}
		if id == 0 {
			break
		}
		n, err := getINode(rd, id)
		if err != nil {
			return nil, err
		}
		if n == nil {
			return nil, corruptf("entry %q of inode %d names missing inode %d", name, cur.Id, id)
		}
		r.inodes[i+1] = n
		cur = n
	}
	return r, nil
}

func isDir(n *editpb.INode) bool { return n != nil && n.Type == editpb.INodeType_DIRECTORY }

func isFile(n *editpb.INode) bool { return n != nil && n.Type == editpb.INodeType_FILE }
