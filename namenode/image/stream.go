package image

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
)

var (
	streamMagic  = [4]byte{'H', 'S', 'I', 'M'}
	trailerMagic = [4]byte{'H', 'S', 'E', 'N'}
)

const (
	streamVersion    = 1
	streamHeaderSize = 20
	// maxStreamFiles bounds the file count a stream may announce.
	maxStreamFiles = 1 << 20
)

// streamSource names the stream in Receive's corruption errors.
const streamSource = "stream"

// Stream writes the image as one checksummed stream (drawn in doc.go): the
// manifest first, then every file it lists, then a trailer holding the
// SHA-256 of everything before it. Files are copied, never held in memory.
// Each file is checked against the manifest while it is sent; on a
// mismatch Stream stops before the trailer and returns the corruption, so
// a receiver never accepts an image the sender could not vouch for.
func Stream(w io.Writer, info Info) error {
	m, err := readManifest(info.Path)
	if err != nil {
		return err
	}
	if m.TxID != info.TxID {
		return corruptf(info.Path, ManifestName, "manifest says txid %d, expected %d", m.TxID, info.TxID)
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(w, 256<<10)
	out := io.MultiWriter(bw, h)

	var hdr [streamHeaderSize]byte
	copy(hdr[0:4], streamMagic[:])
	binary.BigEndian.PutUint32(hdr[4:8], streamVersion)
	binary.BigEndian.PutUint64(hdr[8:16], uint64(info.TxID))
	binary.BigEndian.PutUint32(hdr[16:20], uint32(len(m.Files)+1))
	if _, err := out.Write(hdr[:]); err != nil {
		return err
	}
	mb := m.encode()
	if err := writeFileHeader(out, ManifestName, int64(len(mb))); err != nil {
		return err
	}
	if _, err := out.Write(mb); err != nil {
		return err
	}
	for _, fe := range m.Files {
		if err := streamFile(out, info.Path, fe); err != nil {
			return err
		}
	}
	if _, err := out.Write(trailerMagic[:]); err != nil {
		return err
	}
	if _, err := bw.Write(h.Sum(nil)); err != nil {
		return err
	}
	return bw.Flush()
}

func writeFileHeader(w io.Writer, name string, size int64) error {
	b := make([]byte, 0, 2+len(name)+8)
	b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
	b = append(b, name...)
	b = binary.BigEndian.AppendUint64(b, uint64(size))
	_, err := w.Write(b)
	return err
}

func streamFile(out io.Writer, dir string, fe fileEntry) error {
	f, err := os.Open(filepath.Join(dir, fe.Name))
	if err != nil {
		if os.IsNotExist(err) {
			return corruptf(dir, fe.Name, "file is missing")
		}
		return fmt.Errorf("image: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	if st.Size() != fe.Size {
		return corruptf(dir, fe.Name, "size %d, manifest says %d", st.Size(), fe.Size)
	}
	if err := writeFileHeader(out, fe.Name, fe.Size); err != nil {
		return err
	}
	fh := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, fh), io.LimitReader(f, fe.Size))
	if err != nil {
		return err
	}
	if n != fe.Size || !bytes.Equal(fh.Sum(nil), fe.SHA256[:]) {
		return corruptf(dir, fe.Name, "checksum mismatch")
	}
	return nil
}

// Receive reads a stream written by Stream holding the image of txid and
// makes it an image of nameDir: every byte is checked (framing, each file
// against the streamed manifest, the trailer checksum over the whole
// stream) while it is written into <nameDir>/current/fsimage_<txid>.tmp;
// then every file and the directory are fsynced, the whole directory is
// verified like Verify, and it is renamed into place and the parent synced.
// Receive refuses (ErrExists) if the image already exists; it must not run
// concurrently with a Save or Receive of the same txid. A bad stream is a
// *CorruptionError naming "stream" and the file; nothing is left behind.
func Receive(r io.Reader, nameDir string, txid int64) (Info, error) {
	dst := Path(nameDir, txid)
	if _, err := os.Stat(dst); err == nil {
		return Info{}, fmt.Errorf("%w: %s", ErrExists, dst)
	}
	cur := CurrentDir(nameDir)
	if err := mkdirAllDurable(cur); err != nil {
		return Info{}, err
	}
	tmp := dst + tmpSuffix
	if err := os.RemoveAll(tmp); err != nil {
		return Info{}, fmt.Errorf("image: remove leftover %s: %w", tmp, err)
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return Info{}, fmt.Errorf("image: %w", err)
	}
	err := receiveInto(r, tmp, txid)
	if err == nil {
		err = Verify(Info{TxID: txid, Path: tmp})
	}
	if err == nil {
		err = publish(tmp, dst)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return Info{}, err
	}
	return Info{TxID: txid, Path: dst}, nil
}

// streamReader reads a stream, hashing every byte it consumes.
type streamReader struct {
	r io.Reader
	h hash.Hash
}

func (s *streamReader) full(b []byte, what string) error {
	if _, err := io.ReadFull(s.r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return corruptf(streamSource, "", "stream ends inside %s", what)
		}
		return fmt.Errorf("image: receive: %w", err)
	}
	return nil
}

// fileHeader reads a file's name and size.
func (s *streamReader) fileHeader() (string, int64, error) {
	var lb [2]byte
	if err := s.full(lb[:], "a file header"); err != nil {
		return "", 0, err
	}
	n := int(binary.BigEndian.Uint16(lb[:]))
	if n == 0 || n > maxNameLen {
		return "", 0, corruptf(streamSource, "", "bad file name length %d", n)
	}
	nb := make([]byte, n)
	if err := s.full(nb, "a file name"); err != nil {
		return "", 0, err
	}
	name := string(nb)
	if !validName(name) {
		return "", 0, corruptf(streamSource, "", "bad file name %q", name)
	}
	var sb [8]byte
	if err := s.full(sb[:], "a file header"); err != nil {
		return "", 0, err
	}
	size := int64(binary.BigEndian.Uint64(sb[:]))
	if size < 0 {
		return "", 0, corruptf(streamSource, name, "bad size")
	}
	return name, size, nil
}

func receiveInto(r io.Reader, dir string, txid int64) error {
	s := &streamReader{h: sha256.New()}
	s.r = io.TeeReader(bufio.NewReaderSize(r, 256<<10), s.h)
	var hdr [streamHeaderSize]byte
	if err := s.full(hdr[:], "the header"); err != nil {
		return err
	}
	if [4]byte(hdr[0:4]) != streamMagic {
		return corruptf(streamSource, "", "bad magic %q", hdr[0:4])
	}
	if v := binary.BigEndian.Uint32(hdr[4:8]); v != streamVersion {
		return corruptf(streamSource, "", "unknown stream version %d", v)
	}
	if t := int64(binary.BigEndian.Uint64(hdr[8:16])); t != txid {
		return corruptf(streamSource, "", "stream holds txid %d, expected %d", t, txid)
	}
	nfiles := binary.BigEndian.Uint32(hdr[16:20])
	if nfiles < 1 || nfiles > maxStreamFiles {
		return corruptf(streamSource, "", "bad file count %d", nfiles)
	}

	// The manifest comes first and bounds everything after it.
	name, size, err := s.fileHeader()
	if err != nil {
		return err
	}
	if name != ManifestName || size > maxManifestSize {
		return corruptf(streamSource, name, "stream does not start with a manifest")
	}
	mb := make([]byte, size)
	if err := s.full(mb, ManifestName); err != nil {
		return err
	}
	m, err := decodeManifest(streamSource, mb)
	if err != nil {
		return err
	}
	if m.TxID != txid {
		return corruptf(streamSource, ManifestName, "manifest says txid %d, expected %d", m.TxID, txid)
	}
	if int(nfiles) != len(m.Files)+1 {
		return corruptf(streamSource, "", "header announces %d files, manifest lists %d", nfiles, len(m.Files)+1)
	}
	if err := writeSynced(filepath.Join(dir, ManifestName), bytes.NewReader(mb), size); err != nil {
		return err
	}
	for _, fe := range m.Files {
		name, size, err := s.fileHeader()
		if err != nil {
			return err
		}
		if name != fe.Name || size != fe.Size {
			return corruptf(streamSource, name, "expected file %s of %d bytes, got %d bytes", fe.Name, fe.Size, size)
		}
		fh := sha256.New()
		if err := writeSynced(filepath.Join(dir, name), io.TeeReader(s.limit(size, name), fh), size); err != nil {
			return err
		}
		if !bytes.Equal(fh.Sum(nil), fe.SHA256[:]) {
			return corruptf(streamSource, name, "checksum mismatch")
		}
	}
	var tm [4]byte
	if err := s.full(tm[:], "the trailer"); err != nil {
		return err
	}
	if tm != trailerMagic {
		return corruptf(streamSource, "", "bad trailer magic %q", tm[:])
	}
	want := s.h.Sum(nil)
	var got [sha256.Size]byte
	if err := s.full(got[:], "the trailer"); err != nil {
		return err
	}
	if !bytes.Equal(got[:], want) {
		return corruptf(streamSource, "", "stream checksum mismatch")
	}
	return syncDir(dir)
}

// limit reads exactly n bytes of the stream; a short stream is corruption.
func (s *streamReader) limit(n int64, name string) io.Reader {
	return &exactReader{r: io.LimitReader(s.r, n), left: n, name: name}
}

type exactReader struct {
	r    io.Reader
	left int64
	name string
}

func (e *exactReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if errors.Is(err, io.EOF) && e.left > 0 {
		return n, corruptf(streamSource, e.name, "stream ends inside the file")
	}
	return n, err
}

// writeSynced creates path with exactly size bytes from r and fsyncs it.
func writeSynced(path string, r io.Reader, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	n, err := io.Copy(f, r)
	if err == nil && n != size {
		err = corruptf(streamSource, filepath.Base(path), "got %d bytes, expected %d", n, size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
