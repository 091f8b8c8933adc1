package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seance-go/seance/bench/internal/report"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSmoke runs the harness end to end in quick mode: every row must
// produce numbers, the JSON, the charts and the markdown must be written.
// It checks no timing threshold.
func TestSmoke(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	args := []string{"-quick", "-out", filepath.Join(dir, "quick.json"), "-charts", filepath.Join(dir, "charts"),
		"-md", filepath.Join(dir, "BENCHMARKS.md")}
	if err := run(ctx, args, &out); err != nil {
		t.Fatalf("quick run failed: %v\n%s", err, out.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, "quick.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res report.Results
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"round trips: 4 points with both systems", res.RoundTrip != nil && len(res.RoundTrip.Points) == 4 &&
			res.RoundTrip.Headline.Ours.Ops > 0 && res.RoundTrip.Headline.Echo.Ops > 0 && res.RoundTrip.Headline.Ratio > 0},
		{"round trips: the observer cost, both servers measured", res.RoundTrip != nil && res.RoundTrip.Observer != nil &&
			res.RoundTrip.Observer.None.Ops > 0 && res.RoundTrip.Observer.Prometheus.Ops > 0 && res.RoundTrip.Observer.Ratio > 0},
		{"memory: points for both systems and the engine", res.Memory != nil && len(res.Memory.Ours) > 0 && len(res.Memory.Baseline) > 0 &&
			res.Memory.Ours[0].Conns > 0 && res.Memory.Ours[0].After.RSSKiB > 0 && res.Memory.Engine != nil && res.Memory.Engine.Joined > 0},
		{"fan-out: both systems measured", res.Fanout != nil && res.Fanout.Ours.AllRecv.N > 0 && res.Fanout.Baseline.AllRecv.N > 0},
		{"big state: server time, marshal and client round trip", res.BigState != nil && res.BigState.InProc.Server.N > 0 &&
			res.BigState.InProc.Marshal.N > 0 && res.BigState.Client.Ops > 0 && res.BigState.Ratio > 0},
		{"big state as a Doc: server time, its steps, client round trip, verdict form", res.BigState != nil &&
			res.BigState.InProc.Doc != nil && res.BigState.InProc.Doc.Server.N > 0 && res.BigState.InProc.Doc.Record.N > 0 &&
			res.BigState.DocClient != nil && res.BigState.DocClient.Ops > 0 && res.BigState.DocRatio > 0 &&
			(res.BigState.Best == report.DocForm || res.BigState.Best == report.TypedForm)},
		{"long-poll: events or an explicit skip", res.LongPollR != nil && (res.LongPollR.Events > 0 || res.LongPollR.Skipped != "")},
		{"centrifuge peer: rows 1, 2 and 3", res.RoundTrip != nil && res.RoundTrip.Headline.Centrifuge != nil &&
			res.RoundTrip.Headline.Centrifuge.Ops > 0 && res.RoundTrip.Headline.CentrifugeRatio > 0 &&
			res.Memory != nil && len(res.Memory.Centrifuge) > 0 && res.Memory.Centrifuge[0].Conns > 0 &&
			res.Fanout != nil && res.Fanout.Centrifuge != nil && res.Fanout.Centrifuge.AllRecv.N > 0},
		{"client: both holders", res.Client != nil && res.Client.Client.Conns > 0 && res.Client.Gorilla.Conns > 0},
		{"round trips: server CPU of the three systems", res.RoundTrip != nil && res.RoundTrip.Headline.Ours.ServerCPU > 0 &&
			res.RoundTrip.Headline.Echo.ServerCPU > 0 && res.RoundTrip.Headline.Centrifuge != nil &&
			res.RoundTrip.Headline.Centrifuge.ServerCPU > 0},
		{"round trips: the calibration echoes, plain first, each measured", res.RoundTrip != nil && res.RoundTrip.Calibration != nil &&
			len(res.RoundTrip.Calibration.Points) == 3 && res.RoundTrip.Calibration.Points[0].WorkNS == 0 &&
			res.RoundTrip.Calibration.Points[2].WorkNS > res.RoundTrip.Calibration.Points[1].WorkNS &&
			res.RoundTrip.Calibration.Points[1].Echo.Ops > 0 && res.RoundTrip.Calibration.Points[2].Echo.ServerCPU > 0},
		{"fan-out: the server side against the floor", res.Fanout != nil && res.Fanout.Floor != nil &&
			res.Fanout.Floor.Error == "" && len(res.Fanout.Floor.Ratios) > 0 && res.Fanout.Floor.Ratio() > 0},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: no numbers in %s", c.name, data)
		}
	}
	for _, png := range []string{"roundtrip-latency.png", "roundtrip-throughput.png", "memory.png", "fanout.png"} {
		b, err := os.ReadFile(filepath.Join(dir, "charts", png))
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("chart %s: not a PNG (%v)", png, err)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	// Row 4 shows both forms, the best one in bold, and names it in the verdict.
	for _, form := range []string{report.DocForm, report.TypedForm} {
		if !strings.Contains(string(md), form+": p50") && !strings.Contains(string(md), "**"+form+"**: p50") {
			t.Errorf("BENCHMARKS.md row 4 lacks the %s", form)
		}
	}
	wants := []string{"| 1 |", "| 2 |", "| 3 |", "| 4 |", "| 5 |", "| 6 |", "charts/memory.png", "Calibration (row 1c)", "| echo + 1µs of CPU per message |"}
	if res.BigState != nil {
		wants = append(wants, "("+res.BigState.Best+") |")
	}
	for _, want := range wants {
		if !strings.Contains(string(md), want) {
			t.Errorf("BENCHMARKS.md lacks %q", want)
		}
	}
}
