//go:build !unix

package adaptertest

// stopSignal stands for SIGSTOP and SIGCONT where they do not exist:
// os.Process.Signal refuses it, so Pause fails the test with that error.
type stopSignal string

func (s stopSignal) String() string { return string(s) }
func (stopSignal) Signal()          {}

var sigStop, sigCont = stopSignal("SIGSTOP"), stopSignal("SIGCONT")
