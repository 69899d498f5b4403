package namespace

import (
	"encoding/binary"
	"errors"

	"github.com/cockroachdb/pebble/v2"
)

// Key prefixes; the layout is drawn in doc.go.
const (
	prefixMeta   byte = 0x01
	prefixINode  byte = 0x02
	prefixDirent byte = 0x03
	prefixBlock  byte = 0x04
	prefixXAttr  byte = 0x05
	prefixOpen   byte = 0x06
)

// Metadata keys (prefixMeta + ASCII name). Integer values are 8-byte
// big-endian, string values are their UTF-8 bytes.
var (
	metaLastTxID      = metaKey("lastAppliedTxid")
	metaLastINodeID   = metaKey("lastInodeId")
	metaLastBlockID   = metaKey("lastBlockId")
	metaGenStamp      = metaKey("genStampV2")
	metaFiles         = metaKey("numFiles")
	metaDirs          = metaKey("numDirs")
	metaNamespaceID   = metaKey("namespaceId")
	metaClusterID     = metaKey("clusterId")
	metaBlockPoolID   = metaKey("blockPoolId")
	metaCTime         = metaKey("cTime")
	metaLayoutVersion = metaKey("layoutVersion")
)

func metaKey(name string) []byte { return append([]byte{prefixMeta}, name...) }

func inodeKey(id uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixINode
	binary.BigEndian.PutUint64(k[1:], id)
	return k
}

// direntPrefix is the prefix of all entries of directory parent.
func direntPrefix(parent uint64) []byte {
	k := make([]byte, 9, 9+32)
	k[0] = prefixDirent
	binary.BigEndian.PutUint64(k[1:], parent)
	return k
}

func direntKey(parent uint64, name string) []byte {
	return append(direntPrefix(parent), name...)
}

func blockKey(id uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixBlock
	binary.BigEndian.PutUint64(k[1:], id)
	return k
}

// openKey marks file id as under construction (layout version 2).
func openKey(id uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixOpen
	binary.BigEndian.PutUint64(k[1:], id)
	return k
}

func xattrPrefix(inode uint64) []byte {
	k := make([]byte, 9, 9+1+16)
	k[0] = prefixXAttr
	binary.BigEndian.PutUint64(k[1:], inode)
	return k
}

func xattrKey(inode uint64, ns byte, name string) []byte {
	return append(append(xattrPrefix(inode), ns), name...)
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func beUint64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func iterPrefix(p []byte) *pebble.IterOptions {
	return &pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)}
}

func isNotFound(err error) bool { return errors.Is(err, pebble.ErrNotFound) }
