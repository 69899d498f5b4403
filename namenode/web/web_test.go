package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hdfsha/hdfsha/internal/testcluster"
)

func startServer(t *testing.T) (*Server, string) {
	t.Helper()
	s, err := New(Config{Address: "127.0.0.1:0", Logger: testcluster.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s, "http://" + s.Address()
}

// client returns an HTTP client whose idle connections are closed at cleanup, so the leak
// check does not count them.
func client(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func get(t *testing.T, c *http.Client, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

type jmxDoc struct {
	Beans   []map[string]any `json:"beans"`
	Result  string           `json:"result"`
	Message string           `json:"message"`
}

func TestJMX(t *testing.T) {
	testcluster.CheckLeaks(t)
	s, base := startServer(t)
	c := client(t)
	s.RegisterBean("Hadoop:service=NameNode,name=NameNodeStatus", func() map[string]any {
		return map[string]any{
			"modelerType":          "org.apache.hadoop.hdfs.server.namenode.NameNode",
			"State":                "active",
			"HostAndPort":          "127.0.0.1:8020",
			"LastHATransitionTime": int64(1700000000000),
		}
	})
	s.RegisterBean("Hadoop:service=NameNode,name=FSNamesystem", func() map[string]any {
		return map[string]any{"FilesTotal": 12, "tag.HAState": "active"}
	})
	s.RegisterBean("java.lang:type=Memory", func() map[string]any { return map[string]any{"HeapMemoryUsage": 1} })

	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"Hadoop:service=NameNode,name=FSNamesystem", "Hadoop:service=NameNode,name=NameNodeStatus", "java.lang:type=Memory"}},
		{"?qry=Hadoop:service=NameNode,name=NameNodeStatus", []string{"Hadoop:service=NameNode,name=NameNodeStatus"}},
		{"?qry=Hadoop:*", []string{"Hadoop:service=NameNode,name=FSNamesystem", "Hadoop:service=NameNode,name=NameNodeStatus"}},
		{"?qry=Hadoop:service=NameNode,name=FS*", []string{"Hadoop:service=NameNode,name=FSNamesystem"}},
		{"?qry=Hadoop:name=NameNodeStatus,*", []string{"Hadoop:service=NameNode,name=NameNodeStatus"}},
		{"?qry=Hadoop:name=NameNodeStatus", nil}, // not a property-list pattern: service= must match too
		{"?qry=*:type=Memory", []string{"java.lang:type=Memory"}},
		{"?qry=Nope:*", nil},
	}
	for _, tt := range tests {
		status, hdr, body := get(t, c, base+"/jmx"+tt.query)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", tt.query, status, body)
		}
		if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q", tt.query, ct)
		}
		var doc jmxDoc
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("%s: %v\n%s", tt.query, err, body)
		}
		var got []string
		for _, b := range doc.Beans {
			got = append(got, b["name"].(string))
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("qry %q: beans %q, want %q", tt.query, got, tt.want)
		}
	}

	// Shape of one bean: name and modelerType first, attributes as given.
	_, _, body := get(t, c, base+"/jmx?qry=Hadoop:service=NameNode,name=NameNodeStatus")
	if !bytes.HasPrefix(body, []byte("{\n  \"beans\": [\n    {\n      \"name\": \"Hadoop:service=NameNode,name=NameNodeStatus\",\n      \"modelerType\": \"org.apache.hadoop.hdfs.server.namenode.NameNode\",")) {
		t.Errorf("bean shape:\n%s", body)
	}
	var doc jmxDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	b := doc.Beans[0]
	if b["State"] != "active" || b["HostAndPort"] != "127.0.0.1:8020" || b["LastHATransitionTime"] != float64(1700000000000) {
		t.Errorf("attributes: %v", b)
	}
	// Default modelerType: the name= property.
	_, _, body = get(t, c, base+"/jmx?qry=Hadoop:service=NameNode,name=FSNamesystem")
	doc = jmxDoc{}
	_ = json.Unmarshal(body, &doc)
	if doc.Beans[0]["modelerType"] != "FSNamesystem" || doc.Beans[0]["FilesTotal"] != float64(12) {
		t.Errorf("FSNamesystem bean: %v", doc.Beans[0])
	}

	// ?get=bean::attr
	status, _, body := get(t, c, base+"/jmx?get=Hadoop:service=NameNode,name=NameNodeStatus::State")
	doc = jmxDoc{}
	if err := json.Unmarshal(body, &doc); err != nil || status != 200 || len(doc.Beans) != 1 {
		t.Fatalf("get: %d %v %s", status, err, body)
	}
	if got := doc.Beans[0]; got["State"] != "active" || got["HostAndPort"] != nil || got["name"] != "Hadoop:service=NameNode,name=NameNodeStatus" {
		t.Errorf("get bean: %v", got)
	}
	for _, tc := range []struct {
		query  string
		status int
		msg    string
	}{
		{"?get=Hadoop:service=NameNode,name=NameNodeStatus::Nope", 404, "No attribute with name Nope was found."},
		{"?get=Hadoop:service=NameNode,name=NameNodeStatus", 400, "query format is not as expected."},
		{"?qry=nocolon", 400, "Key properties cannot be empty"},
	} {
		status, _, body := get(t, c, base+"/jmx"+tc.query)
		doc := jmxDoc{}
		_ = json.Unmarshal(body, &doc)
		if status != tc.status || doc.Result != "ERROR" || doc.Message != tc.msg {
			t.Errorf("%s: %d %s", tc.query, status, body)
		}
	}
	if status, _, _ := get(t, c, base+"/nope"); status != http.StatusNotFound {
		t.Errorf("unknown path: status %d", status)
	}
}

func TestMetrics(t *testing.T) {
	testcluster.CheckLeaks(t)
	s, base := startServer(t)
	c := client(t)
	var ops float64
	s.RegisterCounter("hdfs_namenode_create_ops_total", "Files created.", func() float64 { ops++; return ops })
	s.RegisterGauge("FSNamesystem.FilesTotal", "Files and directories.\nIncluding root \\.", func() float64 { return 42 })
	s.RegisterGauge("9lives", "Weird name.", func() float64 { return 0.25 })
	s.RegisterGauge("nan", "Not a number.", func() float64 { return nan() })

	status, hdr, body := get(t, c, base+"/metrics")
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("status %d, Content-Type %q", status, hdr.Get("Content-Type"))
	}
	fams := parseExposition(t, string(body))
	// The process and image transfer metrics every server has.
	for _, n := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "go_memstats_sys_bytes", "go_gc_cycles_total", "process_resident_memory_bytes",
		"namenode_image_downloads_total", "namenode_image_uploads_total", "namenode_image_uploads_refused_total", "namenode_image_uploads_failed_total"} {
		v, err := strconv.ParseFloat(fams[n].value, 64)
		if err != nil || !(v >= 0) {
			t.Errorf("%s = %q", n, fams[n].value)
		}
		delete(fams, n)
	}
	want := map[string]family{
		"_9lives":                        {help: "Weird name.", typ: "gauge", value: "0.25"},
		"FSNamesystem_FilesTotal":        {help: `Files and directories.\nIncluding root \\.`, typ: "gauge", value: "42"},
		"hdfs_namenode_create_ops_total": {help: "Files created.", typ: "counter", value: "1"},
		"nan":                            {help: "Not a number.", typ: "gauge", value: "NaN"},
	}
	if fmt.Sprint(fams) != fmt.Sprint(want) {
		t.Errorf("metrics:\n got %v\nwant %v\n%s", fams, want, body)
	}
	_, _, body = get(t, c, base+"/metrics")
	if fams := parseExposition(t, string(body)); fams["hdfs_namenode_create_ops_total"].value != "2" {
		t.Errorf("counter not re-read: %v", fams["hdfs_namenode_create_ops_total"])
	}
}

type family struct{ help, typ, value string }

// parseExposition parses the text format strictly enough to catch shape mistakes: each family
// is HELP, TYPE, then one sample line, names valid, families sorted.
func parseExposition(t *testing.T, text string) map[string]family {
	t.Helper()
	out := map[string]family{}
	sc := bufio.NewScanner(strings.NewReader(text))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines)%3 != 0 {
		t.Fatalf("%d lines, want HELP/TYPE/sample triples:\n%s", len(lines), text)
	}
	prev := ""
	for i := 0; i < len(lines); i += 3 {
		h := strings.SplitN(lines[i], " ", 4)
		ty := strings.Split(lines[i+1], " ")
		smp := strings.Split(lines[i+2], " ")
		if len(h) < 3 || h[0] != "#" || h[1] != "HELP" || len(ty) != 4 || ty[1] != "TYPE" || len(smp) != 2 {
			t.Fatalf("bad family at line %d:\n%s", i, text)
		}
		name := h[2]
		if ty[2] != name || smp[0] != name || name != SanitizeName(name) || name <= prev {
			t.Fatalf("bad or unsorted name %q at line %d", name, i)
		}
		prev = name
		help := ""
		if len(h) == 4 {
			help = h[3]
		}
		if _, err := strconv.ParseFloat(smp[1], 64); err != nil {
			t.Fatalf("bad value %q", smp[1])
		}
		out[name] = family{help: help, typ: ty[3], value: smp[1]}
	}
	return out
}

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{
		"ok_name:sub": "ok_name:sub", "a.b-c d": "a_b_c_d", "1x": "_1x", "": "_", "é": "_",
	} {
		if got := SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// fakeStore keeps images in memory. block, when set, makes Receive wait until it is closed.
type fakeStore struct {
	mu       sync.Mutex
	images   map[int64][]byte
	err      error // returned by every method when set
	block    chan struct{}
	entered  chan struct{}
	failMid  bool // Stream writes a little, then fails
	received int
	state    string // AcceptsUploads refuses unless it is "" or "active"
}

func newFakeStore() *fakeStore { return &fakeStore{images: map[int64][]byte{}} }

func (f *fakeStore) Stream(w io.Writer, txid int64) error {
	f.mu.Lock()
	img, ok := f.images[txid]
	err, failMid := f.err, f.failMid
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("image %d: %w", txid, ErrNoImage)
	}
	if failMid {
		_, _ = w.Write(img[:len(img)/2])
		return errors.New("disk read error")
	}
	_, err = w.Write(img)
	return err
}

func (f *fakeStore) AcceptsUploads() (bool, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state == "" {
		return true, "active"
	}
	return f.state == "active", f.state
}

func (f *fakeStore) StorageInfo() string { return "-1:42:0:CID-test" }

func (f *fakeStore) Receive(_ context.Context, r io.Reader, txid int64) error {
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.block != nil {
		<-f.block
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.images[txid] = data
	f.received++
	return nil
}

func (f *fakeStore) Newest() (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return 0, f.err
	}
	newest := int64(-1)
	for txid := range f.images {
		newest = max(newest, txid)
	}
	if newest < 0 {
		return 0, fmt.Errorf("empty store: %w", ErrNoImage)
	}
	return newest, nil
}

func put(t *testing.T, c *http.Client, url string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestImageTransfer(t *testing.T) {
	testcluster.CheckLeaks(t)
	s, base := startServer(t)
	c := client(t)
	url := base + "/imagetransfer"

	if status, _, _ := get(t, c, url+"?getimage=1"); status != http.StatusNotFound {
		t.Errorf("before ServeImages: status %d, want 404", status)
	}
	store := newFakeStore()
	s.ServeImages(store)

	if status, _, body := get(t, c, url+"?getimage=1"); status != http.StatusNotFound || !strings.Contains(string(body), "no such image") {
		t.Errorf("empty store: %d %s", status, body)
	}
	img := bytes.Repeat([]byte("image-bytes "), 10000)
	if status, body := put(t, c, url+"?txid=100", bytes.NewReader(img)); status != 200 {
		t.Fatalf("PUT: %d %s", status, body)
	}
	if status, body := put(t, c, url+"?txid=50", bytes.NewReader(img)); status != http.StatusConflict {
		t.Errorf("PUT older than the newest image: %d %s", status, body)
	}
	if status, body := put(t, c, url+"?txid=100", strings.NewReader("again")); status != http.StatusConflict || !strings.Contains(body, "already uploaded an checkpoint for txid 100") {
		t.Errorf("PUT existing txid: %d %s", status, body)
	}

	for _, q := range []string{"?getimage=1", "?getimage=1&txid=100"} {
		status, hdr, got := get(t, c, url+q)
		if status != 200 || !bytes.Equal(got, img) || hdr.Get(TxIDHeader) != "100" || hdr.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("GET %s: %d, %d bytes, header %v", q, status, len(got), hdr)
		}
	}
	if status, hdr, _ := get(t, c, url+"?getimage=1&txid=50"); status != http.StatusNotFound || hdr.Get(TxIDHeader) != "" {
		t.Errorf("GET txid=50 (refused upload): %d %v", status, hdr)
	}

	// Bad requests.
	for _, tc := range []struct {
		method, query string
		status        int
	}{
		{"GET", "", 400},
		{"GET", "?getimage=1&txid=x", 400},
		{"GET", "?getimage=1&txid=-1", 400},
		{"GET", "?getimage=1&txid=7", 404},
		{"PUT", "", 400},
		{"PUT", "?txid=abc", 400},
		{"DELETE", "?txid=1", 405},
	} {
		req, _ := http.NewRequest(tc.method, url+tc.query, strings.NewReader("x"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.query, resp.StatusCode, tc.status)
		}
	}

	// Store errors: 500 with the message.
	store.mu.Lock()
	store.err = errors.New("disk on fire")
	store.mu.Unlock()
	if status, _, b := get(t, c, url+"?getimage=1&txid=100"); status != 500 || !strings.Contains(string(b), "disk on fire") {
		t.Errorf("Stream error: %d %s", status, b)
	}
	if status, _, b := get(t, c, url+"?getimage=1"); status != 500 || !strings.Contains(string(b), "disk on fire") {
		t.Errorf("Newest error: %d %s", status, b)
	}
	if status, b := put(t, c, url+"?txid=200", strings.NewReader("x")); status != 500 || !strings.Contains(b, "disk on fire") {
		t.Errorf("Receive error: %d %s", status, b)
	}
	store.mu.Lock()
	store.err = nil
	store.failMid = true
	store.mu.Unlock()
	// A stream failing midway aborts the connection: the client must see an error, never a
	// complete-looking short body.
	resp, err := c.Get(url + "?getimage=1&txid=100")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Errorf("stream failing midway: no error on the client")
	}
}

func body(f *fakeStore, txid int64) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.images[txid]
}

func TestConcurrentUploadRefused(t *testing.T) {
	testcluster.CheckLeaks(t)
	s, base := startServer(t)
	c := client(t)
	store := newFakeStore()
	store.block = make(chan struct{})
	store.entered = make(chan struct{}, 2)
	s.ServeImages(store)

	first := make(chan int, 1)
	go func() {
		status, _ := put(t, c, base+"/imagetransfer?txid=10", strings.NewReader("first"))
		first <- status
	}()
	<-store.entered // the first upload is inside Receive

	status, msg := put(t, c, base+"/imagetransfer?txid=11", strings.NewReader("second"))
	if status != http.StatusConflict || !strings.Contains(msg, "Another checkpointer is already in the process of uploading a checkpoint made at transaction ID 10") {
		t.Errorf("second upload: %d %s", status, msg)
	}
	close(store.block)
	if st := <-first; st != 200 {
		t.Errorf("first upload: %d", st)
	}
	// The slot is free again.
	store.block = nil
	if status, msg := put(t, c, base+"/imagetransfer?txid=12", strings.NewReader("third")); status != 200 {
		t.Errorf("upload after the first finished: %d %s", status, msg)
	}
	if store.received != 2 || string(body(store, 10)) != "first" {
		t.Errorf("received %d images", store.received)
	}
}

// TestStopWithUploadInFlight: Stop returns (after closing the connection) even though a
// handler is inside Receive reading a body that never ends, and leaves no goroutine behind.
func TestStopWithUploadInFlight(t *testing.T) {
	testcluster.CheckLeaks(t)
	s, err := New(Config{Address: "127.0.0.1:0", StopTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	store := newFakeStore()
	store.entered = make(chan struct{}, 1)
	s.ServeImages(store)
	c := client(t)
	pr, pw := io.Pipe()
	defer pw.Close()
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPut, "http://"+s.Address()+"/imagetransfer?txid=1", pr)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	_, _ = pw.Write([]byte("partial"))
	<-store.entered
	start := time.Now()
	_ = s.Stop() // Shutdown times out, then Close
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Stop took %v", d)
	}
	pw.CloseWithError(errors.New("test over"))
	<-done
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestLifecycle(t *testing.T) {
	testcluster.CheckLeaks(t)
	if _, err := New(Config{}); err == nil {
		t.Error("New with empty address: no error")
	}
	if _, err := New(Config{Address: "nohostport"}); err == nil {
		t.Error("New with bad address: no error")
	}
	s, err := New(Config{Address: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil { // never started
		t.Fatal(err)
	}
	s, _ = New(Config{Address: "127.0.0.1:0"})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A second server on the same port fails to start, and Stop after that is fine.
	s2, _ := New(Config{Address: s.Address()})
	if err := s2.Start(context.Background()); err == nil {
		t.Error("second listener on the same port: no error")
	}
	if err := s2.Stop(); err != nil {
		t.Error(err)
	}
	s.Handle("/custom", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hi") }))
	c := client(t)
	if status, _, b := get(t, c, "http://"+s.Address()+"/custom"); status != 200 || string(b) != "hi" {
		t.Errorf("custom handler: %d %s", status, b)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get("http://" + s.Address() + "/jmx"); err == nil {
		t.Error("server still answers after Stop")
	}
}

func TestImageClient(t *testing.T) {
	testcluster.CheckLeaks(t)
	s, _ := startServer(t)
	c := client(t)
	ctx := context.Background()
	addr := s.Address()
	store := newFakeStore()
	s.ServeImages(store)

	var buf bytes.Buffer
	if _, err := DownloadImage(ctx, c, addr, -1, &buf); !errors.Is(err, ErrNoImage) {
		t.Errorf("download from an empty store: %v", err)
	}
	img := bytes.Repeat([]byte{1, 2, 3}, 5000)
	if err := UploadImage(ctx, c, addr, 42, "", bytes.NewReader(img)); err != nil {
		t.Fatal(err)
	}
	if err := UploadImage(ctx, c, addr, 42, "", bytes.NewReader(img)); !errors.Is(err, ErrUploadRefused) || !strings.Contains(err.Error(), "txid 42") {
		t.Errorf("second upload of 42: %v", err)
	}
	for _, txid := range []int64{-1, 42} {
		buf.Reset()
		got, err := DownloadImage(ctx, c, addr, txid, &buf)
		if err != nil || got != 42 || !bytes.Equal(buf.Bytes(), img) {
			t.Errorf("download %d: txid %d, %d bytes, %v", txid, got, buf.Len(), err)
		}
	}
	if _, err := DownloadImage(ctx, c, addr, 7, &buf); !errors.Is(err, ErrNoImage) {
		t.Errorf("download of a missing txid: %v", err)
	}
	store.mu.Lock()
	store.failMid = true
	store.mu.Unlock()
	if _, err := DownloadImage(ctx, c, addr, 42, io.Discard); err == nil || !strings.Contains(err.Error(), "broken off") {
		t.Errorf("download broken midway: %v", err)
	}
	store.mu.Lock()
	store.failMid = false
	store.err = errors.New("disk full")
	store.mu.Unlock()
	if err := UploadImage(ctx, c, addr, 50, "", bytes.NewReader(img)); err == nil || errors.Is(err, ErrUploadRefused) || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("upload into a failing store: %v", err)
	}
}

// readWatcher records whether anything read it.
type readWatcher struct {
	mu   sync.Mutex
	read bool
	r    io.Reader
}

func (w *readWatcher) Read(p []byte) (int, error) {
	w.mu.Lock()
	w.read = true
	w.mu.Unlock()
	return w.r.Read(p)
}

func (w *readWatcher) wasRead() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.read
}

// TestUploadToStandbyRefused: a NameNode that is not active answers 417 with Hadoop's text
// before reading the image, UploadImage reports ErrNotActive, and with NewImageClient not a
// byte of the image is sent.
func TestUploadToStandbyRefused(t *testing.T) {
	testcluster.CheckLeaks(t)
	s, base := startServer(t)
	store := newFakeStore()
	store.state = "standby"
	s.ServeImages(store)

	status, msg := put(t, client(t), base+"/imagetransfer?txid=5", strings.NewReader("img"))
	if status != http.StatusExpectationFailed || !strings.Contains(msg, "Nameode 127.0.0.1 is currently not in a state which can accept uploads of new fsimages. State: standby") {
		t.Errorf("PUT to a standby: %d %q", status, msg)
	}
	c := NewImageClient(10 * time.Second)
	t.Cleanup(c.CloseIdleConnections)
	img := &readWatcher{r: bytes.NewReader(bytes.Repeat([]byte("x"), 1<<20))}
	err := UploadImage(context.Background(), c, s.Address(), 5, "", img)
	if !errors.Is(err, ErrNotActive) || errors.Is(err, ErrUploadRefused) {
		t.Errorf("UploadImage to a standby: %v", err)
	}
	if img.wasRead() {
		t.Error("the image body was read although the server refused before the go-ahead")
	}
	if store.received != 0 {
		t.Errorf("standby received %d images", store.received)
	}
	// Once active, the same client uploads.
	store.mu.Lock()
	store.state = "active"
	store.mu.Unlock()
	err = UploadImage(context.Background(), c, s.Address(), 5, "-1:7:0:CID-other", strings.NewReader("img"))
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "This namenode has storage info -1:42:0:CID-test but the secondary expected -1:7:0:CID-other") {
		t.Errorf("upload from another namespace: %v", err)
	}
	if err := UploadImage(context.Background(), c, s.Address(), 5, "-1:42:0:CID-test", strings.NewReader("img")); err != nil {
		t.Fatal(err)
	}
	if got := string(body(store, 5)); got != "img" {
		t.Errorf("received %q", got)
	}
	_, _, m := get(t, client(t), base+"/metrics")
	for _, want := range []string{"namenode_image_uploads_total 1\n", "namenode_image_uploads_refused_total 3\n", "namenode_image_uploads_failed_total 0\n", "namenode_image_downloads_total 0\n"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
