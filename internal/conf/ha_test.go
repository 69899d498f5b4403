package conf

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
)

// haConf is a federated HA cluster: alpha has three NameNodes, beta two, and
// gamma is a nameservice without HA.
func haConf(t *testing.T, extra ...string) *Conf {
	t.Helper()
	kv := []string{
		"fs.defaultFS", "hdfs://alpha",
		"dfs.nameservices", "alpha, beta,gamma",
		"dfs.ha.namenodes.alpha", "nn1,nn2, nn3",
		"dfs.namenode.rpc-address.alpha.nn1", "127.0.0.1:8020",
		"dfs.namenode.rpc-address.alpha.nn2", "127.0.0.2",
		"dfs.namenode.rpc-address.alpha.nn3", "127.0.0.3:8021",
		"dfs.namenode.http-address.alpha.nn3", "127.0.0.3:50070",
		"dfs.ha.namenodes.beta", "nnA,nnB",
		"dfs.namenode.rpc-address.beta.nnA", "127.0.0.1:9020",
		"dfs.namenode.rpc-address.beta.nnB", "127.0.0.2:9020",
		"dfs.namenode.servicerpc-address.beta.nnA", "127.0.0.1:9021",
		"dfs.namenode.http-address.beta", "0.0.0.0:19870",
		"dfs.namenode.rpc-address.gamma", "127.0.0.5:7020",
		"dfs.namenode.shared.edits.dir.alpha", "qjournal://127.0.0.1:8485;127.0.0.2:8485;127.0.0.3/alpha",
		"dfs.namenode.shared.edits.dir.beta", "qjournal://127.0.0.1:8485;127.0.0.4:8485;127.0.0.5:8485/beta",
	}
	kv = append(kv, extra...)
	dir := t.TempDir()
	writeFile(t, dir, "hdfs-site.xml", xmlDoc(kv...))
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNameNodesResolution(t *testing.T) {
	c := haConf(t)
	if got := c.Nameservices(); !slices.Equal(got, []string{"alpha", "beta", "gamma"}) {
		t.Fatalf("Nameservices = %q", got)
	}
	want := map[string][]NameNode{
		"alpha": {
			{"alpha", "nn1", "127.0.0.1:8020", "127.0.0.1:9870", "127.0.0.1:8020"},
			{"alpha", "nn2", "127.0.0.2:8020", "127.0.0.2:9870", "127.0.0.2:8020"},
			{"alpha", "nn3", "127.0.0.3:8021", "127.0.0.3:50070", "127.0.0.3:8021"},
		},
		"beta": {
			{"beta", "nnA", "127.0.0.1:9020", "127.0.0.1:19870", "127.0.0.1:9021"},
			{"beta", "nnB", "127.0.0.2:9020", "127.0.0.2:19870", "127.0.0.2:9020"},
		},
		"gamma": {
			{"gamma", "", "127.0.0.5:7020", "127.0.0.5:9870", "127.0.0.5:7020"},
		},
	}
	var all []NameNode
	for _, ns := range []string{"alpha", "beta", "gamma"} {
		got, err := c.NameNodes(ns)
		if err != nil {
			t.Fatalf("NameNodes(%s): %v", ns, err)
		}
		if !slices.Equal(got, want[ns]) {
			t.Errorf("NameNodes(%s) =\n%+v\nwant\n%+v", ns, got, want[ns])
		}
		all = append(all, want[ns]...)
	}
	got, err := c.AllNameNodes()
	if err != nil || !slices.Equal(got, all) {
		t.Errorf("AllNameNodes = %+v, %v", got, err)
	}
	for ns, ha := range map[string]bool{"alpha": true, "beta": true, "gamma": false, "nope": false} {
		if c.IsHA(ns) != ha {
			t.Errorf("IsHA(%s) = %v", ns, !ha)
		}
	}
	if h := want["alpha"][2].Host(); h != "127.0.0.3" {
		t.Errorf("Host() = %q", h)
	}
}

func TestNameNodesErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []string
		ns    string
		is    error
		parts []string
	}{
		{"missing rpc-address", []string{"dfs.ha.namenodes.alpha", "nn1,nn2,nn4"}, "alpha", ErrMissing,
			[]string{"dfs.namenode.rpc-address.alpha.nn4"}},
		{"blank rpc-address", []string{"dfs.namenode.rpc-address.alpha.nn2", " "}, "alpha", ErrMissing,
			[]string{"dfs.namenode.rpc-address.alpha.nn2"}},
		{"unknown nameservice", nil, "delta", ErrUnknownNameservice, []string{`"delta"`, "dfs.ha.namenodes.delta"}},
		{"bad port", []string{"dfs.namenode.rpc-address.beta.nnB", "127.0.0.2:http"}, "beta", ErrBadValue,
			[]string{"dfs.namenode.rpc-address.beta.nnB", "127.0.0.2:http"}},
		{"uri instead of address", []string{"dfs.namenode.http-address.alpha.nn1", "http://h:1"}, "alpha", ErrBadValue,
			[]string{"dfs.namenode.http-address.alpha.nn1"}},
		{"duplicate id", []string{"dfs.ha.namenodes.beta", "nnA,nnB,nnA"}, "beta", ErrBadValue, []string{`"nnA"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := haConf(t, tc.extra...)
			_, err := c.NameNodes(tc.ns)
			if !errors.Is(err, tc.is) {
				t.Fatalf("NameNodes(%s) error = %v, want %v", tc.ns, err, tc.is)
			}
			for _, p := range tc.parts {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q lacks %q", err, p)
				}
			}
			if _, err := c.AllNameNodes(); tc.ns != "delta" && !errors.Is(err, tc.is) {
				t.Errorf("AllNameNodes error = %v, want %v", err, tc.is)
			}
		})
	}
}

func TestSingleNameNodeWithoutNameservices(t *testing.T) {
	for _, tc := range []struct {
		name string
		kv   []string
		want string
		err  error
	}{
		{"fs.defaultFS with port", []string{"fs.defaultFS", "hdfs://nn.example.com:9000"}, "nn.example.com:9000", nil},
		{"fs.defaultFS default port", []string{"fs.defaultFS", "hdfs://nn.example.com/"}, "nn.example.com:8020", nil},
		{"rpc-address wins", []string{"fs.defaultFS", "hdfs://a:1", "dfs.namenode.rpc-address", "b:2"}, "b:2", nil},
		{"local file system", []string{"fs.defaultFS", "file:///"}, "", ErrMissing},
		{"logical name without nameservices", []string{"fs.defaultFS", "hdfs://logical",
			"dfs.ha.namenodes.logical", "x", "dfs.namenode.rpc-address.logical.x", "10.0.0.1"}, "10.0.0.1:8020", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New()
			for i := 0; i < len(tc.kv); i += 2 {
				c.Set(tc.kv[i], tc.kv[i+1])
			}
			nns, err := c.AllNameNodes()
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || len(nns) != 1 || nns[0].RPCAddress != tc.want {
				t.Fatalf("AllNameNodes = %+v, %v; want one at %s", nns, err, tc.want)
			}
			if again, err := c.NameNodes(""); err != nil || !slices.Equal(again, nns) {
				t.Errorf(`NameNodes("") = %+v, %v; want %+v`, again, err, nns)
			}
			host := strings.Split(tc.want, ":")[0]
			if nns[0].HTTPAddress != host+":9870" {
				t.Errorf("HTTPAddress = %q", nns[0].HTTPAddress)
			}
		})
	}
}

func TestDefaultNameservice(t *testing.T) {
	for _, tc := range []struct {
		name string
		kv   []string
		want string
	}{
		{"from fs.defaultFS", []string{"fs.defaultFS", "hdfs://beta", "dfs.nameservices", "alpha,beta"}, "beta"},
		{"fs.defaultFS not a nameservice", []string{"fs.defaultFS", "hdfs://other", "dfs.nameservices", "alpha"}, "alpha"},
		{"only one", []string{"dfs.nameservices", "alpha"}, "alpha"},
		{"nameservice id", []string{"dfs.nameservices", "alpha,beta", "dfs.nameservice.id", "beta"}, "beta"},
		{"several", []string{"dfs.nameservices", "alpha,beta"}, ""},
		{"none", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New()
			for i := 0; i < len(tc.kv); i += 2 {
				c.Set(tc.kv[i], tc.kv[i+1])
			}
			got, err := c.DefaultNameservice()
			if tc.want == "" {
				if !errors.Is(err, ErrMissing) {
					t.Errorf("DefaultNameservice = %q, %v; want ErrMissing", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("DefaultNameservice = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestSuffixedKeys(t *testing.T) {
	c := haConf(t,
		"dfs.namenode.name.dir.alpha.nn1", "/nn1/name",
		"dfs.namenode.name.dir.alpha", "/alpha/name",
		"dfs.ha.zkfc.port.alpha.nn2", "8029",
		"dfs.ha.automatic-failover.enabled.alpha", "true",
		"dfs.ha.fencing.methods.beta", "shell(/bin/true)",
	)
	for _, tc := range []struct{ key, ns, nn, want string }{
		{"dfs.namenode.name.dir", "alpha", "nn1", "/nn1/name"},
		{"dfs.namenode.name.dir", "alpha", "nn2", "/alpha/name"},
		{"dfs.namenode.name.dir", "alpha", "", "/alpha/name"},
		{"dfs.ha.zkfc.port", "alpha", "nn2", "8029"},
		{"dfs.ha.zkfc.port", "alpha", "nn1", "8019"},
		{"dfs.ha.zkfc.port", "beta", "nnA", "8019"},
		{"dfs.ha.fencing.methods", "beta", "nnB", "shell(/bin/true)"},
	} {
		got, ok := c.GetNN(tc.key, tc.ns, tc.nn)
		if !ok || got != tc.want {
			t.Errorf("GetNN(%s, %s, %s) = %q, %v; want %q", tc.key, tc.ns, tc.nn, got, ok, tc.want)
		}
	}
	if _, ok := c.GetNN("dfs.ha.fencing.methods", "alpha", "nn1"); ok {
		t.Error("GetNN found an unset key")
	}
	if got, _ := c.GetNN("dfs.namenode.name.dir", "beta", "nnA"); !strings.HasSuffix(got, "/dfs/name") {
		t.Errorf("GetNN fallback to the default = %q", got)
	}

	nn1 := c.ForNameNode("alpha", "nn1")
	nn2 := c.ForNameNode("alpha", "nn2")
	for _, tc := range []struct {
		c         *Conf
		key, want string
	}{
		{nn1, "dfs.namenode.name.dir", "/nn1/name"},
		{nn1, "dfs.namenode.edits.dir", "/nn1/name"}, // ${dfs.namenode.name.dir} follows
		{nn1, "dfs.namenode.rpc-address", "127.0.0.1:8020"},
		{nn1, "dfs.ha.zkfc.port", "8019"},
		{nn2, "dfs.ha.zkfc.port", "8029"},
		{nn2, "dfs.namenode.shared.edits.dir", "qjournal://127.0.0.1:8485;127.0.0.2:8485;127.0.0.3/alpha"},
		{nn2, "dfs.ha.automatic-failover.enabled", "true"},
		{nn2, "dfs.nameservice.id", "alpha"},
		{nn2, "dfs.ha.namenode.id", "nn2"},
	} {
		if got := mustGet(t, tc.c, tc.key); got != tc.want {
			t.Errorf("ForNameNode: %s = %q, want %q", tc.key, got, tc.want)
		}
	}
	if got := mustGet(t, c, "dfs.ha.zkfc.port"); got != "8019" {
		t.Errorf("ForNameNode changed the original: %q", got)
	}
	if !slices.Contains(NameNodeSpecificKeys(), "dfs.namenode.name.dir") {
		t.Error("NameNodeSpecificKeys lacks dfs.namenode.name.dir")
	}
}

func TestForNameNodeBeatsFinalGenericKey(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "hdfs-site.xml", `<configuration>
<property><name>dfs.namenode.name.dir</name><value>/generic</value><final>true</final></property>
<property><name>dfs.namenode.name.dir.ns.nn1</name><value>/specific</value></property>
</configuration>`)
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, c.ForNameNode("ns", "nn1"), "dfs.namenode.name.dir"); got != "/specific" {
		t.Errorf("name.dir = %q, want /specific", got)
	}
}

func TestSharedEditsDir(t *testing.T) {
	c := haConf(t,
		"dfs.namenode.shared.edits.dir.beta.nnB", "qjournal://10.0.0.9/beta",
		"dfs.namenode.shared.edits.dir.gamma", "file:///mnt/shared",
		"dfs.ha.namenodes.delta", "d1",
		"dfs.namenode.rpc-address.delta.d1", "127.0.0.9:1",
		"dfs.namenode.shared.edits.dir.delta", "qjournal://a:1/x,qjournal://b:1/x",
	)
	qj, ok, err := c.SharedEditsDir("alpha", "nn1")
	if err != nil || !ok {
		t.Fatalf("SharedEditsDir(alpha, nn1) = %v, %v", ok, err)
	}
	if want := []string{"127.0.0.1:8485", "127.0.0.2:8485", "127.0.0.3:8485"}; !slices.Equal(qj.Hosts, want) || qj.JournalID != "alpha" {
		t.Errorf("alpha journal = %+v", qj)
	}
	qj, _, _ = c.SharedEditsDir("beta", "nnB")
	if !slices.Equal(qj.Hosts, []string{"10.0.0.9:8485"}) {
		t.Errorf("beta.nnB journal = %+v, want the .beta.nnB override", qj)
	}
	if _, ok, err := New().SharedEditsDir("alpha", "nn1"); ok || err != nil {
		t.Errorf("unset shared edits dir: %v, %v", ok, err)
	}
	for ns, key := range map[string]string{"gamma": "dfs.namenode.shared.edits.dir.gamma", "delta": "dfs.namenode.shared.edits.dir.delta"} {
		_, _, err := c.SharedEditsDir(ns, "")
		var ve *ValueError
		if !errors.As(err, &ve) || ve.Key != key {
			t.Errorf("SharedEditsDir(%s) error = %v, want a ValueError for %s", ns, err, key)
		}
	}

	c = haConf(t)
	got, err := c.JournalNodeAddresses()
	want := []string{"127.0.0.1:8485", "127.0.0.2:8485", "127.0.0.3:8485", "127.0.0.4:8485", "127.0.0.5:8485"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("JournalNodeAddresses = %q, %v", got, err)
	}
}

func ips(s ...string) []net.IP {
	var out []net.IP
	for _, a := range s {
		out = append(out, net.ParseIP(a))
	}
	return out
}

func TestLocalNameNode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		extra  []string
		ns     string
		local  []net.IP
		wantNS string
		wantID string
		err    error
	}{
		{"by address", nil, "alpha", ips("127.0.0.2"), "alpha", "nn2", nil},
		{"by address, third", nil, "alpha", ips("10.1.1.1", "127.0.0.3"), "alpha", "nn3", nil},
		{"by address in beta", nil, "beta", ips("127.0.0.1"), "beta", "nnA", nil},
		{"by id", []string{"dfs.ha.namenode.id", "nn3"}, "alpha", ips("127.0.0.1"), "alpha", "nn3", nil},
		{"by suffixed id", []string{"dfs.ha.namenode.id", "nn3", "dfs.ha.namenode.id.alpha", "nn1"}, "alpha", nil, "alpha", "nn1", nil},
		{"id not in nameservice", []string{"dfs.ha.namenode.id", "nnX"}, "alpha", ips("127.0.0.1"), "", "", ErrBadValue},
		{"ambiguous", nil, "alpha", ips("127.0.0.1", "127.0.0.2"), "", "", ErrAmbiguousNameNode},
		{"no match", nil, "alpha", ips("10.9.9.9"), "", "", ErrNoLocalNameNode},
		{"empty local list", nil, "alpha", []net.IP{}, "", "", ErrNoLocalNameNode},
		{"non-HA nameservice", nil, "gamma", ips("10.9.9.9"), "gamma", "", nil},
		{"unknown nameservice", nil, "delta", ips("127.0.0.1"), "", "", ErrUnknownNameservice},
		{"search every nameservice", nil, "", ips("127.0.0.3"), "alpha", "nn3", nil},
		{"ambiguous across nameservices", nil, "", ips("127.0.0.2"), "", "", ErrAmbiguousNameNode},
		{"nameservice id", []string{"dfs.nameservice.id", "beta"}, "", ips("127.0.0.2"), "beta", "nnB", nil},
		{"logical fs.defaultFS without nameservices", []string{"dfs.nameservices", "", "fs.defaultFS", "hdfs://beta"},
			"", ips("127.0.0.2"), "beta", "nnB", nil},
		{"no nameservices", []string{"dfs.nameservices", "", "fs.defaultFS", "hdfs://h:1"}, "", ips("10.9.9.9"), "", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := haConf(t, tc.extra...)
			got, err := c.LocalNameNode(tc.ns, tc.local)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("LocalNameNode = %+v, %v; want %v", got, err, tc.err)
				}
				return
			}
			if err != nil || got.Nameservice != tc.wantNS || got.ID != tc.wantID {
				t.Fatalf("LocalNameNode = %+v, %v; want %s.%s", got, err, tc.wantNS, tc.wantID)
			}
		})
	}
}

func TestLocalNameNodeErrorMessages(t *testing.T) {
	c := haConf(t)
	_, err := c.LocalNameNode("alpha", ips("10.9.9.9"))
	for _, p := range []string{"alpha.nn1=127.0.0.1:8020", "alpha.nn3=127.0.0.3:8021", "dfs.ha.namenode.id"} {
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("no-match error %v lacks %q", err, p)
		}
	}
	_, err = c.LocalNameNode("alpha", ips("127.0.0.1", "127.0.0.3"))
	for _, p := range []string{"alpha.nn1", "alpha.nn3", "dfs.nameservice.id", "dfs.ha.namenode.id"} {
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("ambiguous error %v lacks %q", err, p)
		}
	}
}

func TestLocalNameNodeByHostName(t *testing.T) {
	c := New()
	for k, v := range map[string]string{
		"dfs.nameservices":              "ns",
		"dfs.ha.namenodes.ns":           "a,b,c",
		"dfs.namenode.rpc-address.ns.a": "host-a.example:8020",
		"dfs.namenode.rpc-address.ns.b": "host-b.example:8020",
		"dfs.namenode.rpc-address.ns.c": "unresolvable.example:8020",
	} {
		c.Set(k, v)
	}
	lookup := func(host string) ([]net.IP, error) {
		switch host {
		case "host-a.example":
			return ips("192.0.2.1"), nil
		case "host-b.example":
			return ips("192.0.2.2", "2001:db8::2"), nil
		}
		return nil, fmt.Errorf("no such host %s", host)
	}
	isLocal := func(ip net.IP) bool { return ip.Equal(net.ParseIP("2001:db8::2")) }
	got, err := c.localNameNode("ns", isLocal, lookup)
	if err != nil || got.ID != "b" {
		t.Errorf("localNameNode = %+v, %v; want b", got, err)
	}
}

func TestLocalNameNodeInterfaceAddresses(t *testing.T) {
	// With nil addresses the machine's own are used; every loopback address
	// counts as local, as in Hadoop, so three loopback NameNodes are ambiguous.
	c := haConf(t)
	if _, err := c.LocalNameNode("alpha", nil); !errors.Is(err, ErrAmbiguousNameNode) {
		t.Errorf("LocalNameNode(nil addrs) = %v, want ErrAmbiguousNameNode", err)
	}
}
