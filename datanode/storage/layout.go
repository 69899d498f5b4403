package storage

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"

	"github.com/hdfsha/hdfsha/internal/javaprops"
	"github.com/hdfsha/hdfsha/internal/vfs"
)

// LayoutVersion is the DataNode layout version VERSION files carry: Hadoop
// 3's DataNodeLayoutVersion.CURRENT_LAYOUT_VERSION, the 32x32 block-id based
// layout (-57).
const LayoutVersion = -57

const (
	versionFile    = "VERSION"
	storageTypeDN  = "DATA_NODE"
	dirCurrent     = "current"
	dirFinalized   = "finalized"
	dirRbw         = "rbw"
	dirTmp         = "tmp"
	subdirPrefix   = "subdir"
	blockPrefix    = "blk_"
	metaSuffix     = ".meta"
	blockPoolIDPfx = "BP-"
)

// IDToBlockDir is Hadoop's DatanodeUtil.idToBlockDir: the directory under
// finalized/ that holds a finalized replica, subdir<(id>>16)&31>/subdir<(id>>8)&31>.
func IDToBlockDir(blockID uint64) string {
	d1 := (blockID >> 16) & 0x1F
	d2 := (blockID >> 8) & 0x1F
	return vfs.Join(subdirPrefix+strconv.FormatUint(d1, 10), subdirPrefix+strconv.FormatUint(d2, 10))
}

// BlockFileName is blk_<id> (the id as a signed Java long).
func BlockFileName(blockID uint64) string { return blockPrefix + strconv.FormatInt(int64(blockID), 10) }

// MetaFileName is blk_<id>_<genstamp>.meta.
func MetaFileName(blockID, genStamp uint64) string {
	return BlockFileName(blockID) + "_" + strconv.FormatUint(genStamp, 10) + metaSuffix
}

// parseBlockFileName recognizes blk_<id>.
func parseBlockFileName(name string) (uint64, bool) {
	rest, ok := strings.CutPrefix(name, blockPrefix)
	if !ok || strings.Contains(rest, "_") || strings.Contains(rest, ".") {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return uint64(id), err == nil
}

// parseMetaFileName recognizes blk_<id>_<gs>.meta.
func parseMetaFileName(name string) (id, gs uint64, ok bool) {
	rest, ok := strings.CutPrefix(name, blockPrefix)
	if !ok {
		return 0, 0, false
	}
	rest, ok = strings.CutSuffix(rest, metaSuffix)
	if !ok {
		return 0, 0, false
	}
	idStr, gsStr, ok := strings.Cut(rest, "_")
	if !ok {
		return 0, 0, false
	}
	i, err1 := strconv.ParseInt(idStr, 10, 64)
	g, err2 := strconv.ParseUint(gsStr, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uint64(i), g, true
}

// Paths inside one data directory (a volume).
func volCurrent(root string) string          { return vfs.Join(root, dirCurrent) }
func volVersion(root string) string          { return vfs.Join(root, dirCurrent, versionFile) }
func bpDir(root, bpid string) string         { return vfs.Join(root, dirCurrent, bpid) }
func bpCurrent(root, bpid string) string     { return vfs.Join(root, dirCurrent, bpid, dirCurrent) }
func bpVersion(root, bpid string) string     { return vfs.Join(bpCurrent(root, bpid), versionFile) }
func finalizedRoot(root, bpid string) string { return vfs.Join(bpCurrent(root, bpid), dirFinalized) }
func rbwDir(root, bpid string) string        { return vfs.Join(bpCurrent(root, bpid), dirRbw) }
func tmpDir(root, bpid string) string        { return vfs.Join(bpDir(root, bpid), dirTmp) }
func finalizedDir(root, bpid string, id uint64) string {
	return vfs.Join(finalizedRoot(root, bpid), IDToBlockDir(id))
}

// NormalizeDataDir turns one dfs.datanode.data.dir entry into a local path:
// surrounding space, a storage type tag ("[DISK]", "[SSD]", ...) and a
// file:// scheme are removed, as Hadoop's StorageLocation.parse accepts them.
func NormalizeDataDir(entry string) (string, error) {
	s := strings.TrimSpace(entry)
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]"); i > 0 {
			s = s[i+1:]
		}
	}
	if rest, ok := strings.CutPrefix(s, "file://"); ok {
		s = rest
	} else if rest, ok := strings.CutPrefix(s, "file:"); ok {
		s = rest
	} else if i := strings.Index(s, "://"); i > 0 {
		return "", fmt.Errorf("dfs.datanode.data.dir entry %q: only local file: directories are supported", entry)
	}
	if s == "" {
		return "", fmt.Errorf("dfs.datanode.data.dir entry %q names no directory", entry)
	}
	return s, nil
}

// ParseDataDirs splits dfs.datanode.data.dir (comma-separated) into local
// paths with NormalizeDataDir; empty entries are skipped.
func ParseDataDirs(value string) ([]string, error) {
	var dirs []string
	for _, e := range strings.Split(value, ",") {
		if strings.TrimSpace(e) == "" {
			continue
		}
		d, err := NormalizeDataDir(e)
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// newUUID makes a random (version 4) UUID in its text form.
func newUUID() (string, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", err
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]), nil
}

// dnVersion is <dir>/current/VERSION.
type dnVersion struct {
	StorageID     string
	ClusterID     string
	CTime         int64
	DatanodeUUID  string
	LayoutVersion int32
}

func (v dnVersion) encode() []byte {
	return javaprops.Format("hdfsha DataNode storage", map[string]string{
		"storageID":     v.StorageID,
		"clusterID":     v.ClusterID,
		"cTime":         strconv.FormatInt(v.CTime, 10),
		"datanodeUuid":  v.DatanodeUUID,
		"storageType":   storageTypeDN,
		"layoutVersion": strconv.Itoa(int(v.LayoutVersion)),
	})
}

func decodeDNVersion(path string, data []byte) (dnVersion, error) {
	p := javaprops.Parse(data)
	var v dnVersion
	if st := p["storageType"]; st != storageTypeDN {
		return v, fmt.Errorf("%w: %s: storageType is %q, not %s", ErrIncompatibleStorage, path, st, storageTypeDN)
	}
	for _, k := range []string{"storageID", "clusterID", "cTime", "datanodeUuid", "layoutVersion"} {
		if _, ok := p[k]; !ok {
			return v, fmt.Errorf("%w: %s: missing property %s", ErrIncompatibleStorage, path, k)
		}
	}
	v.StorageID, v.ClusterID, v.DatanodeUUID = p["storageID"], p["clusterID"], p["datanodeUuid"]
	ct, err1 := strconv.ParseInt(p["cTime"], 10, 64)
	lv, err2 := strconv.ParseInt(p["layoutVersion"], 10, 32)
	if err1 != nil || err2 != nil {
		return v, fmt.Errorf("%w: %s: bad cTime %q or layoutVersion %q", ErrIncompatibleStorage, path, p["cTime"], p["layoutVersion"])
	}
	v.CTime, v.LayoutVersion = ct, int32(lv)
	if v.LayoutVersion != LayoutVersion {
		return v, fmt.Errorf("%w: %s: layoutVersion %d, this DataNode supports %d only", ErrIncompatibleStorage, path, v.LayoutVersion, LayoutVersion)
	}
	return v, nil
}

// bpVersionInfo is <dir>/current/<bpid>/current/VERSION.
type bpVersionInfo struct {
	NamespaceID   uint32
	CTime         int64
	BlockPoolID   string
	LayoutVersion int32
}

func (v bpVersionInfo) encode() []byte {
	return javaprops.Format("hdfsha DataNode block pool storage", map[string]string{
		"namespaceID":   strconv.Itoa(int(int32(v.NamespaceID))), // Java int
		"cTime":         strconv.FormatInt(v.CTime, 10),
		"blockpoolID":   v.BlockPoolID,
		"layoutVersion": strconv.Itoa(int(v.LayoutVersion)),
	})
}

func decodeBPVersion(path string, data []byte) (bpVersionInfo, error) {
	p := javaprops.Parse(data)
	var v bpVersionInfo
	for _, k := range []string{"namespaceID", "cTime", "blockpoolID", "layoutVersion"} {
		if _, ok := p[k]; !ok {
			return v, fmt.Errorf("%w: %s: missing property %s", ErrIncompatibleStorage, path, k)
		}
	}
	ns, err1 := strconv.ParseInt(p["namespaceID"], 10, 64)
	ct, err2 := strconv.ParseInt(p["cTime"], 10, 64)
	lv, err3 := strconv.ParseInt(p["layoutVersion"], 10, 32)
	if err1 != nil || err2 != nil || err3 != nil {
		return v, fmt.Errorf("%w: %s: bad number in namespaceID %q, cTime %q or layoutVersion %q", ErrIncompatibleStorage, path, p["namespaceID"], p["cTime"], p["layoutVersion"])
	}
	// Java writes the int namespaceID signed.
	v.NamespaceID, v.CTime, v.BlockPoolID, v.LayoutVersion = uint32(ns), ct, p["blockpoolID"], int32(lv)
	return v, nil
}
