package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"
)

// RegisterBean publishes a JMX-like bean on /jmx under name, an ObjectName such as
// "Hadoop:service=NameNode,name=NameNodeStatus". fn returns the bean's attributes.
func (s *Server) RegisterBean(name string, fn func() map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.beans[name] = fn
}

// objectName is a parsed JMX ObjectName ("domain:key=value,key=value") or pattern.
type objectName struct {
	domain string
	props  map[string]string
	// anyProps is a property-list pattern: "*" or a trailing ",*" lets a matching name have
	// more properties than listed.
	anyProps bool
}

// parseObjectName parses name the way javax.management.ObjectName does, minus quoting.
func parseObjectName(name string) (objectName, error) {
	domain, rest, ok := strings.Cut(name, ":")
	if !ok {
		return objectName{}, fmt.Errorf("Key properties cannot be empty")
	}
	on := objectName{domain: domain, props: map[string]string{}}
	if rest == "" {
		return objectName{}, fmt.Errorf("Key properties cannot be empty")
	}
	for _, kv := range strings.Split(rest, ",") {
		if kv == "*" {
			on.anyProps = true
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return objectName{}, fmt.Errorf("Invalid key property: %s", kv)
		}
		if _, dup := on.props[k]; dup {
			return objectName{}, fmt.Errorf("key `%s' already defined", k)
		}
		on.props[k] = v
	}
	return on, nil
}

// matches reports whether the concrete name n matches the pattern p.
func (p objectName) matches(n objectName) bool {
	if ok, _ := path.Match(p.domain, n.domain); !ok && p.domain != n.domain {
		return false
	}
	if !p.anyProps && len(p.props) != len(n.props) {
		return false
	}
	for k, pv := range p.props {
		nv, ok := n.props[k]
		if !ok {
			return false
		}
		if pv != nv {
			if ok, _ := path.Match(pv, nv); !ok {
				return false
			}
		}
	}
	return true
}

type bean struct {
	name  string
	attrs map[string]any
}

// selectBeans returns the beans matching pattern, sorted by name, with their attributes read.
func (s *Server) selectBeans(pattern objectName) []bean {
	s.mu.Lock()
	type entry struct {
		name string
		fn   func() map[string]any
	}
	var sel []entry
	for name, fn := range s.mu.beans {
		on, err := parseObjectName(name)
		if err != nil || !pattern.matches(on) {
			continue
		}
		sel = append(sel, entry{name, fn})
	}
	s.mu.Unlock()
	sort.Slice(sel, func(i, j int) bool { return sel[i].name < sel[j].name })
	out := make([]bean, 0, len(sel))
	for _, e := range sel {
		// fn runs outside the lock: it may take the namesystem's locks.
		out = append(out, bean{name: e.name, attrs: e.fn()})
	}
	return out
}

// serveJMX answers like Hadoop's JMXJsonServlet.
func (s *Server) serveJMX(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	if get := q.Get("get"); q.Has("get") {
		beanName, attr, ok := strings.Cut(get, "::")
		if !ok || strings.Contains(attr, "::") {
			writeJMXError(w, http.StatusBadRequest, "query format is not as expected.")
			return
		}
		pattern, err := parseObjectName(beanName)
		if err != nil {
			writeJMXError(w, http.StatusBadRequest, err.Error())
			return
		}
		var beans []bean
		for _, b := range s.selectBeans(pattern) {
			if v, ok := b.attrs[attr]; ok {
				beans = append(beans, bean{name: b.name, attrs: map[string]any{
					"modelerType": b.attrs["modelerType"], attr: v,
				}})
			}
		}
		if len(beans) == 0 {
			writeJMXError(w, http.StatusNotFound, "No attribute with name "+attr+" was found.")
			return
		}
		writeBeans(w, beans)
		return
	}
	qry := "*:*"
	if q.Has("qry") {
		qry = q.Get("qry")
	}
	pattern, err := parseObjectName(qry)
	if err != nil {
		writeJMXError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeBeans(w, s.selectBeans(pattern))
}

// writeBeans writes {"beans":[...]} with "name" and "modelerType" first in each bean and the
// other attributes sorted, pretty-printed as Hadoop does.
func writeBeans(w http.ResponseWriter, beans []bean) {
	var buf bytes.Buffer
	buf.WriteString(`{"beans":[`)
	for i, b := range beans {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeBean(&buf, b)
	}
	buf.WriteString(`]}`)
	writeJSON(w, http.StatusOK, buf.Bytes())
}

func writeBean(buf *bytes.Buffer, b bean) {
	modeler, _ := b.attrs["modelerType"].(string)
	if modeler == "" {
		if on, err := parseObjectName(b.name); err == nil {
			modeler = on.props["name"]
		}
	}
	buf.WriteByte('{')
	writeField(buf, "name", b.name)
	buf.WriteByte(',')
	writeField(buf, "modelerType", modeler)
	keys := make([]string, 0, len(b.attrs))
	for k := range b.attrs {
		if k != "name" && k != "modelerType" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		buf.WriteByte(',')
		writeField(buf, k, b.attrs[k])
	}
	buf.WriteByte('}')
}

func writeField(buf *bytes.Buffer, k string, v any) {
	kb, _ := json.Marshal(k)
	buf.Write(kb)
	buf.WriteByte(':')
	vb, err := json.Marshal(v)
	if err != nil {
		// An attribute JSON cannot hold (a channel, NaN): Hadoop writes null for attributes it
		// cannot read.
		vb = []byte("null")
	}
	buf.Write(vb)
}

func writeJMXError(w http.ResponseWriter, status int, msg string) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	writeField(&buf, "result", "ERROR")
	buf.WriteByte(',')
	writeField(&buf, "message", msg)
	buf.WriteByte('}')
	writeJSON(w, status, buf.Bytes())
}

func writeJSON(w http.ResponseWriter, status int, compact []byte) {
	var out bytes.Buffer
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		out.Reset()
		out.Write(compact)
	}
	out.WriteByte('\n')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Access-Control-Allow-Methods", "GET")
	h.Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(status)
	_, _ = w.Write(out.Bytes())
}
