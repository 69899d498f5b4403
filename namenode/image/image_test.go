package image

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/namenode/namespace"
)

func saved(t *testing.T) (*testNS, string, Info) {
	t.Helper()
	n := newTestNS(t)
	n.populate()
	nameDir := t.TempDir()
	info, err := Save(n.ns, nameDir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return n, nameDir, info
}

func TestSaveListVerifyLoad(t *testing.T) {
	n, nameDir, info := saved(t)
	want := n.ns.LastAppliedTxID()
	if info.TxID != want || info.Path != filepath.Join(nameDir, "current", Name(want)) {
		t.Fatalf("info %+v, want txid %d", info, want)
	}
	if base := filepath.Base(info.Path); len(base) != len("fsimage_")+19 {
		t.Fatalf("name %s", base)
	}
	list, err := List(nameDir)
	if err != nil || len(list) != 1 || list[0] != info {
		t.Fatalf("List = %v, %v", list, err)
	}
	if err := Verify(info); err != nil {
		t.Fatal(err)
	}
	newest, err := Newest(nameDir)
	if err != nil || newest != info {
		t.Fatalf("Newest = %v, %v", newest, err)
	}
	ns, err := Load(info, filepath.Join(t.TempDir(), "work"), namespace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if checksum(t, ns) != checksum(t, n.ns) || ns.LastAppliedTxID() != want {
		t.Fatal("loaded namespace differs")
	}
	// Loading never writes the image.
	if err := Verify(info); err != nil {
		t.Fatalf("after load: %v", err)
	}
	// Saving the same txid again returns the same image.
	again, err := Save(n.ns, nameDir, nil)
	if err != nil || again != info {
		t.Fatalf("second Save = %v, %v", again, err)
	}
}

func TestNewestNoImage(t *testing.T) {
	if _, err := Newest(t.TempDir()); !errors.Is(err, ErrNoImage) {
		t.Fatalf("err %v", err)
	}
}

// corruptCase damages an image and says which file the error must name.
type corruptCase struct {
	name   string
	damage func(t *testing.T, dir string) string // returns the file to name
}

func biggestFile(t *testing.T, dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var best string
	var size int64 = -1
	for _, e := range ents {
		st, _ := e.Info()
		if e.Name() != ManifestName && st.Size() > size {
			best, size = e.Name(), st.Size()
		}
	}
	return best
}

var corruptCases = []corruptCase{
	{"flipped byte in a data file", func(t *testing.T, dir string) string {
		f := biggestFile(t, dir)
		p := filepath.Join(dir, f)
		b, _ := os.ReadFile(p)
		b[len(b)/2] ^= 0x40
		os.WriteFile(p, b, 0o644)
		return f
	}},
	{"truncated data file", func(t *testing.T, dir string) string {
		f := biggestFile(t, dir)
		os.Truncate(filepath.Join(dir, f), 3)
		return f
	}},
	{"missing data file", func(t *testing.T, dir string) string {
		f := biggestFile(t, dir)
		os.Remove(filepath.Join(dir, f))
		return f
	}},
	{"extra file", func(t *testing.T, dir string) string {
		os.WriteFile(filepath.Join(dir, "stray"), []byte("x"), 0o644)
		return "stray"
	}},
	{"manifest byte flipped", func(t *testing.T, dir string) string {
		p := filepath.Join(dir, ManifestName)
		b, _ := os.ReadFile(p)
		b[len(b)/3] ^= 0x01
		os.WriteFile(p, b, 0o644)
		return ManifestName
	}},
	{"manifest truncated", func(t *testing.T, dir string) string {
		os.Truncate(filepath.Join(dir, ManifestName), 20)
		return ManifestName
	}},
	{"manifest missing", func(t *testing.T, dir string) string {
		os.Remove(filepath.Join(dir, ManifestName))
		return ManifestName
	}},
}

func checkCorrupt(t *testing.T, err error, image, file string) {
	t.Helper()
	var ce *CorruptionError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || !errors.Is(err, edits.ErrCorrupt) {
		t.Fatalf("err %v: not a corruption error", err)
	}
	if ce.Image != image || ce.File != file || !strings.Contains(err.Error(), file) {
		t.Fatalf("err %v names %s/%s, want %s/%s", err, ce.Image, ce.File, image, file)
	}
}

func TestVerifyDetectsCorruption(t *testing.T) {
	for _, c := range corruptCases {
		t.Run(c.name, func(t *testing.T) {
			_, _, info := saved(t)
			file := c.damage(t, info.Path)
			checkCorrupt(t, Verify(info), info.Path, file)
			_, err := Load(info, filepath.Join(t.TempDir(), "work"), namespace.Options{})
			checkCorrupt(t, err, info.Path, file)
			var buf bytes.Buffer
			// Stream sends what the manifest lists, so a stray file is
			// simply not sent; every other damage stops it.
			if err := Stream(&buf, info); (err == nil) != (file == "stray") {
				t.Fatalf("Stream: %v", err)
			}
		})
	}
}

func TestNewestCorruptIsAnError(t *testing.T) {
	n, nameDir, old := saved(t)
	n.mkdirs("/more", 0o755)
	newer, err := Save(n.ns, nameDir, nil)
	if err != nil || newer.TxID <= old.TxID {
		t.Fatalf("second Save = %v, %v", newer, err)
	}
	f := biggestFile(t, newer.Path)
	os.Truncate(filepath.Join(newer.Path, f), 1)
	_, err = Newest(nameDir)
	checkCorrupt(t, err, newer.Path, f)
	if !strings.Contains(err.Error(), Name(newer.TxID)) {
		t.Fatalf("err %v does not name the image", err)
	}
}

func TestPurge(t *testing.T) {
	n := newTestNS(t)
	nameDir := t.TempDir()
	var infos []Info
	for i := 0; i < 5; i++ {
		n.mkdirs("/d"+string(rune('a'+i)), 0o755)
		info, err := Save(n.ns, nameDir, nil)
		if err != nil {
			t.Fatal(err)
		}
		infos = append(infos, info)
	}
	// A crashed save of an old txid, and one newer than every image.
	os.MkdirAll(Path(nameDir, infos[1].TxID)+tmpSuffix, 0o755)
	os.MkdirAll(Path(nameDir, 1000)+tmpSuffix, 0o755)
	if err := Purge(nameDir, 0); err == nil {
		t.Fatal("Purge retaining 0 succeeded")
	}
	if err := Purge(nameDir, DefaultRetained); err != nil {
		t.Fatal(err)
	}
	list, err := List(nameDir)
	if err != nil || len(list) != 2 || list[0] != infos[3] || list[1] != infos[4] {
		t.Fatalf("List after purge = %v, %v", list, err)
	}
	ents, _ := os.ReadDir(CurrentDir(nameDir))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := []string{Name(infos[3].TxID), Name(infos[4].TxID), Name(1000) + tmpSuffix}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("entries %v, want %v", names, want)
	}
	if err := Purge(nameDir, 5); err != nil {
		t.Fatal(err)
	}
	if list, _ := List(nameDir); len(list) != 2 {
		t.Fatalf("List = %v", list)
	}
}

func TestLeftoverTmpIgnoredAndReplaced(t *testing.T) {
	n := newTestNS(t)
	n.populate()
	nameDir := t.TempDir()
	// A crash during a save left a partial directory for the same txid.
	tmp := Path(nameDir, n.ns.LastAppliedTxID()) + tmpSuffix
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(tmp, "000001.sst"), []byte("partial"), 0o644)
	if list, err := List(nameDir); err != nil || len(list) != 0 {
		t.Fatalf("List = %v, %v", list, err)
	}
	if _, err := Newest(nameDir); !errors.Is(err, ErrNoImage) {
		t.Fatalf("Newest: %v", err)
	}
	info, err := Save(n.ns, nameDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(info); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("tmp still there: %v", err)
	}
}

func TestAt(t *testing.T) {
	_, nameDir, info := saved(t)
	for _, p := range []string{info.Path, nameDir} {
		got, err := At(p)
		if err != nil || got != info {
			t.Fatalf("At(%s) = %v, %v", p, got, err)
		}
	}
	if _, err := At(t.TempDir()); err == nil {
		t.Fatal("At of an empty dir succeeded")
	}
}

// LoadNewest is Newest + Load with one verification: the same namespace, the
// same errors.
func TestLoadNewest(t *testing.T) {
	if _, _, err := LoadNewest(t.TempDir(), filepath.Join(t.TempDir(), "work"), namespace.Options{}); !errors.Is(err, ErrNoImage) {
		t.Fatalf("no image: %v", err)
	}
	n, nameDir, info := saved(t)
	got, ns, err := LoadNewest(nameDir, filepath.Join(t.TempDir(), "work"), namespace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got != info || checksum(t, ns) != checksum(t, n.ns) || ns.LastAppliedTxID() != info.TxID {
		t.Fatalf("LoadNewest = %v, want %v and the saved namespace", got, info)
	}
	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range corruptCases {
		t.Run(c.name, func(t *testing.T) {
			_, nameDir, info := saved(t)
			file := c.damage(t, info.Path)
			_, ns, err := LoadNewest(nameDir, filepath.Join(t.TempDir(), "work"), namespace.Options{})
			if ns != nil {
				ns.Close()
			}
			checkCorrupt(t, err, info.Path, file)
		})
	}
}
