package wirecompat_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// rawField is a field as written, before its type name is resolved.
type rawField struct {
	field
	rawType string
	scope   string // full name of the declaring message
}

// protoParser reads proto2 files into message → field and enum → value
// tables. It understands what Hadoop's .proto files use (packages, nested
// messages and enums, options, services) and fails loudly on anything else.
type protoParser struct {
	msgs     map[string]map[string]rawField
	enums    map[string]map[string]int
	services map[string]map[string]rawMethod
}

// rawMethod is an RPC as written, before its type names are resolved.
type rawMethod struct {
	in, out string
	scope   string // the service's package
}

func newProtoParser() *protoParser {
	return &protoParser{
		msgs:     map[string]map[string]rawField{},
		enums:    map[string]map[string]int{},
		services: map[string]map[string]rawMethod{},
	}
}

type scope struct {
	kind string // "message", "enum", "oneof", "service" or "other"
	// name is the full name of a message, enum or service; the enclosing
	// message's for a oneof.
	name string
	pkg  string
}

// parse adds the declarations of one .proto file.
func (p *protoParser) parse(file, text string) error {
	text = stripComments(text)
	pkg := ""
	var stack []scope
	var stmt strings.Builder
	inString := false
	line := 1
	errf := func(format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", file, line, fmt.Sprintf(format, args...))
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\n' {
			line++
		}
		if inString {
			stmt.WriteByte(c)
			if c == '\\' && i+1 < len(text) {
				i++
				stmt.WriteByte(text[i])
			} else if c == '"' {
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
			stmt.WriteByte(c)
		case '{':
			header := strings.Fields(stmt.String())
			stmt.Reset()
			parent := pkg
			if len(stack) > 0 {
				parent = stack[len(stack)-1].name
			}
			s := scope{kind: "other", name: parent, pkg: pkg}
			if len(header) == 2 {
				switch header[0] {
				case "message", "enum", "service":
					s.kind, s.name = header[0], parent+"."+header[1]
				case "oneof":
					s.kind = "oneof"
				}
			}
			switch s.kind {
			case "message":
				p.msgs[s.name] = map[string]rawField{}
			case "enum":
				p.enums[s.name] = map[string]int{}
			case "service":
				p.services[s.name] = map[string]rawMethod{}
			}
			if len(header) > 0 && header[0] == "rpc" && len(stack) > 0 && stack[len(stack)-1].kind == "service" {
				// An rpc with an options body.
				if err := p.statement(stack[len(stack)-1], &pkg, strings.Join(header, " ")); err != nil {
					return errf("%v", err)
				}
			}
			stack = append(stack, s)
		case '}':
			if strings.TrimSpace(stmt.String()) != "" {
				return errf("statement %q not ended by ';'", strings.TrimSpace(stmt.String()))
			}
			stmt.Reset()
			if len(stack) == 0 {
				return errf("unbalanced '}'")
			}
			stack = stack[:len(stack)-1]
		case ';':
			s := strings.TrimSpace(stmt.String())
			stmt.Reset()
			if s == "" {
				continue
			}
			cur := scope{kind: "file"}
			if len(stack) > 0 {
				cur = stack[len(stack)-1]
			}
			if err := p.statement(cur, &pkg, s); err != nil {
				return errf("%v", err)
			}
		default:
			stmt.WriteByte(c)
		}
	}
	if len(stack) != 0 {
		return errf("unclosed '{'")
	}
	return nil
}

var (
	rpcRe     = regexp.MustCompile(`^rpc\s+(\w+)\s*\(\s*([\w.]+)\s*\)\s*returns\s*\(\s*([\w.]+)\s*\)$`)
	optionsRe = regexp.MustCompile(`\[(.*)\]\s*$`)
	defaultRe = regexp.MustCompile(`(?:^|,)\s*default\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]+)`)
)

func (p *protoParser) statement(cur scope, pkg *string, s string) error {
	first := strings.Fields(s)[0]
	switch cur.kind {
	case "file":
		if first == "package" {
			*pkg = strings.TrimSpace(strings.TrimPrefix(s, "package"))
		}
		return nil // syntax, option, import
	case "service":
		if first != "rpc" {
			return nil
		}
		m := rpcRe.FindStringSubmatch(s)
		if m == nil {
			return fmt.Errorf("rpc %q: want rpc <name>(<request>) returns (<response>)", s)
		}
		p.services[cur.name][m[1]] = rawMethod{in: m[2], out: m[3], scope: cur.pkg}
		return nil
	case "other":
		return nil // rpc options
	case "enum":
		if first == "option" || first == "reserved" {
			return nil
		}
		body := optionsRe.ReplaceAllString(s, "")
		name, num, ok := strings.Cut(body, "=")
		if !ok {
			return fmt.Errorf("enum value %q: no '='", s)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(num), 0, 32)
		if err != nil {
			return fmt.Errorf("enum value %q: %v", s, err)
		}
		p.enums[cur.name][strings.TrimSpace(name)] = int(n)
		return nil
	}
	// message or oneof body
	if first == "option" || first == "reserved" || first == "extensions" {
		return nil
	}
	def := ""
	body := s
	if m := optionsRe.FindStringSubmatch(s); m != nil {
		body = s[:len(s)-len(m[0])]
		if d := defaultRe.FindStringSubmatch(m[1]); d != nil {
			def = canonicalDefault(d[1])
		}
	}
	decl, num, ok := strings.Cut(body, "=")
	if !ok {
		return fmt.Errorf("field %q: no '='", s)
	}
	f := strings.Fields(decl)
	if cur.kind == "oneof" {
		f = append([]string{"optional"}, f...)
	}
	if len(f) != 3 || (f[0] != "optional" && f[0] != "required" && f[0] != "repeated") {
		return fmt.Errorf("field %q: want <label> <type> <name> = <number>", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil {
		return fmt.Errorf("field %q: %v", s, err)
	}
	p.msgs[cur.name][f[2]] = rawField{
		field:   field{number: n, label: f[0], def: def},
		rawType: f[1],
		scope:   cur.name,
	}
	return nil
}

// schema resolves every field's type name the way protoc does: relative names
// are looked up from the innermost enclosing scope outwards.
func (p *protoParser) schema() (*schema, error) {
	s := newSchema()
	for enum, values := range p.enums {
		s.enums[enum] = values
	}
	for msg, fields := range p.msgs {
		s.messages[msg] = map[string]field{}
		for name, rf := range fields {
			f := rf.field
			if scalarTypes[rf.rawType] {
				f.typ = rf.rawType
			} else if full, ok := p.resolve(rf.scope, rf.rawType); ok {
				f.typ = full
			} else {
				return nil, fmt.Errorf("%s.%s: unknown type %s", msg, name, rf.rawType)
			}
			s.messages[msg][name] = f
		}
	}
	for svc, methods := range p.services {
		s.services[svc] = map[string]method{}
		for name, rm := range methods {
			in, okIn := p.resolve(rm.scope, rm.in)
			out, okOut := p.resolve(rm.scope, rm.out)
			if !okIn || !okOut {
				return nil, fmt.Errorf("%s.%s: unknown type in (%s) returns (%s)", svc, name, rm.in, rm.out)
			}
			s.services[svc][name] = method{in: in, out: out}
		}
	}
	return s, nil
}

func (p *protoParser) resolve(scope, name string) (string, bool) {
	if strings.HasPrefix(name, ".") {
		name = name[1:]
		_, m := p.msgs[name]
		_, e := p.enums[name]
		return name, m || e
	}
	for {
		candidate := name
		if scope != "" {
			candidate = scope + "." + name
		}
		if _, ok := p.msgs[candidate]; ok {
			return candidate, true
		}
		if _, ok := p.enums[candidate]; ok {
			return candidate, true
		}
		if scope == "" {
			return "", false
		}
		if i := strings.LastIndexByte(scope, '.'); i >= 0 {
			scope = scope[:i]
		} else {
			scope = ""
		}
	}
}

// stripComments removes // and /* */ comments outside string literals,
// keeping newlines so line numbers stay right.
func stripComments(text string) string {
	var b strings.Builder
	inString := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case inString:
			b.WriteByte(c)
			if c == '\\' && i+1 < len(text) {
				i++
				b.WriteByte(text[i])
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
			b.WriteByte(c)
		case strings.HasPrefix(text[i:], "//"):
			for i < len(text) && text[i] != '\n' {
				i++
			}
			if i < len(text) {
				b.WriteByte('\n')
			}
		case strings.HasPrefix(text[i:], "/*"):
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				end = len(text) - i - 2
			}
			b.WriteString(strings.Repeat("\n", strings.Count(text[i:i+2+end], "\n")))
			i += 2 + end + 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
