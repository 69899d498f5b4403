package elector

import (
	"bytes"
	"errors"
	"testing"
)

func TestNodeInfoBytes(t *testing.T) {
	n := NodeInfo{Nameservice: "ns", NameNode: "nn1", Host: "h", Port: 8020, ZKFCPort: 8019}
	// ActiveNodeInfo: 1 nameserviceId, 2 namenodeId, 3 hostname (strings),
	// 4 port, 5 zkfcPort (int32 varints), as protoc writes them.
	want := []byte{
		0x0a, 2, 'n', 's',
		0x12, 3, 'n', 'n', '1',
		0x1a, 1, 'h',
		0x20, 0xd4, 0x3e, // 8020
		0x28, 0xd3, 0x3e, // 8019
	}
	if got := n.Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("got % x\nwant % x", got, want)
	}
	back, err := ParseNodeInfo(want)
	if err != nil || back != n {
		t.Fatalf("%+v %v", back, err)
	}
	if n.String() != "NameNode at h:8020" || n.ZKFCAddr() != "h:8019" {
		t.Fatal(n.String(), n.ZKFCAddr())
	}
}

func TestParseNodeInfoSkipsUnknownFields(t *testing.T) {
	b := append(nn2.Marshal(), 0x30, 0x01, 0x3a, 0x01, 'x') // fields 6 and 7
	got, err := ParseNodeInfo(b)
	if err != nil || got != nn2 {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestParseNodeInfoErrors(t *testing.T) {
	full := nn1.Marshal()
	for name, b := range map[string][]byte{
		"empty":     nil,
		"truncated": full[:len(full)-1],
		"missing":   full[:5],
		"garbage":   {0xff, 0xff, 0xff},
		"wire type": {0x08, 0x01}, // field 1 as a varint
	} {
		if _, err := ParseNodeInfo(b); !errors.Is(err, ErrBadNodeInfo) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseNodeInfo(f *testing.F) {
	f.Add(nn1.Marshal())
	f.Add([]byte{0x0a, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseNodeInfo(b)
		if err != nil {
			return
		}
		again, err := ParseNodeInfo(n.Marshal())
		if err != nil || again != n {
			t.Fatalf("round trip: %+v -> %+v, %v", n, again, err)
		}
	})
}
