package fsck

import (
	"context"

	"github.com/hdfsha/hdfsha/namenode/namespace"
)

// DefaultPageSize is how many directory entries NamespaceWalker reads under
// one read lock: dfs.ls.limit's default, the page getListing serves.
const DefaultPageSize = 1000

// NamespaceWalker implements Namespace over the NameNode's
// *namespace.Namespace.
//
// Read must run fn under the namesystem read lock with the current
// namespace and return fn's error, or return an error without running fn
// when the NameNode may not serve reads (a StandbyException, a failed
// NameNode): namespace reads are consistent only under that lock. The walker
// takes it once per Stat, per page of a listing and per block lookup, never
// across a whole walk, so a long fsck does not hold writers off (as
// Hadoop's, which locks per getListing call).
type NamespaceWalker struct {
	Read     func(ctx context.Context, fn func(ns *namespace.Namespace) error) error
	PageSize int
}

var _ Namespace = (*NamespaceWalker)(nil)

func fileOf(s *namespace.FileStatus) File {
	f := File{
		Name:              s.Name,
		Dir:               s.Dir,
		Length:            s.Length,
		Replication:       s.Replication,
		UnderConstruction: s.UnderConstruction(),
	}
	for _, b := range s.Blocks {
		f.Blocks = append(f.Blocks, Block{ID: b.BlockId, GenStamp: b.GenStamp, NumBytes: b.NumBytes})
	}
	return f
}

// Stat implements Namespace (getFileInfo: traverse permission).
func (w *NamespaceWalker) Stat(ctx context.Context, user, path string) (*File, error) {
	var out *File
	err := w.Read(ctx, func(ns *namespace.Namespace) error {
		s, err := ns.GetFileInfo(user, path)
		if err != nil || s == nil {
			return err
		}
		f := fileOf(s)
		f.Name = ""
		out = &f
		return nil
	})
	return out, err
}

// List implements Namespace (getListing: READ_EXECUTE on the directory).
func (w *NamespaceWalker) List(ctx context.Context, user, dir, startAfter string) ([]File, bool, error) {
	limit := w.PageSize
	if limit <= 0 {
		limit = DefaultPageSize
	}
	var (
		out  []File
		more bool
	)
	err := w.Read(ctx, func(ns *namespace.Namespace) error {
		l, err := ns.List(user, dir, startAfter, limit)
		if err != nil || l == nil {
			return err
		}
		for _, s := range l.Entries {
			out = append(out, fileOf(s))
		}
		more = l.Remaining > 0
		return nil
	})
	return out, more, err
}

// FileOfBlock implements Namespace.
func (w *NamespaceWalker) FileOfBlock(ctx context.Context, blockID uint64) (string, error) {
	var p string
	err := w.Read(ctx, func(ns *namespace.Namespace) error {
		id, err := ns.BlockOwner(blockID)
		if err != nil || id == 0 {
			return err
		}
		p, err = ns.FullPath(id)
		return err
	})
	return p, err
}
