package load

import (
	"math"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSummarizeAndHist(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 1000; i++ {
		ds = append(ds, time.Duration(i)*time.Microsecond)
	}
	// Shuffle-independent: Summarize sorts.
	ds[0], ds[999] = ds[999], ds[0]
	s := Summarize(append([]time.Duration(nil), ds...))
	if s.N != 1000 || s.P50 != 500 || s.P99 != 990 || s.Max != 1000 {
		t.Fatalf("Summarize = %+v", s)
	}
	// Pooling two halves must give the whole (within a bucket).
	h := HistOf(ds[:400])
	h.Add(HistOf(ds[400:]))
	hs := h.Summary()
	if hs.N != 1000 || math.Abs(hs.P50-s.P50) > 1 || math.Abs(hs.P99-s.P99) > 1 {
		t.Fatalf("pooled histogram %+v, direct %+v", hs, s)
	}
	// Coarser buckets above 1 ms keep 10 µs precision.
	h2 := HistOf([]time.Duration{5 * time.Millisecond, 5*time.Millisecond + 3*time.Microsecond})
	if got := h2.Summary().P50; math.Abs(got-5005) > 10 {
		t.Fatalf("5 ms bucket midpoint %v", got)
	}
}

func TestMergeFanout(t *testing.T) {
	a := FanoutResult{Kind: "ours", Conns: 3, Rounds: 2, Samples: []float64{100, 300}, FirstSamples: []float64{1, 2}, TriggerSamples: []float64{5, 6}}
	b := FanoutResult{Kind: "ours", Conns: 3, Rounds: 1, Lost: 1, Samples: []float64{200}, FirstSamples: []float64{3}, TriggerSamples: []float64{7}}
	m := MergeFanout(a, b)
	if m.Rounds != 3 || m.Lost != 1 || m.AllRecv.N != 3 || m.AllRecv.P50 != 200 || m.AllRecv.Max != 300 {
		t.Fatalf("merged %+v", m)
	}
}

func TestSourceAddrs(t *testing.T) {
	a, err := SourceAddrs("127.0.1.1", 3)
	if err != nil || len(a) != 3 || a[2].IP.String() != "127.0.1.3" {
		t.Fatalf("SourceAddrs = %v, %v", a, err)
	}
	if _, err := SourceAddrs("10.0.0.1", 1); err == nil {
		t.Fatal("a non-loopback source was accepted")
	}
}
