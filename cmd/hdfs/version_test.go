package main

import (
	"strings"
	"testing"

	"github.com/hdfsha/hdfsha/internal/version"
)

func TestVersion(t *testing.T) {
	r := runHDFS(t, nil, "version")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if want := "hdfsha " + version.Get().Version; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	for _, want := range []string{
		"Source code repository https://github.com/hdfsha/hdfsha -r ",
		"Compiled by ",
		"Compatible with Hadoop 3 clients and tools (IPC protocol version 9)",
		"This command was run using /opt/hdfsha/bin/hdfs",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestVersionNeedsNoConfiguration(t *testing.T) {
	// A broken configuration directory does not stop `hdfs version`.
	dir := writeConfDir(t, "", "")
	writeBroken(t, dir)
	r := runHDFS(t, nil, "--config", dir, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "hdfsha ") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := runHDFS(t, nil, "version", "extra"); r.code != exitToolError {
		t.Errorf("version extra: exit %d, want %d", r.code, exitToolError)
	}
}
