package conf

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// typed fetches the trimmed, expanded value of key for a typed getter. It
// reports ok=false when key is unset or blank, so the getter returns its
// default: Hadoop fails on a blank number, but hdfs-default.xml itself
// leaves many numeric keys blank to mean "not set".
func (c *Conf) typed(key string) (val string, ok bool, fail func(error) error, err error) {
	key = strings.TrimSpace(key)
	v, set, err := c.Lookup(key)
	if err != nil {
		return "", false, nil, err
	}
	v = strings.TrimSpace(v)
	if !set || v == "" {
		return "", false, nil, nil
	}
	fail = func(cause error) error {
		raw, _ := c.Raw(key)
		shown := v
		if raw != v {
			shown = raw + " => " + v
		}
		return &ValueError{Key: key, Value: shown, Source: c.Source(key), Err: fmt.Errorf("%w: %w", ErrBadValue, cause)}
	}
	return v, true, fail, nil
}

// GetBool returns key as a boolean: "true" or "false" in any case. Unset or
// blank gives def. Hadoop quietly returns the default for anything else;
// here it is an error, so a typo is not mistaken for the default.
func (c *Conf) GetBool(key string, def bool) (bool, error) {
	v, ok, fail, err := c.typed(key)
	if err != nil || !ok {
		return def, err
	}
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return def, fail(errors.New("want true or false"))
}

// GetInt returns key as a signed 64-bit integer, decimal or hexadecimal with
// a 0x prefix (Hadoop's getLong). Unset or blank gives def.
func (c *Conf) GetInt(key string, def int64) (int64, error) {
	v, ok, fail, err := c.typed(key)
	if err != nil || !ok {
		return def, err
	}
	n, perr := parseInt(v)
	if perr != nil {
		return def, fail(perr)
	}
	return n, nil
}

func parseInt(v string) (int64, error) {
	neg := false
	s := v
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		u, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil || u > math.MaxInt64+1 || (!neg && u > math.MaxInt64) {
			return 0, errors.New("want a 64-bit integer")
		}
		if neg {
			return -int64(u-1) - 1, nil
		}
		return int64(u), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errors.New("want a 64-bit integer")
	}
	return n, nil
}

// timeSuffixes lists Hadoop's time-duration suffixes. Longer suffixes come
// first so "10ms" is not read as "10m" + "s".
var timeSuffixes = [...]struct {
	suffix string
	unit   time.Duration
}{
	{"ns", time.Nanosecond},
	{"us", time.Microsecond},
	{"ms", time.Millisecond},
	{"s", time.Second},
	{"m", time.Minute},
	{"h", time.Hour},
	{"d", 24 * time.Hour},
}

// GetDuration returns key as a duration. The value is an integer with an
// optional case-insensitive suffix ns, us, ms, s, m, h or d (Hadoop's
// getTimeDuration); a plain number is in unit. Unset or blank gives def.
// Unlike Hadoop, which converts to unit and truncates, the exact duration is
// returned: "1500ms" is 1.5s whatever unit is.
func (c *Conf) GetDuration(key string, unit time.Duration, def time.Duration) (time.Duration, error) {
	v, ok, fail, err := c.typed(key)
	if err != nil || !ok {
		return def, err
	}
	d, perr := parseDuration(v, unit)
	if perr != nil {
		return def, fail(perr)
	}
	return d, nil
}

func parseDuration(v string, unit time.Duration) (time.Duration, error) {
	if unit <= 0 {
		return 0, fmt.Errorf("invalid unit %v", unit)
	}
	num := v
	lower := strings.ToLower(v)
	for _, s := range timeSuffixes {
		if strings.HasSuffix(lower, s.suffix) {
			num, unit = strings.TrimSpace(v[:len(v)-len(s.suffix)]), s.unit
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, errors.New("want an integer with an optional unit suffix ns, us, ms, s, m, h or d")
	}
	if n > math.MaxInt64/int64(unit) || n < math.MinInt64/int64(unit) {
		return 0, errors.New("duration out of range")
	}
	return time.Duration(n) * unit, nil
}

// GetSize returns key as a byte count: an integer with an optional
// case-insensitive binary prefix k, m, g, t, p or e (Hadoop's getLongBytes;
// "128m" is 128 MiB). Unset or blank gives def.
func (c *Conf) GetSize(key string, def int64) (int64, error) {
	v, ok, fail, err := c.typed(key)
	if err != nil || !ok {
		return def, err
	}
	n, perr := parseSize(v)
	if perr != nil {
		return def, fail(perr)
	}
	return n, nil
}

func parseSize(v string) (int64, error) {
	last := v[len(v)-1]
	if last >= '0' && last <= '9' {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, errors.New("want a byte count such as 134217728, 64k, 128m or 1g")
		}
		return n, nil
	}
	shift := strings.IndexByte("kmgtpe", lower(last))
	if shift < 0 {
		return 0, fmt.Errorf("invalid size prefix %q; allowed prefixes are k, m, g, t, p, e (case insensitive)", string(last))
	}
	mult := int64(1) << (10 * (shift + 1))
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if err != nil {
		return 0, errors.New("want a byte count such as 134217728, 64k, 128m or 1g")
	}
	if n > math.MaxInt64/mult || n < math.MinInt64/mult {
		return 0, errors.New("size does not fit in 64 bits")
	}
	return n * mult, nil
}

func lower(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}
