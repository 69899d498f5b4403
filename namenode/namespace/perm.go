package namespace

import (
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/editpb"
)

// Permissions configures HDFS permission checking (dfs.permissions.enabled).
type Permissions struct {
	// Enabled turns checks on; when off only structural checks apply.
	Enabled bool
	// Superuser is the NameNode's own user; it passes every check.
	Superuser string
	// SuperGroup is dfs.permissions.superusergroup: its members are
	// superusers too.
	SuperGroup string
	// Groups returns the groups of a user (Hadoop's group mapping); nil
	// means no user has groups.
	Groups func(user string) []string
}

// fsAction is Hadoop's FsAction: rwx bits.
type fsAction int8

const (
	actNone    fsAction = 0
	actExecute fsAction = 1
	actWrite   fsAction = 2
	actRead    fsAction = 4
	actAll     fsAction = 7
	// noCheck skips a check in checkPermission.
	noCheck fsAction = -1
)

var fsActionNames = [8]string{"NONE", "EXECUTE", "WRITE", "WRITE_EXECUTE", "READ", "READ_EXECUTE", "READ_WRITE", "ALL"}

func (a fsAction) String() string { return fsActionNames[a&7] }

const stickyBit = 0o1000

// modeString renders mode like Hadoop's FsPermission.toString, with the
// sticky bit as t/T in the other-execute position.
func modeString(mode uint32) string {
	const rwx = "rwxrwxrwx"
	var b [9]byte
	for i := 0; i < 9; i++ {
		if mode&(1<<(8-i)) != 0 {
			b[i] = rwx[i]
		} else {
			b[i] = '-'
		}
	}
	if mode&stickyBit != 0 {
		if b[8] == 'x' {
			b[8] = 't'
		} else {
			b[8] = 'T'
		}
	}
	return string(b[:])
}

// inodeString is "<path>":owner:group:drwxr-xr-x as in Hadoop's messages.
func inodeString(path string, n *editpb.INode) string {
	t := "-"
	if isDir(n) {
		t = "d"
	}
	return "\"" + path + "\":" + n.GetPerm().GetOwner() + ":" + n.GetPerm().GetGroup() + ":" + t + modeString(n.GetPerm().GetMode())
}

// checker is Hadoop's FSPermissionChecker for one call.
type checker struct {
	p      *Permissions
	user   string
	groups []string
	super  bool
}

func newChecker(p *Permissions, user string) *checker {
	c := &checker{p: p, user: user}
	if p.Groups != nil {
		c.groups = p.Groups(user)
	}
	c.super = user == p.Superuser || (p.SuperGroup != "" && slices.Contains(c.groups, p.SuperGroup))
	return c
}

func (c *checker) enabled() bool { return c.p.Enabled && !c.super }

func (c *checker) memberOf(group string) bool { return slices.Contains(c.groups, group) }

// check tests access on inodes[i]; a missing inode passes.
func (c *checker) check(r *resolved, i int, access fsAction) error {
	n := r.inodes[i]
	if n == nil {
		return nil
	}
	return c.checkINode(r.pathAt(i), n, access)
}

func (c *checker) checkINode(path string, n *editpb.INode, access fsAction) error {
	mode := n.GetPerm().GetMode()
	var bits fsAction
	switch {
	case c.user == n.GetPerm().GetOwner():
		bits = fsAction(mode>>6) & 7
	case c.memberOf(n.GetPerm().GetGroup()):
		bits = fsAction(mode>>3) & 7
	default:
		bits = fsAction(mode) & 7
	}
	if bits&access == access {
		return nil
	}
	return rpc.Errorf(rpc.ErrAccessControl, "Permission denied: user=%s, access=%s, inode=%s", c.user, access, inodeString(path, n))
}

// checkPermission follows FSPermissionChecker.checkPermission: EXECUTE on
// every existing ancestor, the sticky bit when parentAccess includes WRITE,
// then ancestorAccess on the deepest existing ancestor, parentAccess on the
// parent, access on the inode itself, subAccess on every directory of its
// subtree (empty ones skipped when ignoreEmptyDir), and ownership.
func (c *checker) checkPermission(rd reader, r *resolved, doCheckOwner bool, ancestorAccess, parentAccess, access, subAccess fsAction, ignoreEmptyDir bool) error {
	if !c.enabled() {
		return nil
	}
	n := len(r.inodes)
	ancestor := n - 2
	for ancestor >= 0 && r.inodes[ancestor] == nil {
		ancestor--
	}
	for i := 0; i <= ancestor; i++ {
		if err := c.check(r, i, actExecute); err != nil {
			return err
		}
	}
	if parentAccess != noCheck && parentAccess&actWrite != 0 && n > 1 && r.last() != nil {
		if err := c.checkStickyBit(r, n-2); err != nil {
			return err
		}
	}
	if ancestorAccess != noCheck && n > 1 {
		if err := c.check(r, ancestor, ancestorAccess); err != nil {
			return err
		}
	}
	if parentAccess != noCheck && n > 1 {
		if err := c.check(r, n-2, parentAccess); err != nil {
			return err
		}
	}
	if access != noCheck {
		if err := c.check(r, n-1, access); err != nil {
			return err
		}
	}
	if subAccess != noCheck && isDir(r.last()) {
		if err := c.checkSubAccess(rd, r.path(), r.last(), subAccess, ignoreEmptyDir); err != nil {
			return err
		}
	}
	if doCheckOwner && r.last() != nil && c.user != r.last().GetPerm().GetOwner() {
		return rpc.Errorf(rpc.ErrAccessControl, "Permission denied. user=%s is not the owner of inode=%s", c.user, r.path())
	}
	return nil
}

func (c *checker) checkStickyBit(r *resolved, parentIdx int) error {
	parent, child := r.inodes[parentIdx], r.inodes[parentIdx+1]
	if parent == nil || child == nil || parent.GetPerm().GetMode()&stickyBit == 0 {
		return nil
	}
	if c.user == parent.GetPerm().GetOwner() || c.user == child.GetPerm().GetOwner() {
		return nil
	}
	return rpc.Errorf(rpc.ErrAccessControl, "Permission denied by sticky bit: user=%s, path=%s, parent=%s",
		c.user, inodeString(r.pathAt(parentIdx+1), child), inodeString(r.pathAt(parentIdx), parent))
}

// checkSubAccess checks access on dir and every directory below it.
func (c *checker) checkSubAccess(rd reader, path string, dir *editpb.INode, access fsAction, ignoreEmptyDir bool) error {
	if !(ignoreEmptyDir && dir.Children == 0) {
		if err := c.checkINode(path, dir, access); err != nil {
			return err
		}
	}
	var subdirs []*editpb.INode
	err := forEachChild(rd, dir.Id, "", func(name string, id uint64) (bool, error) {
		n, err := getINode(rd, id)
		if err != nil {
			return false, err
		}
		if isDir(n) {
			subdirs = append(subdirs, n)
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, d := range subdirs {
		if err := c.checkSubAccess(rd, strings.TrimSuffix(path, "/")+"/"+d.Name, d, access, ignoreEmptyDir); err != nil {
			return err
		}
	}
	return nil
}

// forEachChild calls fn for the entries of directory parent in name order,
// starting after startAfter, until fn returns false.
func forEachChild(rd reader, parent uint64, startAfter string, fn func(name string, id uint64) (bool, error)) error {
	prefix := direntPrefix(parent)
	lower := prefix
	if startAfter != "" {
		lower = append(direntKey(parent, startAfter), 0)
	}
	it, err := rd.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		if len(v) != 8 {
			it.Close()
			return corruptf("entry %q of inode %d has %d bytes", it.Key()[9:], parent, len(v))
		}
		more, err := fn(string(it.Key()[len(prefix):]), beUint64(v))
		if err != nil || !more {
			it.Close()
			return err
		}
	}
	return it.Close()
}

// securityUnreadable is the one security-namespace xattr clients may set.
const securityUnreadable = "security.hdfs.unreadable.by.superuser"

// checkXAttrAPI follows XAttrPermissionFilter.checkPermissionForApi: user
// xattrs for everyone, trusted for superusers, the unreadable-by-superuser
// marker without a value; system, security and raw are refused.
func (c *checker) checkXAttrAPI(x *editpb.XAttr, read bool) error {
	isSuper := c.super || !c.p.Enabled
	switch {
	case x.Namespace == editpb.XAttrNamespace_USER:
		return nil
	case x.Namespace == editpb.XAttrNamespace_TRUSTED && isSuper:
		return nil
	}
	name := strings.ToLower(x.Namespace.String()) + "." + x.Name
	if name == securityUnreadable {
		if !read && len(x.Value) != 0 {
			return rpc.Errorf(rpc.ErrAccessControl, "Attempt to set a value for '%s'. Values are not allowed for this xattr.", securityUnreadable)
		}
		return nil
	}
	return rpc.Errorf(rpc.ErrAccessControl, "User doesn't have permission for xattr: %s", name)
}

// xattrVisible follows XAttrPermissionFilter.filterXAttrsForApi.
func (c *checker) xattrVisible(x *editpb.XAttr) bool {
	switch x.Namespace {
	case editpb.XAttrNamespace_USER:
		return true
	case editpb.XAttrNamespace_TRUSTED:
		return c.super || !c.p.Enabled
	case editpb.XAttrNamespace_SECURITY:
		return "security."+x.Name == securityUnreadable
	}
	return false
}
