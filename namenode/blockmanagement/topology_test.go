package blockmanagement

import (
	"os"
	"path/filepath"
	"testing"
)

func TestScriptResolver(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "topology.sh")
	count := filepath.Join(dir, "count")
	body := "#!/bin/sh\necho x >> " + count + "\ncase \"$1\" in\n127.0.0.2) echo /rack2 ;;\n127.0.0.3) echo nonsense ;;\nesac\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	r := ScriptResolver(script, 100)
	for _, c := range []struct{ ip, want string }{
		{"127.0.0.2", "/rack2"},
		{"127.0.0.1", DefaultRack}, // no answer
		{"127.0.0.3", DefaultRack}, // not a rack path
		{"127.0.0.2", "/rack2"},    // cached
	} {
		if got := r(c.ip, ""); got != c.want {
			t.Errorf("%s: %q, want %q", c.ip, got, c.want)
		}
	}
	b, _ := os.ReadFile(count)
	if n := len(b) / 2; n != 3 {
		t.Errorf("script ran %d times, want 3 (answers are cached)", n)
	}
	if got := ScriptResolver(filepath.Join(dir, "missing"), 100)("127.0.0.1", ""); got != DefaultRack {
		t.Errorf("missing script: %q", got)
	}
}
