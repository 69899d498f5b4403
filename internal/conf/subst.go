package conf

import (
	"fmt"
	"os"
	"os/user"
	"strings"
)

// maxSubst is Hadoop's MAX_SUBST: the most ${...} replacements made while
// expanding one value.
const maxSubst = 20

// expandLocked expands ${name} references in expr.
//
// The leftmost reference is replaced first and the result is scanned again,
// so a value may produce further references. A name resolves, in order, to:
// a process property (user.name and friends, which Hadoop takes from Java
// system properties and which therefore beat configuration keys), an
// environment variable for env.NAME, or another configuration key. An
// unresolvable reference stays as written and expansion goes on after it.
func (c *Conf) expandLocked(expr string) (string, error) {
	eval := expr
	from := 0
	for n := 0; ; {
		start, end := findVar(eval, from)
		if start < 0 {
			return eval, nil
		}
		name := eval[start+2 : end-1]
		val, ok := c.resolveVarLocked(name)
		if !ok {
			from = end
			continue
		}
		ref := eval[start:end]
		if strings.Contains(val, ref) {
			return "", fmt.Errorf("%w: %s expands to %q", ErrSubstitutionLoop, ref, val)
		}
		if n == maxSubst {
			return "", fmt.Errorf("%w: more than %d substitutions in %q (a loop between keys?)",
				ErrSubstitutionDepth, maxSubst, expr)
		}
		eval = eval[:start] + val + eval[end:]
		n++
	}
}

// findVar returns the bounds [start, end) of the leftmost "${name}" in s at or
// after from, or -1, -1. A name is one or more characters other than '}', '$'
// and space, as in Hadoop's pattern \$\{[^\}\$ ]+\}.
func findVar(s string, from int) (int, int) {
	for i := from; i < len(s); i++ {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			return -1, -1
		}
		i += j
		k := i + 2
		for k < len(s) && s[k] != '}' && s[k] != '$' && s[k] != ' ' {
			k++
		}
		if k < len(s) && s[k] == '}' && k > i+2 {
			return i, k + 1
		}
		// Not a reference at i; look again from the next byte.
	}
	return -1, -1
}

// resolveVarLocked finds the replacement for ${name}.
func (c *Conf) resolveVarLocked(name string) (string, bool) {
	if strings.HasPrefix(name, "env.") && len(name) > len("env.") {
		if v, ok := lookupEnvRef(name[len("env."):]); ok {
			return v, true
		}
	} else if v, ok := processProperty(name); ok {
		return v, true
	}
	e, ok := c.rawLocked(name)
	return e.value, ok
}

// lookupEnvRef resolves the part after "env.": NAME, NAME:-default (default
// when unset or empty) or NAME-default (default when unset), as Hadoop does.
func lookupEnvRef(spec string) (string, bool) {
	for i := 0; i < len(spec); i++ {
		switch {
		case spec[i] == ':' && i+1 < len(spec) && spec[i+1] == '-':
			if v, ok := os.LookupEnv(spec[:i]); ok && v != "" {
				return v, true
			}
			return spec[i+2:], true
		case spec[i] == '-':
			if v, ok := os.LookupEnv(spec[:i]); ok {
				return v, true
			}
			return spec[i+1:], true
		}
	}
	return os.LookupEnv(spec)
}

// processProperty stands in for the Java system properties Hadoop
// configurations refer to. Only these names are recognised.
func processProperty(name string) (string, bool) {
	switch name {
	case "user.name":
		if u, err := user.Current(); err == nil && u.Username != "" {
			return u.Username, true
		}
		if v := os.Getenv("USER"); v != "" {
			return v, true
		}
	case "user.home":
		if h, err := os.UserHomeDir(); err == nil {
			return h, true
		}
	case "user.dir":
		if d, err := os.Getwd(); err == nil {
			return d, true
		}
	case "java.io.tmpdir":
		return os.TempDir(), true
	case "file.separator":
		return "/", true
	case "path.separator":
		return ":", true
	}
	return "", false
}
