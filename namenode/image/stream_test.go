package image

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hdfsha/hdfsha/namenode/namespace"
)

func TestStreamReceive(t *testing.T) {
	n, _, info := saved(t)
	var buf bytes.Buffer
	if err := Stream(&buf, info); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	got, err := Receive(bytes.NewReader(buf.Bytes()), other, info.TxID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TxID != info.TxID || got.Path != Path(other, info.TxID) {
		t.Fatalf("Receive = %+v", got)
	}
	ns, err := Load(got, filepath.Join(t.TempDir(), "work"), namespace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if checksum(t, ns) != checksum(t, n.ns) {
		t.Fatal("received image differs")
	}
	// An existing image is refused.
	if _, err := Receive(bytes.NewReader(buf.Bytes()), other, info.TxID); !errors.Is(err, ErrExists) {
		t.Fatalf("second Receive: %v", err)
	}
	// The wrong txid is refused.
	if _, err := Receive(bytes.NewReader(buf.Bytes()), t.TempDir(), info.TxID+1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("wrong txid: %v", err)
	}
}

func TestReceiveDetectsDamage(t *testing.T) {
	_, _, info := saved(t)
	var buf bytes.Buffer
	if err := Stream(&buf, info); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	// Flip one bit at many offsets across the stream (header, manifest,
	// file bodies, trailer), and cut the stream short at some.
	step := len(good)/97 + 1
	for off := 0; off < len(good); off += step {
		bad := bytes.Clone(good)
		bad[off] ^= 0x10
		nameDir := t.TempDir()
		if _, err := Receive(bytes.NewReader(bad), nameDir, info.TxID); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flip at %d of %d: err %v", off, len(good), err)
		}
		if _, err := Receive(bytes.NewReader(good[:off]), nameDir, info.TxID); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut at %d: err %v", off, err)
		}
		ents, _ := os.ReadDir(CurrentDir(nameDir))
		if len(ents) != 0 {
			t.Fatalf("flip at %d left %v behind", off, ents)
		}
	}
	// The last byte (trailer checksum) too.
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 1
	if _, err := Receive(bytes.NewReader(bad), t.TempDir(), info.TxID); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailer flip: %v", err)
	}
}
