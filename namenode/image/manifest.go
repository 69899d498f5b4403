package image

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ManifestName is the manifest file of an image directory.
const ManifestName = "IMAGE"

const (
	manifestMagic   = "hdfsha-image"
	manifestVersion = 1
	// maxManifestSize bounds what Verify reads as a manifest: a Pebble
	// checkpoint has a handful of files per level, not millions.
	maxManifestSize = 16 << 20
	// maxNameLen bounds a file name in a manifest or a stream.
	maxNameLen = 255
)

// fileEntry is one file of an image.
type fileEntry struct {
	Name   string
	Size   int64
	SHA256 [32]byte
}

// manifest is the parsed IMAGE file.
type manifest struct {
	TxID  int64
	Files []fileEntry // sorted by name, ManifestName excluded
}

// encode renders the manifest (see doc.go), its last line the SHA-256 of
// every byte before it.
func (m *manifest) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\n", manifestMagic, manifestVersion)
	fmt.Fprintf(&b, "txid %d\n", m.TxID)
	for _, f := range m.Files {
		fmt.Fprintf(&b, "file %s %d %s\n", f.Name, f.Size, hex.EncodeToString(f.SHA256[:]))
	}
	sum := sha256.Sum256(b.Bytes())
	fmt.Fprintf(&b, "end %s\n", hex.EncodeToString(sum[:]))
	return b.Bytes()
}

// validName reports whether name may be a file of an image: a plain file
// name, no separators, no spaces (the manifest is space separated).
func validName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > maxNameLen {
		return false
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c == '/' || c == '\\' || c >= 0x7f {
			return false
		}
	}
	return true
}

// decodeManifest parses and checks a manifest; image names the directory in
// errors.
func decodeManifest(image string, data []byte) (*manifest, error) {
	bad := func(format string, args ...any) error {
		return corruptf(image, ManifestName, format, args...)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return nil, bad("manifest is empty or does not end in a newline")
	}
	body := data[:len(data)-1]
	i := bytes.LastIndexByte(body, '\n')
	if i < 0 {
		return nil, bad("manifest has no end line")
	}
	last := string(body[i+1:])
	body = data[:i+1]
	want, ok := strings.CutPrefix(last, "end ")
	if !ok {
		return nil, bad("manifest does not end with its checksum line")
	}
	sum := sha256.Sum256(body)
	if want != hex.EncodeToString(sum[:]) {
		return nil, bad("manifest checksum mismatch")
	}
	m := &manifest{TxID: -1}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, maxManifestSize)
	line := 0
	seen := map[string]bool{}
	for sc.Scan() {
		line++
		fields := strings.Split(sc.Text(), " ")
		switch {
		case line == 1:
			if len(fields) != 2 || fields[0] != manifestMagic || fields[1] != strconv.Itoa(manifestVersion) {
				return nil, bad("line 1: not an hdfsha image manifest of version %d", manifestVersion)
			}
		case line == 2:
			if len(fields) != 2 || fields[0] != "txid" {
				return nil, bad("line 2: no txid")
			}
			t, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil || t < 0 {
				return nil, bad("line 2: bad txid %q", fields[1])
			}
			m.TxID = t
		default:
			if len(fields) != 4 || fields[0] != "file" {
				return nil, bad("line %d: not a file line", line)
			}
			var e fileEntry
			e.Name = fields[1]
			if !validName(e.Name) || e.Name == ManifestName || seen[e.Name] {
				return nil, bad("line %d: bad or repeated file name %q", line, e.Name)
			}
			seen[e.Name] = true
			size, err := strconv.ParseInt(fields[2], 10, 64)
			if err != nil || size < 0 {
				return nil, bad("line %d: bad size %q", line, fields[2])
			}
			e.Size = size
			h, err := hex.DecodeString(fields[3])
			if err != nil || len(h) != sha256.Size {
				return nil, bad("line %d: bad checksum %q", line, fields[3])
			}
			copy(e.SHA256[:], h)
			m.Files = append(m.Files, e)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, bad("%v", err)
	}
	if m.TxID < 0 {
		return nil, bad("manifest has no txid")
	}
	if !sort.SliceIsSorted(m.Files, func(a, b int) bool { return m.Files[a].Name < m.Files[b].Name }) {
		return nil, bad("file lines are not sorted")
	}
	return m, nil
}

// readManifest reads and decodes dir/IMAGE.
func readManifest(dir string) (*manifest, error) {
	f, err := os.Open(filepath.Join(dir, ManifestName))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, corruptf(dir, ManifestName, "manifest is missing")
		}
		return nil, fmt.Errorf("image: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("image: read %s: %w", f.Name(), err)
	}
	if len(data) > maxManifestSize {
		return nil, corruptf(dir, ManifestName, "manifest larger than %d bytes", maxManifestSize)
	}
	return decodeManifest(dir, data)
}

// hashFile returns the size and SHA-256 of a file.
func hashFile(path string) (int64, [32]byte, error) {
	var sum [32]byte
	f, err := os.Open(path)
	if err != nil {
		return 0, sum, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, sum, err
	}
	copy(sum[:], h.Sum(nil))
	return n, sum, nil
}
