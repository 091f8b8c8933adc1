package report

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Chart is one written PNG.
type Chart struct {
	Title string
	Path  string
}

var (
	colOurs     = color.RGBA{R: 0x1f, G: 0x6f, B: 0xd0, A: 0xff}
	colBase     = color.RGBA{R: 0xe0, G: 0x7b, B: 0x00, A: 0xff}
	colTarget   = color.RGBA{R: 0x2e, G: 0x9e, B: 0x44, A: 0xff}
	colPhoenix  = color.RGBA{R: 0x99, G: 0x40, B: 0xb0, A: 0xff}
	colPeer     = color.RGBA{R: 0x7a, G: 0x7a, B: 0x7a, A: 0xff} // centrifuge
	dashed      = []vg.Length{vg.Points(6), vg.Points(4)}
	dotted      = []vg.Length{vg.Points(2), vg.Points(3)}
	chartWidth  = 7 * vg.Inch
	chartHeight = 4.2 * vg.Inch
)

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.X.Label.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.TextStyle.Font.Size = vg.Points(11)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	p.Add(plotter.NewGrid())
	return p
}

func addLine(p *plot.Plot, name string, pts plotter.XYs, c color.Color, dash []vg.Length, marks bool) error {
	if len(pts) == 0 {
		return nil
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.Color, l.Width, l.Dashes = c, vg.Points(2), dash
	p.Add(l)
	if marks {
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		s.GlyphStyle.Color, s.GlyphStyle.Radius, s.GlyphStyle.Shape = c, vg.Points(3), draw.CircleGlyph{}
		p.Add(s)
		p.Legend.Add(name, l, s)
	} else {
		p.Legend.Add(name, l)
	}
	return nil
}

// Charts draws the PNGs of res into dir.
func Charts(res *Results, dir string) ([]Chart, error) {
	var out []Chart
	save := func(p *plot.Plot, file, title string) error {
		path := filepath.Join(dir, file)
		c := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(chartWidth, chartHeight), vgimg.UseDPI(144))}
		p.Draw(draw.New(c))
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if _, err := c.WriteTo(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		out = append(out, Chart{Title: title, Path: path})
		return nil
	}
	if rt := res.RoundTrip; rt != nil && len(rt.Points) > 0 {
		p := newPlot("Event→patch round trip latency vs load", "concurrent connections (closed loop)", "latency (ms)")
		var o50, o99, e50, e99, c50, c99, target plotter.XYs
		var ticks []plot.Tick
		for _, pt := range rt.Points {
			x := float64(pt.Conns)
			if c := pt.Centrifuge; c != nil {
				c50 = append(c50, plotter.XY{X: x, Y: c.Latency.P50 / 1e3})
				c99 = append(c99, plotter.XY{X: x, Y: c.Latency.P99 / 1e3})
			}
			o50 = append(o50, plotter.XY{X: x, Y: pt.Ours.Latency.P50 / 1e3})
			o99 = append(o99, plotter.XY{X: x, Y: pt.Ours.Latency.P99 / 1e3})
			e50 = append(e50, plotter.XY{X: x, Y: pt.Echo.Latency.P50 / 1e3})
			e99 = append(e99, plotter.XY{X: x, Y: pt.Echo.Latency.P99 / 1e3})
			ticks = append(ticks, plot.Tick{Value: x, Label: fmt.Sprint(pt.Conns)})
		}
		target = plotter.XYs{{X: o50[0].X, Y: 2}, {X: o50[len(o50)-1].X, Y: 2}}
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.X.Min, p.X.Max = o50[0].X*0.8, o50[len(o50)-1].X*1.25
		p.Y.Min = 0
		for _, e := range []error{
			addLine(p, "Seance LiveState p99", o99, colOurs, dashed, true),
			addLine(p, "Seance LiveState p50", o50, colOurs, nil, true),
			addLine(p, "raw gorilla echo p99", e99, colBase, dashed, true),
			addLine(p, "raw gorilla echo p50", e50, colBase, nil, true),
			addLine(p, "centrifuge RPC p99", c99, colPeer, dashed, true),
			addLine(p, "centrifuge RPC p50", c50, colPeer, nil, true),
			addLine(p, "target p99 at 32 conns (2 ms)", target, colTarget, dotted, false),
		} {
			if e != nil {
				return out, e
			}
		}
		if err := save(p, "roundtrip-latency.png", "Round-trip latency vs connections"); err != nil {
			return out, err
		}

		p = newPlot("Round trips per second vs load", "concurrent connections (closed loop)", "round trips / s")
		var ot, et, ct plotter.XYs
		for _, pt := range rt.Points {
			ot = append(ot, plotter.XY{X: float64(pt.Conns), Y: pt.Ours.OpsPerSec})
			et = append(et, plotter.XY{X: float64(pt.Conns), Y: pt.Echo.OpsPerSec})
			if c := pt.Centrifuge; c != nil {
				ct = append(ct, plotter.XY{X: float64(pt.Conns), Y: c.OpsPerSec})
			}
		}
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.X.Min, p.X.Max = o50[0].X*0.8, o50[len(o50)-1].X*1.25
		p.Y.Min = 0
		p.Y.Tick.Marker = intTicks{}
		var t70 plotter.XYs
		for _, pt := range et {
			t70 = append(t70, plotter.XY{X: pt.X, Y: 0.7 * pt.Y})
		}
		for _, e := range []error{
			addLine(p, "raw gorilla echo", et, colBase, nil, true),
			addLine(p, "Seance LiveState event→patch", ot, colOurs, nil, true),
			addLine(p, "centrifuge RPC", ct, colPeer, nil, true),
			addLine(p, "target: 0.7 × echo", t70, colTarget, dotted, false),
		} {
			if e != nil {
				return out, e
			}
		}
		if err := save(p, "roundtrip-throughput.png", "Round trips per second vs connections"); err != nil {
			return out, err
		}
	}
	if m := res.Memory; m != nil && len(m.Ours) > 0 {
		p := newPlot("Server memory vs idle joined connections", "idle joined WebSocket connections", "server RSS growth (MiB)")
		pts := func(ms []MemPoint) plotter.XYs {
			xy := plotter.XYs{{X: 0, Y: 0}}
			for _, pt := range ms {
				xy = append(xy, plotter.XY{X: float64(pt.Conns), Y: float64(pt.After.RSSKiB-pt.Before.RSSKiB) / 1024})
			}
			return xy
		}
		ours, base := pts(m.Ours), pts(m.Baseline)
		var cf plotter.XYs
		if len(m.Centrifuge) > 0 {
			cf = pts(m.Centrifuge)
		}
		maxX := ours[len(ours)-1].X
		line := func(kib float64) plotter.XYs {
			return plotter.XYs{{X: 0, Y: 0}, {X: maxX, Y: maxX * kib / 1024}}
		}
		p.X.Min, p.Y.Min = 0, 0
		p.X.Tick.Marker = intTicks{}
		for _, e := range []error{
			addLine(p, "Phoenix 1.8 + live_state (38 KiB/conn, issue 7)", line(38), colPhoenix, dotted, false),
			addLine(p, "Seance LiveState", ours, colOurs, nil, true),
			addLine(p, "raw gorilla, one reader goroutine each", base, colBase, nil, true),
			addLine(p, "centrifuge (connected + subscribed)", cf, colPeer, nil, true),
			addLine(p, "target (10 KiB/conn)", line(10), colTarget, dashed, false),
		} {
			if e != nil {
				return out, e
			}
		}
		if err := save(p, "memory.png", "Server RSS vs idle joined connections"); err != nil {
			return out, err
		}
	}
	if f := res.Fanout; f != nil && f.Ours.AllRecv.N > 0 {
		p := newPlot(fmt.Sprintf("One broadcast to %s subscribers: until all received", num(f.Ours.Conns)), "", "milliseconds")
		w := vg.Points(22)
		vals := func(x FanoutLatencies) plotter.Values { return plotter.Values{x.P50, x.P90, x.P99} }
		ob, err := plotter.NewBarChart(vals(latOf(f.Ours.AllRecv.P50, f.Ours.AllRecv.P90, f.Ours.AllRecv.P99)), w)
		if err != nil {
			return out, err
		}
		bb, err := plotter.NewBarChart(vals(latOf(f.Baseline.AllRecv.P50, f.Baseline.AllRecv.P90, f.Baseline.AllRecv.P99)), w)
		if err != nil {
			return out, err
		}
		ob.Color, ob.LineStyle.Width, ob.Offset = colOurs, 0, -w/2
		bb.Color, bb.LineStyle.Width, bb.Offset = colBase, 0, w/2
		p.Add(ob, bb)
		p.Legend.Add("Seance (fastlane broadcast)", ob)
		p.Legend.Add("raw gorilla, pre-encoded writes", bb)
		top := max(f.Ours.AllRecv.P99, f.Baseline.AllRecv.P99, 5000) / 1e3
		if c := f.Centrifuge; c != nil && c.AllRecv.N > 0 {
			cb, err := plotter.NewBarChart(vals(latOf(c.AllRecv.P50, c.AllRecv.P90, c.AllRecv.P99)), w)
			if err != nil {
				return out, err
			}
			ob.Offset, bb.Offset = -w, 0
			cb.Color, cb.LineStyle.Width, cb.Offset = colPeer, 0, w
			p.Add(cb)
			p.Legend.Add("centrifuge (Node.Publish)", cb)
			top = max(top, c.AllRecv.P99/1e3)
		}
		p.NominalX("p50", "p90", "p99")
		tl, _ := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 5}, {X: 2.5, Y: 5}})
		tl.Color, tl.Width, tl.Dashes = colTarget, vg.Points(2), dashed
		p.Add(tl)
		p.Legend.Add("target p50 (5 ms)", tl)
		if top*1.3 >= 26 {
			ph, _ := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 26}, {X: 2.5, Y: 26}})
			ph.Color, ph.Width, ph.Dashes = colPhoenix, vg.Points(2), dotted
			p.Add(ph)
			p.Legend.Add("Phoenix 1.8 (about 26 ms, issue 7)", ph)
		} else {
			p.Title.Text += " (Phoenix 1.8: 26 ms)"
		}
		p.Legend.Left = false
		p.Y.Min, p.Y.Max = 0, top*1.3
		p.Y.Tick.Marker = intTicks{}
		if err := save(p, "fanout.png", "Broadcast fan-out latency"); err != nil {
			return out, err
		}
	}
	return out, nil
}

// intTicks labels the default ticks as integers with thousands separators.
type intTicks struct{}

func (intTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = num(int(ts[i].Value + 0.5))
		}
	}
	return ts
}

// FanoutLatencies are fan-out percentiles in milliseconds.
type FanoutLatencies struct{ P50, P90, P99 float64 }

func latOf(p50, p90, p99 float64) FanoutLatencies {
	return FanoutLatencies{p50 / 1e3, p90 / 1e3, p99 / 1e3}
}
