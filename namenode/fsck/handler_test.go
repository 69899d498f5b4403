package fsck

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	ns, bm := cluster3()
	srv := httptest.NewServer(Handler(Config{Namespace: ns, Blocks: bm, Now: stepClock()}))
	t.Cleanup(srv.Close)

	get := func(query string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/fsck?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}

	// DFSck's URL: the flags are present with value 1, the path encoded.
	resp, body := get("ugi=alice&files=1&blocks=1&locations=1&path=%2Fuser%2Fhadoop")
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if !strings.HasPrefix(body, "FSCK started by alice (auth:SIMPLE) from /127.0.0.1 for path /user/hadoop at Sat Nov 21 06:00:00 UTC 2026\n") ||
		!strings.Contains(body, "\n0. "+bp+":blk_1073741825_1001 len=1048576 Live_repl=2  [DatanodeInfoWithStorage[127.0.0.1:9866,DS-1,DISK]") ||
		!strings.HasSuffix(body, "The filesystem under path '/user/hadoop' is HEALTHY") {
		t.Fatalf("body:\n%s", body)
	}

	// user.name wins over ugi; no user at all is the static web user; no
	// path is the root.
	_, body = get("user.name=bob&ugi=alice&path=/nope")
	if !strings.HasPrefix(body, "FSCK started by bob (auth:SIMPLE)") || !strings.HasSuffix(body, "Path '/nope' does not exist") {
		t.Fatalf("body:\n%s", body)
	}
	_, body = get("")
	if !strings.HasPrefix(body, "FSCK started by dr.who (auth:SIMPLE) from /127.0.0.1 for path / at") {
		t.Fatalf("body:\n%s", body)
	}
	_, body = get("ugi=hdfs&listcorruptfileblocks=1&path=%2F")
	if !strings.Contains(body, "Cookie:\t0\n") {
		t.Fatalf("body:\n%s", body)
	}

	r, err := http.Post(srv.URL+"/fsck", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s", r.Status)
	}
}
