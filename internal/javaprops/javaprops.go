// Package javaprops reads and writes the subset of Java's properties format
// that Hadoop's storage VERSION files use (NameNode, JournalNode and DataNode
// directories):
//
//	#<comment>
//	key=value
//	...
//
// Parse accepts key=value and key:value lines, '#' and '!' comments and blank
// lines, with white space around keys and values trimmed; escapes and
// continuation lines (which VERSION files never hold) are not supported.
// Format writes a comment line, then key=value lines sorted by key, so the
// bytes are stable (Java's order is unspecified).
package javaprops

import (
	"sort"
	"strings"
)

// Parse reads properties text.
func Parse(data []byte) map[string]string {
	props := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			props[line] = ""
			continue
		}
		props[strings.TrimSpace(line[:i])] = strings.TrimSpace(line[i+1:])
	}
	return props
}

// Format renders props after a "#comment" line, keys sorted.
func Format(comment string, props map[string]string) []byte {
	var b strings.Builder
	b.WriteString("#" + comment + "\n")
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k + "=" + props[k] + "\n")
	}
	return []byte(b.String())
}
