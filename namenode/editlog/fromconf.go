package editlog

import (
	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/namenode/qjm"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// JournalFromConf picks the journal of NameNode nn of nameservice ns: the
// quorum journal when dfs.namenode.shared.edits.dir is set (HA), the
// local one in dfs.namenode.edits.dir otherwise. fs is the filesystem of
// the local journal (vfs.Default outside tests); log may be nil.
func JournalFromConf(c *conf.Conf, ns, nn string, nsInfo *hdfspb.NamespaceInfoProto, fs vfs.FS, log *zap.Logger) (Journal, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if _, ha, err := c.SharedEditsDir(ns, nn); err != nil {
		return nil, err
	} else if ha {
		cfg, err := qjm.ConfigFromConf(c, ns, nn, nsInfo)
		if err != nil {
			return nil, err
		}
		cfg.Logger = log.Named("qjm")
		m, err := qjm.NewManager(cfg)
		if err != nil {
			return nil, err
		}
		return NewQJMJournal(m), nil
	}
	dir, err := EditsDirFromConf(c)
	if err != nil {
		return nil, err
	}
	return OpenLocal(fs, dir, log.Named("editlog"))
}
