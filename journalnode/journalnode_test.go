package journalnode

import (
	"testing"

	"github.com/hdfsha/hdfsha/internal/testcluster"
)

func TestFormatAndIsFormatted(t *testing.T) {
	testcluster.CheckLeaks(t)
	jn := startJN(t, testConfig(t, t.TempDir()))
	q := newQJ(t, newClient(t), jn)
	f, err := q.isFormatted()
	must(t, err)
	if f {
		t.Fatal("fresh journal reports formatted")
	}
	must(t, q.format())
	if f, err = q.isFormatted(); err != nil || !f {
		t.Fatalf("isFormatted = %v, %v after format", f, err)
	}
	wantRemote(t, q.format(), "java.io.IOException", "is already formatted")
}
