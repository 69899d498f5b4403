package namenode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/vfs"
	"github.com/hdfsha/hdfsha/namenode/editlog"
	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/namenode/qjm"
)

// ErrNoSharedEdits: initializeSharedEdits without
// dfs.namenode.shared.edits.dir. Hadoop logs it and exits 0.
var ErrNoSharedEdits = errors.New("namenode: no shared edits directory configured")

// SharedEditsOptions are `hdfs namenode -initializeSharedEdits`'s switches.
type SharedEditsOptions struct {
	Force, NonInteractive bool
	// In answers the format prompt, Err receives it (Hadoop: stderr).
	In  io.Reader
	Err io.Writer
}

// copyFlushEvery bounds how many copied edits are buffered before a quorum
// sync, so a long segment is not held in memory whole.
const copyFlushEvery = 4096

// InitializeSharedEdits is `hdfs namenode -initializeSharedEdits`: it
// turns a NameNode that kept its edits locally into the first NameNode of
// an HA pair. In order:
//
//  1. read this NameNode's VERSION and newest image (it must be formatted;
//     the name directory is locked, so no NameNode may run on it);
//  2. confirm formatting the JournalNodes when they hold data (Hadoop's
//     prompt; declined or -nonInteractive is ErrFormatAborted), then format
//     them with this namespace;
//  3. recover the local edits (finalize the in-progress segment) and copy
//     every edit after the image into the JournalNodes, one segment per
//     local segment: take a writer epoch, then per segment
//     StartLogSegment, Append, Sync, FinalizeLogSegment.
//
// The local name directory and edits are left as they are: with the
// shared edits directory configured the NameNode starts from its image and
// reads the edits from the JournalNodes. Without
// dfs.namenode.shared.edits.dir it returns ErrNoSharedEdits.
func InitializeSharedEdits(ctx context.Context, cfg Config, o SharedEditsOptions) error {
	cfg.setDefaults()
	if o.Err == nil {
		o.Err = io.Discard
	}
	if o.In == nil {
		o.In = strings.NewReader("")
	}
	log := cfg.Logger
	qj, shared, err := cfg.Conf.SharedEditsDir(cfg.Nameservice, cfg.NameNodeID)
	if err != nil {
		return err
	}
	if !shared {
		return coded(ErrNoSharedEdits, "No shared edits directory configured for namespace %s namenode %s", orNull(cfg.Nameservice), orNull(cfg.NameNodeID))
	}
	editsDir, err := editlog.EditsDirFromConf(cfg.Conf)
	if err != nil {
		return err
	}

	// 1. The local namespace.
	si, err := ReadVersion(cfg.NameDir)
	if err != nil {
		return err
	}
	unlock, err := lockNameDir(cfg.NameDir)
	if err != nil {
		return fmt.Errorf("namenode: %w", err)
	}
	defer unlock()
	img, err := image.Newest(cfg.NameDir)
	if err != nil {
		return err
	}

	// 2. The JournalNodes.
	qcfg, err := qjm.ConfigFromConf(cfg.Conf, cfg.Nameservice, cfg.NameNodeID, nsInfoProto(si))
	if err != nil {
		return err
	}
	qcfg.Logger = log.Named("qjm")
	m, err := qjm.NewManager(qcfg)
	if err != nil {
		return err
	}
	defer m.Close()
	data, err := m.HasSomeData(ctx)
	if err != nil {
		return fmt.Errorf("namenode: %w", err)
	}
	fo := FormatOptions{Force: o.Force, NonInteractive: o.NonInteractive, In: o.In, Err: o.Err}
	if ok, err := confirmFormatOf("QJM to ["+strings.Join(qj.Hosts, ", ")+"]", data, fo); err != nil || !ok {
		return errors.Join(ErrFormatAborted, err)
	}
	if err := m.Format(ctx, true); err != nil {
		return fmt.Errorf("namenode: format journal: %w", err)
	}

	// 3. The edits after the image.
	local, err := editlog.OpenLocal(vfs.Default, editsDir, log.Named("editlog"))
	if err != nil {
		return err
	}
	defer local.Close()
	if err := local.Recover(ctx); err != nil {
		return err
	}
	segs, err := localSegments(local.Dir())
	if err != nil {
		return err
	}
	n, err := copyEdits(ctx, local, segs, img.TxID+1, m)
	if err != nil {
		return fmt.Errorf("namenode: copying edits to %s: %w", m, err)
	}
	log.Info("initialized shared edits", zap.String("journal", qj.String()), zap.Int64("imageTxId", img.TxID), zap.Int64("editsCopied", n))
	return nil
}

func orNull(s string) string {
	if s == "" {
		return "null" // what Hadoop prints for an unset id
	}
	return s
}

// localSegments lists the finalized segments of a recovered local journal,
// oldest first.
func localSegments(dir string) ([]edits.SegmentName, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []edits.SegmentName
	for _, e := range ents {
		s, ok := edits.ParseSegmentName(e.Name())
		if !ok {
			continue
		}
		if s.InProgress {
			return nil, fmt.Errorf("namenode: segment %s still in progress after recovery", e.Name())
		}
		segs = append(segs, s)
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].First < segs[j].First })
	return segs, nil
}

// segmentCopier is the pure part of the copy: given the local segment
// boundaries, it says for each txid read whether a segment starts before
// it and whether one ends with it. Copied segments keep the local
// boundaries, except that the first starts at the first txid copied.
type segmentCopier struct {
	segs []edits.SegmentName
	// i is the local segment the next txid belongs to.
	i int
	// open is the first txid of the copied segment being written; 0 when
	// none is open.
	open int64
}

// step returns what to do around txid: start a segment at txid before
// appending it, and finish the segment [first, txid] after.
func (c *segmentCopier) step(txid int64) (start bool, finish bool, first int64, err error) {
	for c.i < len(c.segs) && c.segs[c.i].Last < txid {
		if c.open != 0 {
			return false, false, 0, fmt.Errorf("txid %d is past segment %s, which was not finished", txid, c.segs[c.i])
		}
		c.i++
	}
	if c.i == len(c.segs) || c.segs[c.i].First > txid {
		return false, false, 0, fmt.Errorf("txid %d is in no local segment", txid)
	}
	if c.open == 0 {
		c.open, start = txid, true
	}
	first = c.open
	if txid == c.segs[c.i].Last {
		finish = true
		c.open = 0
		c.i++
	}
	return start, finish, first, nil
}

// copyEdits writes every local edit from fromTxID on into m, segment by
// segment, and returns how many it copied.
func copyEdits(ctx context.Context, local *editlog.LocalJournal, segs []edits.SegmentName, fromTxID int64, m *qjm.Manager) (int64, error) {
	if err := m.Recover(ctx); err != nil {
		return 0, err
	}
	sc := &segmentCopier{segs: segs}
	var (
		w       *qjm.SegmentWriter
		pending int
		copied  int64
	)
	_, err := local.ReadFrom(ctx, fromTxID, func(txid int64, op []byte) error {
		start, finish, first, err := sc.step(txid)
		if err != nil {
			return err
		}
		if start {
			if w, err = m.StartLogSegment(ctx, txid); err != nil {
				return err
			}
		}
		if err := w.Append(txid, op); err != nil {
			return err
		}
		copied++
		if pending++; pending >= copyFlushEvery || finish {
			if err := w.Sync(ctx, txid); err != nil {
				return err
			}
			pending = 0
		}
		if finish {
			if err := m.FinalizeLogSegment(ctx, first, txid); err != nil {
				return err
			}
			w = nil
		}
		return nil
	})
	if err == nil && w != nil {
		err = fmt.Errorf("the local edits end inside segment starting at %d", w.FirstTxID())
	}
	return copied, err
}

// SharedEditsExitCode is the exit status of initializeSharedEdits for err,
// Hadoop's: 1 when it aborted (declined, or any failure), 0 otherwise,
// including ErrNoSharedEdits, which Hadoop only logs.
func SharedEditsExitCode(err error) int {
	if err == nil || errors.Is(err, ErrNoSharedEdits) {
		return 0
	}
	return 1
}
