package wirecompat_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/hdfsha/hdfsha/proto/commonpb" // registers hdfsha.common
	_ "github.com/hdfsha/hdfsha/proto/hdfspb"   // registers hdfsha.hdfs
)

const colinmarc = "github.com/colinmarc/hdfs/v2"

// ourSchema is every message and enum hdfsha declares in hdfsha.hdfs and
// hdfsha.common, renamed into Hadoop's packages (hadoop.hdfs, hadoop.common).
func ourSchema(t *testing.T) *schema {
	t.Helper()
	s := newSchema()
	hadoopName := func(n protoreflect.FullName) string {
		return "hadoop." + strings.TrimPrefix(string(n), "hdfsha.")
	}
	var addEnum func(protoreflect.EnumDescriptor)
	addEnum = func(ed protoreflect.EnumDescriptor) {
		values := map[string]int{}
		for i := 0; i < ed.Values().Len(); i++ {
			v := ed.Values().Get(i)
			values[string(v.Name())] = int(v.Number())
		}
		s.enums[hadoopName(ed.FullName())] = values
	}
	var addMessage func(protoreflect.MessageDescriptor)
	addMessage = func(md protoreflect.MessageDescriptor) {
		fields := map[string]field{}
		for i := 0; i < md.Fields().Len(); i++ {
			fd := md.Fields().Get(i)
			f := field{number: int(fd.Number()), label: fd.Cardinality().String()}
			switch fd.Kind() {
			case protoreflect.MessageKind, protoreflect.GroupKind:
				f.typ = hadoopName(fd.Message().FullName())
			case protoreflect.EnumKind:
				f.typ = hadoopName(fd.Enum().FullName())
			default:
				f.typ = fd.Kind().String()
			}
			if fd.HasDefault() {
				switch fd.Kind() {
				case protoreflect.EnumKind:
					f.def = string(fd.DefaultEnumValue().Name())
				case protoreflect.BytesKind:
					f.def = string(fd.Default().Bytes())
				default:
					f.def = canonicalDefault(fmt.Sprint(fd.Default().Interface()))
				}
			}
			fields[string(fd.Name())] = f
		}
		s.messages[hadoopName(md.FullName())] = fields
		for i := 0; i < md.Messages().Len(); i++ {
			addMessage(md.Messages().Get(i))
		}
		for i := 0; i < md.Enums().Len(); i++ {
			addEnum(md.Enums().Get(i))
		}
	}
	for _, pkg := range []protoreflect.FullName{"hdfsha.hdfs", "hdfsha.common"} {
		n := 0
		protoregistry.GlobalFiles.RangeFilesByPackage(pkg, func(fd protoreflect.FileDescriptor) bool {
			n++
			for i := 0; i < fd.Messages().Len(); i++ {
				addMessage(fd.Messages().Get(i))
			}
			for i := 0; i < fd.Enums().Len(); i++ {
				addEnum(fd.Enums().Get(i))
			}
			for i := 0; i < fd.Services().Len(); i++ {
				sd := fd.Services().Get(i)
				methods := map[string]method{}
				for j := 0; j < sd.Methods().Len(); j++ {
					md := sd.Methods().Get(j)
					methods[string(md.Name())] = method{in: hadoopName(md.Input().FullName()), out: hadoopName(md.Output().FullName())}
				}
				s.services[hadoopName(sd.FullName())] = methods
			}
			return true
		})
		if n == 0 {
			t.Fatalf("no files registered for package %s", pkg)
		}
	}
	return s
}

// colinmarcProtoDir finds the .proto files of the colinmarc/hdfs version
// go.mod requires, in the module cache.
func colinmarcProtoDir(t *testing.T) string {
	t.Helper()
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatalf("reading go.mod: %v", err)
	}
	version := ""
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require"))
		if len(f) >= 2 && f[0] == colinmarc {
			version = f[1]
		}
	}
	if version == "" {
		t.Fatalf("go.mod does not require %s", colinmarc)
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		out, err := exec.Command("go", "env", "GOMODCACHE").Output()
		if err != nil {
			t.Skipf("cannot locate the module cache (go env GOMODCACHE: %v)", err)
		}
		cache = strings.TrimSpace(string(out))
	}
	dir := filepath.Join(cache, filepath.FromSlash(colinmarc)+"@"+version, "internal", "protocol")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("%s@%s is not in the module cache (%v); run 'go mod download'", colinmarc, version, err)
	}
	return dir
}

// colinmarcSchema parses the Hadoop .proto files colinmarc/hdfs ships.
func colinmarcSchema(t *testing.T) *schema {
	t.Helper()
	dir := colinmarcProtoDir(t)
	p := newProtoParser()
	files := 0
	for _, sub := range []string{"hadoop_hdfs", "hadoop_common"} {
		paths, err := filepath.Glob(filepath.Join(dir, sub, "*.proto"))
		if err != nil || len(paths) == 0 {
			t.Fatalf("no .proto files in %s (%v)", filepath.Join(dir, sub), err)
		}
		for _, path := range paths {
			text, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.parse(filepath.Join(sub, filepath.Base(path)), string(text)); err != nil {
				t.Fatal(err)
			}
			files++
		}
	}
	s, err := p.schema()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("parsed %d colinmarc .proto files: %d messages, %d enums", files, len(s.messages), len(s.enums))
	return s
}

// TestWireCompatWithColinmarc checks every field and enum value hdfsha
// declares against the same declaration in colinmarc/hdfs's copy of Hadoop's
// .proto files.
func TestWireCompatWithColinmarc(t *testing.T) {
	ours := ourSchema(t)
	theirs := colinmarcSchema(t)

	for _, d := range compare(ours, theirs) {
		t.Error(d)
	}

	// Guard against a vacuous pass (a parser that reads nothing, a renamed
	// package): most of what we declare must have been compared.
	var msgs, fields, enums, values int
	var onlyOurs []string
	for _, m := range sortedKeys(ours.messages) {
		if _, ok := theirs.messages[m]; !ok {
			onlyOurs = append(onlyOurs, m)
			continue
		}
		msgs++
		fields += len(ours.messages[m])
	}
	for _, e := range sortedKeys(ours.enums) {
		if _, ok := theirs.enums[e]; !ok {
			onlyOurs = append(onlyOurs, e)
			continue
		}
		enums++
		values += len(ours.enums[e])
	}
	var services, methods int
	for _, svc := range sortedKeys(ours.services) {
		if _, ok := theirs.services[svc]; !ok {
			onlyOurs = append(onlyOurs, svc)
			continue
		}
		services++
		methods += len(ours.services[svc])
	}
	t.Logf("compared %d messages (%d fields), %d enums (%d values) and %d services (%d methods)",
		msgs, fields, enums, values, services, methods)
	if len(onlyOurs) > 0 {
		t.Logf("not in colinmarc's protos, unverified: %s", strings.Join(onlyOurs, ", "))
	}
	if msgs < 100 || fields < 250 || enums < 15 || services < 3 || methods < 40 {
		t.Errorf("only %d messages, %d fields, %d enums and %d services (%d methods) compared; the check is not looking at what we declare",
			msgs, fields, enums, services, methods)
	}
	for _, must := range []string{
		"hadoop.hdfs.HdfsFileStatusProto", "hadoop.hdfs.LocatedBlockProto", "hadoop.hdfs.CreateRequestProto",
		"hadoop.common.TokenProto", "hadoop.common.GetServiceStatusResponseProto", "hadoop.common.CedeActiveRequestProto",
		"hadoop.common.RpcRequestHeaderProto", "hadoop.hdfs.XAttrProto",
	} {
		if _, ok := theirs.messages[must]; !ok {
			t.Errorf("%s missing from colinmarc's protos as parsed", must)
		}
	}
}

// TestCompareReportsMismatches feeds the comparer deliberately wrong copies of
// our table: every kind of difference must be reported, and nothing else.
func TestCompareReportsMismatches(t *testing.T) {
	ours := ourSchema(t)
	if d := compare(ours, ours); len(d) != 0 {
		t.Fatalf("a table differs from itself: %v", d)
	}

	wrong := cloneSchema(ours)
	mutate := func(msg, name string, f func(*field)) {
		t.Helper()
		fl, ok := wrong.messages[msg][name]
		if !ok {
			t.Fatalf("%s.%s not declared", msg, name)
		}
		f(&fl)
		wrong.messages[msg][name] = fl
	}
	mutate("hadoop.hdfs.GetBlockLocationsRequestProto", "offset", func(f *field) { f.number = 3 })
	mutate("hadoop.hdfs.ExtendedBlockProto", "numBytes", func(f *field) { f.typ = "uint32" })
	mutate("hadoop.hdfs.LocatedBlockProto", "locs", func(f *field) { f.label = "optional" })
	mutate("hadoop.hdfs.LocatedBlockProto", "blockToken", func(f *field) { f.typ = "hadoop.hdfs.BlockProto" })
	mutate("hadoop.hdfs.FsServerDefaultsProto", "checksumType", func(f *field) { f.def = "CHECKSUM_CRC32C" })
	wrong.messages["hadoop.common.TokenProto"]["serviceName"] = field{number: 5, typ: "string", label: "optional"}
	wrong.enums["hadoop.hdfs.StorageTypeProto"]["DISK"] = 0
	wrong.enums["hadoop.common.HAServiceStateProto"]["FENCED"] = 4
	delete(wrong.enums["hadoop.hdfs.DatanodeReportTypeProto"], "IN_MAINTENANCE")
	wrong.services["hadoop.hdfs.ClientNamenodeProtocol"]["getFsStatus"] = wrong.services["hadoop.hdfs.ClientNamenodeProtocol"]["getFsStats"]
	wrong.services["hadoop.common.ZKFCProtocolService"]["cedeActive"] = method{
		in: "hadoop.common.CedeActiveRequestProto", out: "hadoop.common.GracefulFailoverResponseProto"}

	want := []string{
		"hadoop.common.TokenProto.serviceName: field not declared by Hadoop",
		"hadoop.hdfs.ExtendedBlockProto.numBytes: type uint32, Hadoop uint64",
		"hadoop.hdfs.FsServerDefaultsProto.checksumType: default \"CHECKSUM_CRC32C\", Hadoop \"CHECKSUM_CRC32\"",
		"hadoop.hdfs.GetBlockLocationsRequestProto.offset: number 3, Hadoop 2",
		"hadoop.hdfs.LocatedBlockProto.blockToken: type hadoop.hdfs.BlockProto, Hadoop hadoop.common.TokenProto",
		"hadoop.hdfs.LocatedBlockProto.locs: label optional, Hadoop repeated",
		"hadoop.common.HAServiceStateProto.FENCED: enum value not declared by Hadoop",
		"hadoop.hdfs.DatanodeReportTypeProto.IN_MAINTENANCE: Hadoop's value 6 not declared",
		"hadoop.hdfs.StorageTypeProto.DISK: enum value 0, Hadoop 1",
		"hadoop.common.ZKFCProtocolService.cedeActive: hadoop.common.CedeActiveRequestProto returns hadoop.common.GracefulFailoverResponseProto," +
			" Hadoop hadoop.common.CedeActiveRequestProto returns hadoop.common.CedeActiveResponseProto",
		"hadoop.hdfs.ClientNamenodeProtocol.getFsStatus: method not declared by Hadoop",
	}
	got := compare(wrong, ours)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("compare(wrong, ours) =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestParser checks the .proto reader on the constructs Hadoop's files use.
func TestParser(t *testing.T) {
	const text = `
/* licence
   block */
syntax = "proto2";
option java_package = "x;y";
package hadoop.hdfs;
import "Security.proto";

// Outer is a message.
message Outer {
  enum Kind { A = 0x01; B=2; NEG = -1; }
  message Inner {}
  required Kind kind = 1 [default = A];  // trailing
  optional Inner inner=2;
  repeated bool flags = 3 [packed=true];
  optional sint64 len = 4 [default = -1];
  optional string s = 5 [default = "a;b}"];
  optional hadoop.common.TokenProto token = 6;
  optional Other other = 7 [deprecated = true, default = X];
  oneof choice {
    uint32 pick = 8;
  }
}
enum Other { X = 1; }
service S {
  rpc m(Outer) returns (Outer);
  rpc n (Outer.Inner) returns(hadoop.common.TokenProto) { option deprecated = true; }
}
`
	p := newProtoParser()
	if err := p.parse("common.proto", "package hadoop.common; message TokenProto { required bytes identifier = 1; }"); err != nil {
		t.Fatal(err)
	}
	if err := p.parse("test.proto", text); err != nil {
		t.Fatal(err)
	}
	s, err := p.schema()
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(s.messages["hadoop.hdfs.Outer"])
	want := fmt.Sprint(map[string]field{
		"kind":  {1, "hadoop.hdfs.Outer.Kind", "required", "A"},
		"inner": {2, "hadoop.hdfs.Outer.Inner", "optional", ""},
		"flags": {3, "bool", "repeated", ""},
		"len":   {4, "sint64", "optional", "-1"},
		"s":     {5, "string", "optional", "a;b}"},
		"token": {6, "hadoop.common.TokenProto", "optional", ""},
		"other": {7, "hadoop.hdfs.Other", "optional", "X"},
		"pick":  {8, "uint32", "optional", ""},
	})
	if got != want {
		t.Errorf("Outer =\n%s\nwant\n%s", got, want)
	}
	if got, want := fmt.Sprint(s.enums["hadoop.hdfs.Outer.Kind"]), fmt.Sprint(map[string]int{"A": 1, "B": 2, "NEG": -1}); got != want {
		t.Errorf("Outer.Kind = %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(s.services["hadoop.hdfs.S"]), fmt.Sprint(map[string]method{
		"m": {"hadoop.hdfs.Outer", "hadoop.hdfs.Outer"},
		"n": {"hadoop.hdfs.Outer.Inner", "hadoop.common.TokenProto"},
	}); got != want {
		t.Errorf("service S = %s, want %s", got, want)
	}
	if _, ok := s.messages["hadoop.hdfs.Outer.Inner"]; !ok {
		t.Error("nested message Outer.Inner not found")
	}
	if len(s.messages) != 3 || len(s.enums) != 2 {
		t.Errorf("got %d messages and %d enums, want 3 and 2", len(s.messages), len(s.enums))
	}

	for _, bad := range []string{
		"package p; message M { optional int32 x; }",    // no number
		"package p; message M { int32 x = 1; }",         // no label outside a oneof
		"package p; message M { optional int32 x = 1 }", // unterminated
		"package p; message M { optional Missing x = 1; }",
		"package p; message M {",
		"package p; message M {} service S { rpc m(M) returns (Nope); }",
		"package p; message M {} service S { rpc m(M); }",
	} {
		p := newProtoParser()
		err := p.parse("bad.proto", bad)
		if err == nil {
			_, err = p.schema()
		}
		if err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}

func cloneSchema(s *schema) *schema {
	c := newSchema()
	for m, fields := range s.messages {
		c.messages[m] = map[string]field{}
		for n, f := range fields {
			c.messages[m][n] = f
		}
	}
	for e, values := range s.enums {
		c.enums[e] = map[string]int{}
		for n, v := range values {
			c.enums[e][n] = v
		}
	}
	for svc, methods := range s.services {
		c.services[svc] = map[string]method{}
		for n, m := range methods {
			c.services[svc][n] = m
		}
	}
	return c
}
