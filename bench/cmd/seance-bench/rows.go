package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/seance-go/seance/bench/internal/child"
	"github.com/seance-go/seance/bench/internal/inproc"
	"github.com/seance-go/seance/bench/internal/load"
	"github.com/seance-go/seance/bench/internal/report"
	"github.com/seance-go/seance/bench/internal/server"
	"github.com/seance-go/seance/bench/internal/sysinfo"
)

type runner struct {
	cfg     config
	plan    plan
	mod     string
	binDir  string
	logDir  string
	profDir string
	out     io.Writer
	procs   []*proc
	res     report.Results

	hc       *http.Client
	srv      *proc // the shared server under test
	srvAddr  string
	base     *proc // the shared baseline
	baseAddr string
	cf       *proc  // the shared centrifuge peer; nil without -peer
	cfAddr   string // its address; "" without -peer
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.out, format+"\n", args...)
}

func (r *runner) fail(row string, err error) {
	r.res.Failures = append(r.res.Failures, row+": "+err.Error())
	r.logf("   FAILED: %v", err)
}

func (r *runner) cleanup() {
	r.hc.CloseIdleConnections()
	for _, p := range r.procs {
		select {
		case <-p.done:
		default:
			p.stop()
		}
	}
}

func (r *runner) runAll(ctx context.Context) error {
	start := time.Now()
	r.res.Started = start.UTC()
	r.res.Mode = "full"
	if r.cfg.quick {
		r.res.Mode = "quick"
	}
	r.res.Machine = sysinfo.ReadMachine()
	r.res.ServerProcs = r.cfg.procs
	r.res.LoadAvg = []string{sysinfo.LoadAvg()}
	r.res.Commit = commit(r.mod)
	var err error
	var ready child.Ready
	r.srv, ready, err = r.startServer(ctx, "server", "bench-server")
	if err != nil {
		return err
	}
	r.srvAddr, r.res.NoFile, r.res.LongPoll = ready.Addr, ready.NoFile, ready.LongPoll
	r.base, ready, err = r.startServer(ctx, "baseline", "bench-baseline")
	if err != nil {
		return err
	}
	r.baseAddr = ready.Addr
	if r.cfg.peer {
		if r.cf, ready, err = r.startServer(ctx, "centrifuge", "bench-centrifuge"); err != nil {
			return err
		}
		r.cfAddr = ready.Addr
		r.logf("== centrifuge peer %s", r.cfAddr)
	}
	r.logf("== seance-bench %s: server %s (long-poll %s), baseline %s, RLIMIT_NOFILE %d", r.res.Mode,
		r.srvAddr, r.res.LongPoll, r.baseAddr, r.res.NoFile)
	rows := map[string]func(context.Context) error{
		"roundtrip": r.roundTrip, "memory": r.memory, "fanout": r.fanout,
		"bigstate": r.bigState, "longpoll": r.longPoll, "client": r.client,
	}
	for _, name := range strings.Split(r.cfg.rows, ",") {
		f := rows[strings.TrimSpace(name)]
		if f == nil {
			return fmt.Errorf("unknown row %q", name)
		}
		if err := f(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.fail(name, err)
		}
	}
	r.res.Seconds = time.Since(start).Seconds()
	r.res.LoadAvg = append(r.res.LoadAvg, sysinfo.LoadAvg())
	return nil
}

func commit(mod string) string {
	out, err := exec.Command("git", "-C", mod, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", filepath.Dir(mod), "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += "+dirty"
	}
	return c
}

func errorsOf(what string, e load.Errors) error {
	if e.Count == 0 {
		return nil
	}
	return fmt.Errorf("%s: %d error(s): %s", what, e.Count, strings.Join(e.First, "; "))
}

func dur(d time.Duration) string { return d.String() }

// --- row 1 -----------------------------------------------------------------

func (r *runner) roundTrip(ctx context.Context) error {
	r.logf("== row 1: event→patch round trips vs raw gorilla echo")
	row := &report.RoundTripRow{}
	r.res.RoundTrip = row
	timeout := r.plan.rtWarm + r.plan.rtDur + 2*time.Minute
	// Each point alternates the two systems in passes, pooled: drift of
	// the machine (other tenants, thermal, GC of the load) falls on both.
	passes := 2
	point := func(n int, client string) (report.RoundTripPoint, error) {
		pt := report.RoundTripPoint{Conns: n}
		args := func(addr, kind string, server *proc) []string {
			return []string{"rt", "-client", client, "-addr", addr, "-kind", kind, "-conns", strconv.Itoa(n),
				"-warmup", dur(r.plan.rtWarm), "-dur", dur(r.plan.rtDur / time.Duration(passes)),
				"-server-pid", strconv.Itoa(server.cmd.Process.Pid)}
		}
		var ours, echo, cf []load.RoundTripResult
		for pass := range passes {
			var o, e load.RoundTripResult
			if err := r.runLoad(ctx, fmt.Sprintf("rt-%s-ours-%d-%d", client, n, pass+1), timeout, &o, args(r.srvAddr, "ours", r.srv)...); err != nil {
				return pt, err
			}
			if err := r.runLoad(ctx, fmt.Sprintf("rt-%s-echo-%d-%d", client, n, pass+1), timeout, &e, args(r.baseAddr, "echo", r.base)...); err != nil {
				return pt, err
			}
			ours, echo = append(ours, o), append(echo, e)
			if r.cfAddr != "" {
				var c load.RoundTripResult
				if err := r.runLoad(ctx, fmt.Sprintf("rt-%s-centrifuge-%d-%d", client, n, pass+1), timeout, &c, args(r.cfAddr, load.Centrifuge, r.cf)...); err != nil {
					return pt, err
				}
				cf = append(cf, c)
			}
		}
		pt.Ours, pt.Echo = load.MergeRoundTrips(ours...), load.MergeRoundTrips(echo...)
		if len(cf) > 0 {
			c := load.MergeRoundTrips(cf...)
			pt.Centrifuge = &c
			if err := errorsOf("centrifuge", c.Errors); err != nil {
				return pt, err
			}
			if pt.Echo.OpsPerSec > 0 {
				pt.CentrifugeRatio = c.OpsPerSec / pt.Echo.OpsPerSec
			}
		}
		if err := errorsOf("ours", pt.Ours.Errors); err != nil {
			return pt, err
		}
		if err := errorsOf("echo", pt.Echo.Errors); err != nil {
			return pt, err
		}
		if pt.Echo.OpsPerSec > 0 {
			pt.Ratio = pt.Ours.OpsPerSec / pt.Echo.OpsPerSec
		}
		r.logf("   %3d conns, %-7s client: ours %8.0f/s p50 %6.0fµs p99 %6.0fµs | echo %8.0f/s p50 %6.0fµs p99 %6.0fµs | ratio %.2f | server CPU/op ours %.1fµs echo %.1fµs",
			n, client, pt.Ours.OpsPerSec, pt.Ours.Latency.P50, pt.Ours.Latency.P99,
			pt.Echo.OpsPerSec, pt.Echo.Latency.P50, pt.Echo.Latency.P99, pt.Ratio, pt.Ours.CPUPerOp(), pt.Echo.CPUPerOp())
		if c := pt.Centrifuge; c != nil {
			r.logf("   %3d conns, %-7s client: centrifuge %8.0f/s p50 %6.0fµs p99 %6.0fµs, ratio %.2f",
				n, client, c.OpsPerSec, c.Latency.P50, c.Latency.P99, pt.CentrifugeRatio)
		}
		return pt, nil
	}
	row.Client = "poll"
	for _, n := range r.plan.rtConns {
		pt, err := point(n, row.Client)
		if err != nil {
			return err
		}
		row.Points = append(row.Points, pt)
		if n == 32 || row.Headline.Conns == 0 {
			row.Headline = pt
		}
	}
	// The same measure with a goroutine-per-connection gorilla client, as
	// a cross-check of the client's own share of the latency.
	cc, err := point(row.Headline.Conns, "gorilla")
	if err != nil {
		return err
	}
	row.CrossCheck = &cc
	if row.Observer, err = r.observerCost(ctx, row.Headline.Conns, row.Client, timeout); err != nil {
		return err
	}
	if row.Calibration, err = r.calibrate(ctx, row.Headline.Conns, row.Client, timeout); err != nil {
		return err
	}
	if row.Pinned, err = r.pinned(ctx, row.Headline.Conns, timeout); err != nil {
		return err
	}
	if r.cfg.profiles {
		// A separate run, so that profiling does not touch the figures.
		secs := int(r.plan.rtDur.Seconds())
		done := make(chan error, 1)
		go func() {
			done <- r.saveProfile(ctx, r.srvAddr, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), "cpu-roundtrip-32.pprof")
		}()
		var res load.RoundTripResult
		r.runLoad(ctx, "rt-ours-profile", timeout, &res, "rt", "-addr", r.srvAddr, "-kind", "ours", "-conns", "32",
			"-warmup", "0s", "-dur", dur(r.plan.rtDur+time.Second))
		if err := <-done; err != nil {
			r.logf("   profile: %v", err)
		}
	}
	return nil
}

// pinned measures the headline with the systems and the load on separate
// cores: each server alone on CPU 0 with GOMAXPROCS 1, the load on CPU 1
// with GOMAXPROCS 1 (taskset), with both clients, the systems alternating
// in two passes pooled per system. It is left out (nil) on a machine with
// one CPU or without taskset.
func (r *runner) pinned(ctx context.Context, n int, timeout time.Duration) ([]report.PinnedPoint, error) {
	if runtime.NumCPU() < 2 {
		r.logf("   row 1d skipped: one CPU")
		return nil, nil
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		r.logf("   row 1d skipped: no taskset")
		return nil, nil
	}
	r.logf("== row 1d: round trips with the servers on CPU 0 and the load on CPU 1")
	one := []string{"GOMAXPROCS=1"}
	type system struct {
		kind, addr string
		p          *proc
	}
	var systems []system
	defer func() {
		for _, s := range systems {
			s.p.stop()
		}
	}()
	bins := [][2]string{{"ours", "bench-server"}, {"echo", "bench-baseline"}}
	if r.cfAddr != "" {
		bins = append(bins, [2]string{load.Centrifuge, "bench-centrifuge"})
	}
	for _, b := range bins {
		p, ready, err := r.startServerOn(ctx, "pinned-"+b[0], b[1], "0", one)
		if err != nil {
			return nil, err
		}
		systems = append(systems, system{b[0], ready.Addr, p})
	}
	var out []report.PinnedPoint
	for _, client := range []string{"poll", "gorilla"} {
		const passes = 2
		runs := make([][]load.RoundTripResult, len(systems))
		for pass := range passes {
			for i, s := range systems {
				var res load.RoundTripResult
				if err := r.runLoadOn(ctx, fmt.Sprintf("rt-pinned-%s-%s-%d", client, s.kind, pass+1), "1", one, timeout, &res,
					"rt", "-client", client, "-addr", s.addr, "-kind", s.kind, "-conns", strconv.Itoa(n),
					"-warmup", dur(r.plan.rtWarm), "-dur", dur(r.plan.rtDur/passes),
					"-server-pid", strconv.Itoa(s.p.cmd.Process.Pid)); err != nil {
					return nil, err
				}
				if err := errorsOf(s.kind, res.Errors); err != nil {
					return nil, err
				}
				runs[i] = append(runs[i], res)
			}
		}
		pt := report.RoundTripPoint{Conns: n, Ours: load.MergeRoundTrips(runs[0]...), Echo: load.MergeRoundTrips(runs[1]...)}
		if pt.Echo.OpsPerSec > 0 {
			pt.Ratio = pt.Ours.OpsPerSec / pt.Echo.OpsPerSec
		}
		if len(runs) > 2 {
			c := load.MergeRoundTrips(runs[2]...)
			pt.Centrifuge = &c
			if pt.Echo.OpsPerSec > 0 {
				pt.CentrifugeRatio = c.OpsPerSec / pt.Echo.OpsPerSec
			}
		}
		r.logf("   %3d conns, %-7s client, pinned: ours %8.0f/s p99 %6.0fµs | echo %8.0f/s p99 %6.0fµs | ratio %.2f",
			n, client, pt.Ours.OpsPerSec, pt.Ours.Latency.P99, pt.Echo.OpsPerSec, pt.Echo.Latency.P99, pt.Ratio)
		out = append(out, report.PinnedPoint{Client: client, Point: pt})
	}
	return out, nil
}

// observerCost measures the headline point on two fresh servers, one
// without observer and one with the observe/prometheus one, in alternating
// passes pooled per server: what the Prometheus observer costs.
func (r *runner) observerCost(ctx context.Context, n int, client string, timeout time.Duration) (*report.ObserverCost, error) {
	cost := &report.ObserverCost{Conns: n}
	addrs := map[string]string{}
	for _, obs := range []string{"none", "prometheus"} {
		p, ready, err := r.startServer(ctx, "server-observer-"+obs, "bench-server", "-observer", obs)
		if err != nil {
			return nil, err
		}
		defer p.stop()
		addrs[obs] = ready.Addr
	}
	const passes = 4
	var none, prom []load.RoundTripResult
	for pass := range passes {
		for _, obs := range []string{"none", "prometheus"} {
			var res load.RoundTripResult
			if err := r.runLoad(ctx, fmt.Sprintf("rt-observer-%s-%d", obs, pass+1), timeout, &res, "rt", "-client", client,
				"-addr", addrs[obs], "-kind", "ours", "-conns", strconv.Itoa(n),
				"-warmup", dur(r.plan.rtWarm), "-dur", dur(r.plan.rtDur/2)); err != nil {
				return nil, err
			}
			if obs == "none" {
				none = append(none, res)
			} else {
				prom = append(prom, res)
			}
		}
		if b := none[pass].OpsPerSec; b > 0 {
			cost.PassRatios = append(cost.PassRatios, prom[pass].OpsPerSec/b)
		}
	}
	cost.None, cost.Prometheus = load.MergeRoundTrips(none...), load.MergeRoundTrips(prom...)
	if err := errorsOf("no observer", cost.None.Errors); err != nil {
		return nil, err
	}
	if err := errorsOf("prometheus observer", cost.Prometheus.Errors); err != nil {
		return nil, err
	}
	if cost.None.OpsPerSec > 0 {
		cost.Ratio = cost.Prometheus.OpsPerSec / cost.None.OpsPerSec
	}
	r.logf("   observer cost, %d conns: none %8.0f/s p50 %6.0fµs p99 %6.0fµs | prometheus %8.0f/s p50 %6.0fµs p99 %6.0fµs | ratio %.3f",
		n, cost.None.OpsPerSec, cost.None.Latency.P50, cost.None.Latency.P99,
		cost.Prometheus.OpsPerSec, cost.Prometheus.Latency.P50, cost.Prometheus.Latency.P99, cost.Ratio)
	r.logf("   observer cost per pass: %s", ratios(cost.PassRatios))
	return cost, nil
}

// calibrationWork is the CPU the calibration's echo servers burn per
// message, beside the plain echo.
var calibrationWork = []time.Duration{time.Microsecond, 2 * time.Microsecond}

// calibrate measures the headline point on echo servers that burn
// calibrationWork per message, in alternating passes with the plain echo
// (r.base), pooled per server: what a microsecond of server CPU per round
// trip does to throughput and percentiles on this machine, so that the
// ratios against echo can be read.
func (r *runner) calibrate(ctx context.Context, n int, client string, timeout time.Duration) (*report.Calibration, error) {
	cal := &report.Calibration{Conns: n, Client: client}
	type server struct {
		work time.Duration
		addr string
		pid  int
		runs []load.RoundTripResult
	}
	servers := []*server{{addr: r.baseAddr, pid: r.base.cmd.Process.Pid}}
	for _, w := range calibrationWork {
		p, ready, err := r.startServer(ctx, "baseline-work-"+w.String(), "bench-baseline", "-work", w.String())
		if err != nil {
			return nil, err
		}
		defer p.stop()
		servers = append(servers, &server{work: w, addr: ready.Addr, pid: p.cmd.Process.Pid})
	}
	const passes = 2
	for pass := range passes {
		for _, s := range servers {
			var res load.RoundTripResult
			if err := r.runLoad(ctx, fmt.Sprintf("rt-calibration-%s-%d", s.work, pass+1), timeout, &res, "rt", "-client", client,
				"-addr", s.addr, "-kind", "echo", "-conns", strconv.Itoa(n), "-server-pid", strconv.Itoa(s.pid),
				"-warmup", dur(r.plan.rtWarm), "-dur", dur(r.plan.rtDur/passes)); err != nil {
				return nil, err
			}
			s.runs = append(s.runs, res)
		}
	}
	for _, s := range servers {
		pt := report.CalibrationPoint{WorkNS: s.work.Nanoseconds(), Echo: load.MergeRoundTrips(s.runs...)}
		if err := errorsOf("calibration echo", pt.Echo.Errors); err != nil {
			return nil, err
		}
		cal.Points = append(cal.Points, pt)
		r.logf("   calibration, echo + %v per message: %8.0f/s p50 %6.0fµs p99 %6.0fµs, server CPU/op %.1fµs",
			s.work, pt.Echo.OpsPerSec, pt.Echo.Latency.P50, pt.Echo.Latency.P99, pt.Echo.CPUPerOp())
	}
	return cal, nil
}

// ratios formats ratios as "0.98× 1.01× …".
func ratios(rs []float64) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.3f×", r)
	}
	return b.String()
}

func (r *runner) saveProfile(ctx context.Context, addr, path, file string) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+path, nil)
	resp, err := r.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	f, err := os.Create(filepath.Join(r.profDir, file))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		return err
	}
	r.res.Profiles = append(r.res.Profiles, file)
	return nil
}

func (r *runner) stats(ctx context.Context, addr string) (server.StatsReply, error) {
	var s server.StatsReply
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/bench/stats?settle=1", nil)
	resp, err := r.hc.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// --- row 2 -----------------------------------------------------------------

func (r *runner) memory(ctx context.Context) error {
	r.logf("== row 2: server RSS per idle joined connection")
	row := &report.MemoryRow{}
	r.res.Memory = row
	// Each system gets a fresh process; connections come from a lean loader
	// spread over 127.0.x.y source addresses.
	capacity := int(r.res.NoFile) - 500
	var counts []int
	for _, n := range r.plan.memCounts {
		if n > capacity {
			row.NotRun = append(row.NotRun, fmt.Sprintf("%d connections: RLIMIT_NOFILE is %d here and cannot be raised (no CAP_SYS_RESOURCE); measured at %d instead", n, r.res.NoFile, capacity))
			if len(counts) == 0 || counts[len(counts)-1] < capacity {
				counts = append(counts, capacity)
			}
			continue
		}
		counts = append(counts, n)
	}
	var err error
	if row.Ours, err = r.memSystem(ctx, "ours", "bench-server", "127.0.1.1", counts); err != nil {
		return err
	}
	if row.Baseline, err = r.memSystem(ctx, "echo", "bench-baseline", "127.0.2.1", counts); err != nil {
		return err
	}
	if r.cfg.peer {
		if row.Centrifuge, err = r.memSystem(ctx, load.Centrifuge, "bench-centrifuge", "127.0.3.1", counts); err != nil {
			return err
		}
	}
	// The engine alone, in-process, at the largest count asked for.
	r.logf("   engine in-process: %d sessions joined to counter:idle", r.plan.engineN)
	p, err := r.start("inproc-scale", "bench-inproc", "scale", "-n", strconv.Itoa(r.plan.engineN))
	if err != nil {
		return err
	}
	defer p.stop()
	deadline := time.Now().Add(r.plan.engineTimeout)
	var last inproc.ScaleResult
	for {
		var s inproc.ScaleResult
		if err := p.next(ctx, time.Until(deadline), &s); err != nil {
			last.Error = fmt.Sprintf("not finished within %v: %d of %d joined after %.0f s", r.plan.engineTimeout, last.Joined, last.Want, last.Seconds)
			p.cmd.Process.Kill()
			break
		}
		last = s
		if s.Event == "done" {
			break
		}
	}
	row.Engine = &last
	r.logf("   engine: %d joined in %.1f s, heap %.0f B/session %s", last.Joined, last.Seconds, last.HeapPerSession, last.Error)
	return nil
}

func (r *runner) memSystem(ctx context.Context, kind, bin, src string, counts []int) ([]report.MemPoint, error) {
	srv, ready, err := r.startServer(ctx, "mem-"+kind+"-server", bin)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	before, err := r.stats(ctx, ready.Addr)
	if err != nil {
		return nil, err
	}
	srcn := max(1, (counts[len(counts)-1]+9999)/10000)
	loader, err := r.start("mem-"+kind+"-load", "bench-load", "idle", "-addr", ready.Addr, "-kind", kind,
		"-src", src, "-srcn", strconv.Itoa(srcn))
	if err != nil {
		return nil, err
	}
	defer loader.stop()
	var pts []report.MemPoint
	have := 0
	for i, n := range counts {
		if err := loader.send(fmt.Sprintf("open %d", n-have)); err != nil {
			return pts, err
		}
		var step load.IdleStep
		if err := loader.next(ctx, 10*time.Minute, &step); err != nil {
			return pts, err
		}
		have = step.Conns
		// Let the last joins' callbacks finish before sampling.
		time.Sleep(300 * time.Millisecond)
		after, err := r.stats(ctx, ready.Addr)
		if err != nil {
			return pts, err
		}
		pt := report.MemPoint{Want: n, Conns: step.Conns, Server: after.Conns, OpenSecs: step.Seconds,
			Before: before.Runtime, After: after.Runtime, Errors: step.Errors}
		if c := float64(pt.Conns); c > 0 {
			pt.KiBPerConn = float64(after.RSSKiB-before.RSSKiB) / c
			pt.HeapPer = (float64(after.HeapObjects) - float64(before.HeapObjects)) / c
			pt.StackPer = (float64(after.Stacks) - float64(before.Stacks)) / c
			pt.GorPer = (float64(after.Goroutines) - float64(before.Goroutines)) / c
		}
		pts = append(pts, pt)
		r.logf("   %-10s %6d conns (%.1f s to open): RSS +%d KiB = %.1f KiB/conn (heap %.0f B, stacks %.0f B, %.2f goroutines per conn)",
			kind, pt.Conns, step.Seconds, after.RSSKiB-before.RSSKiB, pt.KiBPerConn, pt.HeapPer, pt.StackPer, pt.GorPer)
		if err := errorsOf(kind+" connections", step.Errors); err != nil {
			return pts, err
		}
		if r.cfg.profiles && i == len(counts)-1 {
			r.saveProfile(ctx, ready.Addr, "/debug/pprof/heap?gc=1", "heap-idle-"+kind+".pprof")
			r.saveProfile(ctx, ready.Addr, "/debug/pprof/goroutine?debug=1", "goroutines-idle-"+kind+".txt")
		}
	}
	return pts, nil
}

// --- row 3 -----------------------------------------------------------------

func (r *runner) fanout(ctx context.Context) error {
	r.logf("== row 3: one broadcast to %d subscribers", r.plan.fanConns)
	row := &report.FanoutRow{}
	r.res.Fanout = row
	// Two passes per system, alternating, pooled: the machine's drift
	// between runs falls on both.
	half := max(r.plan.fanRounds/2, 1)
	args := func(addr, kind string) []string {
		return []string{"fanout", "-addr", addr, "-kind", kind, "-conns", strconv.Itoa(r.plan.fanConns),
			"-rounds", strconv.Itoa(half), "-warmup-rounds", strconv.Itoa(r.plan.fanWarm)}
	}
	var ours, base, cf []load.FanoutResult
	for pass := range 2 {
		var o, b load.FanoutResult
		if err := r.runLoad(ctx, fmt.Sprintf("fanout-ours-%d", pass+1), 10*time.Minute, &o, args(r.srvAddr, "ours")...); err != nil {
			return err
		}
		if err := r.runLoad(ctx, fmt.Sprintf("fanout-echo-%d", pass+1), 10*time.Minute, &b, args(r.baseAddr, "echo")...); err != nil {
			return err
		}
		ours, base = append(ours, o), append(base, b)
		if r.cfAddr != "" {
			var c load.FanoutResult
			if err := r.runLoad(ctx, fmt.Sprintf("fanout-centrifuge-%d", pass+1), 10*time.Minute, &c, args(r.cfAddr, load.Centrifuge)...); err != nil {
				return err
			}
			cf = append(cf, c)
		}
	}
	row.Ours, row.Baseline = load.MergeFanout(ours...), load.MergeFanout(base...)
	if row.Baseline.AllRecv.P50 > 0 {
		row.Ratio = row.Ours.AllRecv.P50 / row.Baseline.AllRecv.P50
	}
	systems := []load.FanoutResult{row.Ours, row.Baseline}
	if len(cf) > 0 {
		c := load.MergeFanout(cf...)
		row.Centrifuge = &c
		if row.Baseline.AllRecv.P50 > 0 {
			row.CentrifugeRatio = c.AllRecv.P50 / row.Baseline.AllRecv.P50
		}
		systems = append(systems, c)
	}
	for _, x := range systems {
		r.logf("   %-10s all received p50 %6.2f ms p99 %6.2f ms (first %5.2f ms, trigger %5.2f ms), lost %d",
			x.Kind, x.AllRecv.P50/1e3, x.AllRecv.P99/1e3, x.First.P50/1e3, x.Trigger.P50/1e3, x.Lost)
		if err := errorsOf(x.Kind, x.Errors); err != nil {
			return err
		}
		if x.AllRecv.N == 0 {
			return fmt.Errorf("%s: no broadcast measured (lost %d)", x.Kind, x.Lost)
		}
	}
	row.Floor = r.floor(ctx)
	if f := row.Floor; f.Error != "" {
		r.logf("   against the floor: %s", f.Error)
	} else {
		r.logf("   against the floor: broadcast ÷ floor, median per run %v → %.2f×", f.Ratios, f.Ratio())
	}
	return nil
}

// floor runs BenchmarkBroadcastVsFloor2000 (bench/micro): the server's
// side of a broadcast against the kernel's floor, in the same iterations.
func (r *runner) floor(ctx context.Context) *report.FloorResult {
	f := &report.FloorResult{Subscribers: 2000, Iterations: 60}
	count := 3
	if r.cfg.quick {
		f.Iterations, count = 10, 1
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		f.Error = "not measured: no go command on PATH"
		return f
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "test", "-run", "^$", "-bench", "^BenchmarkBroadcastVsFloor2000$",
		"-benchtime", fmt.Sprintf("%dx", f.Iterations), "-count", strconv.Itoa(count), "./micro")
	cmd.Dir = r.mod
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.Error = fmt.Sprintf("go test: %v: %s", err, lastLines(out, 5))
		return f
	}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "BenchmarkBroadcastVsFloor2000") {
			continue
		}
		fields := strings.Fields(line)
		for i := 1; i+1 < len(fields); i++ {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			switch fields[i+1] {
			case "ratio-p50":
				f.Ratios = append(f.Ratios, v)
			case "bcast-p50-ms":
				f.BcastMs = append(f.BcastMs, v)
			case "floor-p50-ms":
				f.FloorMs = append(f.FloorMs, v)
			}
		}
	}
	if len(f.Ratios) == 0 {
		f.Error = "go test printed no ratio: " + lastLines(out, 5)
	}
	return f
}

// lastLines is the end of a command's output, for an error.
func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// --- row 4 -----------------------------------------------------------------

func (r *runner) bigState(ctx context.Context) error {
	r.logf("== row 4: one event on a 1 MB state (typed state and livestate.Doc)")
	row := &report.BigStateRow{}
	r.res.BigState = row
	p, err := r.start("inproc-bigstate", "bench-inproc", "bigstate", "-iters", strconv.Itoa(r.plan.bigIters))
	if err != nil {
		return err
	}
	err = p.next(ctx, 5*time.Minute, &row.InProc)
	p.stop()
	if err != nil {
		return err
	}
	if row.InProc.Doc == nil {
		return fmt.Errorf("bench-inproc measured no Doc state")
	}
	// Client round trips over a real socket, one connection per form.
	rt := func(name, topic string, v *load.RoundTripResult) error {
		return r.runLoad(ctx, name, 5*time.Minute, v, "rt", "-addr", r.srvAddr, "-kind", "ours",
			"-conns", "1", "-topic", topic, "-event", "lvs_evt:touch", "-warmup", dur(r.plan.rtWarm), "-dur", dur(r.plan.bigDur))
	}
	if err := rt("rt-big", "big:rt", &row.Client); err != nil {
		return err
	}
	row.DocClient = &load.RoundTripResult{}
	if err := rt("rt-bigdoc", "bigdoc:rt", row.DocClient); err != nil {
		return err
	}
	row.Settle()
	ip := row.InProc
	r.logf("   json.Marshal baseline %.2f ms p50; typed steps: unmarshal %.2f ms, diff %.2f ms; Doc step: Set+TakePatch %.3f ms",
		ip.Marshal.P50/1e3, ip.Unmarshal.P50/1e3, ip.Diff.P50/1e3, ip.Doc.Record.P50/1e3)
	for _, f := range row.Forms() {
		r.logf("   %-11s server %.3f ms p50 (%.3f p99) = %.3f× marshal; client round trip %.2f ms p50 (%.2f p99) = %.2f× marshal",
			f.Label, f.Server.P50/1e3, f.Server.P99/1e3, f.ServerRatio, f.Client.Latency.P50/1e3, f.Client.Latency.P99/1e3, f.ClientRatio)
	}
	r.logf("   verdict on the %s", row.Best)
	if err := errorsOf("typed client", row.Client.Errors); err != nil {
		return err
	}
	if err := errorsOf("Doc client", row.DocClient.Errors); err != nil {
		return err
	}
	if row.Client.Ops == 0 || row.DocClient.Ops == 0 {
		return fmt.Errorf("no client round trip measured (typed %d, Doc %d)", row.Client.Ops, row.DocClient.Ops)
	}
	return nil
}

// --- row 5 -----------------------------------------------------------------

func (r *runner) longPoll(ctx context.Context) error {
	r.logf("== row 5: long-poll, %d sessions exchanging events", r.plan.lpSessions)
	row := &report.LongPollRow{Think: r.plan.lpThink.Seconds()}
	r.res.LongPollR = row
	if err := r.runLoad(ctx, "longpoll", 10*time.Minute, &row.LongPollResult, "longpoll", "-addr", r.srvAddr,
		"-sessions", strconv.Itoa(r.plan.lpSessions), "-dur", dur(r.plan.lpDur), "-think", dur(r.plan.lpThink)); err != nil {
		return err
	}
	if row.Skipped != "" {
		r.logf("   skipped: %s", row.Skipped)
		return nil
	}
	r.logf("   %d/%d joined, %d lost, %d events (%.0f/s), latency p50 %.2f ms p99 %.2f ms",
		row.Joined, row.Sessions, row.Lost, row.Events, row.EventsSec, row.Latency.P50/1e3, row.Latency.P99/1e3)
	if row.Events == 0 {
		return fmt.Errorf("no event measured")
	}
	return nil
}

// --- row 6 -----------------------------------------------------------------

func (r *runner) client(ctx context.Context) error {
	r.logf("== row 6: one process holding %d idle joined client sockets", r.plan.holdConns)
	row := &report.ClientRow{}
	r.res.Client = row
	hold := func(kind string, v *load.HoldResult) error {
		p, err := r.start("hold-"+kind, "bench-load", "hold", "-addr", r.srvAddr, "-kind", kind, "-conns", strconv.Itoa(r.plan.holdConns))
		if err != nil {
			return err
		}
		defer p.stop()
		return p.next(ctx, 10*time.Minute, v)
	}
	if err := hold("client", &row.Client); err != nil {
		return err
	}
	if err := hold("gorilla", &row.Gorilla); err != nil {
		return err
	}
	per := func(h load.HoldResult) (kib, heap, gor float64) {
		if h.Conns == 0 {
			return
		}
		c := float64(h.Conns)
		return float64(h.After.RSSKiB-h.Before.RSSKiB) / c, (float64(h.After.HeapObjects) - float64(h.Before.HeapObjects)) / c,
			(float64(h.After.Goroutines) - float64(h.Before.Goroutines)) / c
	}
	row.ClientKiB, row.ClientHeap, row.ClientGor = per(row.Client)
	row.GorillaKiB, row.GorillaHeap, row.GorillaGor = per(row.Gorilla)
	r.logf("   client  %d sockets: %.1f KiB/socket (heap %.0f B, %.1f goroutines each) in %.1f s",
		row.Client.Conns, row.ClientKiB, row.ClientHeap, row.ClientGor, row.Client.Seconds)
	r.logf("   gorilla %d sockets: %.1f KiB/socket (heap %.0f B, %.1f goroutines each) in %.1f s",
		row.Gorilla.Conns, row.GorillaKiB, row.GorillaHeap, row.GorillaGor, row.Gorilla.Seconds)
	if err := errorsOf("client", row.Client.Errors); err != nil {
		return err
	}
	return errorsOf("gorilla", row.Gorilla.Errors)
}

// --- output ----------------------------------------------------------------

func (r *runner) write() error {
	data, err := json.MarshalIndent(&r.res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(r.cfg.out, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return r.render()
}

// render draws the charts and writes the markdown from r.res.
func (r *runner) render() error {
	charts, err := report.Charts(&r.res, r.cfg.charts)
	if err != nil {
		return fmt.Errorf("charts: %w", err)
	}
	rel := func(p string) string {
		if x, err := filepath.Rel(filepath.Dir(r.cfg.md), p); err == nil {
			return filepath.ToSlash(x)
		}
		return p
	}
	var links []report.Chart
	for _, c := range charts {
		links = append(links, report.Chart{Title: c.Title, Path: rel(c.Path)})
	}
	md := report.Markdown(&r.res, links, rel(r.cfg.out))
	if err := os.WriteFile(r.cfg.md, []byte(md), 0o644); err != nil {
		return err
	}
	r.logf("== results %s; wrote %s and %d charts in %s (run took %.0f s)", r.cfg.out, r.cfg.md, len(charts), r.cfg.charts, r.res.Seconds)
	return nil
}
