package report

import (
	"strings"
	"testing"

	"github.com/seance-go/seance/bench/internal/inproc"
	"github.com/seance-go/seance/bench/internal/load"
)

func row4(md string) string {
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "| 4 |") {
			return l
		}
	}
	return ""
}

// TestRow4BestForm checks that row 4 shows both forms with their ratios to
// json.Marshal and computes the verdict on the faster one.
func TestRow4BestForm(t *testing.T) {
	bs := &BigStateRow{
		InProc: inproc.BigResult{
			Server:  load.Latency{N: 10, P50: 3000, P99: 4000},
			Marshal: load.Latency{N: 10, P50: 6000, P99: 7000},
			Doc:     &inproc.DocBigResult{Server: load.Latency{N: 10, P50: 30, P99: 60}},
		},
		Client:    load.RoundTripResult{Ops: 5, Latency: load.Latency{P50: 3600}},
		DocClient: &load.RoundTripResult{Ops: 5, Latency: load.Latency{P50: 120}},
	}
	bs.Settle()
	if bs.Best != DocForm || bs.Ratio != 0.5 || bs.DocRatio != 0.005 || bs.ClientRatio != 0.6 || bs.DocClientRatio != 0.02 {
		t.Fatalf("Settle: %+v", bs)
	}
	got := row4(Markdown(&Results{BigState: bs}, nil, "latest.json"))
	for _, want := range []string{"**Doc state**: p50 **0.030 ms**", "typed state: p50 3.00 ms", "Doc state **0.005×** (client 0.02×)",
		"typed state 0.50× (client 0.60×)", "**meets** (Doc state) |"} {
		if !strings.Contains(got, want) {
			t.Errorf("row 4 lacks %q:\n%s", want, got)
		}
	}

	// Results of a run before the Doc form: the typed state alone.
	bs = &BigStateRow{InProc: inproc.BigResult{
		Server:  load.Latency{N: 10, P50: 3000, P99: 4000},
		Marshal: load.Latency{N: 10, P50: 6000, P99: 7000},
	}, Client: load.RoundTripResult{Ops: 5, Latency: load.Latency{P50: 3600}}}
	bs.Settle()
	got = row4(Markdown(&Results{BigState: bs}, nil, "latest.json"))
	if bs.Best != TypedForm || strings.Contains(got, DocForm) || !strings.Contains(got, "**misses**: 3.0× the target (typed state) |") {
		t.Errorf("typed-only row 4 (best %q):\n%s", bs.Best, got)
	}
}
