package conf

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"testing"
)

func TestSubstitution(t *testing.T) {
	t.Setenv("HDFSHA_TEST_VAR", "from-env")
	t.Setenv("HDFSHA_TEST_EMPTY", "")
	os.Unsetenv("HDFSHA_TEST_UNSET")
	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}

	c := New()
	for k, v := range map[string]string{
		"base":        "/data",
		"dir":         "${base}/nn",
		"deep":        "${dir}/current",
		"two":         "${base}:${dir}",
		"unbound":     "${no.such.key}/x/${base}",
		"env":         "${env.HDFSHA_TEST_VAR}",
		"env.unset":   "${env.HDFSHA_TEST_UNSET}",
		"env.dflt1":   "${env.HDFSHA_TEST_UNSET:-fallback}",
		"env.dflt2":   "${env.HDFSHA_TEST_EMPTY:-fallback}",
		"env.dflt3":   "${env.HDFSHA_TEST_EMPTY-fallback}",
		"env.dflt4":   "${env.HDFSHA_TEST_UNSET-fallback}",
		"env.dflt5":   "${env.HDFSHA_TEST_VAR:-fallback}",
		"user":        "/home/${user.name}",
		"user.name":   "shadowed", // process properties beat keys, as in Hadoop
		"not.a.var":   "$base ${} ${a b} $${base}",
		"self":        "${self}/x",
		"loop.a":      "${loop.b}",
		"loop.b":      "${loop.a}",
		"uses.loop":   "x${loop.a}",
		"dollar.name": "${base$}",
	} {
		c.Set(k, v)
	}

	for _, tc := range []struct{ key, want string }{
		{"dir", "/data/nn"},
		{"deep", "/data/nn/current"},
		{"two", "/data:/data/nn"},
		{"unbound", "${no.such.key}/x//data"},
		{"env", "from-env"},
		{"env.unset", "${env.HDFSHA_TEST_UNSET}"},
		{"env.dflt1", "fallback"},
		{"env.dflt2", "fallback"},
		{"env.dflt3", ""},
		{"env.dflt4", "fallback"},
		{"env.dflt5", "from-env"},
		{"user", "/home/" + u.Username},
		{"not.a.var", "$base ${} ${a b} $/data"},
		{"dollar.name", "${base$}"},
		// Get returns failing values unexpanded.
		{"self", "${self}/x"},
		{"loop.a", "${loop.b}"},
		{"uses.loop", "x${loop.a}"},
	} {
		if got := mustGet(t, c, tc.key); got != tc.want {
			t.Errorf("Get(%s) = %q, want %q", tc.key, got, tc.want)
		}
	}

	for _, tc := range []struct {
		key  string
		want error
	}{
		{"self", ErrSubstitutionLoop},
		{"loop.a", ErrSubstitutionDepth},
		{"uses.loop", ErrSubstitutionDepth},
	} {
		_, _, err := c.Lookup(tc.key)
		var ve *ValueError
		if !errors.Is(err, tc.want) || !errors.As(err, &ve) || ve.Key != tc.key || ve.Source != SourceOverride {
			t.Errorf("Lookup(%s) error = %v, want %v naming the key and -D", tc.key, err, tc.want)
		}
		if _, err := c.GetInt(tc.key, 0); !errors.Is(err, tc.want) {
			t.Errorf("GetInt(%s) error = %v, want %v", tc.key, err, tc.want)
		}
	}
	err = c.Validate()
	for _, k := range []string{"self", "loop.a", "loop.b", "uses.loop"} {
		if err == nil || !strings.Contains(err.Error(), k+"=") {
			t.Errorf("Validate() = %v, should report %s", err, k)
		}
	}
}

func TestSubstitutionDepthLimit(t *testing.T) {
	// chain.0 -> chain.1 -> ... -> chain.n = "end"
	build := func(n int) *Conf {
		c := New()
		for i := 0; i < n; i++ {
			c.Set(fmt.Sprintf("chain.%d", i), fmt.Sprintf("${chain.%d}", i+1))
		}
		c.Set(fmt.Sprintf("chain.%d", n), "end")
		return c
	}
	if v, _, err := build(maxSubst).Lookup("chain.0"); err != nil || v != "end" {
		t.Errorf("%d substitutions: %q, %v; want end", maxSubst, v, err)
	}
	if _, _, err := build(maxSubst + 1).Lookup("chain.0"); !errors.Is(err, ErrSubstitutionDepth) {
		t.Errorf("%d substitutions: %v, want ErrSubstitutionDepth", maxSubst+1, err)
	}
}

func TestFindVar(t *testing.T) {
	for _, tc := range []struct {
		s          string
		from       int
		start, end int
	}{
		{"${a}", 0, 0, 4},
		{"x${ab}y", 0, 1, 6},
		{"${}", 0, -1, -1},
		{"${a b}${c}", 0, 6, 10},
		{"${a${b}", 0, 3, 7},
		{"${a", 0, -1, -1},
		{"$", 0, -1, -1},
		{"${a}${b}", 4, 4, 8},
		{"${a{b}", 0, 0, 6},
	} {
		s, e := findVar(tc.s, tc.from)
		if s != tc.start || e != tc.end {
			t.Errorf("findVar(%q, %d) = %d, %d; want %d, %d", tc.s, tc.from, s, e, tc.start, tc.end)
		}
	}
}
