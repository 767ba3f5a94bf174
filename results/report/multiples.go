package report

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Small multiples: a panel per pattern.
const (
	multiplesCols = 5
	panelH        = 5 * vg.Centimeter
	// manyLines is how many lines a chart of availability or time to
	// converge draws at most before it is drawn as small multiples: more
	// lie on top of each other where the patterns agree.
	manyLines = 4
)

var contextGray = rgb(0xC8C8C8)

// multiples draws lines as small multiples, a panel per line: the panel's
// line in its colour over every other line in light gray, on one y axis
// zoomed to the data (top, when not NaN, fixes its top), so that lines
// that lie on each other in one chart — eight patterns near 100%
// availability — are told apart. It returns the drawing, its height and
// the y axis's range.
func multiples(title, xlabel, ylabel string, ticks []plot.Tick, lines []line, top float64) (func(draw.Canvas), vg.Length, [2]float64, error) {
	lo, hi := yRange(lines, top)
	cols := min(multiplesCols, len(lines))
	rows := (len(lines) + cols - 1) / cols
	plots := make([][]*plot.Plot, rows)
	for r := range plots {
		plots[r] = make([]*plot.Plot, cols)
	}
	for i, l := range lines {
		p := newPlot(l.name, "", "")
		p.Title.TextStyle.Font = font.From(sans, 10)
		p.Title.Padding = vg.Points(3)
		for _, a := range []*plot.Axis{&p.X, &p.Y} {
			a.Tick.Label.Font = font.From(sans, 8)
		}
		if i%cols == 0 {
			// A label longer than the panel is tall would run over the
			// chart's title: "availability (% answered)" takes two lines.
			p.Y.Label.Text = strings.Replace(ylabel, " (", "\n(", 1)
			p.Y.Label.TextStyle.Font = font.From(sans, 9)
		}
		if i/cols == rows-1 || i+cols >= len(lines) {
			p.X.Label.Text = xlabel
			p.X.Label.TextStyle.Font = font.From(sans, 9)
		}
		for _, other := range append(lines[:i:i], lines[i+1:]...) {
			if xy := points(other); len(xy) > 0 {
				ln, err := plotter.NewLine(xy)
				if err != nil {
					return nil, 0, [2]float64{}, fmt.Errorf("chart %q: %w", title, err)
				}
				ln.LineStyle = draw.LineStyle{Color: contextGray, Width: vg.Points(1)}
				p.Add(ln)
			}
		}
		if xy := points(l); len(xy) > 0 {
			ln, pts, err := plotter.NewLinePoints(xy)
			if err != nil {
				return nil, 0, [2]float64{}, fmt.Errorf("chart %q: %w", title, err)
			}
			ln.LineStyle = draw.LineStyle{Color: l.style.color, Width: vg.Points(2)}
			pts.GlyphStyle = draw.GlyphStyle{Color: l.style.color, Radius: vg.Points(2.6), Shape: l.style.glyph}
			p.Add(ln, pts)
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.X.Min = min(p.X.Min, 0)
		if len(ticks) > 0 {
			p.X.Max = max(p.X.Max, ticks[len(ticks)-1].Value)
		}
		p.Y.Min, p.Y.Max = lo, hi
		plots[i/cols][i%cols] = p
	}
	h := vg.Centimeter + vg.Length(rows)*panelH
	return func(c draw.Canvas) {
		c = titled(c, title, vg.Points(8))
		tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(10), PadY: vg.Points(10)}
		canvases := plot.Align(plots, tiles, c)
		for r := range plots {
			for k, p := range plots[r] {
				if p != nil {
					p.Draw(canvases[r][k])
				}
			}
		}
	}, h, [2]float64{lo, hi}, nil
}

// points are a line's points that have a value.
func points(l line) plotter.XYs {
	var xy plotter.XYs
	for i := range l.xs {
		if !math.IsNaN(l.ys[i]) {
			xy = append(xy, plotter.XY{X: l.xs[i], Y: l.ys[i]})
		}
	}
	return xy
}

// yRange is a y axis for the values of lines: from a round number below
// the least, so that values close together are told apart, to top (when
// not NaN) or a round number above the greatest.
func yRange(lines []line, top float64) (lo, hi float64) {
	least, most := math.Inf(1), math.Inf(-1)
	for _, l := range lines {
		for _, y := range l.ys {
			if !math.IsNaN(y) {
				least, most = min(least, y), max(most, y)
			}
		}
	}
	if math.IsInf(least, 0) {
		return 0, 1
	}
	hi = top
	if math.IsNaN(top) {
		hi = niceMax(most * 1.05)
	}
	span := hi - least
	if span <= 0 {
		span = max(hi/10, 1)
	}
	step := niceStep(span / 4)
	lo = math.Floor((least-span/10)/step) * step
	return max(lo, 0), hi
}

// niceStep rounds v up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if !(v > 0) {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}
