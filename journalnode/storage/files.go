package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/javaprops"
	"github.com/hdfsha/hdfsha/internal/vfs"
)

// File names inside current/, as Hadoop's JNStorage and Journal name them.
const (
	versionFile        = "VERSION"
	lastPromisedFile   = "last-promised-epoch"
	lastWriterFile     = "last-writer-epoch"
	committedTxIDFile  = "committed-txid"
	paxosDirName       = "paxos"
	brokenSuffix       = ".broken"
	emptySuffix        = ".empty"
	tmpSuffix          = ".tmp"
	syncTmpEpochSuffix = ".epoch="
	storageTypeJN      = "JOURNAL_NODE"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// NamespaceInfo identifies the namespace a journal belongs to; it is kept
// in current/VERSION.
type NamespaceInfo struct {
	NamespaceID   int32
	ClusterID     string
	CTime         int64
	LayoutVersion int32
}

func (ns NamespaceInfo) String() string {
	return fmt.Sprintf("lv=%d;cid=%s;nsid=%d;c=%d", ns.LayoutVersion, ns.ClusterID, ns.NamespaceID, ns.CTime)
}

// encodeVersion renders VERSION in Java properties form. Java writes a
// date comment first; it carries no information and needs a clock, so a
// fixed comment stands in.
func encodeVersion(ns NamespaceInfo) []byte {
	var b bytes.Buffer
	b.WriteString("#hdfsha JournalNode storage\n")
	fmt.Fprintf(&b, "namespaceID=%d\n", ns.NamespaceID)
	fmt.Fprintf(&b, "clusterID=%s\n", ns.ClusterID)
	fmt.Fprintf(&b, "cTime=%d\n", ns.CTime)
	fmt.Fprintf(&b, "storageType=%s\n", storageTypeJN)
	fmt.Fprintf(&b, "layoutVersion=%d\n", ns.LayoutVersion)
	return b.Bytes()
}

func decodeVersion(path string, data []byte) (NamespaceInfo, error) {
	props := javaprops.Parse(data)
	bad := func(format string, args ...any) error {
		return &edits.CorruptionError{File: path, Reason: fmt.Sprintf(format, args...)}
	}
	get := func(key string) (string, error) {
		v, ok := props[key]
		if !ok {
			return "", bad("missing property %s", key)
		}
		return v, nil
	}
	var ns NamespaceInfo
	st, err := get("storageType")
	if err != nil {
		return ns, err
	}
	if st != storageTypeJN {
		return ns, bad("storageType is %q, want %s", st, storageTypeJN)
	}
	if ns.ClusterID, err = get("clusterID"); err != nil {
		return ns, err
	}
	for _, f := range []struct {
		key  string
		bits int
		set  func(int64)
	}{
		{"namespaceID", 32, func(v int64) { ns.NamespaceID = int32(v) }},
		{"cTime", 64, func(v int64) { ns.CTime = v }},
		{"layoutVersion", 32, func(v int64) { ns.LayoutVersion = int32(v) }},
	} {
		s, err := get(f.key)
		if err != nil {
			return ns, err
		}
		v, err := strconv.ParseInt(s, 10, f.bits)
		if err != nil {
			return ns, bad("property %s: %v", f.key, err)
		}
		f.set(v)
	}
	return ns, nil
}

// readLongFile reads a decimal long written by writeLongFile; a missing
// file reads as def.
func readLongFile(fs vfs.FS, path string, def int64) (int64, error) {
	data, err := vfs.ReadFile(fs, path)
	if errors.Is(err, os.ErrNotExist) {
		return def, nil
	}
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, &edits.CorruptionError{File: path, Reason: fmt.Sprintf("not a decimal number: %q", data)}
	}
	return v, nil
}

func writeLongFile(fs vfs.FS, path string, v int64) error {
	return vfs.WriteFileAtomic(fs, path, []byte(strconv.FormatInt(v, 10)+"\n"))
}

// bestEffortLongSize is the size of a best-effort long file: the value as
// a big-endian uint64, then the CRC-32C (Castagnoli) of those 8 bytes.
const bestEffortLongSize = 12

// encodeBestEffortLong encodes v for a best-effort long file. The file is
// overwritten in place at offset 0 and never fsynced, as Hadoop's
// BestEffortLongFile does, so advancing it costs a page-cache write and no
// metadata change. The CRC lets a torn write after a crash read as unknown
// instead of as a wrong number.
func encodeBestEffortLong(v int64) []byte {
	b := make([]byte, bestEffortLongSize)
	binary.BigEndian.PutUint64(b, uint64(v))
	binary.BigEndian.PutUint32(b[8:], crc32.Checksum(b[:8], castagnoli))
	return b
}

// readBestEffortLongFile reads a best-effort long file. A missing file, or
// one a crash left short, empty or torn (bad CRC), reads as def: only a
// value that may lag, such as the committed txid, is kept this way.
func readBestEffortLongFile(fs vfs.FS, path string, def int64) (int64, error) {
	data, err := vfs.ReadFile(fs, path)
	if errors.Is(err, os.ErrNotExist) {
		return def, nil
	}
	if err != nil {
		return 0, err
	}
	if len(data) != bestEffortLongSize || crc32.Checksum(data[:8], castagnoli) != binary.BigEndian.Uint32(data[8:]) {
		return def, nil
	}
	return int64(binary.BigEndian.Uint64(data)), nil
}

// SegmentState describes a segment: Hadoop's SegmentStateProto.
type SegmentState struct {
	StartTxID  int64
	EndTxID    int64
	InProgress bool
}

func (s SegmentState) String() string {
	return fmt.Sprintf("startTxId: %d endTxId: %d isInProgress: %t", s.StartTxID, s.EndTxID, s.InProgress)
}

func (s SegmentState) contains(txid int64) bool { return s.StartTxID <= txid && txid <= s.EndTxID }

// paxosData is an accepted recovery proposal: Hadoop's
// PersistedRecoveryPaxosData.
type paxosData struct {
	AcceptedInEpoch int64
	Segment         SegmentState
}

func (p paxosData) String() string {
	return fmt.Sprintf("segmentState { %s } acceptedInEpoch: %d", p.Segment, p.AcceptedInEpoch)
}

const paxosSize = 33

var paxosMagic = [4]byte{'H', 'P', 'X', 'S'}

func encodePaxos(p paxosData) []byte {
	b := make([]byte, 0, paxosSize+64)
	b = append(b, paxosMagic[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(p.AcceptedInEpoch))
	b = binary.BigEndian.AppendUint64(b, uint64(p.Segment.StartTxID))
	b = binary.BigEndian.AppendUint64(b, uint64(p.Segment.EndTxID))
	var flags byte
	if p.Segment.InProgress {
		flags |= 1
	}
	b = append(b, flags)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return append(b, "\n"+p.String()+"\n"...)
}

func decodePaxos(path string, b []byte) (paxosData, error) {
	bad := func(off int64, reason string) error {
		return &edits.CorruptionError{File: path, Offset: off, Reason: reason}
	}
	if len(b) < paxosSize {
		return paxosData{}, bad(int64(len(b)), "paxos data truncated")
	}
	if [4]byte(b[0:4]) != paxosMagic {
		return paxosData{}, bad(0, "bad paxos magic")
	}
	if crc32.Checksum(b[:29], castagnoli) != binary.BigEndian.Uint32(b[29:33]) {
		return paxosData{}, bad(29, "paxos checksum mismatch")
	}
	if b[28]&^1 != 0 {
		return paxosData{}, bad(28, "unknown paxos flags")
	}
	p := paxosData{
		AcceptedInEpoch: int64(binary.BigEndian.Uint64(b[4:12])),
		Segment: SegmentState{
			StartTxID:  int64(binary.BigEndian.Uint64(b[12:20])),
			EndTxID:    int64(binary.BigEndian.Uint64(b[20:28])),
			InProgress: b[28]&1 != 0,
		},
	}
	if p.AcceptedInEpoch < 0 || p.Segment.StartTxID < 1 || p.Segment.EndTxID < p.Segment.StartTxID {
		return paxosData{}, bad(4, "paxos values out of range")
	}
	return p, nil
}

// segmentFile is a segment file found in current/.
type segmentFile struct {
	name string
	edits.SegmentName
}

// listSegments returns the segment files in dir sorted by first txid
// (in-progress after finalized for the same first txid).
func listSegments(fs vfs.FS, dir string) ([]segmentFile, error) {
	names, err := fs.List(dir)
	if err != nil {
		return nil, err
	}
	var segs []segmentFile
	for _, n := range names {
		if sn, ok := edits.ParseSegmentName(n); ok {
			segs = append(segs, segmentFile{name: n, SegmentName: sn})
		}
	}
	sort.Slice(segs, func(i, j int) bool {
		if segs[i].First != segs[j].First {
			return segs[i].First < segs[j].First
		}
		return !segs[i].InProgress && segs[j].InProgress
	})
	return segs, nil
}
