package namenode

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hdfsha/hdfsha/internal/javaprops"
	"github.com/hdfsha/hdfsha/internal/vfs"
)

// LayoutVersion is the NameNode layout version VERSION carries (Hadoop 3.3's
// NAMENODE_LAYOUT_VERSION).
const LayoutVersion = -66

// ErrNotFormatted: the name directory has no VERSION.
var ErrNotFormatted = errors.New("NameNode is not formatted.")

// StorageInfo is the content of <name.dir>/current/VERSION.
type StorageInfo struct {
	NamespaceID   int32
	ClusterID     string
	BlockPoolID   string
	CTime         int64
	LayoutVersion int32
}

// versionPath is <nameDir>/current/VERSION.
func versionPath(nameDir string) string { return filepath.Join(nameDir, "current", "VERSION") }

// NewStorageInfo creates the identity of a new namespace. clusterID may be
// empty (a fresh CID-<uuid> is made).
func NewStorageInfo(clusterID string, now time.Time) (StorageInfo, error) {
	if clusterID == "" {
		var u [16]byte
		if _, err := rand.Read(u[:]); err != nil {
			return StorageInfo{}, err
		}
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		clusterID = fmt.Sprintf("CID-%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1<<31-2))
	if err != nil {
		return StorageInfo{}, err
	}
	r, err := rand.Int(rand.Reader, big.NewInt(1<<31-1))
	if err != nil {
		return StorageInfo{}, err
	}
	return StorageInfo{
		NamespaceID:   int32(n.Int64() + 1),
		ClusterID:     clusterID,
		BlockPoolID:   fmt.Sprintf("BP-%d-%s-%d", r.Int64(), localIP(), now.UnixMilli()),
		CTime:         0,
		LayoutVersion: LayoutVersion,
	}, nil
}

// localIP is the address Hadoop's block pool ids embed: the first
// non-loopback IPv4 address, else 127.0.0.1.
func localIP() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

// WriteVersion writes VERSION in Hadoop's java.util.Properties shape,
// atomically (temp file, fsync, rename, fsync the directory).
func WriteVersion(nameDir string, si StorageInfo, now time.Time) error {
	if err := vfs.MkdirAllDurable(vfs.Default, filepath.Join(nameDir, "current"), 0o755); err != nil {
		return err
	}
	props := map[string]string{
		"namespaceID":   strconv.Itoa(int(si.NamespaceID)),
		"clusterID":     si.ClusterID,
		"cTime":         strconv.FormatInt(si.CTime, 10),
		"storageType":   "NAME_NODE",
		"blockpoolID":   si.BlockPoolID,
		"layoutVersion": strconv.Itoa(int(si.LayoutVersion)),
	}
	return vfs.WriteFileAtomic(vfs.Default, versionPath(nameDir), javaprops.Format(now.UTC().Format("Mon Jan 02 15:04:05 MST 2006"), props))
}

// ReadVersion reads VERSION; ErrNotFormatted when it is missing.
func ReadVersion(nameDir string) (StorageInfo, error) {
	p := versionPath(nameDir)
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return StorageInfo{}, fmt.Errorf("%w (%s is missing)", ErrNotFormatted, p)
	}
	if err != nil {
		return StorageInfo{}, err
	}
	props := javaprops.Parse(data)
	if props["storageType"] != "NAME_NODE" {
		return StorageInfo{}, fmt.Errorf("%s: storageType is %q, not NAME_NODE", p, props["storageType"])
	}
	var si StorageInfo
	nsid, err1 := strconv.ParseInt(props["namespaceID"], 10, 32)
	ctime, err2 := strconv.ParseInt(props["cTime"], 10, 64)
	lv, err3 := strconv.ParseInt(props["layoutVersion"], 10, 32)
	if err := errors.Join(err1, err2, err3); err != nil {
		return StorageInfo{}, fmt.Errorf("%s: %w", p, err)
	}
	si.NamespaceID, si.CTime, si.LayoutVersion = int32(nsid), ctime, int32(lv)
	si.ClusterID, si.BlockPoolID = props["clusterID"], props["blockpoolID"]
	if si.ClusterID == "" || si.BlockPoolID == "" {
		return StorageInfo{}, fmt.Errorf("%s: clusterID or blockpoolID missing", p)
	}
	return si, nil
}

// hasData reports whether dir exists and holds anything (Hadoop's
// confirmFormat asks before formatting such a directory).
func hasData(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if e.Name() != vfs.LockFileName {
			return true
		}
	}
	return false
}

// lockNameDir creates the name directory if needed and takes its
// in_use.lock (vfs.LockDir), so two NameNodes, or a format and a running
// NameNode, never share it.
func lockNameDir(dir string) (release func() error, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return vfs.LockDir(dir, "NameNode")
}
