package namespace

import (
	"encoding/binary"
	"strings"

	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/editpb"
)

// FileStatus is what getFileInfo and getListing return about one inode
// (Hadoop's HdfsFileStatus without locations).
type FileStatus struct {
	ID   uint64
	Name string // local name; "" for the root
	Dir  bool
	// Length is the sum of the file's block lengths.
	Length      uint64
	Mode        uint32
	Owner       string
	Group       string
	Mtime       int64
	Atime       int64
	Replication uint32
	BlockSize   uint64
	// Children is the number of entries of a directory.
	Children int64
	// ClientName/ClientMachine are set while a file is under construction.
	ClientName    string
	ClientMachine string
	StoragePolicy uint32
	Blocks        []*editpb.Block
}

// UnderConstruction reports whether the file is open for writing.
func (s *FileStatus) UnderConstruction() bool { return s.ClientName != "" }

func statusOf(n *editpb.INode) *FileStatus {
	s := &FileStatus{
		ID:            n.Id,
		Name:          n.Name,
		Dir:           isDir(n),
		Mode:          n.GetPerm().GetMode(),
		Owner:         n.GetPerm().GetOwner(),
		Group:         n.GetPerm().GetGroup(),
		Mtime:         n.Mtime,
		Atime:         n.Atime,
		Replication:   n.Replication,
		BlockSize:     n.PreferredBlockSize,
		Children:      n.Children,
		ClientName:    n.ClientName,
		ClientMachine: n.ClientMachine,
		StoragePolicy: n.StoragePolicyId,
		Blocks:        n.Blocks,
	}
	for _, b := range n.Blocks {
		s.Length += b.NumBytes
	}
	return s
}

// readPath validates and resolves p for user with only the traverse check.
func (ns *Namespace) readPath(user, p string) (*resolved, *checker, error) {
	comps, err := splitPath(p)
	if err != nil {
		return nil, nil, err
	}
	r, err := resolve(ns.rd, comps)
	if err != nil {
		return nil, nil, err
	}
	return r, newChecker(&ns.opts.Permissions, user), nil
}

// GetFileInfo returns the status of path, or nil when it does not exist
// (ClientProtocol.getFileInfo answers null). Checks traverse permission.
func (ns *Namespace) GetFileInfo(user, path string) (*FileStatus, error) {
	r, c, err := ns.readPath(user, path)
	if err != nil {
		return nil, err
	}
	if err := c.checkPermission(ns.rd, r, false, noCheck, noCheck, noCheck, noCheck, false); err != nil {
		return nil, err
	}
	if r.last() == nil {
		return nil, nil
	}
	return statusOf(r.last()), nil
}

// ResolvePath returns the status of path without permission checks (for
// the NameNode's own use), or nil when it does not exist.
func (ns *Namespace) ResolvePath(path string) (*FileStatus, error) {
	comps, err := splitPath(path)
	if err != nil {
		return nil, err
	}
	r, err := resolve(ns.rd, comps)
	if err != nil || r.last() == nil {
		return nil, err
	}
	return statusOf(r.last()), nil
}

// GetINode returns the status of inode id, or nil.
func (ns *Namespace) GetINode(id uint64) (*FileStatus, error) {
	n, err := getINode(ns.rd, id)
	if err != nil || n == nil {
		return nil, err
	}
	return statusOf(n), nil
}

// FullPath returns the path of inode id, or "" when it does not exist.
func (ns *Namespace) FullPath(id uint64) (string, error) {
	var names []string
	for id != RootINodeID {
		n, err := getINode(ns.rd, id)
		if err != nil || n == nil {
			return "", err
		}
		names = append(names, n.Name)
		id = n.ParentId
	}
	for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
		names[i], names[j] = names[j], names[i]
	}
	return joinPath(names), nil
}

// BlockOwner returns the inode id of the file holding block id, or 0.
func (ns *Namespace) BlockOwner(blockID uint64) (uint64, error) {
	v, c, err := ns.db.Get(blockKey(blockID))
	if err != nil {
		if isNotFound(err) {
			return 0, nil
		}
		return 0, err
	}
	defer c.Close()
	return beUint64(v), nil
}

// Listing is one page of a directory listing.
type Listing struct {
	Entries []*FileStatus
	// Remaining is 0 when the listing is complete and positive when more
	// entries follow (it is 1, not the exact count: clients only test it
	// for zero, and counting would make paging a large directory quadratic).
	Remaining int
}

// List returns up to limit entries of directory path whose names sort
// after startAfter (byte order, like HDFS), or the file itself when path is
// a file; nil when path does not exist. Needs READ_EXECUTE on a directory.
func (ns *Namespace) List(user, path, startAfter string, limit int) (*Listing, error) {
	r, c, err := ns.readPath(user, path)
	if err != nil {
		return nil, err
	}
	n := r.last()
	access := noCheck
	if isDir(n) {
		access = actRead | actExecute
	}
	if err := c.checkPermission(ns.rd, r, false, noCheck, noCheck, access, noCheck, false); err != nil {
		return nil, err
	}
	if n == nil {
		return nil, nil
	}
	if !isDir(n) {
		return &Listing{Entries: []*FileStatus{statusOf(n)}}, nil
	}
	if limit <= 0 {
		limit = 1
	}
	l := &Listing{}
	err = forEachChild(ns.rd, n.Id, startAfter, func(name string, id uint64) (bool, error) {
		if len(l.Entries) == limit {
			l.Remaining = 1
			return false, nil
		}
		c, err := getINode(ns.rd, id)
		if err != nil {
			return false, err
		}
		if c == nil {
			return false, corruptf("entry %q of inode %d names missing inode %d", name, n.Id, id)
		}
		l.Entries = append(l.Entries, statusOf(c))
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// ContentSummary is Hadoop's ContentSummary without quotas (-1).
type ContentSummary struct {
	Length         uint64
	FileCount      int64
	DirectoryCount int64
	SpaceConsumed  uint64
	Quota          int64
	SpaceQuota     int64
}

// ContentSummary sums the subtree at path. Needs READ_EXECUTE on every
// directory of the subtree.
func (ns *Namespace) ContentSummary(user, path string) (*ContentSummary, error) {
	r, c, err := ns.readPath(user, path)
	if err != nil {
		return nil, err
	}
	if err := c.checkPermission(ns.rd, r, false, noCheck, noCheck, noCheck, actRead|actExecute, false); err != nil {
		return nil, err
	}
	if r.last() == nil {
		return nil, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", path)
	}
	s := &ContentSummary{Quota: -1, SpaceQuota: -1}
	if err := ns.summarize(r.last(), s); err != nil {
		return nil, err
	}
	return s, nil
}

func (ns *Namespace) summarize(n *editpb.INode, s *ContentSummary) error {
	if !isDir(n) {
		s.FileCount++
		for _, b := range n.Blocks {
			s.Length += b.NumBytes
			s.SpaceConsumed += b.NumBytes * uint64(n.Replication)
		}
		return nil
	}
	s.DirectoryCount++
	return forEachChild(ns.rd, n.Id, "", func(name string, id uint64) (bool, error) {
		c, err := getINode(ns.rd, id)
		if err != nil {
			return false, err
		}
		if c == nil {
			return false, corruptf("entry %q of inode %d names missing inode %d", name, n.Id, id)
		}
		return true, ns.summarize(c, s)
	})
}

// XAttrName returns Hadoop's prefixed name of x ("user.color").
func XAttrName(x *editpb.XAttr) string {
	return strings.ToLower(x.Namespace.String()) + "." + x.Name
}

// xattrsOf returns all xattrs of inode id in key order.
func xattrsOf(rd reader, id uint64) ([]*editpb.XAttr, error) {
	p := xattrPrefix(id)
	it, err := rd.NewIter(iterPrefix(p))
	if err != nil {
		return nil, err
	}
	var xs []*editpb.XAttr
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return nil, err
		}
		k := it.Key()[len(p):]
		xs = append(xs, &editpb.XAttr{Namespace: editpb.XAttrNamespace(k[0]), Name: string(k[1:]), Value: append([]byte(nil), v...)})
	}
	return xs, it.Close()
}

// GetXAttrs returns the xattrs of path named in names (all visible ones
// when names is empty). Needs READ on the inode for user xattrs; trusted
// xattrs are visible to superusers only.
func (ns *Namespace) GetXAttrs(user, path string, names []*editpb.XAttr) ([]*editpb.XAttr, error) {
	r, c, err := ns.readPath(user, path)
	if err != nil {
		return nil, err
	}
	for _, x := range names {
		if err := c.checkXAttrAPI(x, true); err != nil {
			return nil, err
		}
	}
	if r.last() == nil {
		return nil, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", path)
	}
	if err := c.checkPermission(ns.rd, r, false, noCheck, noCheck, actRead, noCheck, false); err != nil {
		return nil, err
	}
	all, err := xattrsOf(ns.rd, r.last().Id)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		var out []*editpb.XAttr
		for _, x := range all {
			if c.xattrVisible(x) {
				out = append(out, x)
			}
		}
		return out, nil
	}
	var out []*editpb.XAttr
	for _, want := range names {
		found := false
		for _, x := range all {
			if x.Namespace == want.Namespace && x.Name == want.Name {
				out = append(out, x)
				found = true
			}
		}
		if !found {
			return nil, rpc.Errorf(rpc.ErrIO, "At least one of the attributes provided was not found.")
		}
	}
	return out, nil
}

// ListXAttrs returns the names (no values) of the xattrs of path user may
// see. Like Hadoop, listing names needs EXECUTE on the parent directory,
// not READ on the inode.
func (ns *Namespace) ListXAttrs(user, path string) ([]*editpb.XAttr, error) {
	r, c, err := ns.readPath(user, path)
	if err != nil {
		return nil, err
	}
	if r.last() == nil {
		return nil, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", path)
	}
	if err := c.checkPermission(ns.rd, r, false, noCheck, actExecute, noCheck, noCheck, false); err != nil {
		return nil, err
	}
	all, err := xattrsOf(ns.rd, r.last().Id)
	if err != nil {
		return nil, err
	}
	var out []*editpb.XAttr
	for _, x := range all {
		if c.xattrVisible(x) {
			out = append(out, &editpb.XAttr{Namespace: x.Namespace, Name: x.Name})
		}
	}
	return out, nil
}

// ForEachUnderConstruction calls fn with the path and status of every file
// under construction, in inode id order: the lease manager rebuilds its
// leases from them after an image load or replay.
func (ns *Namespace) ForEachUnderConstruction(fn func(path string, s *FileStatus) error) error {
	it, err := ns.db.NewIter(iterPrefix([]byte{prefixOpen}))
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != 9 {
			return corruptf("open-file key %x has %d bytes", k, len(k))
		}
		id := binary.BigEndian.Uint64(k[1:])
		n, err := getINode(ns.rd, id)
		if err != nil {
			return err
		}
		if n == nil || !isFile(n) || n.ClientName == "" {
			return corruptf("open-file index names inode %d, which is not a file under construction", id)
		}
		p, err := ns.FullPath(n.Id)
		if err != nil {
			return err
		}
		if err := fn(p, statusOf(n)); err != nil {
			return err
		}
	}
	return nil
}
