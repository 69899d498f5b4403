// Package wirecompat_test checks that the messages hdfsha declares in proto/
// match Hadoop's on the wire, by comparing the generated descriptors with the
// .proto files an independent client, github.com/colinmarc/hdfs/v2, ships.
package wirecompat_test

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// field is what decides a field's bytes and how peers parse them.
type field struct {
	number int
	// typ is a scalar type name ("uint64", "bytes", ...) or the full name of a
	// message or enum type, in Hadoop's packages ("hadoop.hdfs.BlockProto").
	typ string
	// label is "optional", "required" or "repeated".
	label string
	// def is the declared default in canonical text, "" when none.
	def string
}

// method is an RPC's request and response message types (full names).
type method struct {
	in, out string
}

// schema is a set of message, enum and service declarations keyed by full
// name in Hadoop's packages (hadoop.hdfs.X, hadoop.common.Y.Z).
type schema struct {
	messages map[string]map[string]field  // message → field name → field
	enums    map[string]map[string]int    // enum → value name → number
	services map[string]map[string]method // service → method name → types
}

func newSchema() *schema {
	return &schema{
		messages: map[string]map[string]field{},
		enums:    map[string]map[string]int{},
		services: map[string]map[string]method{},
	}
}

// compare reports every difference between ours and theirs, for the messages
// and enums both declare: a field or enum value ours declares must exist in
// theirs with the same number, type, label and default. Messages, enums and
// fields only one side has are not differences (hdfsha declares a subset),
// but an enum both declare must have all of theirs' values: proto2 enums are
// closed, so a value we lack would turn a required enum field into a missing
// one and fail the whole message. A method ours declares must exist in the
// same service of theirs with the same request and response types: the
// method name is what travels on the wire.
func compare(ours, theirs *schema) []string {
	var diffs []string
	for _, msg := range sortedKeys(ours.messages) {
		tf, ok := theirs.messages[msg]
		if !ok {
			continue
		}
		for _, name := range sortedKeys(ours.messages[msg]) {
			o := ours.messages[msg][name]
			t, ok := tf[name]
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: field not declared by Hadoop", msg, name))
				continue
			}
			if o.number != t.number {
				diffs = append(diffs, fmt.Sprintf("%s.%s: number %d, Hadoop %d", msg, name, o.number, t.number))
			}
			if o.typ != t.typ {
				diffs = append(diffs, fmt.Sprintf("%s.%s: type %s, Hadoop %s", msg, name, o.typ, t.typ))
			}
			if o.label != t.label {
				diffs = append(diffs, fmt.Sprintf("%s.%s: label %s, Hadoop %s", msg, name, o.label, t.label))
			}
			if o.def != t.def {
				diffs = append(diffs, fmt.Sprintf("%s.%s: default %q, Hadoop %q", msg, name, o.def, t.def))
			}
		}
	}
	for _, enum := range sortedKeys(ours.enums) {
		tv, ok := theirs.enums[enum]
		if !ok {
			continue
		}
		for _, name := range sortedKeys(ours.enums[enum]) {
			t, ok := tv[name]
			switch {
			case !ok:
				diffs = append(diffs, fmt.Sprintf("%s.%s: enum value not declared by Hadoop", enum, name))
			case t != ours.enums[enum][name]:
				diffs = append(diffs, fmt.Sprintf("%s.%s: enum value %d, Hadoop %d", enum, name, ours.enums[enum][name], t))
			}
		}
		for _, name := range sortedKeys(tv) {
			if _, ok := ours.enums[enum][name]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: Hadoop's value %d not declared", enum, name, tv[name]))
			}
		}
	}
	for _, svc := range sortedKeys(ours.services) {
		tm, ok := theirs.services[svc]
		if !ok {
			continue
		}
		for _, name := range sortedKeys(ours.services[svc]) {
			o := ours.services[svc][name]
			t, ok := tm[name]
			switch {
			case !ok:
				diffs = append(diffs, fmt.Sprintf("%s.%s: method not declared by Hadoop", svc, name))
			case o != t:
				diffs = append(diffs, fmt.Sprintf("%s.%s: %s returns %s, Hadoop %s returns %s", svc, name, o.in, o.out, t.in, t.out))
			}
		}
	}
	return diffs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// scalarTypes are the proto2 scalar type names; anything else names a
// message or enum.
var scalarTypes = map[string]bool{
	"double": true, "float": true, "int32": true, "int64": true, "uint32": true,
	"uint64": true, "sint32": true, "sint64": true, "fixed32": true, "fixed64": true,
	"sfixed32": true, "sfixed64": true, "bool": true, "string": true, "bytes": true,
}

// canonicalDefault renders a default value so both sides compare as text:
// integers in decimal, strings unquoted, enums and bools by name.
func canonicalDefault(s string) string {
	s = strings.TrimSpace(s)
	if u, err := strconv.Unquote(s); err == nil && strings.HasPrefix(s, `"`) {
		return u
	}
	if n, err := strconv.ParseInt(s, 0, 64); err == nil {
		return strconv.FormatInt(n, 10)
	}
	if n, err := strconv.ParseUint(s, 0, 64); err == nil {
		return strconv.FormatUint(n, 10)
	}
	return s
}
