// Package load holds the load generator's scenarios. Each runs in the
// bench-load process, apart from the server it measures, and returns a
// result the orchestrator decodes from one JSON line.
package load

import (
	"fmt"
	"net"
	"slices"
	"time"
)

// Latency summarizes a set of durations in microseconds.
type Latency struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_us"`
	P90  float64 `json:"p90_us"`
	P99  float64 `json:"p99_us"`
	Max  float64 `json:"max_us"`
	Mean float64 `json:"mean_us"`
}

// Summarize computes percentiles (nearest rank) of ds; it sorts ds.
func Summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	pct := func(p float64) float64 {
		i := int(p*float64(len(ds))+0.5) - 1
		i = min(max(i, 0), len(ds)-1)
		return us(ds[i])
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Latency{N: len(ds), P50: pct(0.50), P90: pct(0.90), P99: pct(0.99), Max: us(ds[len(ds)-1]),
		Mean: us(sum / time.Duration(len(ds)))}
}

// Errors counts failures and keeps the first few messages.
type Errors struct {
	Count int      `json:"count"`
	First []string `json:"first,omitempty"`
}

// Add records err.
func (e *Errors) Add(err error) {
	e.Count++
	if len(e.First) < 5 {
		e.First = append(e.First, err.Error())
	}
}

// Merge adds o's failures to e.
func (e *Errors) Merge(o Errors) {
	e.Count += o.Count
	for _, s := range o.First {
		if len(e.First) < 5 {
			e.First = append(e.First, s)
		}
	}
}

// SourceAddrs returns n loopback source addresses starting at first
// (127.0.x.y, incrementing the last octet): connections are spread over
// them to get past one address's ephemeral-port range.
func SourceAddrs(first string, n int) ([]*net.TCPAddr, error) {
	if first == "" || n <= 0 {
		return []*net.TCPAddr{nil}, nil
	}
	ip := net.ParseIP(first).To4()
	if ip == nil || ip[0] != 127 {
		return nil, fmt.Errorf("load: source %q is not a 127.x IPv4 address", first)
	}
	out := make([]*net.TCPAddr, n)
	for i := range out {
		a := make(net.IP, 4)
		copy(a, ip)
		a[3] += byte(i)
		out[i] = &net.TCPAddr{IP: a}
	}
	return out, nil
}

// Hist is a sparse latency histogram: 1 µs buckets below 1 ms, 10 µs
// buckets up to 100 ms, 1 ms buckets above. Runs are pooled by adding
// histograms.
type Hist map[int]int

func bucket(us int64) int {
	switch {
	case us < 1000:
		return int(us)
	case us < 100_000:
		return 1000 + int((us-1000)/10)
	default:
		return 10_900 + int((us-100_000)/1000)
	}
}

func bucketMid(b int) float64 {
	switch {
	case b < 1000:
		return float64(b) + 0.5
	case b < 10_900:
		return 1000 + float64(b-1000)*10 + 5
	default:
		return 100_000 + float64(b-10_900)*1000 + 500
	}
}

// HistOf buckets ds.
func HistOf(ds []time.Duration) Hist {
	h := Hist{}
	for _, d := range ds {
		h[bucket(d.Microseconds())]++
	}
	return h
}

// Add pools o into h.
func (h Hist) Add(o Hist) {
	for b, n := range o {
		h[b] += n
	}
}

// Summary computes percentiles from the histogram (bucket midpoints).
func (h Hist) Summary() Latency {
	keys := make([]int, 0, len(h))
	total := 0
	for b, n := range h {
		keys = append(keys, b)
		total += n
	}
	if total == 0 {
		return Latency{}
	}
	slices.Sort(keys)
	var sum float64
	for _, b := range keys {
		sum += bucketMid(b) * float64(h[b])
	}
	pct := func(p float64) float64 {
		rank := max(int(p*float64(total)+0.5), 1)
		seen := 0
		for _, b := range keys {
			seen += h[b]
			if seen >= rank {
				return bucketMid(b)
			}
		}
		return bucketMid(keys[len(keys)-1])
	}
	return Latency{N: total, P50: pct(0.5), P90: pct(0.9), P99: pct(0.99), Max: bucketMid(keys[len(keys)-1]), Mean: sum / float64(total)}
}
