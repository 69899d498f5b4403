package namespace

import "encoding/binary"

// ForEachFileWithBlocks calls fn once with the status of every file that
// has blocks, in the order of the block map's smallest block id per file.
// The block manager loads its block map from it at startup. The caller
// holds the namesystem lock (no Apply runs meanwhile).
func (ns *Namespace) ForEachFileWithBlocks(fn func(s *FileStatus) error) error {
	it, err := ns.db.NewIter(iterPrefix([]byte{prefixBlock}))
	if err != nil {
		return err
	}
	defer it.Close()
	seen := make(map[uint64]struct{})
	for ok := it.First(); ok; ok = it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != 9 || len(v) != 8 {
			return corruptf("block key %x (%d bytes) holds %d bytes", k, len(k), len(v))
		}
		id := binary.BigEndian.Uint64(v)
		if _, ok := seen[id]; ok {
			continue
		}
		seen[id] = struct{}{}
		n, err := getINode(ns.rd, id)
		if err != nil {
			return err
		}
		if n == nil || !isFile(n) {
			return corruptf("block %x names inode %d, which is not a file", k[1:], id)
		}
		if err := fn(statusOf(n)); err != nil {
			return err
		}
	}
	return nil
}
