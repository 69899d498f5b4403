package tablestore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"testing/quick"

	"github.com/hdfsha/hdfsha/internal/edits"
)

func testBatch() Batch {
	return Batch{First: 101, Ops: [][]byte{[]byte("mkdir /a"), []byte("x"), bytes.Repeat([]byte{0xff}, 300)}}
}

// reseal recomputes the trailing checksum after a test edits the content,
// so that the check under test, not the checksum, is what fails.
func reseal(data []byte) []byte {
	n := len(data) - TrailerSize
	binary.BigEndian.PutUint32(data[n:], crc32.Checksum(data[:n], castagnoli))
	return data
}

func equalBatches(a, b Batch) bool {
	if a.First != b.First || len(a.Ops) != len(b.Ops) {
		return false
	}
	for i := range a.Ops {
		if !bytes.Equal(a.Ops[i], b.Ops[i]) {
			return false
		}
	}
	return true
}

func TestBatchRoundTrip(t *testing.T) {
	for _, b := range []Batch{
		testBatch(),
		{First: 1, Ops: [][]byte{{0}}},
		{First: math.MaxInt64, Ops: [][]byte{[]byte("last txid there is")}},
		{First: math.MaxInt64 - 2, Ops: [][]byte{{1}, {2}, {3}}},
	} {
		if err := CheckBatch(b); err != nil {
			t.Fatalf("CheckBatch: %v", err)
		}
		data := EncodeBatch(b)
		if len(data) != EncodedBatchSize(b) {
			t.Fatalf("encoded %d bytes, EncodedBatchSize says %d", len(data), EncodedBatchSize(b))
		}
		got, err := DecodeBatch(data)
		if err != nil {
			t.Fatalf("DecodeBatch: %v", err)
		}
		if !equalBatches(got, b) {
			t.Fatalf("round trip changed the batch: %+v", got)
		}
	}
}

func TestBatchRoundTripQuick(t *testing.T) {
	f := func(first int64, ops [][]byte) bool {
		first = 1 + first&(1<<40-1)
		b := Batch{First: first}
		for _, op := range ops {
			b.Ops = append(b.Ops, append([]byte{'#'}, op...)) // ops are never empty
		}
		if len(b.Ops) == 0 {
			b.Ops = [][]byte{{'#'}}
		}
		got, err := DecodeBatch(EncodeBatch(b))
		return err == nil && equalBatches(got, b)
	}
	if err := quick.Check(f, nil); err != nil {
		t.Fatal(err)
	}
}

func TestCheckBatch(t *testing.T) {
	for _, c := range []struct {
		b    Batch
		want string
	}{
		{Batch{First: 1}, "empty batch"},
		{Batch{First: 0, Ops: [][]byte{{1}}}, "first txid 0"},
		{Batch{First: -1, Ops: [][]byte{{1}}}, "first txid -1"},
		{Batch{First: 3, Ops: [][]byte{{1}, {}}}, "op of txid 4 has 0 bytes"},
		{Batch{First: math.MaxInt64, Ops: [][]byte{{1}, {2}}}, "overflows"},
		{Batch{First: 1, Ops: [][]byte{make([]byte, edits.MaxOpSize+1)}}, "must be 1 to"},
	} {
		err := CheckBatch(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckBatch(first %d, %d ops) = %v, want an error with %q", c.b.First, len(c.b.Ops), err, c.want)
		}
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	good := EncodeBatch(testBatch())
	edit := func(f func(d []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, c := range []struct {
		name string
		data []byte
		kind error
		text string
	}{
		{"empty", nil, ErrTruncated, "0 bytes"},
		{"magic prefix", good[:3], ErrTruncated, "3 bytes"},
		{"header only", good[:BatchHeaderSize], ErrTruncated, "shorter than the smallest"},
		{"cut", good[:len(good)-1], ErrTruncated, "348 of 349 bytes"},
		{"not a batch", []byte("<?xml version"), ErrBadMagic, `starts with "<?xm"`},
		{"short garbage", []byte{1, 2}, ErrBadMagic, "2 bytes"},
		{"info as batch", EncodeInfo(Info{ClusterID: "c"}), ErrBadMagic, `not "HMEB"`},
		{"version", edit(func(d []byte) []byte { d[4] = 2; return d }), ErrBadVersion, "version 2"},
		{"flags", edit(func(d []byte) []byte { d[6] = 1; return d }), ErrBadVersion, "flags"},
		{"trailing bytes", append(bytes.Clone(good), 0), ErrBadLength, "1 bytes after the declared end"},
		{"declared too small", edit(func(d []byte) []byte { binary.BigEndian.PutUint32(d[8:], 10); return d }), ErrBadLength, "declared length 10"},
		{"bit flip in op", edit(func(d []byte) []byte { d[40] ^= 0x10; return d }), ErrBadChecksum, "crc32c"},
		{"bit flip in crc", edit(func(d []byte) []byte { d[len(d)-1] ^= 1; return d }), ErrBadChecksum, "stored"},
		{"bit flip in first", edit(func(d []byte) []byte { d[23] ^= 1; return d }), ErrBadChecksum, ""},
		{"zero count", edit(func(d []byte) []byte { binary.BigEndian.PutUint32(d[12:], 0); return reseal(d) }), ErrBadCount, "no ops"},
		{"huge count", edit(func(d []byte) []byte { binary.BigEndian.PutUint32(d[12:], math.MaxUint32); return reseal(d) }), ErrBadCount, "4294967295 ops declared"},
		{"count too high", edit(func(d []byte) []byte { binary.BigEndian.PutUint32(d[12:], 4); return reseal(d) }), ErrBadCount, "4 ops declared, the data ends after 3"},
		{"count too low", edit(func(d []byte) []byte { binary.BigEndian.PutUint32(d[12:], 2); return reseal(d) }), ErrBadCount, "bytes left after the 2 declared ops"},
		{"zero first", edit(func(d []byte) []byte { binary.BigEndian.PutUint64(d[16:], 0); return reseal(d) }), ErrBadTxID, "first txid 0"},
		{"negative first", edit(func(d []byte) []byte { binary.BigEndian.PutUint64(d[16:], 1<<63); return reseal(d) }), ErrBadTxID, "first txid -9223372036854775808"},
		{"range overflow", edit(func(d []byte) []byte { binary.BigEndian.PutUint64(d[16:], math.MaxInt64); return reseal(d) }), ErrBadTxID, "overflow"},
		{"op too long", edit(func(d []byte) []byte { binary.BigEndian.PutUint32(d[24:], 1000); return reseal(d) }), ErrBadLength, "op 0 (txid 101) claims 1000 bytes, 317 remain"},
		{"op absurd", edit(func(d []byte) []byte { binary.BigEndian.PutUint32(d[24:], math.MaxUint32); return reseal(d) }), ErrBadLength, "claims 4294967295 bytes, must be 1 to"},
		{"op empty", edit(func(d []byte) []byte { binary.BigEndian.PutUint32(d[24:], 0); return reseal(d) }), ErrBadLength, "claims 0 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeBatch(c.data)
			if !errors.Is(err, c.kind) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("DecodeBatch = %v, want %v (and ErrCorrupt)", err, c.kind)
			}
			if !strings.HasPrefix(err.Error(), "edit batch: "+c.kind.Error()) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("DecodeBatch error %q does not say %q", err, c.text)
			}
		})
	}
}

// TestDecodeBatchBoundedAllocation: a tiny input whose count and lengths
// claim gigabytes never makes DecodeBatch allocate for them.
func TestDecodeBatchBoundedAllocation(t *testing.T) {
	d := EncodeBatch(Batch{First: 1, Ops: [][]byte{{1}}})
	binary.BigEndian.PutUint32(d[12:], 1<<31)
	reseal(d)
	// TotalAlloc counts the whole process (the runtime and other tests
	// allocate too), so the least of several runs is taken: an allocation
	// sized by the forged count would show in every one.
	least := uint64(1 << 62)
	for range 10 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := DecodeBatch(d)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrBadCount) {
			t.Fatalf("DecodeBatch = %v, want ErrBadCount", err)
		}
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	if least > 4096 {
		t.Fatalf("DecodeBatch allocated %d bytes for a forged count", least)
	}
}

func TestInfoRoundTrip(t *testing.T) {
	for _, info := range []Info{
		{},
		{NamespaceID: 42, ClusterID: "CID-1", BlockPoolID: "BP-42-127.0.0.1-1", CTime: 1700000000000, LayoutVersion: -66},
		{NamespaceID: math.MinInt32, ClusterID: strings.Repeat("c", MaxIDLen), BlockPoolID: strings.Repeat("b", MaxIDLen), CTime: math.MinInt64, LayoutVersion: math.MaxInt32},
	} {
		if err := CheckInfo(info); err != nil {
			t.Fatal(err)
		}
		got, err := DecodeInfo(EncodeInfo(info))
		if err != nil || got != info {
			t.Fatalf("DecodeInfo(EncodeInfo(%+v)) = %+v, %v", info, got, err)
		}
	}
	if err := CheckInfo(Info{ClusterID: strings.Repeat("c", MaxIDLen+1)}); err == nil {
		t.Fatal("CheckInfo accepted an overlong cluster id")
	}
}

func TestDecodeInfoErrors(t *testing.T) {
	good := EncodeInfo(Info{NamespaceID: 7, ClusterID: "CID-x", BlockPoolID: "BP-y"})
	edit := func(f func(d []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, c := range []struct {
		name string
		data []byte
		kind error
	}{
		{"empty", nil, ErrTruncated},
		{"cut", good[:len(good)-2], ErrTruncated},
		{"batch as info", EncodeBatch(testBatch()), ErrBadMagic},
		{"version", edit(func(d []byte) []byte { d[4] = 9; return d }), ErrBadVersion},
		{"trailing", append(bytes.Clone(good), 1, 2), ErrBadLength},
		{"flip", edit(func(d []byte) []byte { d[33] ^= 4; return d }), ErrBadChecksum},
		{"id length", edit(func(d []byte) []byte { binary.BigEndian.PutUint16(d[28:], 6); return reseal(d) }), ErrBadLength},
		{"id absurd", edit(func(d []byte) []byte { binary.BigEndian.PutUint16(d[30:], 60000); return reseal(d) }), ErrBadLength},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeInfo(c.data)
			if !errors.Is(err, c.kind) || !errors.Is(err, ErrCorrupt) || !strings.HasPrefix(err.Error(), "namespace identity: ") {
				t.Fatalf("DecodeInfo = %v, want %v (and ErrCorrupt)", err, c.kind)
			}
		})
	}
}

// TestDecodeBatchEveryFlip: no single bit flip of a valid batch decodes.
func TestDecodeBatchEveryFlip(t *testing.T) {
	good := EncodeBatch(testBatch())
	for i := range len(good) * 8 {
		d := bytes.Clone(good)
		d[i/8] ^= 1 << (i % 8)
		if b, err := DecodeBatch(d); err == nil {
			t.Fatalf("flipping bit %d decodes as %+v", i, b)
		} else if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flipping bit %d: %v does not match ErrCorrupt", i, err)
		}
	}
}

func TestNewCorruptError(t *testing.T) {
	_, derr := DecodeBatch([]byte("junk"))
	err := error(NewCorruptError("file:///m", "edits/0000000000000000101", derr))
	if !errors.Is(err, ErrCorrupt) {
		t.Fatal("not ErrCorrupt")
	}
	want := "tablestore: corrupt object edits/0000000000000000101 in file:///m: edit batch: bad magic"
	if !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %q, want it to start with %q", err, want)
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(EncodeBatch(testBatch()))
	f.Add(EncodeBatch(Batch{First: 1, Ops: [][]byte{{0}}}))
	f.Add([]byte("HMEB"))
	f.Add(EncodeInfo(Info{ClusterID: "c"}))
	rng := rand.New(rand.NewPCG(9, 9))
	for range 4 {
		d := EncodeBatch(testBatch())
		d[rng.IntN(len(d))] ^= byte(1 + rng.IntN(255))
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBatch(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not match ErrCorrupt", err)
			}
			return
		}
		if err := CheckBatch(b); err != nil {
			t.Fatalf("decoded a batch CheckBatch refuses: %v", err)
		}
		if !bytes.Equal(EncodeBatch(b), data) {
			t.Fatal("a decoded batch re-encodes to other bytes")
		}
	})
}

func FuzzDecodeInfo(f *testing.F) {
	f.Add(EncodeInfo(Info{NamespaceID: 1, ClusterID: "CID", BlockPoolID: "BP", CTime: 5, LayoutVersion: -66}))
	f.Add([]byte("HMID"))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := DecodeInfo(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not match ErrCorrupt", err)
			}
			return
		}
		if !bytes.Equal(EncodeInfo(info), data) {
			t.Fatal("a decoded identity re-encodes to other bytes")
		}
	})
}
