package conf

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseQJournalURIValid(t *testing.T) {
	for _, tc := range []struct {
		uri   string
		hosts []string
		jid   string
	}{
		{"qjournal://jn1:8485;jn2:8485;jn3:8485/mycluster",
			[]string{"jn1:8485", "jn2:8485", "jn3:8485"}, "mycluster"},
		{"qjournal://127.0.0.1:18485;127.0.0.2:18486;127.0.0.3:18487/ns-1",
			[]string{"127.0.0.1:18485", "127.0.0.2:18486", "127.0.0.3:18487"}, "ns-1"},
		{"qjournal://jn1;jn2:9000/j", []string{"jn1:8485", "jn2:9000"}, "j"},
		{"QJOURNAL://jn1:1/j", []string{"jn1:1"}, "j"},
		{"  qjournal://[::1]:8485;[2001:db8::1]/j  ", []string{"[::1]:8485", "[2001:db8::1]:8485"}, "j"},
		{"qjournal://a:8485;b:8485/journal.with.dots", []string{"a:8485", "b:8485"}, "journal.with.dots"},
	} {
		q, err := ParseQJournalURI(tc.uri)
		if err != nil {
			t.Errorf("ParseQJournalURI(%q): %v", tc.uri, err)
			continue
		}
		if !slices.Equal(q.Hosts, tc.hosts) || q.JournalID != tc.jid {
			t.Errorf("ParseQJournalURI(%q) = %+v", tc.uri, q)
		}
		again, err := ParseQJournalURI(q.String())
		if err != nil || !slices.Equal(again.Hosts, q.Hosts) || again.JournalID != q.JournalID {
			t.Errorf("String() %q does not round-trip: %+v, %v", q.String(), again, err)
		}
	}
}

func TestParseQJournalURIInvalid(t *testing.T) {
	for _, tc := range []struct{ uri, want string }{
		{"", "want qjournal://"},
		{"jn1:8485;jn2:8485/ns", "want qjournal://"},
		{"file:///data/shared", `scheme is "file"`},
		{"hdfs://jn1:8485/ns", `scheme is "hdfs"`},
		{"qjournal:///ns", "no JournalNode hosts"},
		{"qjournal://", "no JournalNode hosts"},
		{"qjournal://jn1:8485;jn2:8485", "missing journal ID"},
		{"qjournal://jn1:8485;jn2:8485/", "missing journal ID"},
		{"qjournal://jn1:8485/a/b", "contains '/'"},
		{"qjournal://jn1:8485/ns/", "contains '/'"},
		{"qjournal://jn1:8485/.hidden", "starts with '.'"},
		{"qjournal://jn1:8485/a b", "white space"},
		{"qjournal://jn1:8485;;jn2:8485/ns", "empty host entry 2"},
		{"qjournal://;jn1:8485/ns", "empty host entry 1"},
		{"qjournal://jn1:8485;/ns", "empty host entry 2"},
		{"qjournal://jn1:port/ns", `bad port "port"`},
		{"qjournal://jn1:0/ns", `bad port "0"`},
		{"qjournal://jn1:65536/ns", `bad port "65536"`},
		{"qjournal://jn1:-1/ns", `bad port "-1"`},
		{"qjournal://jn1:+80/ns", `bad port "+80"`},
		{"qjournal://jn1:/ns", `bad port ""`},
		{"qjournal://:8485/ns", "empty host"},
		{"qjournal://jn1:8485;jn1:8485/ns", "listed twice"},
		{"qjournal://jn1;jn1:8485/ns", "listed twice"},
		{"qjournal://user@jn1:8485/ns", "user info"},
		{"qjournal://jn1:8485/ns?x=1", "query or fragment"},
		{"qjournal://jn1:8485/ns#frag", "query or fragment"},
		{"qjournal://jn1:8485,jn2:8485/ns", "','"},
		{"qjournal://jn 1:8485/ns", "white space"},
		{"qjournal://::1:8485/ns", "want host or host:port"},
		{"qjournal://[zz]/ns", "bad IPv6"},
	} {
		_, err := ParseQJournalURI(tc.uri)
		if !errors.Is(err, ErrBadQJournalURI) {
			t.Errorf("ParseQJournalURI(%q) error = %v, want ErrBadQJournalURI", tc.uri, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseQJournalURI(%q) error %q lacks %q", tc.uri, err, tc.want)
		}
	}
}
