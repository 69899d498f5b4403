package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hdfsha/hdfsha/internal/conf"
)

// `hdfs dfsadmin -metaStatus [-detail]`: the remote metadata mirror's state on every
// NameNode of the cluster, read from each one's MetaStatus bean over HTTP (/jmx), so it
// works on a standby and on a NameNode still loading in recovery mode. One line each:
//
//	nn1 (127.0.0.1:8020): state=active committedTxId=10234 mirroredTxId=10234 _synced=1
//	nn1 (127.0.0.1:8020): recovery state=RUNNING loaded=5000/10234
//	nn1 (127.0.0.1:8020): recovery state=FINISH txid=10234
//
// -detail adds an indented line of lag figures, and one with the last error if any. A
// NameNode that cannot be asked gets an "error:" line and the command exits 255.

// metaStatusBean is namenode.MetaStatusBean (the command does not link the NameNode).
const metaStatusBean = "Hadoop:service=NameNode,name=MetaStatus"

// metaStatusTimeout bounds the question to one NameNode.
const metaStatusTimeout = 10 * time.Second

func metaStatusOp() toolOp {
	return toolOp{
		Name: "-metaStatus", Args: "[-detail]",
		Help: "Reports, for each NameNode, its HA state, its last committed txid, the last txid in the remote " +
			"metadata mirror and _synced=1 when the mirror holds every committed txid (recovery mode: its progress).",
		MinArgs: 0, MaxArgs: 1, Run: runMetaStatus,
	}
}

// metaBean is the part of the MetaStatus bean the command prints.
type metaBean struct {
	HAState                 string
	Enabled, Configured     bool
	Shipping                bool
	Sink                    string
	LastCommittedTxId       int64
	LastMirroredTxId        int64
	Synced                  int
	LagTxns                 int64
	LagSeconds              float64
	LagP50Millis            int64
	LagP99Millis            int64
	NewestMirroredImageTxId int64
	LastError               string
	RecoveryState           string
	RecoveryLoadedTxId      int64
	RecoveryTargetTxId      int64
}

func runMetaStatus(tc *toolContext, args []string) error {
	detail := false
	for _, a := range args {
		if a != "-detail" {
			return tc.UsageError("Usage: hdfs dfsadmin [-metaStatus [-detail]]")
		}
		detail = true
	}
	nns, err := clusterNameNodes(tc)
	if err != nil {
		return err
	}
	if len(nns) == 0 {
		return tc.Fail(exitToolError, "metaStatus: no NameNode is configured")
	}
	hc := &http.Client{Timeout: metaStatusTimeout}
	failed := 0
	for i, nn := range nns {
		label := nn.ID
		if label == "" {
			label = fmt.Sprintf("nn%d", i+1)
			if len(nns) == 1 {
				label = "namenode"
			}
		}
		head := fmt.Sprintf("%s (%s): ", label, nn.RPCAddress)
		b, err := fetchMetaStatus(tc.Ctx, hc, nn)
		if err != nil {
			failed++
			tc.Printf("%serror: %v\n", head, err)
			continue
		}
		tc.Printf("%s%s\n", head, metaStatusText(b))
		if detail {
			for _, l := range metaStatusDetail(b) {
				tc.Printf("  %s\n", l)
			}
		}
	}
	if failed > 0 {
		return tc.Fail(exitToolError, "metaStatus: %d of %d NameNodes could not be asked", failed, len(nns))
	}
	return nil
}

// metaStatusText is the one line of a NameNode's state.
func metaStatusText(b metaBean) string {
	switch b.RecoveryState {
	case "":
	case "FINISH":
		return fmt.Sprintf("recovery state=FINISH txid=%d", b.RecoveryLoadedTxId)
	default:
		return fmt.Sprintf("recovery state=%s loaded=%d/%d", b.RecoveryState, b.RecoveryLoadedTxId, b.RecoveryTargetTxId)
	}
	if !b.Configured {
		return fmt.Sprintf("state=%s committedTxId=%d mirror=none (the metadata mirror is not configured: set namespace.mirror.uri or the namespace.ots.* keys)",
			b.HAState, b.LastCommittedTxId)
	}
	return fmt.Sprintf("state=%s committedTxId=%d mirroredTxId=%d _synced=%d", b.HAState, b.LastCommittedTxId, b.LastMirroredTxId, b.Synced)
}

// metaStatusDetail is -detail's extra lines.
func metaStatusDetail(b metaBean) []string {
	if !b.Configured && b.RecoveryState == "" {
		return nil
	}
	image := "none"
	if b.NewestMirroredImageTxId >= 0 {
		image = fmt.Sprint(b.NewestMirroredImageTxId)
	}
	out := []string{fmt.Sprintf("sink=%s shipping=%t lagTxns=%d lagSeconds=%.3f lagP50Millis=%d lagP99Millis=%d newestMirroredImageTxId=%s",
		b.Sink, b.Shipping, b.LagTxns, b.LagSeconds, b.LagP50Millis, b.LagP99Millis, image)}
	if b.LastError != "" {
		out = append(out, "lastError: "+b.LastError)
	}
	return out
}

// fetchMetaStatus reads nn's MetaStatus bean from its HTTP server.
func fetchMetaStatus(ctx context.Context, hc *http.Client, nn conf.NameNode) (metaBean, error) {
	if nn.HTTPAddress == "" {
		return metaBean{}, errors.New("no HTTP address (dfs.namenode.http-address) is configured")
	}
	u := "http://" + nn.HTTPAddress + "/jmx?qry=" + url.QueryEscape(metaStatusBean)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return metaBean{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return metaBean{}, fmt.Errorf("cannot reach %s: %w", nn.HTTPAddress, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return metaBean{}, fmt.Errorf("reading %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return metaBean{}, fmt.Errorf("%s: %s", u, resp.Status)
	}
	var jmx struct {
		Beans []json.RawMessage `json:"beans"`
	}
	if err := json.Unmarshal(body, &jmx); err != nil {
		return metaBean{}, fmt.Errorf("%s: not a JMX answer: %w", u, err)
	}
	if len(jmx.Beans) != 1 {
		return metaBean{}, fmt.Errorf("%s: the NameNode has no %s bean (too old for the metadata mirror?)", nn.HTTPAddress, metaStatusBean)
	}
	b := metaBean{NewestMirroredImageTxId: -1}
	if err := json.Unmarshal(jmx.Beans[0], &b); err != nil {
		return metaBean{}, fmt.Errorf("%s: malformed %s bean: %w", nn.HTTPAddress, metaStatusBean, err)
	}
	if strings.TrimSpace(b.HAState) == "" && b.RecoveryState == "" {
		return metaBean{}, fmt.Errorf("%s: the %s bean has no HAState", nn.HTTPAddress, metaStatusBean)
	}
	return b, nil
}
