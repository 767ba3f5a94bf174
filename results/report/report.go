// Package report turns a directory of txchaos run records — a sweep's, or
// any directory holding record.json files — into a comparison of the
// patterns: charts (each as PNG and SVG, drawn with gonum plot), one
// self-contained HTML page and a Markdown summary for a design review.
//
// The charts, per fault kind of the runs (see scenarios.Sweep): anomalies
// per 100 checkouts against the fault rate, one line per pattern and one
// chart per anomaly class that any pattern showed; the share of runs that
// found anomalies; availability against the fault rate; time to converge
// after healing against the fault rate; and, over all runs, p50 and p99
// checkout latency per pattern, without faults and under them. With more
// than four patterns, availability and time to converge are small
// multiples — a panel per pattern on one zoomed axis — beside a table of
// their figures, since lines that agree lie on each other. A fault kind
// run at one rate only, with no run without faults, has no chart (the
// scorecard shows it), and the page says which.
//
// Runs need not come from a sweep: `txchaos run` records placed by their
// fault profiles are read too. A profile that is no sweep's fault kind at
// one rate (faults at different rates, a scenario's) heads its scorecard
// column a fault per line, under the scenario the runs came from.
//
// A cell of a sweep is a pattern under a fault kind at a rate, over its
// seeds. The report sums a cell's runs (package stats): anomalies per 100
// checkouts are pooled over them, with the exact Poisson 95% interval on
// the count, and the runs that found anomalies are a share of the runs,
// with the Wilson 95% interval; the charts draw both intervals as error
// bars, and the scorecard gives them with the seeds and checkouts each
// cell rests on. Availability, convergence and latency are means over the
// seeds. A cell whose clean runs never landed some fault of its profile
// (results.Evidence) is marked not exercised (✓?), not clean.
//
// Runs of different runtimes are never pooled: the report has a scorecard
// and readings per runtime, and its charts come from the runtime with the
// most runs, which it names.
//
// The HTML page inlines every chart, needs no network and no script, and
// links to the records and to every *.html file beside a record (the
// porcupine visualizations of histories that did not linearize).
package report

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"

	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/results/stats"
)

// Files the report writes into its output directory.
const (
	HTMLFile     = "index.html"
	MarkdownFile = "report.md"
	ChartsDir    = "charts"
)

// Options are how Generate writes a report.
type Options struct {
	// Out is the directory to write into; DIR/report when empty. It is
	// skipped when reading records.
	Out string
	// Title heads the page; "txchaos report" when empty.
	Title string
}

// Report is what Generate wrote.
type Report struct {
	HTML, Markdown string
	// Charts are the charts' base paths: add ".png" or ".svg".
	Charts []string
	// Runs counts the records read.
	Runs int
}

// Generate reads every record under dir and writes the report.
func Generate(dir string, opts Options) (*Report, error) {
	if opts.Out == "" {
		opts.Out = filepath.Join(dir, "report")
	}
	if opts.Title == "" {
		opts.Title = "txchaos report"
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	out, err := filepath.Abs(opts.Out)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	runs, err := load(root, out)
	if err != nil {
		return nil, &InputError{err}
	}
	views := byRuntime(root, runs)
	if err := os.MkdirAll(filepath.Join(out, ChartsDir), 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	secs, err := views[0].charts()
	if err != nil {
		return nil, err
	}
	rep := &Report{HTML: filepath.Join(out, HTMLFile), Markdown: filepath.Join(out, MarkdownFile), Runs: len(runs)}
	for _, s := range secs {
		for _, ch := range append(s.figures, s.charts...) {
			if err := ch.render(filepath.Join(out, ChartsDir)); err != nil {
				return nil, err
			}
			rep.Charts = append(rep.Charts, filepath.Join(out, ChartsDir, ch.name))
		}
	}
	pg := newPage(opts.Title, out, views, secs)
	html, err := pg.html()
	if err != nil {
		return nil, err
	}
	if err := writeFile(rep.HTML, html); err != nil {
		return nil, err
	}
	if err := writeFile(rep.Markdown, pg.markdown()); err != nil {
		return nil, err
	}
	return rep, nil
}

// InputError is an error in what Generate reads: a directory that is
// missing or holds no record, or a record that does not read. Any other
// error of Generate is one writing the report.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// section is a group of charts under one heading.
type section struct {
	title string
	intro string
	// empty lists the anomaly classes no pattern showed here (no chart).
	empty []string
	// figures are the charts of availability and time to converge, which
	// table gives in figures; charts the others.
	figures, charts []*chart
	// table holds the availability and time to converge of the charts,
	// by pattern and rate, to read where lines lie on each other.
	table *valueTable
	// noChart names the fault kinds that have no chart: each pattern ran
	// them at one rate only, with no run without faults to compare.
	noChart []string
}

// valueTable is a table of figures: a row per pattern, a column per rate.
type valueTable struct {
	Caption string
	Head    []string
	Rows    []valueRow
}

type valueRow struct {
	Pattern string
	Cells   []string
}

// charts builds every chart of the report, by section.
func (d *data) charts() ([]*section, error) {
	var secs []*section
	var noChart []string
	for _, kind := range d.kinds {
		s, err := d.kindSection(kind)
		if err != nil {
			return nil, err
		}
		if s != nil {
			secs = append(secs, s)
		} else {
			noChart = append(noChart, d.kindText(kind))
		}
	}
	if len(noChart) > 0 {
		secs = append([]*section{{noChart: noChart}}, secs...)
	}
	lat := &section{title: "Latency", intro: "Checkout latency of attempts answered definitively, per pattern: the mean over cells of each cell's percentile."}
	for _, scope := range []struct {
		name, title string
		faulted     bool
	}{{"latency-no-faults", "Checkout latency without faults", false}, {"latency-under-faults", "Checkout latency under faults (every faulted cell)", true}} {
		rows, p50, p99 := d.latency(scope.faulted)
		if len(rows) == 0 {
			continue
		}
		draw, h, err := barChart(scope.title, "latency (ms)", rows, []bar{
			{name: "p50", fill: rgb(0xCCCCCC), values: p50},
			{name: "p99", fill: rgb(0x333333), values: p99},
		}, "ms")
		if err != nil {
			return nil, err
		}
		lat.charts = append(lat.charts, &chart{name: scope.name, title: scope.title, w: chartW, h: h, draw: draw,
			caption: "Bars: p50 (light) and p99 (dark) in milliseconds, " + clockOf(d.runtime) + "."})
	}
	if len(lat.charts) > 0 {
		secs = append(secs, lat)
	}
	return secs, nil
}

// kindSection is the charts of one fault kind: availability, convergence,
// and one per anomaly class any pattern showed.
func (d *data) kindSection(kind string) (*section, error) {
	rates := d.rates(kind)
	var ticks []plot.Tick
	if d.hasNone {
		ticks = append(ticks, plot.Tick{Value: 0, Label: "0"})
	}
	for _, r := range rates {
		if x := xOf(kind, r); !math.IsNaN(x) {
			label := r
			if durationKind(kind) {
				label = num(x)
			}
			ticks = append(ticks, plot.Tick{Value: x, Label: label})
		}
	}
	points := 0
	for _, p := range d.patterns {
		points = max(points, len(d.series(p, kind)))
	}
	if len(ticks) == 0 || points < 2 {
		// Rates with no place on an axis, or one point a pattern: only
		// the scorecard shows them.
		return nil, nil
	}
	slug := slugOf(kind)
	xlabel := axisLabel(kind)
	s := &section{title: "Under " + kind, intro: fmt.Sprintf("Each point is one cell: %s at one rate of %s on the %s runtime; rate 0 is the cell without faults. Error bars are 95%% intervals.", d.seedNote(), kind, d.runtime)}
	lines := func(f func(*run) float64) []line {
		var out []line
		for i, p := range d.patterns {
			l := line{name: p, style: styleOf(i)}
			for _, g := range d.series(p, kind) {
				l.xs = append(l.xs, g.x())
				l.ys = append(l.ys, g.mean(f))
			}
			out = append(out, l)
		}
		return out
	}
	// intervals is a line per pattern of a cell's interval.
	intervals := func(f func(*group) stats.Interval, scale float64) []line {
		var out []line
		for i, p := range d.patterns {
			l := line{name: p, style: styleOf(i)}
			for _, g := range d.series(p, kind) {
				v := f(g).Scale(scale)
				l.xs, l.ys, l.lo, l.hi = append(l.xs, g.x()), append(l.ys, v.Est), append(l.lo, v.Lo), append(l.hi, v.Hi)
			}
			out = append(out, l)
		}
		return out
	}

	avail := lines(func(r *run) float64 { return 100 * r.fig("availability") })
	ch, err := figureChart("availability-"+slug, "Availability under "+kind, xlabel, "availability (% answered)", "%", ticks, avail, 100,
		"Share of checkout attempts answered definitively (confirmed or rejected) rather than timing out or failing unknown.")
	if err != nil {
		return nil, err
	}
	s.figures = append(s.figures, ch)

	conv := lines(func(r *run) float64 { return r.fig("converge_ms") })
	ch, err = figureChart("converge-"+slug, "Time to converge after healing, "+kind, xlabel, "time to converge (ms)", " ms", ticks, conv, math.NaN(),
		"From healing the world to rest: every order terminal, no pending work, the consumer caught up. A run that never got there counts the whole quiet period.")
	if err != nil {
		return nil, err
	}
	s.figures = append(s.figures, ch)
	s.table = valuesTable(ticks, avail, conv)

	share := intervals(func(g *group) stats.Interval { return g.cell.RunsWithAnomalies() }, 100)
	if slices.ContainsFunc(share, func(l line) bool { return anyPositive(l.ys) }) {
		title := "Runs with anomalies under " + kind
		draw, err := lineChart(title, xlabel, "runs with anomalies (%)", ticks, share, 100, nil)
		if err != nil {
			return nil, err
		}
		s.charts = append(s.charts, &chart{name: "runs-with-anomalies-" + slug, title: title, w: chartW, h: chartH, draw: draw,
			caption: "Share of a cell's runs (seeds) that found any anomaly, with its 95% Wilson interval."})
	}

	for _, class := range d.classes {
		all := intervals(func(g *group) stats.Interval { return g.per100(class) }, 1)
		var shown []line
		var zero []string
		for _, l := range all {
			if anyPositive(l.ys) {
				shown = append(shown, l)
			} else if len(l.xs) > 0 {
				zero = append(zero, l.name)
			}
		}
		if len(shown) == 0 {
			s.empty = append(s.empty, class)
			continue
		}
		var notes []string
		if len(zero) > 0 {
			notes = append([]string{"0 at every rate:"}, zero...)
		}
		title := class + " under " + kind
		draw, err := lineChart(title, xlabel, class+" per 100 checkouts", ticks, shown, math.NaN(), notes)
		if err != nil {
			return nil, err
		}
		s.charts = append(s.charts, &chart{name: "anomaly-" + class + "-" + slug, title: title, w: chartW, h: chartH, draw: draw,
			caption: fmt.Sprintf("%s found by the checker per 100 checkouts placed, over a cell's seeds, with the exact Poisson 95%% interval on the count. Patterns at 0 everywhere are listed under the legend.", class)})
	}
	return s, nil
}

func anyPositive(xs []float64) bool {
	for _, x := range xs {
		if x > 0 {
			return true
		}
	}
	return false
}

// seedNote says how many seeds a point rests on.
func (d *data) seedNote() string {
	lo, hi := 0, 0
	for _, g := range d.groups {
		n := len(g.cell.Seeds)
		if lo == 0 || n < lo {
			lo = n
		}
		hi = max(hi, n)
	}
	switch {
	case hi == 1:
		return "one seed"
	case lo == hi:
		return fmt.Sprintf("%d seeds", hi)
	default:
		return fmt.Sprintf("%d to %d seeds", lo, hi)
	}
}

// latency is p50 and p99 per pattern over the fault-free or the faulted
// cells; rows without either are left out.
func (d *data) latency(faulted bool) (rows []string, p50, p99 []float64) {
	for _, p := range d.patterns {
		var a, b, n float64
		for _, g := range d.groups {
			if g.pattern != p || (g.kind != "none") != faulted {
				continue
			}
			x, y := g.mean(func(r *run) float64 { return r.fig("latency_p50_ms") }), g.mean(func(r *run) float64 { return r.fig("latency_p99_ms") })
			if math.IsNaN(x) || math.IsNaN(y) {
				continue
			}
			a, b, n = a+x, b+y, n+1
		}
		if n > 0 {
			rows, p50, p99 = append(rows, p), append(p50, a/n), append(p99, b/n)
		}
	}
	return rows, p50, p99
}

// axisLabel names a fault kind's rate axis with its unit.
func axisLabel(kind string) string {
	name, target, _ := strings.Cut(kind, ":")
	switch {
	case strings.Contains(kind, "+"):
		return kind + ": each fault at this rate"
	case name == "latency":
		return "latency added per request (ms)"
	case name == "partition":
		return "partition window (ms)"
	case name == "crashpoint" && target == "":
		return "crash probability at each crash point"
	case name == "crashpoint":
		return "crash probability at " + target
	case target != "":
		return name + " probability per request (" + target + ")"
	default:
		return name + " probability per request"
	}
}

// slugOf is a fault kind as a file name.
func slugOf(kind string) string {
	return strings.NewReplacer(":", "@", "/", "-", " ", "", "=", "-", ",", "_").Replace(kind)
}

// figureChart is the chart of a figure per pattern against the rate: one
// line chart, or with more than manyLines patterns small multiples on a
// zoomed axis (see multiples), whose caption says the axis's range.
func figureChart(name, title, xlabel, ylabel, unit string, ticks []plot.Tick, lines []line, top float64, caption string) (*chart, error) {
	if len(lines) <= manyLines {
		draw, err := lineChart(title, xlabel, ylabel, ticks, lines, top, nil)
		if err != nil {
			return nil, err
		}
		return &chart{name: name, title: title, w: chartW, h: chartH, draw: draw, caption: caption}, nil
	}
	draw, h, yr, err := multiples(title, xlabel, ylabel, ticks, lines, top)
	if err != nil {
		return nil, err
	}
	caption = fmt.Sprintf("A panel per pattern, its line in colour over the others in gray, on one axis from %s%s to %s%s. ",
		num(yr[0]), unit, num(yr[1]), unit) + caption + " The table below gives the figures."
	return &chart{name: name, title: title, w: 2 * chartW, h: h, draw: draw, caption: caption, wide: true}, nil
}

// valuesTable is availability and time to converge by pattern and rate.
func valuesTable(ticks []plot.Tick, avail, conv []line) *valueTable {
	t := &valueTable{Caption: "Availability (% of attempts answered) · time to converge after healing (ms), the mean over a cell's seeds.",
		Head: []string{"pattern"}}
	for _, tk := range ticks {
		t.Head = append(t.Head, "rate "+tk.Label)
	}
	at := func(l line, x float64) float64 {
		for i := range l.xs {
			if l.xs[i] == x {
				return l.ys[i]
			}
		}
		return math.NaN()
	}
	for i := range avail {
		row := valueRow{Pattern: avail[i].name}
		for _, tk := range ticks {
			a, c := at(avail[i], tk.Value), at(conv[i], tk.Value)
			cell := "–"
			if !math.IsNaN(a) || !math.IsNaN(c) {
				cell = pct(a/100) + " · " + msOrDash(c)
			}
			row.Cells = append(row.Cells, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// clockOf says what a runtime's times are measured on.
func clockOf(runtime string) string {
	if runtime == results.RuntimeDet {
		return "on the det runtime's virtual clock (the simulation's time, not the machine's)"
	}
	return "wall clock on the " + runtime + " runtime"
}
