package namenode

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/namenode/ha"
	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/namenode/web"
)

// imageStore serves /imagetransfer from the name directory. It is called
// by registerWeb with n.mu held, after Start read VERSION (it reads n.si
// directly). The store never takes n.mu or n.trMu: web.Server.Stop, called
// with n.mu held, waits for the handlers inside the store.
func (n *NameNode) imageStore() web.ImageStore {
	return &imageStore{n: n, dir: n.cfg.NameDir, storageInfo: storageInfoString(n.si), log: n.log.Named("checkpoint")}
}

// storageInfoString is Hadoop's StorageInfo.toColonSeparatedString:
// layoutVersion:namespaceID:cTime:clusterID. An image upload carries the
// uploader's, and the receiver refuses one of another namespace.
func storageInfoString(si StorageInfo) string {
	return strconv.Itoa(int(si.LayoutVersion)) + ":" + strconv.Itoa(int(si.NamespaceID)) + ":" +
		strconv.FormatInt(si.CTime, 10) + ":" + si.ClusterID
}

// imageStore is the name directory as web.ImageStore, and what the active
// does with an image a standby uploads: keep it, roll the edit log so the
// segments the image covers are finalized, then apply retention (images
// and JournalNode edits).
type imageStore struct {
	n           *NameNode
	dir         string
	storageInfo string
	log         *zap.Logger
}

var _ web.ImageStore = (*imageStore)(nil)

func (s *imageStore) Stream(w io.Writer, txid int64) error {
	p := image.Path(s.dir, txid)
	if _, err := os.Stat(p); err != nil {
		return fmt.Errorf("%w: %s", web.ErrNoImage, image.Name(txid))
	}
	return image.Stream(w, image.Info{TxID: txid, Path: p})
}

// AcceptsUploads: only the active keeps uploaded images (Hadoop also lets
// an observer; there is none here).
func (s *imageStore) AcceptsUploads() (bool, string) {
	st := s.n.HAState()
	return st == ha.Active, st.String()
}

func (s *imageStore) StorageInfo() string { return s.storageInfo }

func (s *imageStore) Receive(ctx context.Context, r io.Reader, txid int64) error {
	info, err := image.Receive(r, s.dir, txid)
	if err != nil {
		s.log.Warn("image upload failed", zap.Int64("txid", txid), zap.Error(err))
		return err
	}
	s.log.Info("accepted uploaded image", zap.String("image", info.Path), zap.Int64("txid", info.TxID))
	s.afterUpload(ctx, info.TxID)
	return nil
}

// afterUpload rolls the edit log when its open segment holds edits the new
// image covers, then purges old images and edits. Failures are logged: the
// image is kept either way, and the next checkpoint purges again.
//
// Rolling here, at each accepted checkpoint, is what finalizes the
// segments a checkpoint makes purgeable (edits are purged by whole
// finalized segments). Hadoop instead has the standby ask the active to
// roll every dfs.ha.log-roll.period; one roll per checkpoint suffices for
// retention, and the standby here tails in-progress segments, so it does
// not need rolls to see edits.
func (s *imageStore) afterUpload(ctx context.Context, txid int64) {
	var el *editlog.EditLog
	sys := s.n.namesystem()
	if sys != nil {
		el = sys.EditLog() // nil unless active
	}
	if el != nil {
		if seg := el.SegmentTxID(); seg > 0 && seg <= txid {
			if _, err := sys.RollEdits(ctx); err != nil {
				s.log.Warn("rolling the edit log after a checkpoint failed", zap.Int64("txid", txid), zap.Error(err))
			}
		}
	}
	if err := s.n.purgeOldStorage(ctx, el); err != nil {
		s.log.Warn("purging old images after a checkpoint failed", zap.Error(err))
	}
}

// Newest is the highest image txid, unverified: the upload check only
// compares txids, and Stream checks every file it sends.
func (s *imageStore) Newest() (int64, error) {
	all, err := image.List(s.dir)
	if err != nil {
		return 0, err
	}
	if len(all) == 0 {
		return 0, fmt.Errorf("%w in %s", web.ErrNoImage, image.CurrentDir(s.dir))
	}
	return all[len(all)-1].TxID, nil
}

// purgeOldStorage is the NameNode's retention after a new image (Hadoop's
// NNStorageRetentionManager.purgeOldStorage): keep the newest
// dfs.namenode.num.checkpoints.retained images, then purge edit segments
// that end before (oldest kept image's txid + 1 -
// dfs.namenode.num.extra.edits.retained). el is the writer edit log (the
// active's); nil purges images only. The returned error is the image
// purge's; a failed edit purge is logged (the JournalNodes may be briefly
// unreachable, and the next checkpoint purges again).
func (n *NameNode) purgeOldStorage(ctx context.Context, el *editlog.EditLog) error {
	if err := image.Purge(n.cfg.NameDir, n.cfg.CheckpointsRetained); err != nil {
		return err
	}
	if el == nil {
		return nil
	}
	imgs, err := image.List(n.cfg.NameDir)
	if err != nil || len(imgs) == 0 {
		return err
	}
	purgeFrom := minTxIDToKeep(imgs[0].TxID, n.cfg.ExtraEditsRetained)
	if purgeFrom <= 1 {
		return nil
	}
	if err := el.Purge(ctx, purgeFrom); err != nil {
		n.log.Warn("purging old edits failed", zap.Int64("minTxIdToKeep", purgeFrom), zap.Error(err))
		return nil
	}
	n.log.Info("purged old edits", zap.Int64("minTxIdToKeep", purgeFrom), zap.Int64("oldestImage", imgs[0].TxID))
	return nil
}

// minTxIDToKeep is the first txid whose edits must stay: the oldest kept
// image needs everything after it, and extra more are kept for operators
// and lagging readers.
func minTxIDToKeep(oldestImage, extra int64) int64 {
	return max(oldestImage+1-max(extra, 0), 0)
}

// checkpointFigures are Hadoop's FSNamesystem checkpoint attributes:
// LastCheckpointTime (ms since the epoch: when the newest image in the
// name directory was written, saved or received; 0 when there is none)
// and TransactionsSinceLastCheckpoint (applied txid minus that image's
// txid). Cheap enough for every /jmx request: one directory listing and
// one stat. It takes no NameNode lock.
func (n *NameNode) checkpointFigures() (lastCheckpointTime, txnsSinceLastCheckpoint int64) {
	all, err := image.List(n.cfg.NameDir)
	if err != nil || len(all) == 0 {
		return 0, 0
	}
	newest := all[len(all)-1]
	if st, err := os.Stat(newest.Path); err == nil {
		lastCheckpointTime = st.ModTime().UnixMilli()
	}
	if sys := n.namesystem(); sys != nil {
		txnsSinceLastCheckpoint = max(sys.Namespace().LastAppliedTxID()-newest.TxID, 0)
	}
	return lastCheckpointTime, txnsSinceLastCheckpoint
}
