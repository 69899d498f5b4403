package fsck

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// javaFloat formats f as Java's Float.toString does (the text Hadoop's
// StringBuilder.append(float) produces): the shortest decimal that reads
// back as f, in plain notation with at least one fraction digit for
// 1e-3 <= |f| < 1e7 ("100.0", "5.263158"), in computerized scientific
// notation otherwise ("1.0E7", "1.0E-4").
func javaFloat(f float32) string {
	switch {
	case math.IsNaN(float64(f)):
		return "NaN"
	case math.IsInf(float64(f), 1):
		return "Infinity"
	case math.IsInf(float64(f), -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(float64(f)) {
			return "-0.0"
		}
		return "0.0"
	}
	a := math.Abs(float64(f))
	if a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(float64(f), 'f', -1, 32)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	// 'e' gives "d.ddde+XX"; Java writes "d.dddEXX" with at least one
	// fraction digit and no '+' or leading zeros in the exponent.
	s := strconv.FormatFloat(float64(f), 'e', -1, 32)
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// percent is Hadoop's ((float) (n * 100) / (float) total) as text.
func percent(n, total int64) string {
	return javaFloat(float32(n*100) / float32(total))
}

// javaDate formats t as java.util.Date.toString: "Fri Jun 24 14:44:40 UTC 2022".
func javaDate(t time.Time) string {
	return t.Format("Mon Jan 02 15:04:05 MST 2006")
}
