package conf

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// xmlDoc builds a configuration document from name/value pairs.
func xmlDoc(kv ...string) string {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\"?>\n<configuration>\n")
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "  <property><name>%s</name><value>%s</value></property>\n", kv[i], kv[i+1])
	}
	b.WriteString("</configuration>\n")
	return b.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustGet(t *testing.T, c *Conf, key string) string {
	t.Helper()
	v, ok := c.Get(key)
	if !ok {
		t.Fatalf("Get(%q): not set", key)
	}
	return v
}

func TestNewHasDefaults(t *testing.T) {
	c := New()
	for key, want := range map[string]string{
		"fs.defaultFS":                        "file:///",
		"dfs.replication":                     "3",
		"dfs.blocksize":                       "134217728",
		"dfs.namenode.http-address":           "0.0.0.0:9870",
		"dfs.journalnode.rpc-address":         "0.0.0.0:8485",
		"dfs.ha.zkfc.port":                    "8019",
		"dfs.qjournal.write-txns.timeout.ms":  "20000",
		"dfs.namenode.safemode.threshold-pct": "0.999f",
	} {
		if got := mustGet(t, c, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
		if src := c.Source(key); src != SourceDefault {
			t.Errorf("Source(%s) = %q, want %q", key, src, SourceDefault)
		}
	}
	if _, ok := c.Get("dfs.namenode.rpc-address"); ok {
		t.Error("dfs.namenode.rpc-address has no default but is set")
	}
	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	want := "file:///tmp/hadoop-" + u.Username + "/dfs/name"
	if got := mustGet(t, c, "dfs.namenode.edits.dir"); got != want {
		t.Errorf("dfs.namenode.edits.dir = %q, want %q (chained defaults)", got, want)
	}
	if v, ok := DefaultValue("dfs.heartbeat.interval"); !ok || v != "3s" {
		t.Errorf("DefaultValue(dfs.heartbeat.interval) = %q, %v", v, ok)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestDefaultsTableHasNoDuplicates(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range defaults {
		if seen[d.key] {
			t.Errorf("duplicate default %s", d.key)
		}
		seen[d.key] = true
		if d.value == "" {
			t.Errorf("default %s is empty; leave it out instead", d.key)
		}
	}
}

func TestLoadLayers(t *testing.T) {
	dir := t.TempDir()
	core := writeFile(t, dir, "core-site.xml", xmlDoc(
		"fs.defaultFS", "hdfs://mycluster",
		"dfs.replication", "1",
		"only.core", "c"))
	hdfs := writeFile(t, dir, "hdfs-site.xml", xmlDoc(
		"dfs.replication", "2",
		"only.hdfs", "h"))
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ key, want, src string }{
		{"fs.defaultFS", "hdfs://mycluster", core},
		{"dfs.replication", "2", hdfs},
		{"only.core", "c", core},
		{"only.hdfs", "h", hdfs},
		{"dfs.blocksize", "134217728", SourceDefault},
	} {
		if got := mustGet(t, c, tc.key); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.key, got, tc.want)
		}
		if got := c.Source(tc.key); got != tc.src {
			t.Errorf("Source(%s) = %q, want %q", tc.key, got, tc.src)
		}
	}
	if got := c.Resources(); !slices.Equal(got, []string{core, hdfs}) {
		t.Errorf("Resources = %v", got)
	}
}

func TestLoadMissingFilesAndEnv(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(dir)
	if err != nil {
		t.Fatalf("Load of an empty dir: %v", err)
	}
	if len(c.Resources()) != 0 {
		t.Errorf("Resources = %v", c.Resources())
	}
	if err := New().AddResource(filepath.Join(dir, "nope.xml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("AddResource of a missing file: %v, want ErrNotExist", err)
	}

	writeFile(t, dir, "hdfs-site.xml", xmlDoc("dfs.replication", "5"))
	t.Setenv(EnvConfDir, dir)
	c, err = LoadFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, c, "dfs.replication"); got != "5" {
		t.Errorf("dfs.replication = %q via HADOOP_CONF_DIR", got)
	}
	t.Setenv(EnvConfDir, "")
	c, err = LoadFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, c, "dfs.replication"); got != "3" {
		t.Errorf("dfs.replication = %q without HADOOP_CONF_DIR", got)
	}
}

func TestMalformedFiles(t *testing.T) {
	for _, tc := range []struct {
		name, content, want string
	}{
		{"unclosed", "<configuration>\n<property>\n<name>a</name>\n", "line"},
		{"mismatched", "<configuration>\n\n<property><name>a</nme></property>\n</configuration>", "line 3"},
		{"wrong root", "<conf><property><name>a</name><value>b</value></property></conf>", "want <configuration>"},
		{"empty", "", "no <configuration>"},
		{"text before root", "hello <configuration/>", "text before"},
		{"second root", "<configuration/><configuration/>", "after </configuration>"},
		{"include", `<configuration xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="x.xml"/></configuration>`, "XInclude"},
		{"encoding", `<?xml version="1.0" encoding="EBCDIC"?><configuration/>`, "EBCDIC"},
		{"bad entity", "<configuration><property><name>a&bogus;</name></property></configuration>", "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, dir, "hdfs-site.xml", tc.content)
			_, err := Load(dir)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrParse) {
				t.Errorf("error %v does not wrap ErrParse", err)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q should name %s and contain %q", err, path, tc.want)
			}
		})
	}
}

func TestMalformedFileChangesNothing(t *testing.T) {
	dir := t.TempDir()
	c := New()
	bad := writeFile(t, dir, "bad.xml", "<configuration><property><name>dfs.replication</name><value>9</value></property><oops>")
	if err := c.AddResource(bad); err == nil {
		t.Fatal("no error")
	}
	if got := mustGet(t, c, "dfs.replication"); got != "3" {
		t.Errorf("dfs.replication = %q after a failed load", got)
	}
	if len(c.Resources()) != 0 {
		t.Errorf("failed file listed in Resources: %v", c.Resources())
	}
}

func TestXMLForms(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "site.xml", `<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="configuration.xsl"?>
<!-- comment -->
<configuration>
  <property>
    <name>  spaced.name  </name>
    <value> keep spaces </value>
    <description>ignored <b>markup</b></description>
    <source>programmatically</source>
    <tag>HDFS</tag>
  </property>
  <property name="attr.key" value="attr-value" final="true"/>
  <property><name>empty.value</name><value></value></property>
  <property><name>no.value</name></property>
  <property><value>nameless</value></property>
  <property><name>dup</name><value>first</value></property>
  <property><name>dup</name><value>second</value></property>
  <property><name>cdata</name><value><![CDATA[a<b&c]]></value></property>
  <property><name>entity</name><value>x &amp; y &lt;z&gt;</value></property>
  <unknown><anything/></unknown>
  <configuration>
    <property><name>nested</name><value>yes</value></property>
  </configuration>
</configuration>
`)
	c := New()
	if err := c.AddResource(path); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"spaced.name": " keep spaces ",
		"attr.key":    "attr-value",
		"empty.value": "",
		"dup":         "second",
		"cdata":       "a<b&c",
		"entity":      "x & y <z>",
		"nested":      "yes",
	} {
		if got := mustGet(t, c, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if _, ok := c.Get("no.value"); ok {
		t.Error("a property without <value> was set")
	}
	if !c.IsFinal("attr.key") {
		t.Error("final attribute ignored")
	}
	if got := c.GetTrimmed("spaced.name", ""); got != "keep spaces" {
		t.Errorf("GetTrimmed = %q", got)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "without a name") {
		t.Errorf("Warnings = %q, want one about the nameless property", w)
	}
}

func TestLatin1File(t *testing.T) {
	dir := t.TempDir()
	doc := []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><configuration><property><name>who</name><value>Jos\xe9</value></property></configuration>")
	path := filepath.Join(dir, "l1.xml")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	c := New()
	if err := c.AddResource(path); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, c, "who"); got != "José" {
		t.Errorf("who = %q", got)
	}
}

func TestPrecedenceAndFinal(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "core-site.xml", `<configuration>
  <property><name>locked</name><value>core</value><final>true</final></property>
  <property><name>open</name><value>core</value></property>
  <property><name>frozen.default</name><final>true</final></property>
  <property><name>dfs.replication</name><final>true</final></property>
</configuration>`)
	hdfs := writeFile(t, dir, "hdfs-site.xml", xmlDoc("locked", "hdfs", "open", "hdfs", "dfs.replication", "7"))
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	extra := writeFile(t, dir, "extra.xml", xmlDoc("locked", "extra", "open", "extra", "late.final", "file"))

	c.Set("open", "cli")
	c.Set("locked", "cli")
	c.Set("late.final", "cli")
	c.Set("new.key", "cli")
	if err := c.AddResource(extra); err != nil {
		t.Fatal(err)
	}
	last := writeFile(t, dir, "last.xml", `<configuration><property><name>late.final</name><value>last</value><final>true</final></property></configuration>`)
	if err := c.AddResource(last); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ key, want, src string }{
		{"locked", "core", filepath.Join(dir, "core-site.xml")}, // final beats later files and -D
		{"open", "cli", SourceOverride},                         // -D beats files, even ones added later
		{"dfs.replication", "3", SourceDefault},                 // <final> without <value> freezes the default
		{"late.final", "last", last},                            // a later final file beats an earlier -D
		{"new.key", "cli", SourceOverride},
	} {
		if got := mustGet(t, c, tc.key); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.key, got, tc.want)
		}
		if got := c.Source(tc.key); got != tc.src {
			t.Errorf("Source(%s) = %q, want %q", tc.key, got, tc.src)
		}
	}
	for key, want := range map[string]bool{"locked": true, "open": false, "dfs.replication": true, "late.final": true, "new.key": false} {
		if got := c.IsFinal(key); got != want {
			t.Errorf("IsFinal(%s) = %v", key, got)
		}
	}
	w := strings.Join(c.Warnings(), "\n")
	if !strings.Contains(w, hdfs) || !strings.Contains(w, "final parameter locked") {
		t.Errorf("Warnings should report the ignored override in %s:\n%s", hdfs, w)
	}
}

func TestSetTrimsKeyAndClone(t *testing.T) {
	c := New()
	c.Set("  a.key ", "1")
	if got := mustGet(t, c, "a.key"); got != "1" {
		t.Errorf("a.key = %q", got)
	}
	d := c.Clone()
	d.Set("a.key", "2")
	d.Set("only.clone", "x")
	if got := mustGet(t, c, "a.key"); got != "1" {
		t.Errorf("original changed by clone: %q", got)
	}
	if _, ok := c.Get("only.clone"); ok {
		t.Error("clone key leaked into original")
	}
	keys := d.Keys()
	if !slices.IsSorted(keys) || !slices.Contains(keys, "only.clone") || !slices.Contains(keys, "fs.defaultFS") {
		t.Errorf("Keys not sorted or incomplete: %d keys", len(keys))
	}
	if n := len(slices.Compact(slices.Clone(keys))); n != len(keys) {
		t.Errorf("Keys has duplicates")
	}
}

func TestGetStrings(t *testing.T) {
	c := New()
	c.Set("list", " a, b ,,c ,  ")
	c.Set("blank", "  ")
	if got := c.GetStrings("list"); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("GetStrings = %q", got)
	}
	if got := c.GetStrings("blank"); got != nil {
		t.Errorf("GetStrings(blank) = %q", got)
	}
	if got := c.GetStrings("unset"); got != nil {
		t.Errorf("GetStrings(unset) = %q", got)
	}
	if got := c.GetString("unset", "def"); got != "def" {
		t.Errorf("GetString default = %q", got)
	}
	if got := c.GetString("blank", "def"); got != "  " {
		t.Errorf("GetString(blank) = %q; a set value is returned as is", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := New()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			c.Set("counter", fmt.Sprint(i))
			c.Set("ref", "${counter}")
		}
	}()
	for i := 0; i < 200; i++ {
		c.Get("ref")
		c.Keys()
		c.Clone()
		c.GetInt("counter", 0)
	}
	<-done
	if got := mustGet(t, c, "ref"); got != "199" {
		t.Errorf("ref = %q", got)
	}
}
