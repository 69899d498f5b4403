package image

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hdfsha/hdfsha/namenode/namespace"
)

// TestSaveWhileApplying is the standby's situation: the tailer applies
// edits while the checkpointer saves. Every image must hold exactly the
// namespace of the txid it is named and stamped with: one mkdirs per txid
// here, so the image of txid T has T+1 directories (the root), and Load
// (which checks the stamp against the txid inside the Pebble snapshot)
// must accept it.
func TestSaveWhileApplying(t *testing.T) {
	n := newTestNS(t)
	const ops = 300
	done := make(chan error, 1)
	go func() {
		for i := range ops {
			op, err := n.ns.PrepareMkdirs(namespace.Call{User: "hadoop", Now: int64(1409403918690 + i)}, fmt.Sprintf("/d%03d", i), 0o755, true)
			if err == nil {
				_, err = n.ns.Apply(n.ns.LastAppliedTxID()+1, op)
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	nameDir := t.TempDir()
	var saved []Info
	for applying := true; applying; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			applying = false
		default:
		}
		info, err := Save(n.ns, nameDir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(saved) == 0 || saved[len(saved)-1].TxID != info.TxID {
			saved = append(saved, info)
		}
	}
	if len(saved) < 2 || saved[len(saved)-1].TxID != ops {
		t.Fatalf("saved %d images, the last of txid %d; want several, the last of %d", len(saved), saved[len(saved)-1].TxID, ops)
	}
	for i, info := range saved {
		if info.Path != Path(nameDir, info.TxID) {
			t.Fatalf("image %d is at %s", info.TxID, info.Path)
		}
		ns, err := Load(info, filepath.Join(t.TempDir(), fmt.Sprint("work", i)), namespace.Options{})
		if err != nil {
			t.Fatalf("image %d: %v", info.TxID, err)
		}
		got, c := ns.LastAppliedTxID(), ns.Counters()
		ns.Close()
		if got != info.TxID || c.Dirs != info.TxID+1 {
			t.Fatalf("image named %d holds txid %d with %d directories, want %d", info.TxID, got, c.Dirs, info.TxID+1)
		}
	}
}
