//go:build unix

package adaptertest

import "syscall"

// The signals that pause and resume a server process.
var sigStop, sigCont = syscall.SIGSTOP, syscall.SIGCONT
