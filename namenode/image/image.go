package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/namenode/namespace"
)

const (
	currentDir  = "current"
	imagePrefix = "fsimage_"
	tmpSuffix   = ".tmp"
	// purgeSuffix marks an image being removed by Purge.
	purgeSuffix = ".purge" + tmpSuffix
	// DefaultRetained is dfs.namenode.num.checkpoints.retained's default.
	DefaultRetained = 2
)

// Info names one image.
type Info struct {
	// TxID is the txid of the last edit the image holds.
	TxID int64
	// Path is the image directory, <nameDir>/current/fsimage_<txid>.
	Path string
}

// Name is the directory name of the image of txid: "fsimage_" and the txid
// zero-padded to 19 digits, as Hadoop names image files.
func Name(txid int64) string { return fmt.Sprintf("%s%019d", imagePrefix, txid) }

// parseName parses an image directory name; in-progress (".tmp") names are
// reported with tmp set.
func parseName(name string) (txid int64, tmp bool, ok bool) {
	rest, found := strings.CutPrefix(name, imagePrefix)
	if !found {
		return 0, false, false
	}
	rest, tmp = strings.CutSuffix(rest, tmpSuffix)
	if len(rest) != 19 {
		return 0, false, false
	}
	t, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || t < 0 {
		return 0, false, false
	}
	return t, tmp, true
}

// CurrentDir is where a name directory keeps its images.
func CurrentDir(nameDir string) string { return filepath.Join(nameDir, currentDir) }

// Path is the directory of the image of txid in nameDir.
func Path(nameDir string, txid int64) string {
	return filepath.Join(CurrentDir(nameDir), Name(txid))
}

// Save writes the image of ns at its current txid into nameDir and returns
// it. Apply may run concurrently (a standby's tailer does): the Pebble
// checkpoint and its txid stamp are taken under the lock Apply commits
// under, so the image holds exactly the txid it is named and stamped with,
// which may be newer than ns.LastAppliedTxID() was when Save was called.
// A caller that needs the image of one precise txid stops Apply first. Saving a txid that already has an image returns that
// image (after verifying it; a corrupt one is its corruption error) and
// writes nothing. ns must keep its store on the operating system's
// filesystem (Options.FS nil or vfs.Default): images are written with
// package os.
func Save(ns *namespace.Namespace, nameDir string, log *zap.Logger) (Info, error) {
	if log == nil {
		log = zap.NewNop()
	}
	cur := CurrentDir(nameDir)
	if err := mkdirAllDurable(cur); err != nil {
		return Info{}, err
	}
	txid := ns.LastAppliedTxID()
	if existing, ok, err := existingImage(nameDir, txid); ok || err != nil {
		return existing, err
	}
	tmp := filepath.Join(cur, Name(txid)+tmpSuffix)
	if err := os.RemoveAll(tmp); err != nil {
		return Info{}, fmt.Errorf("image: remove leftover %s: %w", tmp, err)
	}
	got, err := ns.Checkpoint(tmp)
	if err != nil {
		_ = os.RemoveAll(tmp)
		return Info{}, fmt.Errorf("image: save %s: %w", tmp, err)
	}
	if got != txid {
		// Apply ran concurrently; the image is of got, and its name says so.
		if existing, ok, err := existingImage(nameDir, got); ok || err != nil {
			_ = os.RemoveAll(tmp)
			return existing, err
		}
	}
	m, err := manifestOf(tmp, got)
	if err == nil {
		err = writeManifest(tmp, m)
	}
	if err == nil {
		err = publish(tmp, Path(nameDir, got))
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return Info{}, err
	}
	info := Info{TxID: got, Path: Path(nameDir, got)}
	log.Info("saved image", zap.String("image", info.Path), zap.Int64("txid", got), zap.Int("files", len(m.Files)))
	return info, nil
}

// existingImage returns the image of txid if it exists and verifies.
func existingImage(nameDir string, txid int64) (Info, bool, error) {
	p := Path(nameDir, txid)
	if _, err := os.Stat(p); err != nil {
		if os.IsNotExist(err) {
			return Info{}, false, nil
		}
		return Info{}, false, fmt.Errorf("image: %w", err)
	}
	info := Info{TxID: txid, Path: p}
	if err := Verify(info); err != nil {
		return Info{}, false, err
	}
	return info, true, nil
}

// manifestOf lists every file of dir with its size and SHA-256 and syncs
// each one, so that a manifest never describes bytes that are not durable.
func manifestOf(dir string, txid int64) (*manifest, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	m := &manifest{TxID: txid}
	for _, e := range ents {
		if e.Name() == ManifestName {
			continue
		}
		if !e.Type().IsRegular() || !validName(e.Name()) {
			return nil, fmt.Errorf("image: %s: unexpected entry %q in a checkpoint", dir, e.Name())
		}
		p := filepath.Join(dir, e.Name())
		if err := syncFile(p); err != nil {
			return nil, err
		}
		size, sum, err := hashFile(p)
		if err != nil {
			return nil, fmt.Errorf("image: %w", err)
		}
		m.Files = append(m.Files, fileEntry{Name: e.Name(), Size: size, SHA256: sum})
	}
	sort.Slice(m.Files, func(a, b int) bool { return m.Files[a].Name < m.Files[b].Name })
	return m, nil
}

func writeManifest(dir string, m *manifest) error {
	f, err := os.Create(filepath.Join(dir, ManifestName))
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	_, err = f.Write(m.encode())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("image: write manifest in %s: %w", dir, err)
	}
	return nil
}

// publish makes the complete tmp directory the image dst: fsync tmp (its
// entries), rename, fsync the parent (the rename).
func publish(tmp, dst string) error {
	if err := syncDir(tmp); err != nil {
		return err
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("%w: %s", ErrExists, dst)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("image: %w", err)
	}
	return syncDir(filepath.Dir(dst))
}

// List returns the images of nameDir, oldest first, without verifying
// them. In-progress (".tmp") directories are not images.
func List(nameDir string) ([]Info, error) {
	cur := CurrentDir(nameDir)
	ents, err := os.ReadDir(cur)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("image: %w", err)
	}
	var out []Info
	for _, e := range ents {
		txid, tmp, ok := parseName(e.Name())
		if !ok || tmp || !e.IsDir() {
			continue
		}
		out = append(out, Info{TxID: txid, Path: filepath.Join(cur, e.Name())})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].TxID < out[b].TxID })
	return out, nil
}

// Newest returns the image of nameDir with the highest txid, verified. If
// that image is corrupt, Newest returns its corruption error and does not
// fall back to an older image: starting from an older image would silently
// go back in time whenever the edits after it are gone, so an operator
// decides (removes the corrupt image, or restores it from another
// NameNode). ErrNoImage when there is none.
func Newest(nameDir string) (Info, error) {
	all, err := List(nameDir)
	if err != nil {
		return Info{}, err
	}
	if len(all) == 0 {
		return Info{}, fmt.Errorf("%w in %s", ErrNoImage, CurrentDir(nameDir))
	}
	info := all[len(all)-1]
	if err := Verify(info); err != nil {
		return Info{}, err
	}
	return info, nil
}

// Verify checks an image against its manifest: the manifest's own
// checksum, its txid against the directory name and the Pebble stamp, and
// every file's presence, size and SHA-256; a file the manifest does not
// list is corruption too. Errors name the image and the file.
func Verify(info Info) error {
	m, err := readManifest(info.Path)
	if err != nil {
		return err
	}
	if m.TxID != info.TxID {
		return corruptf(info.Path, ManifestName, "manifest says txid %d, expected %d", m.TxID, info.TxID)
	}
	ents, err := os.ReadDir(info.Path)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	listed := map[string]bool{ManifestName: true}
	for _, f := range m.Files {
		listed[f.Name] = true
	}
	for _, e := range ents {
		if !listed[e.Name()] {
			return corruptf(info.Path, e.Name(), "file not listed in the manifest")
		}
	}
	for _, f := range m.Files {
		p := filepath.Join(info.Path, f.Name)
		st, err := os.Stat(p)
		if err != nil {
			if os.IsNotExist(err) {
				return corruptf(info.Path, f.Name, "file is missing")
			}
			return fmt.Errorf("image: %w", err)
		}
		if !st.Mode().IsRegular() {
			return corruptf(info.Path, f.Name, "not a regular file")
		}
		if st.Size() != f.Size {
			return corruptf(info.Path, f.Name, "size %d, manifest says %d", st.Size(), f.Size)
		}
		size, sum, err := hashFile(p)
		if err != nil {
			return fmt.Errorf("image: %w", err)
		}
		if size != f.Size || sum != f.SHA256 {
			return corruptf(info.Path, f.Name, "checksum mismatch")
		}
	}
	stamp, err := namespace.CheckpointTxID(nil, info.Path)
	if err != nil {
		return corruptf(info.Path, "IMAGE_TXID", "unreadable txid stamp: %v", err)
	}
	if stamp != info.TxID {
		return corruptf(info.Path, "IMAGE_TXID", "stamped txid %d, expected %d", stamp, info.TxID)
	}
	return nil
}

// Load verifies the image and opens a copy of it in workDir (whatever
// workDir held is replaced; the image itself is never written).
func Load(info Info, workDir string, opts namespace.Options) (*namespace.Namespace, error) {
	if err := Verify(info); err != nil {
		return nil, err
	}
	return open(info, workDir, opts)
}

// LoadNewest is Newest then Load with one verification instead of two (a
// NameNode start): the image with the highest txid of nameDir, verified
// (its corruption error otherwise, never an older image), opened as a
// copy in workDir.
func LoadNewest(nameDir, workDir string, opts namespace.Options) (Info, *namespace.Namespace, error) {
	info, err := Newest(nameDir)
	if err != nil {
		return Info{}, nil, err
	}
	ns, err := open(info, workDir, opts)
	if err != nil {
		return Info{}, nil, err
	}
	return info, ns, nil
}

// open opens a copy of the verified image info in workDir.
func open(info Info, workDir string, opts namespace.Options) (*namespace.Namespace, error) {
	ns, err := namespace.OpenCheckpoint(info.Path, workDir, opts)
	if err != nil {
		if errors.Is(err, namespace.ErrCorrupt) {
			return nil, &CorruptionError{Image: info.Path, Reason: err.Error()}
		}
		return nil, fmt.Errorf("image: load %s: %w", info.Path, err)
	}
	return ns, nil
}

// Purge keeps the retain newest images of nameDir
// (dfs.namenode.num.checkpoints.retained, DefaultRetained) and removes the
// older ones, and removes in-progress directories that can no longer become
// the newest image (txid not above the newest image's). retain must be at
// least 1: Purge never removes every image.
func Purge(nameDir string, retain int) error {
	if retain < 1 {
		return fmt.Errorf("image: purge must retain at least one image, not %d", retain)
	}
	all, err := List(nameDir)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return nil
	}
	newest := all[len(all)-1].TxID
	var remove []string
	if len(all) > retain {
		for _, info := range all[:len(all)-retain] {
			remove = append(remove, info.Path)
		}
	}
	cur := CurrentDir(nameDir)
	ents, err := os.ReadDir(cur)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	for _, e := range ents {
		if txid, tmp, ok := parseName(e.Name()); ok && tmp && txid <= newest || strings.HasSuffix(e.Name(), purgeSuffix) {
			remove = append(remove, filepath.Join(cur, e.Name()))
		}
	}
	if len(remove) == 0 {
		return nil
	}
	for _, p := range remove {
		// Rename first so that a crash halfway never leaves a partial
		// directory under an image's name.
		gone := p + purgeSuffix
		if !strings.HasSuffix(p, tmpSuffix) {
			if err := os.Rename(p, gone); err != nil {
				return fmt.Errorf("image: purge: %w", err)
			}
			p = gone
		}
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("image: purge: %w", err)
		}
	}
	return syncDir(cur)
}

func syncFile(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("image: sync %s: %w", p, err)
	}
	return nil
}

func syncDir(dir string) error {
	if err := vfs.Default.SyncDir(dir); err != nil {
		return fmt.Errorf("image: sync dir %s: %w", dir, err)
	}
	return nil
}

// mkdirAllDurable creates dir and its missing parents, syncing the parent
// of each directory it creates.
func mkdirAllDurable(dir string) error {
	if err := vfs.MkdirAllDurable(vfs.Default, dir, 0o755); err != nil {
		return fmt.Errorf("image: %w", err)
	}
	return nil
}

// At returns the image a path names, for tools: an image directory
// (fsimage_<txid>, or any directory holding an IMAGE manifest, whose txid
// the manifest gives), or a name directory, whose newest image it returns
// (see Newest). The image is not verified here; Load verifies it.
func At(path string) (Info, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Info{}, fmt.Errorf("image: %w", err)
	}
	if !st.IsDir() {
		return Info{}, fmt.Errorf("image: %s is not an image directory (fsimage_<txid>) or a name directory", path)
	}
	if _, err := os.Stat(filepath.Join(path, ManifestName)); err == nil {
		if txid, tmp, ok := parseName(filepath.Base(path)); ok && !tmp {
			return Info{TxID: txid, Path: path}, nil
		}
		m, err := readManifest(path)
		if err != nil {
			return Info{}, err
		}
		return Info{TxID: m.TxID, Path: path}, nil
	}
	if _, err := os.Stat(CurrentDir(path)); err == nil {
		return Newest(path)
	}
	if txid, tmp, ok := parseName(filepath.Base(path)); ok && !tmp {
		// An image whose manifest is gone: let Load report it.
		return Info{TxID: txid, Path: path}, nil
	}
	return Info{}, fmt.Errorf("image: %s is not an image directory (fsimage_<txid>) or a name directory", path)
}
