package conf

import (
	"errors"
	"net"
	"testing"
	"time"
)

// FuzzLoadXML feeds arbitrary bytes to the configuration parser and then
// exercises everything that reads parsed values. Nothing may panic; a
// rejected document must fail with ErrParse and leave nothing behind.
// Seeds live in testdata/fuzz/FuzzLoadXML.
func FuzzLoadXML(f *testing.F) {
	f.Add([]byte(`<configuration><property><name>a</name><value>${b}</value><final>true</final></property></configuration>`))
	f.Add([]byte(`<configuration><property name="dfs.nameservices" value="ns"/></configuration>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := parseXML(data, "fuzz.xml")
		c := New()
		if err != nil {
			if !errors.Is(err, ErrParse) {
				t.Fatalf("error %v does not wrap ErrParse", err)
			}
			if err2 := c.addXML(data, "fuzz.xml"); err2 == nil || len(c.Resources()) != 0 {
				t.Fatalf("addXML accepted what parseXML rejected, or kept a resource")
			}
			return
		}
		if err := c.addXML(data, "fuzz.xml"); err != nil {
			t.Fatalf("addXML rejected what parseXML accepted: %v", err)
		}
		for _, p := range pf.props {
			if p.name == "" {
				t.Fatal("property with an empty name kept")
			}
			v, ok := c.Get(p.name)
			if !ok && p.hasValue && !c.IsFinal(p.name) {
				t.Fatalf("property %q with a value is unset", p.name)
			}
			_ = v
			c.GetStrings(p.name)
			c.GetBool(p.name, false)
			c.GetInt(p.name, 0)
			c.GetDuration(p.name, time.Millisecond, 0)
			c.GetSize(p.name, 0)
			c.SharedEditsDir("", "")
		}
		_ = c.Validate()
		c.Keys()
		c.Clone().Set("x", "y")
		c.AllNameNodes()
		c.JournalNodeAddresses()
		c.DefaultNameservice()
		for _, ns := range append(c.Nameservices(), "") {
			c.NameNodes(ns)
			c.IsHA(ns)
			c.ForNameNode(ns, "nn1")
			noDNS := func(string) ([]net.IP, error) { return nil, errors.New("no DNS in fuzzing") }
			c.localNameNode(ns, func(ip net.IP) bool { return ip.IsLoopback() }, noDNS)
		}
	})
}
