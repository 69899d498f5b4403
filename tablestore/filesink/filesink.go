package filesink

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/tablestore"
)

const (
	infoName  = "info"
	editsDir  = "edits"
	imagesDir = "images"
	// tempPrefix starts every temp file name. A leading dot keeps temp
	// files (and NFS's own .nfsXXXX silly-rename files) out of listings.
	tempPrefix = ".tmp-"
	keyDigits  = 19 // the digits of math.MaxInt64
	// maxBatchFile bounds what ReadEdits and LastTxID read into memory.
	maxBatchFile = tablestore.MaxBatchEncodedSize
	maxInfoFile  = 64 << 10
)

// ErrClosed is returned by every call on a closed Sink.
var ErrClosed = errors.New("filesink: closed")

// Sink is a mirror in a directory. It is safe for concurrent use, and
// several processes may write the same directory (the loser of a race
// for a key gets tablestore.ErrExists).
type Sink struct {
	dir    string
	name   string
	closed atomic.Bool
}

var _ tablestore.Sink = (*Sink)(nil)

// Open opens (creating it if needed) the mirror directory dir, and
// removes the temp files a crashed writer left behind.
func Open(dir string) (*Sink, error) {
	if dir == "" {
		return nil, errors.New("filesink: empty directory name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("filesink: %w", err)
	}
	s := &Sink{dir: abs, name: (&url.URL{Scheme: "file", Path: abs}).String()}
	for _, d := range []string{abs, filepath.Join(abs, editsDir), filepath.Join(abs, imagesDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("filesink: %w", err)
		}
		if err := removeTemps(d); err != nil {
			return nil, fmt.Errorf("filesink: %w", err)
		}
	}
	// The subdirectories' entries in dir, and dir's in its parent, must
	// survive a crash before anything is written in them.
	for _, d := range []string{filepath.Dir(abs), abs} {
		if err := syncDir(d); err != nil {
			return nil, fmt.Errorf("filesink: %w", err)
		}
	}
	return s, nil
}

// removeTemps removes the temp files in dir, then syncs dir if it did.
func removeTemps(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	removed := false
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removed = true
	}
	if removed {
		return syncDir(dir)
	}
	return nil
}

func syncDir(dir string) error {
	if err := vfs.Default.SyncDir(dir); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// Dir is the mirror's directory.
func (s *Sink) Dir() string { return s.dir }

// String is the sink's URI, file:///dir.
func (s *Sink) String() string { return s.name }

// Close marks the sink closed; it holds no open files between calls.
func (s *Sink) Close() error {
	s.closed.Store(true)
	return nil
}

func (s *Sink) check(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// key is the file name of txid: 19 digits, so names sort as numbers.
func key(txid int64) string { return fmt.Sprintf("%0*d", keyDigits, txid) }

// EditsObject is the name, relative to the sink's directory, of the
// batch whose first txid is first ("edits/0000000000000000101"): the
// Object of a *tablestore.CorruptError about it.
func EditsObject(first int64) string { return editsDir + "/" + key(first) }

// ImageObject is the name, relative to the sink's directory, of the
// image of txid ("images/0000000000000000100").
func ImageObject(txid int64) string { return imagesDir + "/" + key(txid) }

// parseKey returns the txid a file name stands for; ok is false for
// names that are not keys (temp files, foreign files), which are ignored.
func parseKey(name string) (int64, bool) {
	if len(name) != keyDigits {
		return 0, false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(name, 10, 64)
	return v, err == nil
}

// keys lists the keys in sub (editsDir or imagesDir), ascending.
func (s *Sink) keys(sub string) ([]int64, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, sub))
	if err != nil {
		return nil, fmt.Errorf("filesink: list %s: %w", sub, err)
	}
	var out []int64
	for _, e := range ents {
		if v, ok := parseKey(e.Name()); ok && e.Type().IsRegular() {
			out = append(out, v)
		}
	}
	slices.Sort(out) // ReadDir sorts by name already; keys of equal width sort alike
	return out, nil
}

// create stores the bytes from r under rel (a path relative to the
// sink's directory) if rel does not exist yet, in the durability order
// of doc.go: temp file written and synced, linked to its final name
// (exclusive), temp removed, directory synced. It returns ErrExists when
// another writer got there first.
func (s *Sink) create(ctx context.Context, rel string, r io.Reader) error {
	final := filepath.Join(s.dir, rel)
	dir := filepath.Dir(final)
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, tempPrefix+filepath.Base(final)+"-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("filesink: %w", err)
	}
	defer os.Remove(tmp) // after a failure; a no-op after success
	_, err = io.Copy(f, ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("filesink: write %s: %w", rel, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Link(tmp, final); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("filesink: create %s: %w", rel, err)
		}
		// Over NFS a retransmitted LINK can report EEXIST although the
		// first transmission made the link: then final is our temp file.
		ti, terr := os.Stat(tmp)
		fi, ferr := os.Stat(final)
		if terr != nil || ferr != nil || !os.SameFile(ti, fi) {
			return fmt.Errorf("%s %s: %w", s.name, rel, tablestore.ErrExists)
		}
	}
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("filesink: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("filesink: %w", err)
	}
	return nil
}

// ctxReader stops a long copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// readSmall reads rel whole, refusing files larger than limit.
func (s *Sink) readSmall(rel string, limit int64) ([]byte, error) {
	f, err := os.Open(filepath.Join(s.dir, rel))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, tablestore.NewCorruptError(s.name, rel, fmt.Errorf("%d bytes, more than any valid object (%d)", st.Size(), limit))
	}
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, tablestore.NewCorruptError(s.name, rel, fmt.Errorf("shrank while being read: %w", err))
		}
		return nil, err
	}
	return data, nil
}

// PutInfo stores the namespace identity (see tablestore.Sink).
func (s *Sink) PutInfo(ctx context.Context, info tablestore.Info) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := tablestore.CheckInfo(info); err != nil {
		return err
	}
	err := s.create(ctx, infoName, bytes.NewReader(tablestore.EncodeInfo(info)))
	if !errors.Is(err, tablestore.ErrExists) {
		return err
	}
	have, err := s.GetInfo(ctx)
	if err != nil {
		return err
	}
	return tablestore.SameInfo(s.name, have, info)
}

// GetInfo returns the stored identity (see tablestore.Sink).
func (s *Sink) GetInfo(ctx context.Context) (tablestore.Info, error) {
	if err := s.check(ctx); err != nil {
		return tablestore.Info{}, err
	}
	data, err := s.readSmall(infoName, maxInfoFile)
	if errors.Is(err, fs.ErrNotExist) {
		return tablestore.Info{}, fmt.Errorf("%s: no namespace identity: %w", s.name, tablestore.ErrNotFound)
	}
	if err != nil {
		return tablestore.Info{}, wrapRead(err)
	}
	info, err := tablestore.DecodeInfo(data)
	if err != nil {
		return tablestore.Info{}, tablestore.NewCorruptError(s.name, infoName, err)
	}
	return info, nil
}

func wrapRead(err error) error {
	var ce *tablestore.CorruptError
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("filesink: %w", err)
}

// PutEdits stores b under its first txid (see tablestore.Sink).
func (s *Sink) PutEdits(ctx context.Context, b tablestore.Batch) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := tablestore.CheckBatch(b); err != nil {
		return err
	}
	return s.create(ctx, EditsObject(b.First), bytes.NewReader(tablestore.EncodeBatch(b)))
}

// readBatch reads and verifies the batch stored under first.
func (s *Sink) readBatch(first int64) (tablestore.Batch, error) {
	rel := EditsObject(first)
	data, err := s.readSmall(rel, maxBatchFile)
	if err != nil {
		return tablestore.Batch{}, wrapRead(err)
	}
	b, err := tablestore.DecodeBatch(data)
	if err != nil {
		return tablestore.Batch{}, tablestore.NewCorruptError(s.name, rel, err)
	}
	if b.First != first {
		return tablestore.Batch{}, tablestore.NewCorruptError(s.name, rel, fmt.Errorf("holds the batch of txid %d", b.First))
	}
	return b, nil
}

// LastTxID is the last txid of the batch with the highest key (see
// tablestore.Sink). That batch is read and verified.
func (s *Sink) LastTxID(ctx context.Context) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	keys, err := s.keys(editsDir)
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	b, err := s.readBatch(keys[len(keys)-1])
	if err != nil {
		return 0, err
	}
	return b.Last(), nil
}

// ReadEdits calls fn with every batch whose last txid is >= from, in key
// order (see tablestore.Sink). A batch whose successor's key is <= from
// ends before from and is not read at all.
func (s *Sink) ReadEdits(ctx context.Context, from int64, fn func(tablestore.Batch) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	keys, err := s.keys(editsDir)
	if err != nil {
		return err
	}
	for i, k := range keys {
		if i+1 < len(keys) && keys[i+1] <= from {
			continue
		}
		if err := s.check(ctx); err != nil {
			return err
		}
		b, err := s.readBatch(k)
		if err != nil {
			return err
		}
		if b.Last() < from {
			continue
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

// PutImage streams r into the image of txid (see tablestore.Sink); the
// image is never held in memory.
func (s *Sink) PutImage(ctx context.Context, txid int64, r io.Reader) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if txid < 0 {
		return fmt.Errorf("filesink: image txid %d is negative", txid)
	}
	return s.create(ctx, ImageObject(txid), r)
}

// Images lists the stored images' txids, ascending.
func (s *Sink) Images(ctx context.Context) ([]int64, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	return s.keys(imagesDir)
}

// OpenImage opens the image of txid (see tablestore.Sink).
func (s *Sink) OpenImage(ctx context.Context, txid int64) (io.ReadCloser, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if txid < 0 {
		return nil, fmt.Errorf("filesink: image txid %d is negative", txid)
	}
	f, err := os.Open(filepath.Join(s.dir, ImageObject(txid)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no image of txid %d: %w", s.name, txid, tablestore.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("filesink: %w", err)
	}
	return f, nil
}
