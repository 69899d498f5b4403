package qjm

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/edits"
	"github.com/hdfsha/hdfsha/internal/testcluster"
)

// finalizedJournal writes segments 1-10 and 11-20, finalized.
func finalizedJournal(t *testing.T, fc *fakeCluster) *Manager {
	m := fc.writer(func(c *Config) { c.InProgressRPC = false })
	ctx := context.Background()
	for _, s := range [][2]int64{{1, 10}, {11, 20}} {
		w, err := m.StartLogSegment(ctx, s[0])
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, w, s[0], s[1])
		if err := m.FinalizeLogSegment(ctx, s[0], s[1]); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, m)
	return m
}

func TestReadCorruptCopy(t *testing.T) {
	testcluster.CheckLeaks(t)
	fc := newFakeCluster(t, 3)
	m := finalizedJournal(t, fc)
	// Offset 8+16+5: an op byte of txid 1.
	fc.jns[0].corruptAt = 29
	if got := readAll(t, m, 1, false); got != 20 {
		t.Fatalf("one corrupt copy: read to %d, want 20 from another copy", got)
	}
	for _, jn := range fc.jns {
		jn.corruptAt = 29
	}
	ctx := context.Background()
	s, err := m.SelectInputStreams(ctx, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Next(ctx)
	if !errors.Is(err, edits.ErrCorrupt) {
		t.Fatalf("every copy corrupt: got record %d, err %v", r.TxID, err)
	}
	// The manifest comes from whichever quorum answered first, so which
	// JournalNodes were tried varies; the error names the ones it tried.
	for _, want := range []string{edits.FinalizedName(1, 10), "checksum"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	named := 0
	for _, jn := range []string{"jn0:8485", "jn1:8485", "jn2:8485"} {
		if strings.Contains(err.Error(), jn) {
			named++
		}
	}
	if named < 2 {
		t.Errorf("error %q names %d JournalNodes, want every one of the quorum it read from (at least 2)", err, named)
	}
	if _, err2 := s.Next(ctx); err2 == nil {
		t.Fatal("stream went on after corruption")
	}
}

func TestReadGapAfterPurge(t *testing.T) {
	testcluster.CheckLeaks(t)
	fc := newFakeCluster(t, 3)
	m := finalizedJournal(t, fc)
	if err := m.PurgeLogsOlderThan(context.Background(), 11); err != nil {
		t.Fatal(err)
	}
	drain(t, m)
	if _, err := m.SelectInputStreams(context.Background(), 1, true); !errors.Is(err, ErrGap) {
		t.Fatalf("reading purged txids: %v", err)
	}
	if got := readAll(t, m, 11, true); got != 20 {
		t.Fatalf("read to %d", got)
	}
}

func TestReadFallsBackToAnotherNode(t *testing.T) {
	testcluster.CheckLeaks(t)
	fc := newFakeCluster(t, 3)
	m := finalizedJournal(t, fc)
	// jn0 answers RPCs (so it is listed first as a source) but its HTTP
	// server is gone. The channel is idle after drain, so swapping its
	// transport is safe.
	m.set.chans[0].t = &downHTTP{fakeJN: fc.jns[0]}
	if got := readAll(t, m, 1, false); got != 20 {
		t.Fatalf("read to %d", got)
	}
}

// downHTTP answers RPCs but fails every download.
type downHTTP struct{ *fakeJN }

func (d *downHTTP) Fetch(ctx context.Context, u string) (io.ReadCloser, error) {
	return nil, errors.New("GET: connection refused")
}

func TestConfigFromConf(t *testing.T) {
	c := conf.New()
	c.Set("dfs.namenode.shared.edits.dir", "qjournal://a:8485;b:8485;c/mycluster")
	c.Set("dfs.qjournal.write-txns.timeout.ms", "1500")
	c.Set("dfs.qjournal.queued-edits.limit.mb", "3")
	cfg, err := ConfigFromConf(c, "", "", testNS)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Journal.Hosts, ","); got != "a:8485,b:8485,c:8485" || cfg.Journal.JournalID != "mycluster" {
		t.Fatalf("journal %v", cfg.Journal)
	}
	if cfg.Timeouts.WriteTxns != 1500*time.Millisecond || cfg.Timeouts.NewEpoch != 120*time.Second || cfg.Timeouts.StartSegment != 20*time.Second {
		t.Fatalf("timeouts %+v", cfg.Timeouts)
	}
	if cfg.QueueLimitBytes != 3<<20 {
		t.Fatalf("queue limit %d", cfg.QueueLimitBytes)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := ConfigFromConf(conf.New(), "", "", testNS); err == nil {
		t.Fatal("no shared edits dir accepted")
	}
}
