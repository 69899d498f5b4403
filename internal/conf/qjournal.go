package conf

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// QJournal is a parsed qjournal://host1:port1;host2:port2;.../journalId URI,
// the form dfs.namenode.shared.edits.dir takes with the quorum journal.
type QJournal struct {
	// Hosts are the JournalNodes as host:port, in URI order; a host written
	// without a port gets 8485.
	Hosts     []string
	JournalID string
}

// String returns the URI in canonical form.
func (q QJournal) String() string {
	return "qjournal://" + strings.Join(q.Hosts, ";") + "/" + q.JournalID
}

// ParseQJournalURI parses a qjournal URI. Errors wrap ErrBadQJournalURI and
// say what is wrong: another scheme, no hosts, an empty host entry, a bad or
// out-of-range port, a repeated host, user info, a query or fragment, or a
// missing or invalid journal ID (empty, containing '/', or starting with
// '.', as Hadoop's checkJournalId rejects).
func ParseQJournalURI(uri string) (QJournal, error) {
	bad := func(format string, args ...any) (QJournal, error) {
		return QJournal{}, fmt.Errorf("%w %q: %s", ErrBadQJournalURI, uri, fmt.Sprintf(format, args...))
	}
	s := strings.TrimSpace(uri)
	scheme, rest, found := strings.Cut(s, "://")
	if !found {
		return bad("want qjournal://host:port;host:port/journalId")
	}
	if !strings.EqualFold(scheme, "qjournal") {
		return bad("scheme is %q, want qjournal", scheme)
	}
	if strings.ContainsAny(rest, "?#") {
		return bad("query or fragment not allowed")
	}
	authority, jid, found := strings.Cut(rest, "/")
	if authority == "" {
		return bad("no JournalNode hosts")
	}
	if !found || jid == "" {
		return bad("missing journal ID after the hosts (…/journalId)")
	}
	if strings.Contains(jid, "/") {
		return bad("journal ID %q contains '/'", jid)
	}
	if strings.HasPrefix(jid, ".") {
		return bad("journal ID %q starts with '.'", jid)
	}
	if strings.ContainsAny(jid, " \t\r\n") {
		return bad("journal ID %q contains white space", jid)
	}
	if strings.Contains(authority, "@") {
		return bad("user info not allowed")
	}
	q := QJournal{JournalID: jid}
	for i, part := range strings.Split(authority, ";") {
		if part == "" {
			return bad("empty host entry %d (stray ';'?)", i+1)
		}
		hp, err := journalHostPort(part)
		if err != nil {
			return bad("host entry %q: %v", part, err)
		}
		for _, h := range q.Hosts {
			if h == hp {
				return bad("JournalNode %s listed twice", hp)
			}
		}
		q.Hosts = append(q.Hosts, hp)
	}
	return q, nil
}

func journalHostPort(part string) (string, error) {
	if strings.ContainsAny(part, " \t\r\n,") {
		return "", fmt.Errorf("contains white space or ','")
	}
	host, port, err := net.SplitHostPort(part)
	if err != nil {
		// No port: host name, IPv4, or bracketed IPv6.
		if strings.HasPrefix(part, "[") && strings.HasSuffix(part, "]") {
			host = part[1 : len(part)-1]
			if net.ParseIP(host) == nil {
				return "", fmt.Errorf("bad IPv6 address")
			}
		} else if strings.ContainsAny(part, ":[]") {
			return "", fmt.Errorf("want host or host:port")
		} else {
			host = part
		}
		port = strconv.Itoa(DefaultJournalRPCPort)
	}
	if host == "" {
		return "", fmt.Errorf("empty host")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port[0] == '+' {
		return "", fmt.Errorf("bad port %q (want 1-65535)", port)
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}
