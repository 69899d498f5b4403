package prompt

import (
	"strings"
	"testing"
)

func TestConfirm(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
		out  string
	}{
		{"y\n", true, "Go? (Y or N) "},
		{"YES\n", true, "Go? (Y or N) "},
		{"n\n", false, "Go? (Y or N) "},
		{"maybe\nNo\n", false, "Go? (Y or N) Invalid input: maybe\nGo? (Y or N) "},
		{"", false, "Go? (Y or N) \n"},
		{"what", false, "Go? (Y or N) \n"},
		{"y", true, "Go? (Y or N) "},
	} {
		var w strings.Builder
		if got := Confirm(strings.NewReader(c.in), &w, "Go?"); got != c.want || w.String() != c.out {
			t.Errorf("Confirm(%q) = %v, wrote %q; want %v, %q", c.in, got, w.String(), c.want, c.out)
		}
	}
	// Only the answer's line is consumed.
	r := strings.NewReader("y\nrest")
	Confirm(r, &strings.Builder{}, "Go?")
	if rest := make([]byte, 8); func() string { n, _ := r.Read(rest); return string(rest[:n]) }() != "rest" {
		t.Fatal("Confirm read past the answer")
	}
	if Confirm(nil, &strings.Builder{}, "Go?") {
		t.Fatal("no input answered yes")
	}
}
