// Package streampos reads the position of a history stream's message from
// the message's ref, "epoch:offset", for the server's history package and
// the Go client's.
package streampos

import (
	"strconv"
	"strings"
)

// Parse splits ref at its last colon into a non-empty epoch and a decimal
// offset; ok is false when ref is not of that form.
func Parse(ref string) (epoch string, offset uint64, ok bool) {
	i := strings.LastIndexByte(ref, ':')
	if i <= 0 {
		return "", 0, false
	}
	off, err := strconv.ParseUint(ref[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return ref[:i], off, true
}
