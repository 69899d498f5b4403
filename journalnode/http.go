package journalnode

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/journalnode/storage"
)

// HTTP parameters and headers of segment transfer. The parameter names
// are those of Hadoop's GetJournalEditServlet.
const (
	PathGetJournal     = "/getJournal"
	PathJMX            = "/jmx"
	ParamJournalID     = "jid"
	ParamSegmentTxID   = "segmentTxId"
	ParamStorageInfo   = "storageInfo"
	ParamInProgressOK  = "inProgressOk"
	HeaderCRC32C       = "X-Hdfsha-CRC32C"  // CRC-32C of the body, 8 hex digits
	HeaderSegmentState = "X-Hdfsha-Segment" // "<start>-<end>" plus ",inprogress"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// StorageInfoString renders ns the way Hadoop's
// StorageInfo.toColonSeparatedString does, for the storageInfo parameter:
// layoutVersion:namespaceID:cTime:clusterID.
func StorageInfoString(ns storage.NamespaceInfo) string {
	return fmt.Sprintf("%d:%d:%d:%s", ns.LayoutVersion, ns.NamespaceID, ns.CTime, ns.ClusterID)
}

// parseStorageInfo returns the namespace id and cluster id of a
// storageInfo parameter.
func parseStorageInfo(s string) (int32, string, error) {
	parts := strings.SplitN(s, ":", 4)
	if len(parts) != 4 {
		return 0, "", fmt.Errorf("storageInfo %q is not layoutVersion:namespaceID:cTime:clusterID", s)
	}
	nsid, err := strconv.ParseInt(parts[1], 10, 32)
	if err != nil {
		return 0, "", fmt.Errorf("storageInfo %q: bad namespaceID", s)
	}
	return int32(nsid), parts[3], nil
}

// SegmentURL is the URL serving segment startTxID of journal jid from the
// JournalNode whose HTTP base URL is base ("http://host:port").
func SegmentURL(base, jid string, startTxID int64, ns storage.NamespaceInfo) string {
	q := url.Values{}
	q.Set(ParamJournalID, jid)
	q.Set(ParamSegmentTxID, strconv.FormatInt(startTxID, 10))
	q.Set(ParamStorageInfo, StorageInfoString(ns))
	return strings.TrimSuffix(base, "/") + PathGetJournal + "?" + q.Encode()
}

func (j *JournalNode) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(PathGetJournal, j.serveGetJournal)
	mux.HandleFunc(PathJMX, j.serveJMX)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.mu.Lock()
		if j.mu.stopped {
			j.mu.Unlock()
			http.Error(w, errStopped.Error(), http.StatusServiceUnavailable)
			return
		}
		j.serving.Add(1)
		j.mu.Unlock()
		defer j.serving.Done()
		mux.ServeHTTP(w, r)
	})
}

// serveGetJournal streams one segment file (header and records) as
// Hadoop's GetJournalEditServlet does: finalized segments, and in-progress
// ones unless inProgressOk=false.
func (j *JournalNode) serveGetJournal(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	jid := q.Get(ParamJournalID)
	if err := checkJournalID(jid); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	txStr := q.Get(ParamSegmentTxID)
	txid, err := strconv.ParseInt(txStr, 10, 64)
	if err != nil || txid < 1 {
		http.Error(w, fmt.Sprintf("Invalid %s: %q", ParamSegmentTxID, txStr), http.StatusBadRequest)
		return
	}
	inProgressOK := !strings.EqualFold(q.Get(ParamInProgressOK), "false")

	jr, err := j.getJournal(jid, true)
	switch {
	case errors.Is(err, errNoJournal):
		http.Error(w, fmt.Sprintf("Journal %s does not exist on this JournalNode", jid), http.StatusNotFound)
		return
	case errors.Is(err, errStopped):
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	ns, formatted := jr.Namespace()
	if !formatted {
		http.Error(w, fmt.Sprintf("Journal %s is not formatted", jid), http.StatusNotFound)
		return
	}
	if si, ok := q[ParamStorageInfo]; ok {
		theirNS, theirCID, err := parseStorageInfo(si[0])
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if theirNS != ns.NamespaceID || theirCID != ns.ClusterID {
			// Hadoop's GetJournalEditServlet.checkStorageInfoOrSendError.
			http.Error(w, fmt.Sprintf("This node has namespaceId '%d and clusterId '%s' but the requesting node expected '%d' and '%s'", ns.NamespaceID, ns.ClusterID, theirNS, theirCID), http.StatusForbidden)
			return
		}
	}

	f, st, err := jr.OpenSegment(txid)
	if err == nil && st.InProgress && !inProgressOK {
		f.Close()
		err = os.ErrNotExist
	}
	if errors.Is(err, os.ErrNotExist) {
		http.Error(w, fmt.Sprintf("No edit log found starting at txid %d", txid), http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// An in-progress file may grow while it is read: serve the size it
	// had when opened, which ends on a record the writer synced or on a
	// torn tail the reader's scan cuts off.
	size := fi.Size()
	h := crc32.New(castagnoli)
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, size)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	state := fmt.Sprintf("%d-%d", st.StartTxID, st.EndTxID)
	if st.InProgress {
		state += ",inprogress"
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Content-Length", strconv.FormatInt(size, 10))
	hdr.Set(HeaderCRC32C, hex.EncodeToString(h.Sum(nil)))
	hdr.Set(HeaderSegmentState, state)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, io.NewSectionReader(f, 0, size)); err != nil {
		j.log.Warn("segment transfer failed", zap.String("journal_id", jid), zap.Int64("segment_txid", txid), zap.String("remote", r.RemoteAddr), zap.Error(err))
	}
}

// fetcher returns the storage.Fetcher acceptRecovery uses: it downloads
// the segment from fromURL (a full getJournal URL, or a JournalNode's base
// URL to which the query is added), bounded by fetchTimeout, and checks
// the length and the CRC-32C header when present. Storage then checks the
// records themselves.
//
// The Fetcher runs under the journal's lock, so it must not call the
// journal: what it needs is read here, before.
func (j *JournalNode) fetcher(ctx context.Context, jr *journal, fromURL string) storage.Fetcher {
	ns, _ := jr.Namespace()
	jid := jr.JournalID()
	return func(seg storage.SegmentState, w io.Writer) error {
		u, err := url.Parse(fromURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("bad fromURL %q", fromURL)
		}
		target := fromURL
		if u.Path == "" || u.Path == "/" {
			target = SegmentURL(u.Scheme+"://"+u.Host, jid, seg.StartTxID, ns)
		}
		ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return err
		}
		resp, err := j.http.Do(req)
		if err != nil {
			return fmt.Errorf("fetch %s: %w", target, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			return fmt.Errorf("fetch %s: %s: %s", target, resp.Status, strings.TrimSpace(string(msg)))
		}
		h := crc32.New(castagnoli)
		n, err := io.Copy(io.MultiWriter(w, h), resp.Body)
		if err != nil {
			return fmt.Errorf("fetch %s: %w", target, err)
		}
		if resp.ContentLength >= 0 && n != resp.ContentLength {
			return fmt.Errorf("fetch %s: got %d bytes, Content-Length %d", target, n, resp.ContentLength)
		}
		if want := resp.Header.Get(HeaderCRC32C); want != "" {
			if got := hex.EncodeToString(h.Sum(nil)); got != want {
				return fmt.Errorf("fetch %s: CRC-32C %s, header says %s", target, got, want)
			}
		}
		return nil
	}
}

// serveJMX answers a minimal form of Hadoop's /jmx: the JournalNodeInfo
// bean, whose JournalsStatus (a JSON string, as Hadoop's MXBean returns
// it) monitoring scripts read, plus each open journal's epochs and txids.
func (j *JournalNode) serveJMX(w http.ResponseWriter, r *http.Request) {
	type journalInfo struct {
		Formatted          string `json:"Formatted"`
		LastPromisedEpoch  int64  `json:"LastPromisedEpoch"`
		LastWriterEpoch    int64  `json:"LastWriterEpoch"`
		CommittedTxID      int64  `json:"CommittedTxId"`
		HighestWrittenTxID int64  `json:"HighestWrittenTxId"`
	}
	status := map[string]journalInfo{}
	var clusterIDs []string
	j.mu.Lock()
	journals := make(map[string]*journal, len(j.mu.journals))
	for id, jr := range j.mu.journals {
		journals[id] = jr
	}
	j.mu.Unlock()
	for id, jr := range journals {
		ns, formatted := jr.Namespace()
		status[id] = journalInfo{
			Formatted:          strconv.FormatBool(formatted),
			LastPromisedEpoch:  jr.LastPromisedEpoch(),
			LastWriterEpoch:    jr.LastWriterEpoch(),
			CommittedTxID:      jr.CommittedTxID(),
			HighestWrittenTxID: jr.HighestWrittenTxID(),
		}
		if formatted && !slices.Contains(clusterIDs, ns.ClusterID) {
			clusterIDs = append(clusterIDs, ns.ClusterID)
		}
	}
	slices.Sort(clusterIDs)
	statusJSON, _ := json.Marshal(status)
	bean := map[string]any{
		"name":           "Hadoop:service=JournalNode,name=JournalNodeInfo",
		"modelerType":    "org.apache.hadoop.hdfs.qjournal.server.JournalNode",
		"JournalsStatus": string(statusJSON),
		"ClusterIds":     clusterIDs,
		"RpcAddress":     j.RPCAddress(),
		"HttpAddress":    j.HTTPAddress(),
		"EditsDir":       j.cfg.EditsDir,
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(map[string]any{"beans": []any{bean}})
}
