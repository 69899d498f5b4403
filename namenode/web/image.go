package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"

	"go.uber.org/zap"
)

// ImageStore is what /imagetransfer serves from and receives into: the NameNode's image
// storage. Methods are called from request goroutines, possibly concurrently (one Receive at a
// time, any number of Streams).
type ImageStore interface {
	// Stream writes the image stamped txid, as one checksummed stream, to w. An error wrapping
	// ErrNoImage means there is no such image (404).
	Stream(w io.Writer, txid int64) error
	// AcceptsUploads reports whether the NameNode takes image uploads now (only an active
	// one does) and names its HA state for the refusal (417). It is asked before anything
	// of an upload is read, and must not block on the NameNode's own lifecycle: the
	// server's Stop waits for it.
	AcceptsUploads() (ok bool, state string)
	// StorageInfo is the NameNode's storage identity in Hadoop's colon-separated form
	// (layoutVersion:namespaceID:cTime:clusterID). An upload naming another is refused (403).
	StorageInfo() string
	// Receive reads an image stamped txid from r and installs it only if it is complete and
	// valid; r ends (io.EOF) at the end of the request body. What the NameNode does after
	// keeping the image (retention, purging old edits) belongs here too; ctx ends when the
	// request does.
	Receive(ctx context.Context, r io.Reader, txid int64) error
	// Newest returns the txid of the newest image. An error wrapping ErrNoImage means there is
	// none.
	Newest() (int64, error)
}

// ErrNoImage is what an ImageStore wraps when the image asked for does not exist.
var ErrNoImage = errors.New("no such image")

// ErrNotActive is what UploadImage wraps when the NameNode answers 417: it is not in a state
// that accepts images (it is not the active). The uploader tries the next NameNode.
var ErrNotActive = errors.New("NameNode does not accept image uploads in its state")

// StorageInfoParam is the query parameter naming the uploader's storage identity (Hadoop's
// "storageInfo"); an upload from another namespace is refused before it is read.
const StorageInfoParam = "storageInfo"

// TxIDHeader carries the txid of a streamed image in GET /imagetransfer responses.
const TxIDHeader = "X-Image-TxId"

// ServeImages enables /imagetransfer backed by store.
func (s *Server) ServeImages(store ImageStore) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.store = store
}

func (s *Server) imageStore() ImageStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.store
}

func (s *Server) serveImageTransfer(w http.ResponseWriter, r *http.Request) {
	store := s.imageStore()
	if store == nil {
		http.Error(w, "image transfer is not enabled on this NameNode", http.StatusNotFound)
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.getImage(w, r, store)
	case http.MethodPut:
		s.putImage(w, r, store)
	default:
		w.Header().Set("Allow", "GET, PUT")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// parseTxID reads the txid parameter; present reports whether it was given.
func parseTxID(r *http.Request) (txid int64, present bool, err error) {
	q := r.URL.Query()
	if !q.Has("txid") {
		return 0, false, nil
	}
	txid, err = strconv.ParseInt(q.Get("txid"), 10, 64)
	if err != nil || txid < 0 {
		return 0, true, fmt.Errorf("bad txid %q", q.Get("txid"))
	}
	return txid, true, nil
}

func (s *Server) getImage(w http.ResponseWriter, r *http.Request, store ImageStore) {
	if r.URL.Query().Get("getimage") != "1" {
		http.Error(w, "GET /imagetransfer needs getimage=1", http.StatusBadRequest)
		return
	}
	txid, present, err := parseTxID(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !present {
		if txid, err = store.Newest(); err != nil {
			storeError(w, "finding the newest image", err)
			return
		}
	}
	cw := &countingWriter{w: w}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(TxIDHeader, strconv.FormatInt(txid, 10))
	if err := store.Stream(cw, txid); err != nil {
		if cw.n == 0 {
			w.Header().Del(TxIDHeader)
			storeError(w, fmt.Sprintf("streaming image %d", txid), err)
			return
		}
		// The 200 header and part of the image are out: abort the connection so the receiver
		// sees a broken transfer, never a short image ending cleanly.
		s.log.Warn("image stream failed midway")
		panic(http.ErrAbortHandler)
	}
	s.xfer.gets.Add(1)
}

func (s *Server) putImage(w http.ResponseWriter, r *http.Request, store ImageStore) {
	txid, present, err := parseTxID(r)
	if err != nil || !present {
		if err == nil {
			err = errors.New("PUT /imagetransfer needs txid=N")
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if theirs := r.URL.Query().Get(StorageInfoParam); theirs != "" {
		if mine := store.StorageInfo(); theirs != mine {
			// Hadoop's validateRequest refuses with 403 and this text.
			s.log.Warn("refused an image upload from another namespace", zap.String("theirs", theirs), zap.String("mine", mine), zap.String("remote", r.RemoteAddr))
			http.Error(w, fmt.Sprintf("This namenode has storage info %s but the secondary expected %s", mine, theirs), http.StatusForbidden)
			s.xfer.putsRefused.Add(1)
			return
		}
	}
	if ok, state := store.AcceptsUploads(); !ok {
		// Hadoop's ImageServlet answers 417 with this text (its typo included), so that an
		// uploader can tell "wrong NameNode" from "not needed" (409) and from a failure.
		http.Error(w, fmt.Sprintf("Nameode %s is currently not in a state which can accept uploads of new fsimages. State: %s", localAddr(r), state),
			http.StatusExpectationFailed)
		s.xfer.putsRefused.Add(1)
		return
	}
	if busy, ok := s.beginUpload(txid); !ok {
		// Hadoop's ImageServlet refuses concurrent uploads with 409 and this text.
		http.Error(w, fmt.Sprintf("Another checkpointer is already in the process of uploading a checkpoint made at transaction ID %d", busy),
			http.StatusConflict)
		s.xfer.putsRefused.Add(1)
		return
	}
	defer s.endUpload()
	if newest, err := store.Newest(); err == nil && newest >= txid {
		http.Error(w, fmt.Sprintf("Either current namenode has checkpointed or another checkpointer already uploaded an checkpoint for txid %d", txid),
			http.StatusConflict)
		s.xfer.putsRefused.Add(1)
		return
	}
	if err := store.Receive(r.Context(), r.Body, txid); err != nil {
		storeError(w, fmt.Sprintf("receiving image %d", txid), err)
		s.xfer.putsFailed.Add(1)
		return
	}
	s.xfer.puts.Add(1)
	w.WriteHeader(http.StatusOK)
}

// beginUpload claims the single upload slot; when it is taken it returns the txid being
// uploaded and false.
func (s *Server) beginUpload(txid int64) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.uploading >= 0 {
		return s.mu.uploading, false
	}
	s.mu.uploading = txid
	return 0, true
}

func (s *Server) endUpload() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.uploading = -1
}

// localAddr is the server address the request came in on (Hadoop names it in the 417 text).
func localAddr(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if host, _, err := net.SplitHostPort(a.String()); err == nil {
			return host
		}
		return a.String()
	}
	return r.Host
}

func storeError(w http.ResponseWriter, what string, err error) {
	status := http.StatusInternalServerError
	if errors.Is(err, ErrNoImage) {
		status = http.StatusNotFound
	}
	http.Error(w, what+": "+err.Error(), status)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// transferCounters count /imagetransfer outcomes.
type transferCounters struct {
	gets, puts, putsRefused, putsFailed atomic.Int64
}

func (s *Server) registerTransferMetrics() {
	for _, c := range []struct {
		name, help string
		v          *atomic.Int64
	}{
		{"namenode_image_downloads_total", "Images streamed to GET /imagetransfer.", &s.xfer.gets},
		{"namenode_image_uploads_total", "Uploaded images kept (PUT /imagetransfer answered 200).", &s.xfer.puts},
		{"namenode_image_uploads_refused_total", "Uploads refused before reading: another namespace (403), a concurrent or not newer upload (409), not active (417).", &s.xfer.putsRefused},
		{"namenode_image_uploads_failed_total", "Uploads that failed while receiving (broken, corrupt, or the store failed).", &s.xfer.putsFailed},
	} {
		v := c.v
		s.register(c.name, c.help, "counter", func() float64 { return float64(v.Load()) })
	}
}
