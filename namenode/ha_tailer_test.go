package namenode

import (
	"testing"
	"time"
)

func TestTailerNextSleep(t *testing.T) {
	const p, max = 5 * time.Millisecond, 40 * time.Millisecond
	var got []time.Duration
	sleep := time.Duration(0)
	for _, applied := range []int{3, 0, 0, 0, 0, 0, 7, 0} {
		sleep = nextSleep(sleep, p, max, applied)
		got = append(got, sleep)
	}
	want := []time.Duration{0, p, 2 * p, 4 * p, max, max, 0, p}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sleeps %v, want %v", got, want)
		}
	}
	// No backoff when backoff-max does not exceed the period (Hadoop: 0).
	if s := nextSleep(p, p, 0, 0); s != p {
		t.Fatalf("without backoff: %v", s)
	}
}
