// Package report holds the harness's results (bench/results/latest.json),
// renders BENCHMARKS.md and draws the PNG charts.
package report

import (
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
	Points []RoundTripPoint `json:"points"`
	// Headline is the point at 32 connections.
	Headline RoundTripPoint `json:"headline"`
}

// RoundTripPoint is one connection count.
type RoundTripPoint struct {
	Conns int                  `json:"conns"`
	Ours  load.RoundTripResult `json:"ours"`
	Echo  load.RoundTripResult `json:"echo"`
	Ratio float64              `json:"ratio"` // ours ops/s ÷ echo ops/s
}

// MemoryRow is row 2: server RSS per idle joined connection.
type MemoryRow struct {
	Ours     []MemPoint `json:"ours"`
	Baseline []MemPoint `json:"baseline"`
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
}

// BigStateRow is row 4: one event on a 1 MB state.
type BigStateRow struct {
	InProc inproc.BigResult     `json:"inproc"`
	Client load.RoundTripResult `json:"client_roundtrip"`
	Ratio  float64              `json:"ratio_p50"` // server p50 ÷ json.Marshal p50
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
