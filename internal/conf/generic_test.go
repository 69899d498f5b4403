package conf

import (
	"errors"
	"maps"
	"slices"
	"testing"
)

func TestParseGenericOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want map[string]string
		rest []string
	}{
		{"separate -D", []string{"-D", "a=1", "-failover", "nn1", "nn2"},
			map[string]string{"a": "1"}, []string{"-failover", "nn1", "nn2"}},
		{"joined -D", []string{"-Da=1", "-Db=x=y", "cmd"},
			map[string]string{"a": "1", "b": "x=y"}, []string{"cmd"}},
		{"repeat: last wins", []string{"-D", "a=1", "-Da=2", "-D", "a=3"},
			map[string]string{"a": "3"}, []string{}},
		{"empty value", []string{"-D", "a=", "x"}, map[string]string{"a": ""}, []string{"x"}},
		{"stops at first non-generic", []string{"-Da=1", "-ns", "alpha", "-D", "b=2"},
			map[string]string{"a": "1"}, []string{"-ns", "alpha", "-D", "b=2"}},
		{"-- ends options", []string{"-Da=1", "--", "-D", "b=2"},
			map[string]string{"a": "1"}, []string{"-D", "b=2"}},
		{"-fs", []string{"-fs", "hdfs://alpha", "ls"},
			map[string]string{"fs.defaultFS": "hdfs://alpha"}, []string{"ls"}},
		{"-fs local", []string{"-fs", "local"}, map[string]string{"fs.defaultFS": "file:///"}, []string{}},
		{"-fs host:port", []string{"-fs", "nn:8020"}, map[string]string{"fs.defaultFS": "hdfs://nn:8020"}, []string{}},
		{"-D beats -fs whatever the order", []string{"-D", "fs.defaultFS=hdfs://d", "-fs", "hdfs://f"},
			map[string]string{"fs.defaultFS": "hdfs://d"}, []string{}},
		{"nothing", nil, map[string]string{}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, rest, err := ParseGenericOptions(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) || !slices.Equal(rest, tc.rest) {
				t.Errorf("ParseGenericOptions(%q) = %v, %q; want %v, %q", tc.args, got, rest, tc.want, tc.rest)
			}
		})
	}
}

func TestParseGenericOptionsErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-D"},
		{"-D", "novalue"},
		{"-Dnovalue", "x"},
		{"-D", "=v"},
		{"-D="},
		{"-conf"},
		{"-fs"},
		{"-fs", " "},
		{"-conf", "/no/such/file.xml"},
	} {
		if _, _, err := ParseGenericOptions(args); err == nil {
			t.Errorf("ParseGenericOptions(%q): no error", args)
		} else if len(args) < 2 || args[0] != "-conf" {
			if !errors.Is(err, ErrUsage) {
				t.Errorf("ParseGenericOptions(%q) error %v does not wrap ErrUsage", args, err)
			}
		}
	}
}

func TestGenericConfFiles(t *testing.T) {
	dir := t.TempDir()
	site := writeFile(t, dir, "hdfs-site.xml", `<configuration>
<property><name>locked</name><value>site</value><final>true</final></property>
</configuration>`)
	extra := writeFile(t, dir, "extra.xml", xmlDoc("from.conf", "c", "both", "c", "locked", "extra"))
	bad := writeFile(t, dir, "bad.xml", "<configuration>")
	args := []string{"-D", "both=d", "-conf", extra, "-fs", "hdfs://x", "-Dlocked=d", "run"}

	// ParseGenericOptions: one flat map, -D above -conf.
	got, rest, err := ParseGenericOptions(args)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"from.conf": "c", "both": "d", "locked": "d", "fs.defaultFS": "hdfs://x"}
	if !maps.Equal(got, want) || !slices.Equal(rest, []string{"run"}) {
		t.Errorf("ParseGenericOptions = %v, %q", got, rest)
	}
	if _, _, err := ParseGenericOptions([]string{"-conf", bad}); !errors.Is(err, ErrParse) {
		t.Errorf("bad -conf file: %v, want ErrParse", err)
	}

	// ParseGenericArgs + Apply: -conf is a real resource, final holds.
	o, err := ParseGenericArgs(args)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.ConfFiles, []string{extra}) || o.FS != "hdfs://x" || !slices.Equal(o.Rest, []string{"run"}) {
		t.Errorf("ParseGenericArgs = %+v", o)
	}
	c := New()
	if err := c.AddResource(site); err != nil {
		t.Fatal(err)
	}
	if err := o.Apply(c); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ key, want, src string }{
		{"from.conf", "c", extra},
		{"both", "d", SourceOverride},
		{"locked", "site", site},
		{"fs.defaultFS", "hdfs://x", SourceOverride},
	} {
		if v := mustGet(t, c, tc.key); v != tc.want || c.Source(tc.key) != tc.src {
			t.Errorf("%s = %q from %q, want %q from %q", tc.key, v, c.Source(tc.key), tc.want, tc.src)
		}
	}
	o.ConfFiles = []string{bad}
	if err := o.Apply(New()); !errors.Is(err, ErrParse) {
		t.Errorf("Apply with a bad file: %v", err)
	}
}
