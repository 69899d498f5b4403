package version

import (
	"bytes"
	"strings"
	"testing"
)

func TestStampedValuesWin(t *testing.T) {
	defer func(v, r, u, d string) { Version, Revision, BuildUser, BuildDate = v, r, u, d }(Version, Revision, BuildUser, BuildDate)
	Version, Revision, BuildUser, BuildDate = "1.2.3", "abc123", "builder", "2024-05-01T10:00Z"

	var buf bytes.Buffer
	if err := Get().Write(&buf, "/opt/hdfsha/bin/hdfs"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"hdfsha 1.2.3",
		"Source code repository https://github.com/hdfsha/hdfsha -r abc123",
		"Compiled by builder on 2024-05-01T10:00Z",
	}
	lines := strings.Split(buf.String(), "\n")
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d = %q, want %q", i+1, lines[i], w)
		}
	}
	for _, w := range []string{"Compiled with go", "Compatible with Hadoop 3 clients and tools (IPC protocol version 9)", "This command was run using /opt/hdfsha/bin/hdfs"} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, buf.String())
		}
	}
}

func TestUnstampedDefaults(t *testing.T) {
	defer func(v, r, u, d string) { Version, Revision, BuildUser, BuildDate = v, r, u, d }(Version, Revision, BuildUser, BuildDate)
	Version, Revision, BuildUser, BuildDate = "", "", "", ""

	i := Get()
	if i.Version == "" || i.Revision == "" || i.BuildUser == "" || i.BuildDate == "" {
		t.Errorf("unstamped build left empty fields: %+v", i)
	}
	var buf bytes.Buffer
	if err := i.Write(&buf, ""); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "run using") {
		t.Errorf("empty executable still printed a run-using line:\n%s", buf.String())
	}
}
