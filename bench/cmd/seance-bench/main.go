// Command seance-bench is the Seance load harness. It builds and starts the
// server under test (bench-server), the raw gorilla baseline
// (bench-baseline), the load generator (bench-load) and the in-process
// probe (bench-inproc) and the centrifuge peer (bench-centrifuge) as child
// processes, measures every row of issue 7
// against its baseline in the same run, and writes results/latest.json,
// the charts under charts/ and ../BENCHMARKS.md.
//
//	cd bench && go run ./cmd/seance-bench          # full run (≈ 5–10 min)
//	cd bench && go run ./cmd/seance-bench -quick   # smoke run (< 60 s), results/quick.*
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "seance-bench:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	quick    bool
	rows     string
	out      string // results JSON file
	charts   string // directory of PNGs
	md       string // BENCHMARKS.md path
	profiles bool
	binDir   string
	render   bool
	procs    int // GOMAXPROCS of the server and baseline processes (0: Go's default)
	peer     bool
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("seance-bench", flag.ContinueOnError)
	var cfg config
	fs.BoolVar(&cfg.quick, "quick", false, "smoke run: tiny counts, < 60 s")
	fs.StringVar(&cfg.rows, "rows", "roundtrip,memory,fanout,bigstate,longpoll,client", "rows to run")
	fs.StringVar(&cfg.out, "out", "", "results JSON (default results/latest.json, -quick: results/quick.json)")
	fs.StringVar(&cfg.charts, "charts", "", "chart directory (default charts, -quick: results/quick-charts)")
	fs.StringVar(&cfg.md, "md", "", "markdown report (default ../BENCHMARKS.md, -quick: results/quick.md)")
	fs.BoolVar(&cfg.profiles, "profiles", false, "also save CPU and heap profiles of the server under results/profiles")
	fs.StringVar(&cfg.binDir, "bin", "", "directory of prebuilt bench-server, bench-baseline, bench-load, bench-inproc, bench-centrifuge")
	fs.IntVar(&cfg.procs, "server-procs", 0, "GOMAXPROCS of the server and baseline processes (0: Go's default, every core)")
	fs.BoolVar(&cfg.peer, "peer", true, "also measure the centrifuge peer (bench-centrifuge) in rows 1–3")
	fs.BoolVar(&cfg.render, "render", false, "measure nothing: redraw the charts and the markdown from the results JSON (-out)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	mod, err := moduleDir()
	if err != nil {
		return err
	}
	def := func(p *string, full, quick string) {
		if *p == "" {
			if cfg.quick {
				*p = filepath.Join(mod, quick)
			} else {
				*p = filepath.Join(mod, full)
			}
		}
	}
	def(&cfg.out, "results/latest.json", "results/quick.json")
	def(&cfg.charts, "charts", "results/quick-charts")
	def(&cfg.md, "../BENCHMARKS.md", "results/quick.md")

	if cfg.render {
		data, err := os.ReadFile(cfg.out)
		if err != nil {
			return err
		}
		r := &runner{cfg: cfg, out: stdout, hc: &http.Client{}}
		if err := json.Unmarshal(data, &r.res); err != nil {
			return fmt.Errorf("%s: %w", cfg.out, err)
		}
		return r.render()
	}

	work, err := os.MkdirTemp("", "seance-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if cfg.binDir == "" {
		cfg.binDir = filepath.Join(work, "bin")
		fmt.Fprintln(stdout, "== building the harness programs")
		build := exec.CommandContext(ctx, "go", "build", "-o", cfg.binDir+string(filepath.Separator),
			"./cmd/bench-server", "./cmd/bench-baseline", "./cmd/bench-load", "./cmd/bench-inproc", "./cmd/bench-centrifuge")
		build.Dir = mod
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building: %w", err)
		}
	}
	r := &runner{cfg: cfg, mod: mod, binDir: cfg.binDir, logDir: filepath.Join(filepath.Dir(cfg.out), "logs"),
		profDir: filepath.Join(filepath.Dir(cfg.out), "profiles"), out: stdout,
		hc: &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Minute}}
	r.plan = fullPlan
	if cfg.quick {
		r.plan = quickPlan
	}
	for _, d := range []string{r.logDir, filepath.Dir(cfg.out), cfg.charts, filepath.Dir(cfg.md)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if cfg.profiles {
		if err := os.MkdirAll(r.profDir, 0o755); err != nil {
			return err
		}
	}
	r.res.Command = "cd bench && go run ./cmd/seance-bench " + strings.Join(args, " ")
	defer r.cleanup()
	if err := r.runAll(ctx); err != nil {
		return err
	}
	if err := r.write(); err != nil {
		return err
	}
	if len(r.res.Failures) > 0 {
		return fmt.Errorf("%d row(s) failed:\n  %s", len(r.res.Failures), strings.Join(r.res.Failures, "\n  "))
	}
	return nil
}

// moduleDir is the bench module's root.
func moduleDir() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull || !strings.HasSuffix(filepath.ToSlash(gomod), "bench/go.mod") {
		return "", fmt.Errorf("run seance-bench inside the bench module (go env GOMOD = %q)", gomod)
	}
	return filepath.Dir(gomod), nil
}

// plan holds the counts and durations of a mode.
type plan struct {
	rtConns        []int
	rtWarm, rtDur  time.Duration
	memCounts      []int
	engineN        int
	engineTimeout  time.Duration
	fanConns       int
	fanRounds      int
	fanWarm        int
	bigIters       int
	bigDur         time.Duration
	lpSessions     int
	lpDur, lpThink time.Duration
	holdConns      int
}

var fullPlan = plan{
	rtConns: []int{1, 8, 32, 64}, rtWarm: time.Second, rtDur: 5 * time.Second,
	memCounts: []int{10000, 50000, 100000}, engineN: 100000, engineTimeout: 4 * time.Minute,
	fanConns: 2000, fanRounds: 200, fanWarm: 10,
	bigIters: 50, bigDur: 3 * time.Second,
	lpSessions: 1000, lpDur: 20 * time.Second, lpThink: time.Second,
	holdConns: 10000,
}

var quickPlan = plan{
	rtConns: []int{1, 8, 32, 64}, rtWarm: 100 * time.Millisecond, rtDur: 300 * time.Millisecond,
	memCounts: []int{200, 500}, engineN: 2000, engineTimeout: 30 * time.Second,
	fanConns: 100, fanRounds: 20, fanWarm: 3,
	bigIters: 5, bigDur: 500 * time.Millisecond,
	lpSessions: 20, lpDur: 2 * time.Second, lpThink: 200 * time.Millisecond,
	holdConns: 200,
}
