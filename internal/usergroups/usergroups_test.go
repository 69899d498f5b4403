package usergroups

import (
	"os/user"
	"slices"
	"testing"
)

func TestGroupsOfCurrentUser(t *testing.T) {
	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	primary, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Skip("primary group has no name:", err)
	}
	var g OS
	got := g.Groups(u.Username)
	if !slices.Contains(got, primary.Name) {
		t.Fatalf("groups of %s = %v, want them to include the primary group %s", u.Username, got, primary.Name)
	}
	if again := g.Groups(u.Username); !slices.Equal(again, got) {
		t.Fatalf("cached answer %v differs from %v", again, got)
	}
	if none := g.Groups("no-such-user-hdfsha"); len(none) != 0 {
		t.Fatalf("unknown user has groups %v", none)
	}
}
