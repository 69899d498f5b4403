package zkfcrpc

import (
	"strings"
)

// KeyAdmins is dfs.cluster.administrators: the ACL of users and groups
// allowed to call a ZKFC (besides the ZKFC's own user). Its default " "
// allows nobody.
const KeyAdmins = "dfs.cluster.administrators"

// ACL is Hadoop's AccessControlList: "user1,user2 group1,group2" (users, one
// space, groups; either list may be empty, so " admins" names only a group),
// or "*" for everybody. A user entry "~name" admits any call a proxy user
// named name makes on someone's behalf. The zero ACL allows nobody.
type ACL struct {
	all    bool
	users  map[string]bool
	groups []string
}

// ParseACL reads Hadoop's AccessControlList syntax. It never fails: names
// are trimmed and empty ones dropped, as Hadoop does.
func ParseACL(s string) ACL {
	users, groups, hasGroups := strings.Cut(s, " ")
	if strings.TrimSpace(users) == "*" || (hasGroups && strings.TrimSpace(groups) == "*") {
		return ACL{all: true}
	}
	a := ACL{users: map[string]bool{}}
	for _, u := range splitTrimmed(users) {
		a.users[u] = true
	}
	if hasGroups {
		a.groups = splitTrimmed(groups)
	}
	return a
}

func splitTrimmed(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// AllowsAll reports whether the ACL is "*".
func (a ACL) AllowsAll() bool { return a.all }

// Allowed is Hadoop's AccessControlList.isUserAllowed for user, acting
// through realUser ("" when not impersonating), whose groups groups returns
// (consulted only when the ACL lists groups; nil means none).
func (a ACL) Allowed(user, realUser string, groups func(string) []string) bool {
	if a.all || a.users[user] {
		return true
	}
	if len(a.groups) > 0 && groups != nil {
		for _, g := range groups(user) {
			for _, want := range a.groups {
				if g == want {
					return true
				}
			}
		}
	}
	return realUser != "" && a.users["~"+realUser]
}
