package load

import (
	"os"
	"runtime"
	"syscall"
	"testing"
)

// TestProcessCPU: the CPU time read from /proc for this process agrees
// with what getrusage reports around the read (to /proc's 10 ms tick).
func TestProcessCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	x := 0
	for range 50_000_000 { // some CPU to read
		x++
	}
	r0 := selfCPU(t)
	c, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	r1 := selfCPU(t)
	if c < r0-0.02 || c > r1+0.02 {
		t.Fatalf("ProcessCPU = %.3f s, getrusage %.3f s before and %.3f s after (%d)", c, r0, r1, x)
	}
	if _, err := ProcessCPU(-1); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}

func selfCPU(t *testing.T) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
