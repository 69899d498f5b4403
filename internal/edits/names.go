package edits

import (
	"fmt"
	"strconv"
	"strings"
)

const (
	inProgressPrefix = "edits_inprogress_"
	finalizedPrefix  = "edits_"
)

// InProgressName is the file name of an open segment starting at first,
// e.g. "edits_inprogress_0000000000000000001".
func InProgressName(first int64) string {
	return fmt.Sprintf("%s%019d", inProgressPrefix, first)
}

// FinalizedName is the file name of a finalized segment, e.g.
// "edits_0000000000000000001-0000000000000000042".
func FinalizedName(first, last int64) string {
	return fmt.Sprintf("%s%019d-%019d", finalizedPrefix, first, last)
}

// SegmentName is a parsed segment file name.
type SegmentName struct {
	First int64
	// Last is the last txid of a finalized segment, 0 for in-progress.
	Last       int64
	InProgress bool
}

// String formats the name back.
func (s SegmentName) String() string {
	if s.InProgress {
		return InProgressName(s.First)
	}
	return FinalizedName(s.First, s.Last)
}

// ParseSegmentName parses a segment file name. Like HDFS it accepts any
// number of digits; names with suffixes (".broken", ".empty", ".tmp", an
// ".epoch=N" download) are not segments and return false.
func ParseSegmentName(name string) (SegmentName, bool) {
	if rest, ok := strings.CutPrefix(name, inProgressPrefix); ok {
		first, ok := parseTxID(rest)
		if !ok {
			return SegmentName{}, false
		}
		return SegmentName{First: first, InProgress: true}, true
	}
	rest, ok := strings.CutPrefix(name, finalizedPrefix)
	if !ok {
		return SegmentName{}, false
	}
	a, b, ok := strings.Cut(rest, "-")
	if !ok {
		return SegmentName{}, false
	}
	first, ok1 := parseTxID(a)
	last, ok2 := parseTxID(b)
	if !ok1 || !ok2 || last < first {
		return SegmentName{}, false
	}
	return SegmentName{First: first, Last: last}, true
}

func parseTxID(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 {
		return 0, false
	}
	return v, true
}
