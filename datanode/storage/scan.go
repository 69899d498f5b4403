package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"strings"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/vfs"
)

// fileSet groups the block and meta files of one directory by block id.
type fileSet struct {
	data map[uint64]string            // id → path of blk_<id>
	meta map[uint64]map[uint64]string // id → gs → path of blk_<id>_<gs>.meta
}

func newFileSet() *fileSet {
	return &fileSet{data: map[uint64]string{}, meta: map[uint64]map[uint64]string{}}
}

func (fs *fileSet) add(dir, name string) bool {
	if id, ok := parseBlockFileName(name); ok {
		fs.data[id] = vfs.Join(dir, name)
		return true
	}
	if id, gs, ok := parseMetaFileName(name); ok {
		if fs.meta[id] == nil {
			fs.meta[id] = map[uint64]string{}
		}
		fs.meta[id][gs] = vfs.Join(dir, name)
		return true
	}
	return false
}

// newestMeta picks the meta file with the highest generation stamp.
func (fs *fileSet) newestMeta(id uint64) (gs uint64, path string, ok bool) {
	for g, p := range fs.meta[id] {
		if !ok || g > gs {
			gs, path, ok = g, p, true
		}
	}
	return gs, path, ok
}

// listDir lists dir, treating a missing one as empty.
func (s *Store) listDir(dir string) ([]string, error) {
	names, err := s.fs.List(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return names, err
}

// walkFinalized collects the block files under finalized/, at any depth (a
// replica in the wrong subdir is still found, as Hadoop does).
func (s *Store) walkFinalized(dir string, fs *fileSet) error {
	names, err := s.listDir(dir)
	if err != nil {
		return err
	}
	for _, name := range names {
		if fs.add(dir, name) {
			continue
		}
		if strings.HasPrefix(name, subdirPrefix) {
			p := vfs.Join(dir, name)
			fi, err := s.fs.Stat(p)
			if err != nil {
				return err
			}
			if fi.IsDir() {
				if err := s.walkFinalized(p, fs); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// loadBlockPool scans one block pool of one volume into the replica map.
// Order matters: finalized/ first (completing moves that a crash
// interrupted, whose data file is still in rbw/ or tmp/), then tmp/ is
// emptied, then rbw/ is loaded as RWR.
func (s *Store) loadBlockPool(v *volume, bpid string) error {
	log := s.log.With(zap.String("dir", v.root), zap.String("bpid", bpid))
	fin := newFileSet()
	if err := s.walkFinalized(finalizedRoot(v.root, bpid), fin); err != nil {
		return fmt.Errorf("scanning %s: %w", finalizedRoot(v.root, bpid), err)
	}
	rbw, tmp := newFileSet(), newFileSet()
	for _, d := range []struct {
		dir string
		set *fileSet
	}{{rbwDir(v.root, bpid), rbw}, {tmpDir(v.root, bpid), tmp}} {
		names, err := s.listDir(d.dir)
		if err != nil {
			return fmt.Errorf("scanning %s: %w", d.dir, err)
		}
		for _, n := range names {
			d.set.add(d.dir, n)
		}
	}

	var found []*replicaInfo
	for id := range fin.meta {
		gs, metaPath, _ := fin.newestMeta(id)
		for g, p := range fin.meta[id] {
			if g != gs {
				log.Warn("ignoring stale meta file beside a newer one", zap.String("file", p))
			}
		}
		dataPath, ok := fin.data[id]
		if !ok {
			// A crash between the two renames of Finalize (meta first) or
			// Append (data first) leaves the data file, fsynced, in rbw/ or
			// tmp/ without a meta file beside it: finish the move.
			for _, src := range []*fileSet{rbw, tmp} {
				p, ok := src.data[id]
				if !ok || len(src.meta[id]) > 0 {
					continue
				}
				dataPath = vfs.Join(vfs.Dir(metaPath), BlockFileName(id))
				if err := s.fs.Rename(p, dataPath); err != nil {
					return fmt.Errorf("completing interrupted move of %s: %w", p, err)
				}
				if err := s.fs.SyncDir(vfs.Dir(dataPath)); err != nil {
					return err
				}
				if err := s.fs.SyncDir(vfs.Dir(p)); err != nil {
					return err
				}
				delete(src.data, id)
				log.Info("completed an interrupted replica move", zap.String("from", p), zap.String("to", dataPath))
				break
			}
			if dataPath == "" {
				log.Warn("ignoring a finalized meta file without its block file", zap.String("file", metaPath))
				continue
			}
		}
		r, err := s.checkFinalized(v, bpid, id, gs, dataPath, metaPath)
		if err != nil {
			log.Warn("ignoring a torn finalized replica", zap.String("file", dataPath), zap.Error(err))
			continue
		}
		found = append(found, r)
	}
	for id, p := range fin.data {
		if len(fin.meta[id]) == 0 {
			log.Warn("ignoring a finalized block file without its meta file", zap.String("file", p))
		}
	}

	// tmp/ holds transfers that never finished: Hadoop drops them.
	for _, p := range tmp.data {
		if err := s.removeFiles(p); err != nil {
			return fmt.Errorf("cleaning %s: %w", p, err)
		}
	}
	for _, m := range tmp.meta {
		for _, p := range m {
			if err := s.removeFiles(p); err != nil {
				return fmt.Errorf("cleaning %s: %w", p, err)
			}
		}
	}
	if n := len(tmp.data); n > 0 {
		log.Info("removed unfinished transfers from tmp/", zap.Int("replicas", n))
	}

	for id, dataPath := range rbw.data {
		gs, metaPath, ok := rbw.newestMeta(id)
		if !ok {
			log.Warn("ignoring an rbw block file without its meta file", zap.String("file", dataPath))
			continue
		}
		r, err := s.recoverRbwFiles(v, bpid, id, gs, dataPath, metaPath, log)
		if err != nil {
			log.Warn("ignoring a torn rbw replica", zap.String("file", dataPath), zap.Error(err))
			continue
		}
		found = append(found, r)
	}
	for id, m := range rbw.meta {
		if _, ok := rbw.data[id]; !ok {
			for _, p := range m {
				log.Warn("ignoring an rbw meta file without its block file", zap.String("file", p))
			}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.poolLocked(bpid)
	for _, r := range found {
		old := p.replicas[r.id]
		if old == nil {
			p.replicas[r.id] = r
			continue
		}
		keep, drop := r, old
		if !better(r, old) {
			keep, drop = old, r
		}
		log.Warn("duplicate replica; deleting the older one", zap.String("kept", keep.snapshot().String()),
			zap.String("deleted", drop.snapshot().String()))
		if err := s.removeFiles(drop.dataPath, drop.metaPath); err != nil {
			log.Warn("deleting duplicate replica", zap.Error(err))
		}
		p.replicas[r.id] = keep
	}
	return nil
}

// better says whether replica a should win over b when both are on disk:
// the higher generation stamp, then finalized over not, then the longer.
func better(a, b *replicaInfo) bool {
	if a.gs != b.gs {
		return a.gs > b.gs
	}
	if (a.state == StateFinalized) != (b.state == StateFinalized) {
		return a.state == StateFinalized
	}
	return a.numBytes > b.numBytes
}

// readMetaHeader reads and parses the header of a meta file and returns its
// size too.
func (s *Store) readMetaHeader(metaPath string) (Checksum, int64, error) {
	f, err := s.fs.Open(metaPath)
	if err != nil {
		return Checksum{}, 0, err
	}
	defer f.Close()
	hdr := make([]byte, MetaHeaderSize)
	if err := readFull(f, hdr, 0); err != nil {
		return Checksum{}, 0, fmt.Errorf("reading meta header: %w", err)
	}
	cs, err := DecodeMetaHeader(hdr)
	if err != nil {
		return Checksum{}, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return Checksum{}, 0, err
	}
	return cs, fi.Size(), nil
}

// checkFinalized accepts a finalized replica whose meta file holds exactly
// the checksums its data needs. Finalized files are never repaired here.
func (s *Store) checkFinalized(v *volume, bpid string, id, gs uint64, dataPath, metaPath string) (*replicaInfo, error) {
	cs, metaLen, err := s.readMetaHeader(metaPath)
	if err != nil {
		return nil, err
	}
	fi, err := s.fs.Stat(dataPath)
	if err != nil {
		return nil, err
	}
	if want := cs.MetaLength(fi.Size()); metaLen != want {
		return nil, fmt.Errorf("meta file is %d bytes, a %d-byte block needs %d", metaLen, fi.Size(), want)
	}
	return &replicaInfo{
		bpid: bpid, id: id, gs: gs, state: StateFinalized, vol: v, numBytes: fi.Size(), bytesAcked: fi.Size(),
		cs: cs, dataPath: dataPath, metaPath: metaPath,
	}, nil
}

// recoverRbwFiles loads an rbw replica as RWR, trimming what a crash may
// have left unchecked. Unlike Hadoop's validateIntegrityAndSetLength, which
// checks only the last chunk, every chunk is verified (an rbw replica is at
// most one block, and only replicas being written at the crash are rbw):
// after a crash, unsynced bytes may read back as zeros anywhere past the
// last fsync. The valid length ends at the first chunk that does not match
// its stored checksum, keeping the longest prefix of that chunk which does
// (see validPrefix). Longer files are truncated to it.
func (s *Store) recoverRbwFiles(v *volume, bpid string, id, gs uint64, dataPath, metaPath string, log *zap.Logger) (*replicaInfo, error) {
	cs, metaLen, err := s.readMetaHeader(metaPath)
	if err != nil {
		return nil, err
	}
	fi, err := s.fs.Stat(dataPath)
	if err != nil {
		return nil, err
	}
	dataLen := fi.Size()
	valid := dataLen
	if cs.Size() > 0 {
		chunks := (metaLen - MetaHeaderSize) / int64(cs.Size())
		valid, err = s.validPrefix(cs, dataPath, metaPath, min(dataLen, chunks*int64(cs.BytesPerChecksum)))
		if err != nil {
			return nil, err
		}
	}
	if valid != dataLen || metaLen != cs.MetaLength(valid) {
		log.Info("truncating an rbw replica to its checksummed length", zap.String("file", dataPath),
			zap.Int64("dataBytes", dataLen), zap.Int64("validBytes", valid))
		if err := s.truncateFiles(cs, dataPath, metaPath, valid); err != nil {
			return nil, err
		}
	}
	return &replicaInfo{
		bpid: bpid, id: id, gs: gs, state: StateRWR, vol: v, numBytes: valid, bytesAcked: valid,
		cs: cs, dataPath: dataPath, metaPath: metaPath,
	}, nil
}

// validPrefix returns how many of the first n data bytes their stored
// checksums vouch for: all chunks up to the first mismatch, plus the
// longest prefix of that chunk whose checksum equals the stored one (a
// crash after a packet's data was written but before its checksum was
// leaves the previous, partial chunk's checksum in place, and that shorter
// prefix is data the pipeline may have acknowledged).
func (s *Store) validPrefix(cs Checksum, dataPath, metaPath string, n int64) (int64, error) {
	if n <= 0 {
		return 0, nil
	}
	df, err := s.fs.Open(dataPath)
	if err != nil {
		return 0, err
	}
	defer df.Close()
	mf, err := s.fs.Open(metaPath)
	if err != nil {
		return 0, err
	}
	defer mf.Close()
	bpc := int64(cs.BytesPerChecksum)
	per := max(1, (256<<10)/bpc)
	buf := make([]byte, per*bpc)
	sums := make([]byte, per*ChecksumSize)
	for off := int64(0); off < n; {
		k := min(int64(len(buf)), n-off)
		if err := readFull(df, buf[:k], off); err != nil {
			return 0, err
		}
		need := cs.Chunks(k) * ChecksumSize
		if err := readFull(mf, sums[:need], MetaHeaderSize+off/bpc*ChecksumSize); err != nil {
			return 0, err
		}
		bad := cs.VerifySums(buf[:k], sums[:need])
		if bad < 0 {
			off += k
			continue
		}
		start := int64(bad) * bpc
		chunk := buf[start:min(start+bpc, k)]
		want := binary.BigEndian.Uint32(sums[bad*ChecksumSize:])
		best, crc := 0, uint32(0)
		for i := range chunk {
			crc = crc32.Update(crc, cs.table(), chunk[i:i+1])
			if crc == want {
				best = i + 1
			}
		}
		return off + start + int64(best), nil
	}
	return n, nil
}

// truncateFiles cuts a replica to n bytes: the data file to n, the meta file
// to the checksums n needs, with the last partial chunk's checksum
// recomputed; both are fsynced.
func (s *Store) truncateFiles(cs Checksum, dataPath, metaPath string, n int64) error {
	df, err := s.fs.OpenReadWrite(dataPath)
	if err != nil {
		return err
	}
	defer df.Close()
	mf, err := s.fs.OpenReadWrite(metaPath)
	if err != nil {
		return err
	}
	defer mf.Close()
	if err := df.Truncate(n); err != nil {
		return err
	}
	if err := mf.Truncate(cs.MetaLength(n)); err != nil {
		return err
	}
	bpc := int64(cs.BytesPerChecksum)
	if cs.Size() > 0 && n%bpc != 0 {
		start := n / bpc * bpc
		buf := make([]byte, n-start)
		if err := readFull(df, buf, start); err != nil {
			return err
		}
		if _, err := mf.Seek(MetaHeaderSize+start/bpc*ChecksumSize, 0); err != nil {
			return err
		}
		if _, err := mf.Write(cs.AppendSums(nil, buf)); err != nil {
			return err
		}
	}
	if err := df.Sync(); err != nil {
		return err
	}
	return mf.Sync()
}
