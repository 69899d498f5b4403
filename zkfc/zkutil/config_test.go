package zkutil

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hdfsha/hdfsha/internal/conf"
)

func TestParseACLs(t *testing.T) {
	got, err := ParseACLs(" world:anyone:rwcda , ,digest:hdfs-zkfcs:vlUvLnd8MlacsE80rDuu6ONESbM=:rw,sasl:nn/h@R:a")
	if err != nil {
		t.Fatal(err)
	}
	want := []zk.ACL{
		{Scheme: "world", ID: "anyone", Perms: zk.PermAll},
		{Scheme: "digest", ID: "hdfs-zkfcs:vlUvLnd8MlacsE80rDuu6ONESbM=", Perms: zk.PermRead | zk.PermWrite},
		{Scheme: "sasl", ID: "nn/h@R", Perms: zk.PermAdmin},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if acl, err := ParseACLs(""); err != nil || len(acl) != 0 {
		t.Fatalf("empty: %v, %v", acl, err)
	}
	for in, msg := range map[string]string{
		"world:anyone":       "ACL 'world:anyone' not of expected form scheme:id:perm",
		"world":              "ACL 'world' not of expected form scheme:id:perm",
		"world:anyone:rwxda": "Invalid permission 'x' in permission string 'rwxda'",
	} {
		_, err := ParseACLs(in)
		if !errors.Is(err, ErrBadConfig) || err.Error() != ErrBadConfig.Error()+": "+msg {
			t.Errorf("ParseACLs(%q) = %v, want %q", in, err, msg)
		}
	}
}

func TestParseAuth(t *testing.T) {
	got, err := ParseAuth("digest:user:pa:ss, digest:u2:p2")
	if err != nil {
		t.Fatal(err)
	}
	want := []Auth{{"digest", []byte("user:pa:ss")}, {"digest", []byte("u2:p2")}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	if _, err := ParseAuth("digest"); err == nil || err.Error() != ErrBadConfig.Error()+": Auth 'digest' not of expected form scheme:auth" {
		t.Fatalf("got %v", err)
	}
}

func TestResolveConfIndirection(t *testing.T) {
	p := filepath.Join(t.TempDir(), "acl")
	if err := os.WriteFile(p, []byte("  digest:a:b:rwcda\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if v, err := ResolveConfIndirection("@ " + p); err != nil || v != "digest:a:b:rwcda" {
		t.Fatalf("got %q, %v", v, err)
	}
	if v, err := ResolveConfIndirection("world:anyone:r"); err != nil || v != "world:anyone:r" {
		t.Fatalf("got %q, %v", v, err)
	}
	if _, err := ResolveConfIndirection("@" + p + ".missing"); !errors.Is(err, ErrBadConfig) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

func TestConfigFromConf(t *testing.T) {
	c := conf.New()
	if _, err := ConfigFromConf(c, "ns1", "nn1"); !errors.Is(err, ErrBadConfig) ||
		err.Error() != ErrBadConfig.Error()+": Missing required configuration 'ha.zookeeper.quorum' for ZooKeeper quorum" {
		t.Fatalf("no quorum: %v", err)
	}
	c.Set(KeyQuorum, "zk1:2000, zk2")
	cfg, err := ConfigFromConf(c, "ns1", "nn1")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Quorum:         []string{"zk1:2000", "zk2:2181"},
		SessionTimeout: 10 * time.Second,
		WorkingZNode:   "/hadoop-ha/ns1",
		ACL:            zk.WorldACL(zk.PermAll),
		OpRetries:      3,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("defaults: got %+v\nwant %+v", cfg, want)
	}

	// Per-nameservice and per-NameNode suffixes win, as in DFSZKFailoverController.
	c.Set(KeySessionTimeout+".ns1", "1500")
	c.Set(KeyParentZNode+".ns1.nn1", "/ha/")
	c.Set(KeyACL, "")
	c.Set(KeyAuth+".ns1", "digest:u:p")
	cfg, err = ConfigFromConf(c, "ns1", "nn1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SessionTimeout != 1500*time.Millisecond || cfg.WorkingZNode != "/ha/ns1" ||
		!reflect.DeepEqual(cfg.ACL, zk.AuthACL(zk.PermAll)) || len(cfg.Auth) != 1 || string(cfg.Auth[0].Auth) != "u:p" {
		t.Fatalf("suffixed: %+v", cfg)
	}

	for key, val := range map[string]string{
		KeySessionTimeout: "0",
		KeyQuorum:         "zk1:2181/chroot",
		KeyParentZNode:    "no-slash",
		KeyACL:            "world:anyone",
	} {
		c2 := conf.New()
		c2.Set(KeyQuorum, "zk1")
		c2.Set(key, val)
		if _, err := ConfigFromConf(c2, "ns1", "nn1"); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%s=%s: %v, want ErrBadConfig", key, val, err)
		}
	}
}

func TestWorkingZNode(t *testing.T) {
	for _, tc := range [][3]string{
		{"/hadoop-ha", "ns", "/hadoop-ha/ns"},
		{"/hadoop-ha/", "ns", "/hadoop-ha/ns"},
		{"/", "ns", "/ns"},
	} {
		if got := WorkingZNode(tc[0], tc[1]); got != tc[2] {
			t.Errorf("WorkingZNode(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}

func TestConfirmFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{{"y\n", true}, {"YES\n", true}, {"n\n", false}, {"No\n", false}, {"maybe\ny\n", true}, {"", false}} {
		var w strings.Builder
		got := confirmFormat("/hadoop-ha/ns", strings.NewReader(tc.in), &w)
		if got != tc.want {
			t.Errorf("input %q: %v, want %v", tc.in, got, tc.want)
		}
		out := w.String()
		if !strings.Contains(out, "The configured parent znode /hadoop-ha/ns already exists.") ||
			!strings.Contains(out, "Proceed formatting /hadoop-ha/ns? (Y or N) ") {
			t.Errorf("input %q: prompt %q", tc.in, out)
		}
		if tc.in == "maybe\ny\n" && !strings.Contains(out, "Invalid input: maybe\n") {
			t.Errorf("no Invalid input line: %q", out)
		}
	}
}
