package report

import (
	"bytes"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart geometry: 16 × 10 cm, text 9 to 13 pt.
const (
	chartW = 16 * vg.Centimeter
	chartH = 10 * vg.Centimeter
)

// dpi is the PNGs' resolution: twice a screen's, so that a chart shown
// 16 cm wide stays sharp on a laptop's display. (Tests under the race
// detector lower it: rasterizing is slow there.)
var dpi = 192

var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// chart is one figure of the report.
type chart struct {
	name    string // file name, without extension
	title   string
	caption string
	w, h    vg.Length
	draw    func(c draw.Canvas)
	png     []byte // filled in by render
	// wide charts take the page's width (small multiples).
	wide bool
}

// render draws the chart as PNG and SVG into dir.
func (ch *chart) render(dir string) error {
	img := vgimg.NewWith(vgimg.UseWH(ch.w, ch.h), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	ch.draw(draw.New(img))
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img.Image()); err != nil {
		return fmt.Errorf("chart %s: %w", ch.name, err)
	}
	ch.png = buf.Bytes()
	svg := vgsvg.New(ch.w, ch.h)
	ch.draw(draw.New(svg))
	var svgBuf bytes.Buffer
	if _, err := svg.WriteTo(&svgBuf); err != nil {
		return fmt.Errorf("chart %s: %w", ch.name, err)
	}
	for ext, b := range map[string][]byte{".png": ch.png, ".svg": svgBuf.Bytes()} {
		if err := writeFile(filepath.Join(dir, ch.name+ext), b); err != nil {
			return err
		}
	}
	return nil
}

// style is how one pattern is drawn in every chart of a report: a color,
// a dash pattern and a marker, all three different from its neighbours'
// so that the lines stay apart in a grayscale printout.
type style struct {
	color  color.Color
	dashes []vg.Length
	glyph  draw.GlyphDrawer
}

var (
	// palette is Okabe and Ito's colour-blind-safe set (yellow swapped
	// for darker tones that show on white), then two more.
	palette = []color.Color{
		rgb(0x000000), rgb(0xE69F00), rgb(0x0072B2), rgb(0x009E73), rgb(0xD55E00),
		rgb(0x56B4E9), rgb(0xCC79A7), rgb(0x882255), rgb(0x777777), rgb(0x44AA99),
	}
	dashes = [][]vg.Length{
		nil,
		{vg.Points(7), vg.Points(3)},
		{vg.Points(2), vg.Points(2)},
		{vg.Points(9), vg.Points(3), vg.Points(2), vg.Points(3)},
		{vg.Points(14), vg.Points(4)},
	}
	glyphs = []draw.GlyphDrawer{
		draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{},
		draw.RingGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.PlusGlyph{},
	}
	gridGray = rgb(0xDDDDDD)
	noteGray = rgb(0x555555)
)

func rgb(v uint32) color.Color {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xFF}
}

func styleOf(i int) style {
	return style{color: palette[i%len(palette)], dashes: dashes[i%len(dashes)], glyph: glyphs[i%len(glyphs)]}
}

func textStyle(size vg.Length, c color.Color) text.Style {
	return text.Style{Color: c, Font: font.From(sans, size), Handler: plot.DefaultTextHandler}
}

// newPlot is a plot with the report's fonts, a light grid and labels.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, 13)
	p.Title.Padding = vg.Points(8)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 11)
		a.Tick.Label.Font = font.From(sans, 10)
		a.Label.Padding = vg.Points(4)
	}
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	p.X.Tick.Marker, p.Y.Tick.Marker = numTicks{}, numTicks{}
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = gridGray, gridGray
	p.Add(g)
	return p
}

// newLegend is a legend for the right-hand margin.
func newLegend() plot.Legend {
	l := plot.NewLegend()
	l.TextStyle = textStyle(10, color.Black)
	l.ThumbnailWidth = vg.Points(30)
	l.Top, l.Left = true, true
	l.Padding = vg.Points(3)
	return l
}

// titled draws title across the top of c, left-aligned, inside a 6-point
// margin, and returns the canvas below it, gap lower.
func titled(c draw.Canvas, title string, gap vg.Length) draw.Canvas {
	m := vg.Points(6)
	c = draw.Crop(c, m, -m, m, -m)
	sty := textStyle(13, color.Black)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YTop
	c.FillText(sty, vg.Point{X: c.Min.X, Y: c.Max.Y}, title)
	return draw.Crop(c, 0, 0, 0, -(sty.Height(title) + gap))
}

// withLegend draws p's title across the top, left-aligned, then p with
// its legend and notes in a column at the right, never over the data.
func withLegend(p *plot.Plot, leg plot.Legend, notes []string) func(draw.Canvas) {
	title := p.Title.Text
	p.Title.Text = ""
	return func(c draw.Canvas) {
		c = titled(c, title, vg.Points(10))

		noteSty := textStyle(9, noteGray)
		noteSty.XAlign, noteSty.YAlign = draw.XLeft, draw.YTop
		legW := leg.Rectangle(c).Size().X
		for _, n := range notes {
			legW = max(legW, noteSty.Width(n))
		}
		gap := vg.Points(10)
		p.Draw(draw.Crop(c, 0, -(legW + 2*gap), 0, 0))
		lc := draw.Crop(c, c.Size().X-legW-gap, -gap, 0, 0)
		leg.Draw(lc)
		y := lc.Max.Y - leg.Rectangle(lc).Size().Y - vg.Points(14)
		for _, n := range notes {
			c.FillText(noteSty, vg.Point{X: lc.Min.X, Y: y}, n)
			y -= noteSty.Height(n) + vg.Points(2)
		}
	}
}

// line is one pattern's series in a line chart; lo and hi, when set, are
// each point's 95% interval, drawn as an error bar.
type line struct {
	name           string
	style          style
	xs, ys, lo, hi []float64
}

// errorBars are a line's points with their intervals, for YErrorBars.
type errorBars struct {
	plotter.XYs
	lo, hi []float64
}

// YError implements plotter.YErrorer: the distances to the bounds.
func (e errorBars) YError(i int) (float64, float64) {
	return e.XYs[i].Y - e.lo[i], e.hi[i] - e.XYs[i].Y
}

// lineChart plots lines over ticks at the rates; ymax, when not NaN, fixes
// the top of the y axis. notes go under the legend. Lines with intervals
// are nudged apart along x, so that their error bars do not cover each
// other.
func lineChart(title, xlabel, ylabel string, ticks []plot.Tick, lines []line, ymax float64, notes []string) (func(draw.Canvas), error) {
	p := newPlot(title, xlabel, ylabel)
	leg := newLegend()
	span := 0.0
	if len(ticks) > 0 {
		span = ticks[len(ticks)-1].Value - ticks[0].Value
	}
	for k, l := range lines {
		nudge := 0.0
		if l.lo != nil {
			nudge = (float64(k) - float64(len(lines)-1)/2) * span * 0.015
		}
		var bars errorBars
		for i := range l.xs {
			if math.IsNaN(l.ys[i]) {
				continue
			}
			bars.XYs = append(bars.XYs, plotter.XY{X: l.xs[i] + nudge, Y: l.ys[i]})
			if l.lo != nil {
				bars.lo, bars.hi = append(bars.lo, l.lo[i]), append(bars.hi, l.hi[i])
			}
		}
		if len(bars.XYs) == 0 {
			continue
		}
		ln, pts, err := plotter.NewLinePoints(bars.XYs)
		if err != nil {
			return nil, fmt.Errorf("chart %q: %w", title, err)
		}
		ln.LineStyle = draw.LineStyle{Color: l.style.color, Width: vg.Points(1.6), Dashes: l.style.dashes}
		pts.GlyphStyle = draw.GlyphStyle{Color: l.style.color, Radius: vg.Points(3.2), Shape: l.style.glyph}
		if l.lo != nil {
			eb, err := plotter.NewYErrorBars(bars)
			if err != nil {
				return nil, fmt.Errorf("chart %q: %w", title, err)
			}
			eb.LineStyle = draw.LineStyle{Color: l.style.color, Width: vg.Points(1)}
			eb.CapWidth = vg.Points(6)
			p.Add(eb)
		}
		p.Add(ln, pts)
		leg.Add(l.name, ln, pts)
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min = min(p.X.Min, 0)
	if len(ticks) > 0 {
		p.X.Max = max(p.X.Max, ticks[len(ticks)-1].Value)
	}
	p.Y.Min = 0
	if !math.IsNaN(ymax) {
		p.Y.Max = ymax
		var ts []plot.Tick
		for i := 0; i <= 20; i++ {
			v := ymax * float64(i) / 20
			t := plot.Tick{Value: v}
			if i%4 == 0 {
				t.Label = num(v)
			}
			ts = append(ts, t)
		}
		p.Y.Tick.Marker = plot.ConstantTicks(ts)
	} else {
		p.Y.Max = niceMax(p.Y.Max * 1.05)
	}
	return withLegend(p, leg, notes), nil
}

// bar is one bar series of a horizontal bar chart.
type bar struct {
	name   string
	fill   color.Color
	values []float64
}

// barChart draws horizontal bars, one group per row name, the values
// written at the bars' ends.
func barChart(title, xlabel string, rows []string, bars []bar, unit string) (func(draw.Canvas), vg.Length, error) {
	h := max(6.5*vg.Centimeter, 2.5*vg.Centimeter+vg.Length(len(rows))*vg.Centimeter)
	p := newPlot(title, xlabel, "")
	p.Y.Tick.Label.Font = font.From(sans, 10)
	leg := newLegend()
	rowH := (h - 2.5*vg.Centimeter) / vg.Length(len(rows))
	width := rowH * 0.8 / vg.Length(len(bars))
	maxV := 0.0
	for i, b := range bars {
		vals := make(plotter.Values, len(rows))
		var xys plotter.XYs
		var labels []string
		for r := range rows {
			// Rows go top to bottom: row r sits at y = len-1-r.
			v := b.values[r]
			y := float64(len(rows) - 1 - r)
			if math.IsNaN(v) {
				v = 0
				labels = append(labels, "–")
			} else {
				labels = append(labels, fmt.Sprintf("%s %s", num(v), unit))
			}
			vals[int(y)] = v
			xys = append(xys, plotter.XY{X: v, Y: y})
			maxV = max(maxV, v)
		}
		bc, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, 0, fmt.Errorf("chart %q: %w", title, err)
		}
		bc.Horizontal = true
		bc.Color = b.fill
		bc.LineStyle = draw.LineStyle{Color: color.Black, Width: vg.Points(0.6)}
		// The first series on top within a row.
		bc.Offset = (vg.Length(len(bars)-1)/2 - vg.Length(i)) * width
		lbl, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return nil, 0, fmt.Errorf("chart %q: %w", title, err)
		}
		for j := range lbl.TextStyle {
			lbl.TextStyle[j] = textStyle(9, color.Black)
			lbl.TextStyle[j].YAlign = draw.YCenter
		}
		lbl.Offset = vg.Point{X: vg.Points(3), Y: bc.Offset}
		p.Add(bc, lbl)
		leg.Add(b.name, bc)
	}
	names := make([]string, len(rows))
	for r, name := range rows {
		names[len(rows)-1-r] = name
	}
	p.NominalY(names...)
	p.X.Min = 0
	p.X.Max = max(1, maxV*1.25) // room for the values
	return withLegend(p, leg, nil), h, nil
}

// numTicks are gonum's default ticks labelled without trailing zeros.
type numTicks struct{}

// Ticks implements plot.Ticker.
func (numTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = num(ts[i].Value)
		}
	}
	return ts
}

// niceMax rounds v up to 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a
// power of ten (1 at least), so that the axis ends on a tick.
func niceMax(v float64) float64 {
	if !(v > 1) {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}

// num formats a figure with as many digits as it deserves.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0")
	case a >= 1:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	default:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
	}
}

// writeFile writes b to path through a temporary file renamed into place.
func writeFile(path string, b []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("report: writing %s: %w", path, err)
		}
	}()
	if _, err := f.Write(b); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
