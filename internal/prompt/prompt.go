// Package prompt asks an operator a yes/no question the way Hadoop's
// ToolRunner.confirmPrompt does: "<question> (Y or N) " until the answer
// is y, yes, n or no in any case; anything else is answered "Invalid
// input: <answer>" and asked again. End of input means no.
package prompt

import (
	"fmt"
	"io"
	"strings"
)

// Confirm asks question on w and reads answers from in (nil: no input).
func Confirm(in io.Reader, w io.Writer, question string) bool {
	if in == nil {
		in = strings.NewReader("")
	}
	for {
		fmt.Fprint(w, question+" (Y or N) ")
		line, eof := readLine(in)
		switch strings.ToLower(line) {
		case "y", "yes":
			return true
		case "n", "no":
			return false
		}
		if eof {
			fmt.Fprintln(w)
			return false
		}
		fmt.Fprintln(w, "Invalid input: "+line)
	}
}

// readLine reads up to a newline one byte at a time, so nothing after the
// answer is consumed (the next question reads the next line).
func readLine(r io.Reader) (string, bool) {
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' || buf[0] == '\r' {
				return b.String(), false
			}
			b.WriteByte(buf[0])
		}
		if err != nil {
			return b.String(), true // EOF or a broken input: no more answers
		}
	}
}
