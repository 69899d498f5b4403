package conf

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// property is one <property> of a configuration file, in file order.
type property struct {
	name     string
	value    string
	hasValue bool // false when the property has no <value> at all
	final    bool
	line     int
}

// parsedFile is what one configuration file contributes.
type parsedFile struct {
	props    []property
	warnings []string
}

// parseXML reads a Hadoop configuration document. name is only used in
// messages. It never panics on any input; errors wrap ErrParse and carry the
// line number when the decoder knows it.
func parseXML(data []byte, name string) (parsedFile, error) {
	var out parsedFile
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = charsetReader

	fail := func(err error) (parsedFile, error) {
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			return parsedFile{}, fmt.Errorf("%w: %s: line %d: %s", ErrParse, name, se.Line, se.Msg)
		}
		line, _ := d.InputPos()
		return parsedFile{}, fmt.Errorf("%w: %s: line %d: %v", ErrParse, name, line, err)
	}

	// Find the root element.
	var root xml.StartElement
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return parsedFile{}, fmt.Errorf("%w: %s: no <configuration> element", ErrParse, name)
		}
		if err != nil {
			return fail(err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			root = se
			break
		}
		if cd, ok := tok.(xml.CharData); ok && len(bytes.TrimSpace(cd)) > 0 {
			return fail(errors.New("text before the root element"))
		}
	}
	if root.Name.Local != "configuration" {
		line, _ := d.InputPos()
		return parsedFile{}, fmt.Errorf("%w: %s: line %d: top-level element is <%s>, want <configuration>",
			ErrParse, name, line, root.Name.Local)
	}
	if err := parseConfiguration(d, &out); err != nil {
		return fail(err)
	}
	// Only comments, processing instructions and white space may follow.
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return fail(fmt.Errorf("element <%s> after </configuration>", t.Name.Local))
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return fail(errors.New("text after </configuration>"))
			}
		}
	}
	return out, nil
}

// parseConfiguration consumes the children of a <configuration> element up
// to and including its end tag. Nested <configuration> elements are read as
// containers, as Hadoop does.
func parseConfiguration(d *xml.Decoder, out *parsedFile) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return noEOF(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			switch t.Name.Local {
			case "property":
				line, _ := d.InputPos()
				p, err := parseProperty(d, t)
				if err != nil {
					return err
				}
				p.line = line
				if p.name == "" {
					out.warnings = append(out.warnings, fmt.Sprintf("line %d: <property> without a name ignored", line))
					continue
				}
				out.props = append(out.props, p)
			case "configuration":
				if err := parseConfiguration(d, out); err != nil {
					return err
				}
			case "include":
				// Silently dropping an included file would lose settings.
				return errors.New("<include> (XInclude) is not supported; inline the included properties")
			default:
				if err := d.Skip(); err != nil {
					return noEOF(err)
				}
			}
		}
	}
}

// parseProperty reads one <property> whose start tag is start. Hadoop accepts
// name, value and final both as child elements and as attributes.
func parseProperty(d *xml.Decoder, start xml.StartElement) (property, error) {
	var p property
	for _, a := range start.Attr {
		switch a.Name.Local {
		case "name":
			p.name = strings.TrimSpace(a.Value)
		case "value":
			p.value, p.hasValue = a.Value, true
		case "final":
			p.final = isTrue(a.Value)
		}
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return property{}, noEOF(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return p, nil
		case xml.StartElement:
			switch t.Name.Local {
			case "name", "value", "final":
				text, err := readText(d)
				if err != nil {
					return property{}, err
				}
				switch t.Name.Local {
				case "name":
					p.name = strings.TrimSpace(text)
				case "value":
					p.value, p.hasValue = text, true
				case "final":
					p.final = isTrue(text)
				}
			case "include":
				return property{}, errors.New("<include> (XInclude) is not supported; inline the included properties")
			default: // <description>, <source>, <tag> and anything unknown
				if err := d.Skip(); err != nil {
					return property{}, noEOF(err)
				}
			}
		}
	}
}

// readText returns the character data directly inside the element whose start
// tag was just read, consuming its end tag. Text of nested elements is ignored.
func readText(d *xml.Decoder) (string, error) {
	var b strings.Builder
	depth := 1
	for {
		tok, err := d.Token()
		if err != nil {
			return "", noEOF(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if depth == 1 {
				b.Write(t)
			}
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
			if depth == 0 {
				return b.String(), nil
			}
		}
	}
}

func isTrue(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "true") }

// noEOF turns a bare io.EOF inside an element into a clear message.
func noEOF(err error) error {
	if err == io.EOF {
		return errors.New("unexpected end of file inside an element")
	}
	return err
}

// charsetReader lets files declare the encodings Hadoop installations use in
// practice besides UTF-8 (which encoding/xml handles itself).
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return in, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
		return &latin1Reader{r: bufio.NewReader(in)}, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q (use UTF-8)", label)
}

// latin1Reader converts ISO-8859-1 bytes to UTF-8.
type latin1Reader struct {
	r       *bufio.Reader
	pending []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(l.pending) > 0 {
			c := copy(p[n:], l.pending)
			l.pending = l.pending[c:]
			n += c
			continue
		}
		b, err := l.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b < utf8.RuneSelf {
			p[n] = b
			n++
			continue
		}
		var buf [2]byte
		utf8.EncodeRune(buf[:], rune(b))
		l.pending = append(l.pending[:0], buf[:]...)
	}
	return n, nil
}
