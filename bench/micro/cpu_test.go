package micro

import (
	"testing"
	"time"
)

// cpuMeter sums the process's CPU time (cpuTime) over the timed parts of a
// benchmark's iterations: less disturbed than their wall time by other
// processes on a shared machine, since a core taken away from part of the
// work delays it without adding to its CPU time.
type cpuMeter struct{ start, sum time.Duration }

// begin starts a timed part.
func (m *cpuMeter) begin() { m.start = cpuTime() }

// end ends it.
func (m *cpuMeter) end() { m.sum += cpuTime() - m.start }

// report adds the mean CPU time per iteration to b's results, in
// milliseconds, as cpu-ms/broadcast.
func (m *cpuMeter) report(b *testing.B) {
	if b.N > 0 {
		b.ReportMetric(float64(m.sum.Nanoseconds())/float64(b.N)/1e6, "cpu-ms/broadcast")
	}
}
