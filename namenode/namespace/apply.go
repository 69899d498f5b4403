package namespace

import (
	"fmt"
	"io"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/hdfsha/hdfsha/proto/editpb"
)

// Applied reports what an Apply changed that lives outside the namespace.
type Applied struct {
	// RemovedBlocks are blocks that left the namespace (deleted or
	// overwritten files, truncated or abandoned blocks): the block manager
	// forgets them and asks DataNodes to delete their replicas.
	RemovedBlocks []*editpb.Block
}

// Apply applies op as txid, which must be LastAppliedTxID()+1: a gap or a
// repeat is a broken invariant of the caller and panics. The op's changes
// and the new last applied txid are written in one Pebble batch without
// fsync (see doc.go: the working directory is disposable). An error wraps
// ErrCorrupt when the op does not fit the namespace, or is a storage error;
// either way nothing was applied and the NameNode must stop.
//
// Apply performs no permission or argument checks: those belong to Prepare,
// before the op was logged.
func (ns *Namespace) Apply(txid int64, op *editpb.Op) (Applied, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if !ns.m.formatted {
		return Applied{}, ErrNotFormatted
	}
	if txid != ns.m.lastTxID+1 {
		panic(fmt.Sprintf("namespace: apply txid %d after txid %d", txid, ns.m.lastTxID))
	}
	t := &txn{b: ns.db.NewIndexedBatch(), rd: ns.rd, m: ns.m}
	defer t.b.Close()
	if err := t.apply(op); err != nil {
		return Applied{}, fmt.Errorf("namespace: apply txid %d (%T): %w", txid, op.GetBody(), err)
	}
	t.m.lastTxID = txid
	if err := writeMeta(t.b, &t.m); err != nil {
		return Applied{}, err
	}
	if err := ns.commit(t.b, pebble.NoSync); err != nil {
		return Applied{}, fmt.Errorf("namespace: apply txid %d: commit: %w", txid, err)
	}
	ns.m = t.m
	return t.applied, nil
}

// txn is one Apply: an indexed batch (reads see its own writes) and the
// metadata it will commit.
type txn struct {
	// b holds the changes. Invariant: every write to b goes through Set
	// or Delete, so written names every key b changes.
	b *pebble.Batch
	// rd reads the committed store (through the read cache); a key not in
	// written reads the same there as in b.
	rd      cachedReader
	written map[string]struct{}
	m       meta
	applied Applied
}

// Get reads key as b would (the store with b's changes), going to b only
// for keys b wrote: an indexed batch's Get builds a full Pebble get
// iterator, the cache does not.
func (t *txn) Get(key []byte) ([]byte, io.Closer, error) {
	if t.rd.c != nil && cacheable(key) {
		if _, ok := t.written[string(key)]; !ok {
			return t.rd.Get(key)
		}
	}
	return t.b.Get(key)
}

func (t *txn) NewIter(o *pebble.IterOptions) (*pebble.Iterator, error) { return t.b.NewIter(o) }

func (t *txn) note(key []byte) {
	if t.written == nil {
		t.written = make(map[string]struct{})
	}
	t.written[string(key)] = struct{}{}
}

func (t *txn) Set(key, value []byte, o *pebble.WriteOptions) error {
	t.note(key)
	return t.b.Set(key, value, o)
}

func (t *txn) Delete(key []byte, o *pebble.WriteOptions) error {
	t.note(key)
	return t.b.Delete(key, o)
}

func (t *txn) apply(op *editpb.Op) error {
	switch body := op.GetBody().(type) {
	case *editpb.Op_Mkdir:
		return t.mkdir(body.Mkdir)
	case *editpb.Op_Add:
		return t.add(body.Add)
	case *editpb.Op_Close:
		return t.close(body.Close)
	case *editpb.Op_AddBlock:
		return t.addBlock(body.AddBlock)
	case *editpb.Op_UpdateBlocks:
		return t.updateFile(body.UpdateBlocks.Path, func(n *editpb.INode) error {
			return t.setBlocks(n, body.UpdateBlocks.Blocks)
		})
	case *editpb.Op_Delete:
		return t.delete(body.Delete)
	case *editpb.Op_RenameOld:
		return t.rename(body.RenameOld.Src, body.RenameOld.Dst, body.RenameOld.Timestamp, false)
	case *editpb.Op_Rename:
		return t.rename(body.Rename.Src, body.Rename.Dst, body.Rename.Timestamp, body.Rename.Overwrite)
	case *editpb.Op_SetPermissions:
		return t.update(body.SetPermissions.Path, func(n *editpb.INode) error {
			n.Perm.Mode = body.SetPermissions.Mode
			return nil
		})
	case *editpb.Op_SetOwner:
		return t.update(body.SetOwner.Path, func(n *editpb.INode) error {
			if body.SetOwner.Username != "" {
				n.Perm.Owner = body.SetOwner.Username
			}
			if body.SetOwner.Groupname != "" {
				n.Perm.Group = body.SetOwner.Groupname
			}
			return nil
		})
	case *editpb.Op_Times:
		return t.update(body.Times.Path, func(n *editpb.INode) error {
			if body.Times.Mtime != -1 {
				n.Mtime = body.Times.Mtime
			}
			if body.Times.Atime != -1 {
				n.Atime = body.Times.Atime
			}
			return nil
		})
	case *editpb.Op_SetReplication:
		return t.updateFile(body.SetReplication.Path, func(n *editpb.INode) error {
			n.Replication = body.SetReplication.Replication
			return nil
		})
	case *editpb.Op_SetXattr:
		return t.xattrs(body.SetXattr.Path, body.SetXattr.Xattrs, true)
	case *editpb.Op_RemoveXattr:
		return t.xattrs(body.RemoveXattr.Path, body.RemoveXattr.Xattrs, false)
	case *editpb.Op_Truncate:
		tr := body.Truncate
		return t.updateFile(tr.Path, func(n *editpb.INode) error {
			if err := t.setBlocks(n, tr.Blocks); err != nil {
				return err
			}
			n.Mtime = tr.Timestamp
			if tr.UnderConstruction {
				n.ClientName, n.ClientMachine = tr.ClientName, tr.ClientMachine
			}
			return nil
		})
	case *editpb.Op_Append:
		return t.updateFile(body.Append.Path, func(n *editpb.INode) error {
			n.ClientName, n.ClientMachine = body.Append.ClientName, body.Append.ClientMachine
			return nil
		})
	case *editpb.Op_ReassignLease:
		return t.updateFile(body.ReassignLease.Path, func(n *editpb.INode) error {
			n.ClientName = body.ReassignLease.NewHolder
			return nil
		})
	case *editpb.Op_SetGenstampV2:
		t.m.genStamp = max(t.m.genStamp, body.SetGenstampV2.GenStamp)
		return nil
	case *editpb.Op_AllocateBlockId:
		t.m.lastBlockID = max(t.m.lastBlockID, body.AllocateBlockId.BlockId)
		return nil
	case *editpb.Op_StartLogSegment, *editpb.Op_EndLogSegment:
		return nil
	default:
		return corruptf("unknown op %T", body)
	}
}

// resolveExisting returns the inode of path and its parent (nil for the
// root), or a corruption error when it is missing.
func (t *txn) resolveExisting(path string) (n, parent *editpb.INode, err error) {
	comps, err := splitPath(path)
	if err != nil {
		return nil, nil, corruptf("op path %q: %v", path, err)
	}
	r, err := resolve(t, comps)
	if err != nil {
		return nil, nil, corruptf("op path %q: %v", path, err)
	}
	if r.last() == nil {
		return nil, nil, corruptf("op path %q does not exist", path)
	}
	if len(r.inodes) > 1 {
		parent = r.inodes[len(r.inodes)-2]
	}
	return r.last(), parent, nil
}

func (t *txn) update(path string, fn func(n *editpb.INode) error) error {
	n, _, err := t.resolveExisting(path)
	if err != nil {
		return err
	}
	wasOpen := isFile(n) && n.ClientName != ""
	if err := fn(n); err != nil {
		return err
	}
	return putINode(t, n, wasOpen)
}

func (t *txn) updateFile(path string, fn func(n *editpb.INode) error) error {
	return t.update(path, func(n *editpb.INode) error {
		if !isFile(n) {
			return corruptf("op path %q is not a file", path)
		}
		return fn(n)
	})
}

// addChild links child under the directory parentID (bumping its entry
// count and setting its mtime) and writes child. stored says child is
// already in the store (a rename moves it) rather than new.
func (t *txn) addChild(parentID uint64, child *editpb.INode, mtime int64, stored bool) error {
	parent, err := getINode(t, parentID)
	if err != nil {
		return err
	}
	if !isDir(parent) {
		return corruptf("parent %d of %q is not a directory", parentID, child.Name)
	}
	if id, err := lookup(t, parentID, child.Name); err != nil {
		return err
	} else if id != 0 {
		return corruptf("%q already exists in inode %d", child.Name, parentID)
	}
	child.ParentId = parentID
	parent.Children++
	parent.Mtime = mtime
	if err := putINode(t, parent, false); err != nil {
		return err
	}
	if err := t.Set(direntKey(parentID, child.Name), u64(child.Id), nil); err != nil {
		return err
	}
	t.m.lastINodeID = max(t.m.lastINodeID, child.Id)
	return putINode(t, child, stored && isFile(child) && child.ClientName != "")
}

// unlinkChild removes the entry of child from its parent and sets the
// parent's mtime; the child inode itself is left alone.
func (t *txn) unlinkChild(child *editpb.INode, mtime int64) error {
	parent, err := getINode(t, child.ParentId)
	if err != nil {
		return err
	}
	if parent == nil {
		return corruptf("parent %d of inode %d missing", child.ParentId, child.Id)
	}
	parent.Children--
	parent.Mtime = mtime
	if err := putINode(t, parent, false); err != nil {
		return err
	}
	return t.Delete(direntKey(child.ParentId, child.Name), nil)
}

// createAncestors creates the missing ancestors of comps' last component
// with ids and perm and returns the id of the last component's parent.
func (t *txn) createAncestors(path string, comps []string, ids []uint64, perm *editpb.Permission, ts int64) (uint64, error) {
	if len(comps) == 0 {
		return 0, corruptf("op path %q is the root", path)
	}
	r, err := resolve(t, comps[:len(comps)-1])
	if err != nil {
		return 0, corruptf("op path %q: %v", path, err)
	}
	i := r.lastExisting()
	missing := comps[i : len(comps)-1]
	if len(missing) != len(ids) {
		return 0, corruptf("op path %q misses %d ancestors, op creates %d", path, len(missing), len(ids))
	}
	parent := r.inodes[i].Id
	for j, name := range missing {
		d := newDir(ids[j], name, perm, ts)
		if err := t.addChild(parent, d, ts, false); err != nil {
			return 0, err
		}
		t.m.dirs++
		parent = d.Id
	}
	return parent, nil
}

func newDir(id uint64, name string, perm *editpb.Permission, ts int64) *editpb.INode {
	return &editpb.INode{
		Id:    id,
		Type:  editpb.INodeType_DIRECTORY,
		Name:  name,
		Perm:  clonePerm(perm),
		Mtime: ts,
		Atime: ts,
	}
}

func clonePerm(p *editpb.Permission) *editpb.Permission {
	return &editpb.Permission{Mode: p.GetMode(), Owner: p.GetOwner(), Group: p.GetGroup()}
}

func (t *txn) mkdir(m *editpb.Mkdir) error {
	comps, err := splitPath(m.Path)
	if err != nil {
		return corruptf("op path %q: %v", m.Path, err)
	}
	parent, err := t.createAncestors(m.Path, comps, m.ParentInodeIds, m.ParentPerm, m.Timestamp)
	if err != nil {
		return err
	}
	if err := t.addChild(parent, newDir(m.InodeId, comps[len(comps)-1], m.Perm, m.Timestamp), m.Timestamp, false); err != nil {
		return err
	}
	t.m.dirs++
	return nil
}

func (t *txn) add(a *editpb.Add) error {
	comps, err := splitPath(a.Path)
	if err != nil {
		return corruptf("op path %q: %v", a.Path, err)
	}
	parent, err := t.createAncestors(a.Path, comps, a.ParentInodeIds, a.ParentPerm, a.Mtime)
	if err != nil {
		return err
	}
	name := comps[len(comps)-1]
	if id, err := lookup(t, parent, name); err != nil {
		return err
	} else if id != 0 {
		old, err := getINode(t, id)
		if err != nil {
			return err
		}
		if !a.Overwrite || !isFile(old) {
			return corruptf("op path %q exists", a.Path)
		}
		if err := t.removeSubtree(old, a.Mtime); err != nil {
			return err
		}
	}
	f := &editpb.INode{
		Id:                 a.InodeId,
		Type:               editpb.INodeType_FILE,
		Name:               name,
		Perm:               clonePerm(a.Perm),
		Mtime:              a.Mtime,
		Atime:              a.Atime,
		Replication:        a.Replication,
		PreferredBlockSize: a.PreferredBlockSize,
		ClientName:         a.ClientName,
		ClientMachine:      a.ClientMachine,
		StoragePolicyId:    a.StoragePolicyId,
	}
	if err := t.addChild(parent, f, a.Mtime, false); err != nil {
		return err
	}
	t.m.files++
	return nil
}

func (t *txn) close(c *editpb.Close) error {
	return t.updateFile(c.Path, func(n *editpb.INode) error {
		if err := t.setBlocks(n, c.Blocks); err != nil {
			return err
		}
		n.Mtime, n.Atime = c.Mtime, c.Atime
		n.ClientName, n.ClientMachine = "", ""
		return nil
	})
}

func (t *txn) addBlock(a *editpb.AddBlock) error {
	return t.updateFile(a.Path, func(n *editpb.INode) error {
		blocks := append([]*editpb.Block(nil), n.Blocks...)
		if p := a.PenultimateBlock; p != nil {
			if len(blocks) == 0 || blocks[len(blocks)-1].BlockId != p.BlockId {
				return corruptf("add block to %q: penultimate block %d is not the last block", a.Path, p.BlockId)
			}
			blocks[len(blocks)-1] = p
		}
		if a.LastBlock == nil {
			return corruptf("add block to %q without a block", a.Path)
		}
		blocks = append(blocks, a.LastBlock)
		t.m.lastBlockID = max(t.m.lastBlockID, a.LastBlock.BlockId)
		t.m.genStamp = max(t.m.genStamp, a.LastBlock.GenStamp)
		return t.setBlocks(n, blocks)
	})
}

// setBlocks replaces the block list of file n, keeping the block map in
// step and reporting blocks that left it.
func (t *txn) setBlocks(n *editpb.INode, blocks []*editpb.Block) error {
	keep := make(map[uint64]bool, len(blocks))
	for _, b := range blocks {
		keep[b.BlockId] = true
	}
	for _, b := range n.Blocks {
		if !keep[b.BlockId] {
			if err := t.Delete(blockKey(b.BlockId), nil); err != nil {
				return err
			}
			t.applied.RemovedBlocks = append(t.applied.RemovedBlocks, b)
		}
	}
	out := make([]*editpb.Block, len(blocks))
	for i, b := range blocks {
		if err := t.Set(blockKey(b.BlockId), u64(n.Id), nil); err != nil {
			return err
		}
		out[i] = &editpb.Block{BlockId: b.BlockId, GenStamp: b.GenStamp, NumBytes: b.NumBytes}
	}
	n.Blocks = out
	return nil
}

func (t *txn) delete(d *editpb.Delete) error {
	n, _, err := t.resolveExisting(d.Path)
	if err != nil {
		return err
	}
	if n.Id == RootINodeID {
		return corruptf("delete of the root")
	}
	return t.removeSubtree(n, d.Timestamp)
}

// removeSubtree unlinks n from its parent and deletes n and everything
// below it: inodes, entries, xattrs and block map entries.
func (t *txn) removeSubtree(n *editpb.INode, mtime int64) error {
	if err := t.unlinkChild(n, mtime); err != nil {
		return err
	}
	return t.destroy(n)
}

// destroy removes n and everything below it. It deletes key by key and
// never with DeleteRange: every iterator opened on an indexed batch
// fragments all the range tombstones the batch holds, so one range delete
// per directory made a recursive delete quadratic in the subtree size
// (45 s under the namesystem lock for 5,000 directories).
func (t *txn) destroy(n *editpb.INode) error {
	if isDir(n) {
		type entry struct {
			name string
			id   uint64
		}
		var children []entry
		if err := forEachChild(t, n.Id, "", func(name string, id uint64) (bool, error) {
			children = append(children, entry{name, id})
			return true, nil
		}); err != nil {
			return err
		}
		for _, e := range children {
			c, err := getINode(t, e.id)
			if err != nil {
				return err
			}
			if c == nil {
				return corruptf("entry of inode %d names missing inode %d", n.Id, e.id)
			}
			if err := t.destroy(c); err != nil {
				return err
			}
			if err := t.Delete(direntKey(n.Id, e.name), nil); err != nil {
				return err
			}
		}
		t.m.dirs--
	} else {
		for _, b := range n.Blocks {
			if err := t.Delete(blockKey(b.BlockId), nil); err != nil {
				return err
			}
			t.applied.RemovedBlocks = append(t.applied.RemovedBlocks, b)
		}
		t.m.files--
	}
	if err := t.deletePrefix(xattrPrefix(n.Id)); err != nil {
		return err
	}
	if isFile(n) && n.ClientName != "" {
		if err := t.Delete(openKey(n.Id), nil); err != nil {
			return err
		}
	}
	return t.Delete(inodeKey(n.Id), nil)
}

// deletePrefix point-deletes every key under p (see destroy for why not
// DeleteRange).
func (t *txn) deletePrefix(p []byte) error {
	it, err := t.b.NewIter(iterPrefix(p))
	if err != nil {
		return err
	}
	var keys [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		keys = append(keys, append([]byte(nil), it.Key()...))
	}
	if err := it.Close(); err != nil {
		return err
	}
	for _, k := range keys {
		if err := t.Delete(k, nil); err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) rename(src, dst string, ts int64, overwrite bool) error {
	n, _, err := t.resolveExisting(src)
	if err != nil {
		return err
	}
	if n.Id == RootINodeID || strings.HasPrefix(dst+"/", src+"/") {
		return corruptf("rename %q to %q", src, dst)
	}
	dcomps, err := splitPath(dst)
	if err != nil || len(dcomps) == 0 {
		return corruptf("rename destination %q", dst)
	}
	r, err := resolve(t, dcomps)
	if err != nil {
		return corruptf("rename destination %q: %v", dst, err)
	}
	dparent := r.inodes[len(r.inodes)-2]
	if !isDir(dparent) {
		return corruptf("rename destination parent of %q missing", dst)
	}
	if old := r.last(); old != nil {
		if !overwrite {
			return corruptf("rename destination %q exists", dst)
		}
		if err := t.removeSubtree(old, ts); err != nil {
			return err
		}
	}
	if err := t.unlinkChild(n, ts); err != nil {
		return err
	}
	n.Name = dcomps[len(dcomps)-1]
	return t.addChild(dparent.Id, n, ts, true)
}

func (t *txn) xattrs(path string, xs []*editpb.XAttr, set bool) error {
	n, _, err := t.resolveExisting(path)
	if err != nil {
		return err
	}
	for _, x := range xs {
		k := xattrKey(n.Id, byte(x.Namespace), x.Name)
		if set {
			err = t.Set(k, x.Value, nil)
		} else {
			err = t.Delete(k, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
