package main

// The mode argument of `hdfs dfs -chmod`, read as Hadoop's ChmodParser reads it (pure logic).
//
//   - Octal: three digits, or four whose first is 0 or 1 (the sticky bit); a leading "+" is
//     allowed. Three digits leave the sticky bit as it is.
//   - Symbolic: clauses "[ugoa]*[+-=]+[rwxXt]+" separated by commas (whitespace may
//     surround them). No class letter means all three classes, and no umask applies. X
//     sets x only on directories and on files that already have an x bit. t is the sticky
//     bit, carried by the "others" class. As in Hadoop, a later clause replaces what an
//     earlier one said about the same class ("u+r,u+w" is "u+w"); it does not add to it.

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
)

var (
	chmodOctal    = regexp.MustCompile(`^\s*\+?([01]?)([0-7]{3})\s*$`)
	chmodSymbolic = regexp.MustCompile(`^\s*([ugoa]*)([+=-]+)([rwxXt]+)([,\s]*)\s*`)
)

// chmodSpec is a parsed mode: per segment (sticky, user, group, others) an operation
// ('+', '-', '=') and the bits it names (8 stands for X).
type chmodSpec struct {
	op   [4]byte
	bits [4]uint32
}

const (
	segSticky = iota
	segUser
	segGroup
	segOthers
)

var errChmodMode = errors.New("bad mode")

func parseChmodMode(s string) (*chmodSpec, error) {
	spec := &chmodSpec{op: [4]byte{'+', '+', '+', '+'}}
	if chmodSymbolic.MatchString(s) {
		rest := s
		for first := true; first || rest != ""; first = false {
			m := chmodSymbolic.FindStringSubmatch(rest)
			if m == nil {
				return nil, errChmodMode
			}
			rest = rest[len(m[0]):]
			op := m[2][len(m[2])-1]
			var u, g, o bool
			for _, c := range m[1] {
				switch c {
				case 'u':
					u = true
				case 'g':
					g = true
				case 'o':
					o = true
				}
			}
			if !u && !g && !o {
				u, g, o = true, true, true
			}
			var mode, sticky uint32
			for _, c := range m[3] {
				switch c {
				case 'r':
					mode |= 4
				case 'w':
					mode |= 2
				case 'x':
					mode |= 1
				case 'X':
					mode |= 8
				case 't':
					sticky = 1
				}
			}
			if u {
				spec.op[segUser], spec.bits[segUser] = op, mode
			}
			if g {
				spec.op[segGroup], spec.bits[segGroup] = op, mode
			}
			if o {
				spec.op[segOthers], spec.bits[segOthers] = op, mode
				spec.op[segSticky], spec.bits[segSticky] = op, sticky
			}
			// Another clause must follow a comma.
			if rest != "" && !strings.Contains(m[4], ",") {
				return nil, errChmodMode
			}
		}
		return spec, nil
	}
	m := chmodOctal.FindStringSubmatch(s)
	if m == nil {
		return nil, errChmodMode
	}
	for i := segUser; i <= segOthers; i++ {
		d, _ := strconv.Atoi(m[2][i-1 : i])
		spec.op[i], spec.bits[i] = '=', uint32(d)
	}
	if m[1] != "" {
		spec.op[segSticky], spec.bits[segSticky] = '=', uint32(m[1][0]-'0')
	}
	return spec, nil
}

// apply returns the permission (sticky bit and rwx bits) spec makes of existing, for a
// directory when dir is set.
func (spec *chmodSpec) apply(existing uint32, dir bool) uint32 {
	existing &= 0o1777
	exeOK := dir || existing&0o111 != 0
	shifts := [4]uint{9, 6, 3, 0}
	var out uint32
	for i, sh := range shifts {
		cur := (existing >> sh) & 7
		if i == segSticky {
			cur = existing >> 9
		}
		out |= combineSegment(spec.op[i], spec.bits[i], cur, exeOK && i != segSticky) << sh
	}
	return out
}

// combineSegment is one segment of a chmod: '+' adds bits, '-' removes them, '=' sets
// them; X (8) becomes x, kept only where x is allowed (exeOK) or already set.
func combineSegment(op byte, mode, existing uint32, exeOK bool) uint32 {
	capX := mode&8 != 0
	if capX {
		mode = mode&^8 | 1
	}
	switch op {
	case '+':
		mode |= existing
	case '-':
		mode = ^mode & existing
	}
	if capX && !exeOK && mode&1 != 0 && existing&1 == 0 {
		mode &^= 1
	}
	return mode & 7
}
