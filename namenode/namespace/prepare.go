package namespace

import (
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/proto/editpb"
)

// Call is the context of one client call, passed to every Prepare: who
// calls, the time the op will carry, and the retry cache identity the op
// will carry. The namespace reads no clock.
type Call struct {
	User string
	// Now is the call's time in milliseconds since the epoch (Hadoop's
	// now()); ops take their mtime/atime from it.
	Now      int64
	ClientID []byte
	CallID   int32
}

func (c Call) op() *editpb.Op {
	return &editpb.Op{RpcClientId: c.ClientID, RpcCallId: c.CallID}
}

// prepare validates p and resolves it for c.
func (ns *Namespace) prepare(c Call, p string) (*resolved, *checker, error) {
	return ns.readPath(c.User, p)
}

// implicitParentPerm is Hadoop's addImplicitUwx: missing ancestors created
// by mkdirs/create get the requested mode plus u+wx so that their creator
// can go on below them.
func implicitParentPerm(mode uint32, owner, group string) *editpb.Permission {
	return &editpb.Permission{Mode: mode&0o777 | 0o300, Owner: owner, Group: group}
}

// newINodeIDs returns n fresh inode ids after the last allocated one.
func (ns *Namespace) newINodeIDs(n int) []uint64 {
	m := ns.snapshotMeta()
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = m.lastINodeID + uint64(i) + 1
	}
	return ids
}

// groupFor returns the group of a new inode: its parent's (HDFS follows the
// BSD rule), the nearest existing ancestor's for a chain of new ones.
func groupFor(r *resolved) string {
	return r.inodes[r.lastExisting()].GetPerm().GetGroup()
}

// verifyFsLimits follows FSDirectory.verifyMaxComponentLength and
// verifyMaxDirItems for the components of r from the first missing one on
// (the names the call creates), with Hadoop's FSLimitException subclasses
// and texts.
func (ns *Namespace) verifyFsLimits(r *resolved) error {
	l := ns.opts.Limits
	first := r.missingAncestors()
	start := len(r.comps) - 1 - first
	for i := start; i < len(r.comps); i++ {
		if name := r.comps[i]; l.MaxComponentLength > 0 && len(name) > l.MaxComponentLength {
			return rpc.Errorf(rpc.ErrPathComponentTooLong, "The maximum path component name limit of %s in directory %s is exceeded: limit=%d length=%d",
				name, r.pathAt(i), l.MaxComponentLength, len(name))
		}
	}
	if parent := r.inodes[start]; parent != nil && l.MaxDirectoryItems > 0 && parent.Children >= l.MaxDirectoryItems {
		return rpc.Errorf(rpc.ErrMaxDirectoryItemsExceeded, "The directory item limit of %s is exceeded: limit=%d items=%d", r.pathAt(start), l.MaxDirectoryItems, parent.Children)
	}
	return nil
}

// PrepareMkdirs checks a mkdirs call (FSDirMkdirOp.mkdirs) and returns the
// op to log, or nil when the directory already exists (mkdirs succeeds
// without an edit). mode is the masked permission (the caller applies the
// umask); createParent false refuses a missing parent.
func (ns *Namespace) PrepareMkdirs(c Call, path string, mode uint32, createParent bool) (*editpb.Op, error) {
	r, pc, err := ns.prepare(c, path)
	if err != nil {
		return nil, err
	}
	if last := r.last(); last != nil {
		if !isDir(last) {
			return nil, rpc.Errorf(rpc.ErrFileAlreadyExists, "Path is not a directory: %s", path)
		}
		return nil, pc.checkPermission(ns.rd, r, false, noCheck, noCheck, noCheck, noCheck, false)
	}
	if err := pc.checkPermission(ns.rd, r, false, actWrite, noCheck, noCheck, noCheck, false); err != nil {
		return nil, err
	}
	missing := r.missingAncestors()
	if !createParent && missing > 0 {
		return nil, rpc.Errorf(rpc.ErrFileNotFound, "Parent directory doesn't exist: %s", r.pathAt(len(r.comps)-1))
	}
	if err := ns.verifyFsLimits(r); err != nil {
		return nil, err
	}
	ids := ns.newINodeIDs(missing + 1)
	group := groupFor(r)
	op := c.op()
	op.Body = &editpb.Op_Mkdir{Mkdir: &editpb.Mkdir{
		Path:           r.path(),
		InodeId:        ids[missing],
		Perm:           &editpb.Permission{Mode: mode, Owner: c.User, Group: group},
		Timestamp:      c.Now,
		ParentInodeIds: ids[:missing],
		ParentPerm:     implicitParentPerm(mode, c.User, group),
	}}
	return op, nil
}

// CreateRequest is ClientProtocol.create's arguments.
type CreateRequest struct {
	Path          string
	Mode          uint32 // masked by the caller
	ClientName    string
	ClientMachine string
	Overwrite     bool
	CreateParent  bool
	Replication   uint32
	BlockSize     uint64
}

func (ns *Namespace) verifyReplication(path string, repl uint32) error {
	l := ns.opts.Limits
	if repl < l.MinReplication {
		return rpc.Errorf(rpc.ErrIO, "Requested replication factor of %d is less than the required minimum of %d for %s", repl, l.MinReplication, path)
	}
	if repl > l.MaxReplication {
		return rpc.Errorf(rpc.ErrIO, "Requested replication factor of %d exceeds maximum of %d for %s", repl, l.MaxReplication, path)
	}
	return nil
}

// PrepareCreate checks a create call (FSDirWriteFileOp.startFile) and
// returns the OP_ADD to log. With Overwrite an existing file is replaced:
// Apply deletes it and reports its blocks in Applied.RemovedBlocks.
func (ns *Namespace) PrepareCreate(c Call, req CreateRequest) (*editpb.Op, error) {
	r, pc, err := ns.prepare(c, req.Path)
	if err != nil {
		return nil, err
	}
	if len(r.comps) == 0 {
		return nil, rpc.Errorf(rpc.ErrFileAlreadyExists, "Cannot create file %s; already exists as a directory.", req.Path)
	}
	if err := ns.verifyReplication(req.Path, req.Replication); err != nil {
		return nil, err
	}
	if req.BlockSize < ns.opts.Limits.MinBlockSize {
		return nil, rpc.Errorf(rpc.ErrIO, "Specified block size is less than configured minimum value (dfs.namenode.fs-limits.min-block-size): %d < %d", req.BlockSize, ns.opts.Limits.MinBlockSize)
	}
	last := r.last()
	if isDir(last) {
		return nil, rpc.Errorf(rpc.ErrFileAlreadyExists, "Cannot create file %s; already exists as a directory.", req.Path)
	}
	access := noCheck
	if req.Overwrite && last != nil {
		access = actWrite
	}
	if err := pc.checkPermission(ns.rd, r, false, actWrite, noCheck, access, noCheck, false); err != nil {
		return nil, err
	}
	missing := r.missingAncestors()
	if !req.CreateParent && missing > 0 {
		return nil, rpc.Errorf(rpc.ErrFileNotFound, "Parent directory doesn't exist: %s", r.pathAt(len(r.comps)-1))
	}
	if last == nil {
		if err := ns.verifyFsLimits(r); err != nil {
			return nil, err
		}
	}
	if last != nil && !req.Overwrite {
		if last.ClientName != "" {
			if last.ClientName == req.ClientName {
				return nil, rpc.Errorf(rpc.ErrAlreadyBeingCreated, "Failed to CREATE_FILE %s for %s on %s because current leaseholder is trying to recreate file.", req.Path, req.ClientName, req.ClientMachine)
			}
			return nil, rpc.Errorf(rpc.ErrAlreadyBeingCreated, "Failed to CREATE_FILE %s for %s on %s because this file lease is currently owned by %s on %s", req.Path, req.ClientName, req.ClientMachine, last.ClientName, last.ClientMachine)
		}
		return nil, rpc.Errorf(rpc.ErrFileAlreadyExists, "%s for client %s already exists", req.Path, req.ClientMachine)
	}
	ids := ns.newINodeIDs(missing + 1)
	group := groupFor(r)
	op := c.op()
	op.Body = &editpb.Op_Add{Add: &editpb.Add{
		Path:               r.path(),
		InodeId:            ids[missing],
		Perm:               &editpb.Permission{Mode: req.Mode, Owner: c.User, Group: group},
		Mtime:              c.Now,
		Atime:              c.Now,
		Replication:        req.Replication,
		PreferredBlockSize: req.BlockSize,
		ClientName:         req.ClientName,
		ClientMachine:      req.ClientMachine,
		Overwrite:          last != nil,
		ParentInodeIds:     ids[:missing],
		// create inherits the mode of the nearest existing ancestor for the
		// parents it creates (FSDirMkdirOp.createAncestorDirectories).
		ParentPerm: implicitParentPerm(r.inodes[r.lastExisting()].GetPerm().GetMode(), c.User, group),
	}}
	return op, nil
}

// PrepareDelete checks a delete call (FSDirDeleteOp.delete) and returns the
// op to log, or nil when delete answers false without an edit (path missing,
// or the root).
func (ns *Namespace) PrepareDelete(c Call, path string, recursive bool) (*editpb.Op, error) {
	r, pc, err := ns.prepare(c, path)
	if err != nil {
		return nil, err
	}
	last := r.last()
	if !recursive && isDir(last) && last.Children > 0 {
		return nil, rpc.Errorf(rpc.ErrPathIsNotEmptyDirectory, "`%s is non empty': Directory is not empty", path)
	}
	if err := pc.checkPermission(ns.rd, r, false, noCheck, actWrite, noCheck, actAll, true); err != nil {
		return nil, err
	}
	if last == nil || last.Id == RootINodeID {
		return nil, nil
	}
	op := c.op()
	op.Body = &editpb.Op_Delete{Delete: &editpb.Delete{Path: r.path(), Timestamp: c.Now}}
	return op, nil
}

// renamePerms checks rename permissions as FSDirRenameOp does: WRITE on
// the source's parent (with the sticky bit), WRITE on the destination's
// deepest existing ancestor.
func (ns *Namespace) renamePerms(pc *checker, src, dst *resolved) error {
	if err := pc.checkPermission(ns.rd, src, false, noCheck, actWrite, noCheck, noCheck, false); err != nil {
		return err
	}
	return pc.checkPermission(ns.rd, dst, false, actWrite, noCheck, noCheck, noCheck, false)
}

func isUnder(dst, src []string) bool {
	if len(dst) <= len(src) {
		return false
	}
	for i := range src {
		if src[i] != dst[i] {
			return false
		}
	}
	return true
}

// PrepareRenameOld checks the old rename (ClientProtocol.rename) and
// returns the op to log and the call's answer: a rename that HDFS answers
// false (missing source, existing destination, destination under the
// source...) returns nil, false; renaming a path onto itself returns nil,
// true. A destination that is a directory receives the source inside it.
func (ns *Namespace) PrepareRenameOld(c Call, src, dst string) (*editpb.Op, bool, error) {
	sr, pc, err := ns.prepare(c, src)
	if err != nil {
		return nil, false, err
	}
	dr, _, err := ns.prepare(c, dst)
	if err != nil {
		return nil, false, err
	}
	if isDir(dr.last()) && sr.last() != nil && len(sr.comps) > 0 {
		comps := append(append([]string(nil), dr.comps...), sr.comps[len(sr.comps)-1])
		if dr, err = resolve(ns.rd, comps); err != nil {
			return nil, false, err
		}
	}
	if err := ns.renamePerms(pc, sr, dr); err != nil {
		return nil, false, err
	}
	switch {
	case sr.last() == nil || len(sr.comps) == 0:
		return nil, false, nil
	case sr.path() == dr.path():
		return nil, true, nil
	case isUnder(dr.comps, sr.comps), len(dr.comps) == 0, dr.last() != nil:
		return nil, false, nil
	case !isDir(dr.inodes[len(dr.inodes)-2]):
		return nil, false, nil
	}
	if dr.inodes[len(dr.inodes)-2].Id != sr.last().ParentId {
		if err := ns.verifyFsLimits(dr); err != nil {
			return nil, false, err
		}
	}
	op := c.op()
	op.Body = &editpb.Op_RenameOld{RenameOld: &editpb.RenameOld{Src: sr.path(), Dst: dr.path(), Timestamp: c.Now}}
	return op, true, nil
}

// PrepareRename checks rename2 (FSDirRenameOp.renameTo with options) and
// returns the op to log. With overwrite an existing destination (a file, or
// an empty directory when the source is a directory) is replaced; Apply
// reports its blocks as removed.
func (ns *Namespace) PrepareRename(c Call, src, dst string, overwrite bool) (*editpb.Op, error) {
	sr, pc, err := ns.prepare(c, src)
	if err != nil {
		return nil, err
	}
	dr, _, err := ns.prepare(c, dst)
	if err != nil {
		return nil, err
	}
	if err := ns.renamePerms(pc, sr, dr); err != nil {
		return nil, err
	}
	s := sr.last()
	switch {
	case s == nil:
		return nil, rpc.Errorf(rpc.ErrFileNotFound, "rename source %s is not found.", src)
	case len(sr.comps) == 0:
		return nil, rpc.Errorf(rpc.ErrIO, "rename source cannot be the root")
	case sr.path() == dr.path():
		return nil, rpc.Errorf(rpc.ErrFileAlreadyExists, "The source %s and destination %s are the same", src, dst)
	case isUnder(dr.comps, sr.comps):
		return nil, rpc.Errorf(rpc.ErrIO, "Rename destination %s is a directory or file under source %s", dst, src)
	case len(dr.comps) == 0:
		return nil, rpc.Errorf(rpc.ErrIO, "rename destination cannot be the root")
	}
	if d := dr.last(); d != nil {
		if isDir(d) != isDir(s) {
			return nil, rpc.Errorf(rpc.ErrIO, "Source %s and destination %s must both be directories", src, dst)
		}
		if !overwrite {
			return nil, rpc.Errorf(rpc.ErrFileAlreadyExists, "rename destination %s already exists", dst)
		}
		if isDir(d) && d.Children > 0 {
			return nil, rpc.Errorf(rpc.ErrIO, "rename destination directory is not empty: %s", dst)
		}
		// Replacing dst removes it from its parent: the sticky bit of
		// that parent applies as for a delete.
		if err := pc.checkPermission(ns.rd, dr, false, noCheck, actWrite, noCheck, noCheck, false); err != nil {
			return nil, err
		}
	}
	dparent := dr.inodes[len(dr.inodes)-2]
	if dparent == nil {
		return nil, rpc.Errorf(rpc.ErrFileNotFound, "rename destination parent %s not found.", dst)
	}
	if !isDir(dparent) {
		return nil, rpc.Errorf(rpc.ErrParentNotDirectory, "rename destination parent %s is a file.", dst)
	}
	if dr.last() == nil && dparent.Id != s.ParentId {
		if err := ns.verifyFsLimits(dr); err != nil {
			return nil, err
		}
	}
	op := c.op()
	op.Body = &editpb.Op_Rename{Rename: &editpb.Rename{Src: sr.path(), Dst: dr.path(), Timestamp: c.Now, Overwrite: dr.last() != nil}}
	return op, nil
}

// existing resolves path for a setter and fails with Hadoop's
// FileNotFoundException text when it is missing.
func (ns *Namespace) existing(c Call, path, notFound string) (*resolved, *checker, error) {
	r, pc, err := ns.prepare(c, path)
	if err != nil {
		return nil, nil, err
	}
	if r.last() == nil {
		if notFound == "" {
			notFound = "File does not exist: %s"
		}
		return nil, nil, rpc.Errorf(rpc.ErrFileNotFound, notFound, path)
	}
	return r, pc, nil
}

// PrepareSetPermission checks setPermission (owner or superuser).
func (ns *Namespace) PrepareSetPermission(c Call, path string, mode uint32) (*editpb.Op, error) {
	r, pc, err := ns.existing(c, path, "")
	if err != nil {
		return nil, err
	}
	if err := pc.checkPermission(ns.rd, r, true, noCheck, noCheck, noCheck, noCheck, false); err != nil {
		return nil, err
	}
	op := c.op()
	op.Body = &editpb.Op_SetPermissions{SetPermissions: &editpb.SetPermissions{Path: r.path(), Mode: mode & 0o1777}}
	return op, nil
}

// PrepareSetOwner checks setOwner: the owner may change the group to one
// of its own groups; only a superuser may change the owner. An empty
// username or group leaves it unchanged.
func (ns *Namespace) PrepareSetOwner(c Call, path, username, group string) (*editpb.Op, error) {
	r, pc, err := ns.existing(c, path, "")
	if err != nil {
		return nil, err
	}
	if err := pc.checkPermission(ns.rd, r, true, noCheck, noCheck, noCheck, noCheck, false); err != nil {
		return nil, err
	}
	if pc.enabled() {
		if username != "" && username != c.User {
			return nil, rpc.Errorf(rpc.ErrAccessControl, "User %s is not a super user (non-super user cannot change owner).", c.User)
		}
		if group != "" && !pc.memberOf(group) {
			return nil, rpc.Errorf(rpc.ErrAccessControl, "User %s does not belong to %s", c.User, group)
		}
	}
	op := c.op()
	op.Body = &editpb.Op_SetOwner{SetOwner: &editpb.SetOwner{Path: r.path(), Username: username, Groupname: group}}
	return op, nil
}

// PrepareSetTimes checks setTimes (WRITE on the inode); -1 leaves a time
// unchanged.
func (ns *Namespace) PrepareSetTimes(c Call, path string, mtime, atime int64) (*editpb.Op, error) {
	r, pc, err := ns.existing(c, path, "File/Directory %s does not exist.")
	if err != nil {
		return nil, err
	}
	if err := pc.checkPermission(ns.rd, r, false, noCheck, noCheck, actWrite, noCheck, false); err != nil {
		return nil, err
	}
	op := c.op()
	op.Body = &editpb.Op_Times{Times: &editpb.Times{Path: r.path(), Mtime: mtime, Atime: atime}}
	return op, nil
}

// PrepareSetReplication checks setReplication (WRITE on the file) and
// returns the op and the call's answer: false without an op for a missing
// path or a directory.
func (ns *Namespace) PrepareSetReplication(c Call, path string, repl uint32) (*editpb.Op, bool, error) {
	if err := ns.verifyReplication(path, repl); err != nil {
		return nil, false, err
	}
	r, pc, err := ns.prepare(c, path)
	if err != nil {
		return nil, false, err
	}
	if err := pc.checkPermission(ns.rd, r, false, noCheck, noCheck, actWrite, noCheck, false); err != nil {
		return nil, false, err
	}
	if !isFile(r.last()) {
		return nil, false, nil
	}
	op := c.op()
	op.Body = &editpb.Op_SetReplication{SetReplication: &editpb.SetReplication{Path: r.path(), Replication: repl}}
	return op, true, nil
}

// XAttrSetFlag is Hadoop's XAttrSetFlag bit set.
type XAttrSetFlag uint32

const (
	XAttrCreate  XAttrSetFlag = 1
	XAttrReplace XAttrSetFlag = 2
)

// xattrChangeAccess follows FSDirXAttrOp.checkXAttrChangeAccess: user
// xattrs of a sticky directory belong to its owner; otherwise WRITE.
func (ns *Namespace) xattrChangeAccess(pc *checker, r *resolved, x *editpb.XAttr) error {
	n := r.last()
	if x.Namespace == editpb.XAttrNamespace_USER && isDir(n) && n.GetPerm().GetMode()&stickyBit != 0 {
		return pc.checkPermission(ns.rd, r, true, noCheck, noCheck, noCheck, noCheck, false)
	}
	return pc.checkPermission(ns.rd, r, false, noCheck, noCheck, actWrite, noCheck, false)
}

// PrepareSetXAttr checks setXAttr, including the CREATE/REPLACE flag
// rules and the per-inode count and size limits.
func (ns *Namespace) PrepareSetXAttr(c Call, path string, x *editpb.XAttr, flag XAttrSetFlag) (*editpb.Op, error) {
	r, pc, err := ns.prepare(c, path)
	if err != nil {
		return nil, err
	}
	if err := pc.checkXAttrAPI(x, false); err != nil {
		return nil, err
	}
	if r.last() == nil {
		return nil, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", path)
	}
	if err := ns.xattrChangeAccess(pc, r, x); err != nil {
		return nil, err
	}
	name := XAttrName(x)
	if size := len(name) + len(x.Value); ns.opts.Limits.MaxXAttrSize > 0 && size > ns.opts.Limits.MaxXAttrSize {
		return nil, rpc.Errorf(rpc.ErrIllegalArgument, "The XAttr is too big. The maximum combined size of the name and value is %d, but the total size is %d", ns.opts.Limits.MaxXAttrSize, size)
	}
	all, err := xattrsOf(ns.rd, r.last().Id)
	if err != nil {
		return nil, err
	}
	exists, userVisible := false, 0
	for _, o := range all {
		if o.Namespace == x.Namespace && o.Name == x.Name {
			exists = true
		}
		if o.Namespace == editpb.XAttrNamespace_USER || o.Namespace == editpb.XAttrNamespace_TRUSTED {
			userVisible++
		}
	}
	if exists && flag&XAttrReplace == 0 {
		return nil, rpc.Errorf(rpc.ErrIO, "XAttr: %s already exists. The REPLACE flag must be specified.", name)
	}
	if !exists && flag&XAttrCreate == 0 {
		return nil, rpc.Errorf(rpc.ErrIO, "XAttr: %s does not exist. The CREATE flag must be specified.", name)
	}
	if !exists && ns.opts.Limits.MaxXAttrsPerINode > 0 && userVisible >= ns.opts.Limits.MaxXAttrsPerINode &&
		(x.Namespace == editpb.XAttrNamespace_USER || x.Namespace == editpb.XAttrNamespace_TRUSTED) {
		return nil, rpc.Errorf(rpc.ErrIO, "Cannot add additional XAttr to inode, would exceed limit of %d", ns.opts.Limits.MaxXAttrsPerINode)
	}
	op := c.op()
	op.Body = &editpb.Op_SetXattr{SetXattr: &editpb.SetXAttr{Path: r.path(), Xattrs: []*editpb.XAttr{
		{Namespace: x.Namespace, Name: x.Name, Value: x.Value},
	}}}
	return op, nil
}

// PrepareRemoveXAttr checks removeXAttr.
func (ns *Namespace) PrepareRemoveXAttr(c Call, path string, x *editpb.XAttr) (*editpb.Op, error) {
	r, pc, err := ns.prepare(c, path)
	if err != nil {
		return nil, err
	}
	if err := pc.checkXAttrAPI(x, false); err != nil {
		return nil, err
	}
	if r.last() == nil {
		return nil, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", path)
	}
	if err := ns.xattrChangeAccess(pc, r, x); err != nil {
		return nil, err
	}
	all, err := xattrsOf(ns.rd, r.last().Id)
	if err != nil {
		return nil, err
	}
	for _, o := range all {
		if o.Namespace == x.Namespace && o.Name == x.Name {
			op := c.op()
			op.Body = &editpb.Op_RemoveXattr{RemoveXattr: &editpb.RemoveXAttr{Path: r.path(), Xattrs: []*editpb.XAttr{
				{Namespace: x.Namespace, Name: x.Name},
			}}}
			return op, nil
		}
	}
	return nil, rpc.Errorf(rpc.ErrIO, "No matching attributes found for remove operation")
}
