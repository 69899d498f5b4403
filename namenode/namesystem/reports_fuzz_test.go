package namesystem

import (
	"encoding/binary"
	"testing"
)

// FuzzDecodeLongs: any long array a DataNode sends decodes or fails
// cleanly, and what decodes has the counts the header announced.
func FuzzDecodeLongs(f *testing.F) {
	enc := func(v ...uint64) []byte {
		b := make([]byte, 8*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint64(b[8*i:], x)
		}
		return b
	}
	m := ^uint64(0)
	f.Add(enc())
	f.Add(enc(1, 0, 7, 100, 1001, m, m, m))
	f.Add(enc(1, 1, 7, 100, 1001, m, m, m, 8, 5, 1002, 1))
	f.Add(enc(1, 0, 7, 100, 1001))
	f.Add(enc(m, m))
	f.Fuzz(func(t *testing.T, b []byte) {
		v := make([]uint64, len(b)/8)
		for i := range v {
			v[i] = binary.LittleEndian.Uint64(b[8*i:])
		}
		reps, err := decodeLongs(v)
		if err != nil || len(v) == 0 {
			return
		}
		if uint64(len(reps)) != v[0]+v[1] {
			t.Fatalf("%d replicas decoded, header says %d + %d", len(reps), v[0], v[1])
		}
	})
}
