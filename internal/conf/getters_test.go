package conf

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestGetBool(t *testing.T) {
	for _, tc := range []struct {
		value   string
		set     bool
		def     bool
		want    bool
		wantErr bool
	}{
		{"true", true, false, true, false},
		{"FALSE", true, true, false, false},
		{" True\n", true, false, true, false},
		{"", true, true, true, false},
		{"", false, true, true, false},
		{"yes", true, true, true, true},
		{"1", true, false, false, true},
	} {
		c := New()
		if tc.set {
			c.Set("b", tc.value)
		}
		got, err := c.GetBool("b", tc.def)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("GetBool(%q, def %v) = %v, %v", tc.value, tc.def, got, err)
		}
	}
}

func TestGetInt(t *testing.T) {
	for _, tc := range []struct {
		value   string
		want    int64
		wantErr bool
	}{
		{"42", 42, false},
		{" -7 ", -7, false},
		{"+5", 5, false},
		{"0x10", 16, false},
		{"0XfF", 255, false},
		{"-0x10", -16, false},
		{"9223372036854775807", math.MaxInt64, false},
		{"-0x8000000000000000", math.MinInt64, false},
		{"0x8000000000000000", -1, true},
		{"9223372036854775808", -1, true},
		{"12k", -1, true},
		{"1.5", -1, true},
		{"0x", -1, true},
		{"-", -1, true},
		{"", -1, false}, // blank: default
	} {
		c := New()
		c.Set("n", tc.value)
		got, err := c.GetInt("n", -1)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("GetInt(%q) = %d, %v; want %d, err %v", tc.value, got, err, tc.want, tc.wantErr)
		}
	}
	if got, err := New().GetInt("dfs.replication", 0); got != 3 || err != nil {
		t.Errorf("GetInt(dfs.replication) = %d, %v", got, err)
	}
	if got, err := New().GetInt("unset", 99); got != 99 || err != nil {
		t.Errorf("GetInt(unset) = %d, %v", got, err)
	}
}

func TestGetDuration(t *testing.T) {
	for _, tc := range []struct {
		value   string
		unit    time.Duration
		want    time.Duration
		wantErr bool
	}{
		{"10", time.Second, 10 * time.Second, false},
		{"300000", time.Millisecond, 5 * time.Minute, false},
		{"7ns", time.Second, 7 * time.Nanosecond, false},
		{"7us", time.Second, 7 * time.Microsecond, false},
		{"500ms", time.Second, 500 * time.Millisecond, false},
		{"1500ms", time.Second, 1500 * time.Millisecond, false},
		{"10s", time.Millisecond, 10 * time.Second, false},
		{"5m", time.Millisecond, 5 * time.Minute, false},
		{"1h", time.Millisecond, time.Hour, false},
		{"2d", time.Millisecond, 48 * time.Hour, false},
		{"3S", time.Millisecond, 3 * time.Second, false},
		{"4MS", time.Second, 4 * time.Millisecond, false},
		{" 6 h ", time.Second, 6 * time.Hour, false},
		{"-1", time.Second, -time.Second, false},
		{"1.5h", time.Second, 0, true},
		{"10x", time.Second, 0, true},
		{"ms", time.Second, 0, true},
		{"10 minutes", time.Second, 0, true},
		{"9999999999999d", time.Second, 0, true},
	} {
		c := New()
		c.Set("d", tc.value)
		got, err := c.GetDuration("d", tc.unit, 0)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("GetDuration(%q, %v) = %v, %v; want %v", tc.value, tc.unit, got, err, tc.want)
		}
	}
	c := New()
	for key, want := range map[string]time.Duration{
		"dfs.heartbeat.interval":                  3 * time.Second,
		"dfs.namenode.heartbeat.recheck-interval": 5 * time.Minute,
		"dfs.namenode.checkpoint.period":          time.Hour,
		"dfs.qjournal.write-txns.timeout.ms":      20 * time.Second,
	} {
		unit := time.Millisecond
		if key == "dfs.heartbeat.interval" || key == "dfs.namenode.checkpoint.period" {
			unit = time.Second
		}
		if got, err := c.GetDuration(key, unit, 0); got != want || err != nil {
			t.Errorf("GetDuration(%s) = %v, %v; want %v", key, got, err, want)
		}
	}
}

func TestGetSize(t *testing.T) {
	for _, tc := range []struct {
		value   string
		want    int64
		wantErr bool
	}{
		{"134217728", 128 << 20, false},
		{"64k", 64 << 10, false},
		{"128m", 128 << 20, false},
		{"128M", 128 << 20, false},
		{"1g", 1 << 30, false},
		{"2T", 2 << 40, false},
		{"3p", 3 << 50, false},
		{"1e", 1 << 60, false},
		{"-1k", -1024, false},
		{"8e", 0, true},
		{"128mb", 0, true},
		{"1.5g", 0, true},
		{"12 m", 0, true},
		{"k", 0, true},
	} {
		c := New()
		c.Set("s", tc.value)
		got, err := c.GetSize("s", 0)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("GetSize(%q) = %d, %v; want %d", tc.value, got, err, tc.want)
		}
	}
}

// TestGetterErrorsNameKeyValueSource checks the error contract shared by
// every typed getter.
func TestGetterErrorsNameKeyValueSource(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "hdfs-site.xml", xmlDoc(
		"dfs.replication", "three",
		"dfs.heartbeat.interval", "3 sec",
		"dfs.blocksize", "128MB",
		"dfs.permissions.enabled", "yes",
		"indirect", "${dfs.blocksize}"))
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.Set("from.cli", "nope")
	checks := []struct {
		key, value, source string
		call               func() error
	}{
		{"dfs.replication", "three", path, func() error { _, err := c.GetInt("dfs.replication", 3); return err }},
		{"dfs.heartbeat.interval", "3 sec", path, func() error {
			_, err := c.GetDuration("dfs.heartbeat.interval", time.Second, 0)
			return err
		}},
		{"dfs.blocksize", "128MB", path, func() error { _, err := c.GetSize("dfs.blocksize", 0); return err }},
		{"dfs.permissions.enabled", "yes", path, func() error { _, err := c.GetBool("dfs.permissions.enabled", true); return err }},
		{"indirect", "${dfs.blocksize} => 128MB", path, func() error { _, err := c.GetSize("indirect", 0); return err }},
		{"from.cli", "nope", SourceOverride, func() error { _, err := c.GetInt("from.cli", 0); return err }},
	}
	for _, ch := range checks {
		err := ch.call()
		var ve *ValueError
		if !errors.As(err, &ve) || !errors.Is(err, ErrBadValue) {
			t.Errorf("%s: error %v is not a *ValueError wrapping ErrBadValue", ch.key, err)
			continue
		}
		if ve.Key != ch.key || ve.Value != ch.value || ve.Source != ch.source {
			t.Errorf("%s: ValueError{%q, %q, %q}, want {%q, %q, %q}", ch.key, ve.Key, ve.Value, ve.Source, ch.key, ch.value, ch.source)
		}
		msg := err.Error()
		for _, part := range []string{ch.key, ch.source} {
			if !strings.Contains(msg, part) {
				t.Errorf("%s: message %q lacks %q", ch.key, msg, part)
			}
		}
	}
}
