// Package report holds the harness's results (bench/results/latest.json),
// renders BENCHMARKS.md and draws the PNG charts.
package report

import (
	"slices"
	"time"

	"github.com/seance-go/seance/bench/internal/inproc"
	"github.com/seance-go/seance/bench/internal/load"
	"github.com/seance-go/seance/bench/internal/sysinfo"
)

// Results is everything one run measured.
type Results struct {
	Mode     string          `json:"mode"` // "quick" or "full"
	Started  time.Time       `json:"started"`
	Seconds  float64         `json:"seconds"`
	Commit   string          `json:"commit,omitempty"`
	Machine  sysinfo.Machine `json:"machine"`
	NoFile   uint64          `json:"nofile_limit"` // RLIMIT_NOFILE in force in the children
	Command  string          `json:"command"`
	LongPoll string          `json:"longpoll_wiring"`
	// ServerProcs is the GOMAXPROCS given to the server and baseline
	// processes; 0 is Go's default (every core).
	ServerProcs int `json:"server_procs,omitempty"`
	// LoadAvg is /proc/loadavg at the start and the end: other work on the
	// machine during the run shows here.
	LoadAvg []string `json:"loadavg"`

	RoundTrip *RoundTripRow `json:"roundtrip,omitempty"`
	Memory    *MemoryRow    `json:"memory,omitempty"`
	Fanout    *FanoutRow    `json:"fanout,omitempty"`
	BigState  *BigStateRow  `json:"bigstate,omitempty"`
	LongPollR *LongPollRow  `json:"longpoll,omitempty"`
	Client    *ClientRow    `json:"client,omitempty"`

	Profiles []string `json:"profiles,omitempty"` // files written under results/profiles
	Failures []string `json:"failures,omitempty"` // rows that produced no numbers, and why
}

// RoundTripRow is row 1: event→patch round trips against a raw echo.
type RoundTripRow struct {
	// Client is the load client of Points: "poll" (one epoll event loop)
	// or "gorilla" (a goroutine per connection); older results: "".
	Client string           `json:"client,omitempty"`
	Points []RoundTripPoint `json:"points"`
	// Headline is the point at 32 connections.
	Headline RoundTripPoint `json:"headline"`
	// CrossCheck is the headline measured with the gorilla client.
	CrossCheck *RoundTripPoint `json:"cross_check,omitempty"`
	// Observer is what the Prometheus observer costs at the headline.
	Observer *ObserverCost `json:"observer,omitempty"`
	// Calibration is the headline measured on echo servers that burn CPU
	// per message: how the percentiles move with the server's CPU per
	// round trip.
	Calibration *Calibration `json:"calibration,omitempty"`
	// Pinned is the headline measured with the systems and the load on
	// separate cores (row 1d), one point per client; absent when the
	// machine could not pin them.
	Pinned []PinnedPoint `json:"pinned,omitempty"`
}

// PinnedPoint is one client's point of row 1d.
type PinnedPoint struct {
	Client string         `json:"client"`
	Point  RoundTripPoint `json:"point"`
}

// Calibration is the echo of row 1 at the headline's connections with
// added work per message (bench-baseline -work), in alternating passes
// with the plain echo, pooled per server.
type Calibration struct {
	Conns  int                `json:"conns"`
	Client string             `json:"client"`
	Points []CalibrationPoint `json:"points"` // the first has no added work
}

// CalibrationPoint is one echo server of a Calibration.
type CalibrationPoint struct {
	WorkNS int64                `json:"work_ns"` // CPU burnt per message
	Echo   load.RoundTripResult `json:"echo"`
}

// ObserverCost is the headline round trip on two fresh servers, without
// observer and with observe/prometheus's, measured in alternating passes.
type ObserverCost struct {
	Conns      int                  `json:"conns"`
	None       load.RoundTripResult `json:"none"`
	Prometheus load.RoundTripResult `json:"prometheus"`
	Ratio      float64              `json:"ratio"` // with ÷ without, ops/s
	// PassRatios are the ratios of each pass (with ÷ the pass without
	// just before it): their spread is the noise of the machine.
	PassRatios []float64 `json:"pass_ratios,omitempty"`
}

// RoundTripPoint is one connection count.
type RoundTripPoint struct {
	Conns int                  `json:"conns"`
	Ours  load.RoundTripResult `json:"ours"`
	Echo  load.RoundTripResult `json:"echo"`
	Ratio float64              `json:"ratio"` // ours ops/s ÷ echo ops/s
	// Centrifuge is the same-run peer (RPC round trips), absent when it was
	// not run; CentrifugeRatio its ops/s ÷ echo ops/s.
	Centrifuge      *load.RoundTripResult `json:"centrifuge,omitempty"`
	CentrifugeRatio float64               `json:"centrifuge_ratio,omitempty"`
}

// MemoryRow is row 2: server RSS per idle joined connection.
type MemoryRow struct {
	Ours     []MemPoint `json:"ours"`
	Baseline []MemPoint `json:"baseline"`
	// Centrifuge is the same-run peer (connected and subscribed).
	Centrifuge []MemPoint `json:"centrifuge,omitempty"`
	// NotRun lists requested counts this machine cannot hold, with why.
	NotRun []string `json:"not_run,omitempty"`
	// Engine is the engine alone (in-process sessions, no sockets) at the
	// largest count requested.
	Engine *inproc.ScaleResult `json:"engine,omitempty"`
}

// MemPoint is the server's memory holding Conns connections.
type MemPoint struct {
	Want       int             `json:"want"`
	Conns      int             `json:"conns"`        // held by the loader
	Server     int             `json:"server_conns"` // as the server counts them
	OpenSecs   float64         `json:"open_seconds"`
	Before     sysinfo.Runtime `json:"before"`
	After      sysinfo.Runtime `json:"after"`
	KiBPerConn float64         `json:"kib_per_conn"` // VmRSS delta
	HeapPer    float64         `json:"heap_bytes_per_conn"`
	StackPer   float64         `json:"stack_bytes_per_conn"`
	GorPer     float64         `json:"goroutines_per_conn"`
	Errors     load.Errors     `json:"errors"`
}

// FanoutRow is row 3: one broadcast to many subscribers.
type FanoutRow struct {
	Ours     load.FanoutResult `json:"ours"`
	Baseline load.FanoutResult `json:"baseline"`
	Ratio    float64           `json:"ratio_p50"` // ours p50 ÷ baseline p50 (lower is better)
	// Centrifuge is the same-run peer; CentrifugeRatio its p50 ÷ baseline
	// p50.
	Centrifuge      *load.FanoutResult `json:"centrifuge,omitempty"`
	CentrifugeRatio float64            `json:"centrifuge_ratio_p50,omitempty"`
	// Floor is the server side against the kernel's floor, absent when it
	// was not measured.
	Floor *FloorResult `json:"floor,omitempty"`
}

// FloorResult is BenchmarkBroadcastVsFloor2000 (bench/micro) run by the
// harness: per run, the median over its iterations of one broadcast's
// time ÷ one floor pass's, both in the same iteration.
type FloorResult struct {
	Subscribers int       `json:"subscribers"`
	Iterations  int       `json:"iterations"` // per run
	Ratios      []float64 `json:"ratios"`     // one per run
	BcastMs     []float64 `json:"bcast_p50_ms"`
	FloorMs     []float64 `json:"floor_p50_ms"`
	Error       string    `json:"error,omitempty"`
}

// Ratio is the median of the runs' ratios.
func (f *FloorResult) Ratio() float64 { return medianOf(f.Ratios) }

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BigStateRow is row 4: one event on a 1 MB state, held as a typed Go
// struct (big:*) and as a livestate.Doc (bigdoc:*, InProc.Doc and
// DocClient; absent from results of older runs).
type BigStateRow struct {
	InProc      inproc.BigResult     `json:"inproc"`
	Client      load.RoundTripResult `json:"client_roundtrip"`
	Ratio       float64              `json:"ratio_p50"`        // typed server p50 ÷ json.Marshal p50
	ClientRatio float64              `json:"client_ratio_p50"` // typed client round trip p50 ÷ json.Marshal p50

	DocClient      *load.RoundTripResult `json:"doc_client_roundtrip,omitempty"`
	DocRatio       float64               `json:"doc_ratio_p50,omitempty"`        // Doc server p50 ÷ json.Marshal p50
	DocClientRatio float64               `json:"doc_client_ratio_p50,omitempty"` // Doc client round trip p50 ÷ json.Marshal p50
	// Best is the form the target verdict is computed on: the lower server
	// p50 ("Doc state" or "typed state").
	Best string `json:"best,omitempty"`
}

// The labels of the two forms of row 4.
const (
	DocForm   = "Doc state"
	TypedForm = "typed state"
)

// BigStateForm is one form of row 4's state with its ratios to the
// json.Marshal baseline (p50 ÷ p50; 0 when not measured).
type BigStateForm struct {
	Label       string
	Server      load.Latency
	Client      load.RoundTripResult
	ServerRatio float64
	ClientRatio float64
}

// Forms returns the forms measured: the Doc state first when it was, then
// the typed state.
func (r *BigStateRow) Forms() []BigStateForm {
	base := r.InProc.Marshal.P50
	ratio := func(x float64) float64 {
		if base <= 0 {
			return 0
		}
		return x / base
	}
	var out []BigStateForm
	if d := r.InProc.Doc; d != nil && d.Server.N > 0 {
		f := BigStateForm{Label: DocForm, Server: d.Server, ServerRatio: ratio(d.Server.P50)}
		if r.DocClient != nil {
			f.Client = *r.DocClient
			f.ClientRatio = ratio(r.DocClient.Latency.P50)
		}
		out = append(out, f)
	}
	if r.InProc.Server.N > 0 {
		out = append(out, BigStateForm{Label: TypedForm, Server: r.InProc.Server, Client: r.Client,
			ServerRatio: ratio(r.InProc.Server.P50), ClientRatio: ratio(r.Client.Latency.P50)})
	}
	return out
}

// BestForm returns the form with the lower server p50 (ok false when none
// was measured).
func (r *BigStateRow) BestForm() (BigStateForm, bool) {
	forms := r.Forms()
	if len(forms) == 0 {
		return BigStateForm{}, false
	}
	best := forms[0]
	for _, f := range forms[1:] {
		if f.Server.P50 < best.Server.P50 {
			best = f
		}
	}
	return best, true
}

// Settle fills the ratios and Best from the measurements.
func (r *BigStateRow) Settle() {
	for _, f := range r.Forms() {
		switch f.Label {
		case DocForm:
			r.DocRatio, r.DocClientRatio = f.ServerRatio, f.ClientRatio
		case TypedForm:
			r.Ratio, r.ClientRatio = f.ServerRatio, f.ClientRatio
		}
	}
	if b, ok := r.BestForm(); ok {
		r.Best = b.Label
	}
}

// LongPollRow is row 5.
type LongPollRow struct {
	load.LongPollResult
	Think float64 `json:"think_seconds"`
}

// ClientRow is row 6: the Go client holding idle joined sockets.
type ClientRow struct {
	Client  load.HoldResult `json:"client"`
	Gorilla load.HoldResult `json:"gorilla"`
	// KiB per socket from the holder's VmRSS delta.
	ClientKiB  float64 `json:"client_kib_per_socket"`
	GorillaKiB float64 `json:"gorilla_kib_per_socket"`
	// Heap and goroutines per socket from runtime/metrics.
	ClientHeap  float64 `json:"client_heap_bytes_per_socket"`
	GorillaHeap float64 `json:"gorilla_heap_bytes_per_socket"`
	ClientGor   float64 `json:"client_goroutines_per_socket"`
	GorillaGor  float64 `json:"gorilla_goroutines_per_socket"`
}
