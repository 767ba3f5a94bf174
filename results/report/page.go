package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/txchaos/txchaos/results"
)

// page is what the HTML and Markdown renderings are made of.
type page struct {
	Title, Source, Generated string
	Runs, Patterns           int
	Kinds                    []kindHead
	Columns                  []column
	Rows                     []scoreRow
	Readings                 []reading
	Sections                 []pageSection
	Reads                    []readsRow
	ReadsIntro               string
	Histories                []historyRow
	AllRuns                  []runRow
	Classes                  []string
}

type kindHead struct {
	Name string
	Span int
}

type column struct{ Kind, Rate, Label string }

type scoreRow struct {
	Pattern string
	Cells   []scoreCell
}

type scoreCell struct {
	Text, Class, Title string
}

type reading struct{ Pattern, Text string }

type pageSection struct {
	Title, Intro, Empty string
	Charts              []pageChart
}

type pageChart struct {
	Name, Title, Caption string
	PNG                  template.URL
	PNGPath, SVGPath     string
}

type historyRow struct {
	ID    string
	Links []link
}

type link struct{ Href, Text string }

type runRow struct {
	ID, Record, Pattern, Faults, Rate, Verdict string
	Seed                                       int64
	Anomalies, Stale, Availability, P50, P99   string
	Conv                                       string
}

// maxHistoryLinks is how many history files of one run the page links to
// by name; the run's directory holds the rest.
const maxHistoryLinks = 4

// page assembles the page; out is the directory it is written to (links
// are relative to it).
func (d *data) page(title, out string, secs []*section) *page {
	pg := &page{Title: title, Source: d.root, Generated: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Runs: len(d.runs), Patterns: len(d.patterns), Classes: d.classes}
	if d.hasNone {
		pg.Columns = append(pg.Columns, column{Kind: "none", Rate: "0", Label: "no faults"})
		pg.Kinds = append(pg.Kinds, kindHead{Name: "", Span: 1})
	}
	for _, k := range d.kinds {
		rates := d.rates(k)
		pg.Kinds = append(pg.Kinds, kindHead{Name: k, Span: len(rates)})
		for _, r := range rates {
			pg.Columns = append(pg.Columns, column{Kind: k, Rate: r, Label: r})
		}
	}
	for _, p := range d.patterns {
		row := scoreRow{Pattern: p}
		for _, c := range pg.Columns {
			row.Cells = append(row.Cells, d.scoreCell(d.groups[[3]string{p, c.Kind, c.Rate}]))
		}
		pg.Rows = append(pg.Rows, row)
		pg.Readings = append(pg.Readings, reading{Pattern: p, Text: d.reading(p)})
	}
	rel := func(path string) string {
		r, err := filepath.Rel(out, path)
		if err != nil {
			return filepath.ToSlash(path)
		}
		return filepath.ToSlash(r)
	}
	for _, s := range secs {
		ps := pageSection{Title: s.title, Intro: s.intro}
		if len(s.empty) > 0 {
			ps.Empty = "No pattern showed " + joinOr(s.empty) + " here at any rate: no chart."
		}
		for _, ch := range s.charts {
			ps.Charts = append(ps.Charts, pageChart{
				Name: ch.name, Title: ch.title, Caption: ch.caption,
				PNG:     template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(ch.png)),
				PNGPath: ChartsDir + "/" + ch.name + ".png", SVGPath: ChartsDir + "/" + ch.name + ".svg",
			})
		}
		pg.Sections = append(pg.Sections, ps)
	}
	for _, r := range d.runs {
		if len(r.histories) > 0 {
			h := historyRow{ID: r.id}
			for i, f := range r.histories {
				if i == maxHistoryLinks {
					h.Links = append(h.Links, link{Href: rel(r.dir) + "/", Text: fmt.Sprintf("all %d in the run's directory", len(r.histories))})
					break
				}
				h.Links = append(h.Links, link{Href: rel(f), Text: filepath.Base(f)})
			}
			pg.Histories = append(pg.Histories, h)
		}
		total := 0
		for _, n := range r.anom {
			total += n
		}
		pg.AllRuns = append(pg.AllRuns, runRow{
			ID: r.id, Record: rel(r.record), Pattern: r.pattern, Faults: r.faults, Rate: r.rate, Seed: r.seed, Verdict: r.verdict,
			Anomalies: fmt.Sprint(total), Stale: staleText(r.reads), Availability: pct(r.fig("availability")),
			P50: msOrDash(r.fig("latency_p50_ms")), P99: msOrDash(r.fig("latency_p99_ms")), Conv: msOrDash(r.fig("converge_ms")),
		})
	}
	pg.Reads, pg.ReadsIntro = d.readsRows(), readsIntro
	return pg
}

// scoreCell is one cell of the scorecard: ✓ when every seed was clean, ✗
// and anomalies per 100 checkouts when some found anomalies, ? when some
// verdict is unknown.
func (d *data) scoreCell(g *group) scoreCell {
	if g == nil {
		return scoreCell{Text: "–", Class: "none", Title: "not run"}
	}
	clean, anom, unknown := g.verdicts()
	n := len(g.runs)
	var detail []string
	for _, c := range d.classes {
		k := 0
		for _, r := range g.runs {
			k += r.anom[c]
		}
		if k > 0 {
			detail = append(detail, fmt.Sprintf("%s %d", c, k))
		}
	}
	seeds := ""
	if n > 1 {
		seeds = fmt.Sprintf(" (%d/%d)", anom, n)
	}
	switch {
	case anom > 0:
		v := g.mean(func(r *run) float64 { return r.per100("") })
		class := "bad1"
		switch {
		case v >= 10:
			class = "bad3"
		case v >= 1:
			class = "bad2"
		}
		return scoreCell{Text: "✗ " + num(v) + seeds, Class: class,
			Title: fmt.Sprintf("%d of %d runs with anomalies, %s per 100 checkouts: %s", anom, n, num(v), strings.Join(detail, ", "))}
	case unknown > 0:
		return scoreCell{Text: "?", Class: "unknown", Title: fmt.Sprintf("%d of %d runs with verdict unknown", unknown, n)}
	default:
		return scoreCell{Text: "✓", Class: "ok", Title: fmt.Sprintf("%d of %d runs clean", clean, n)}
	}
}

// reading says in a few sentences what the numbers of a pattern say:
// the anomalies under each fault kind at its highest rate, availability
// with and without faults, and whether the world came to rest.
func (d *data) reading(pattern string) string {
	var sentences []string
	base := d.groups[[3]string{pattern, "none", "0"}]
	if base != nil {
		if v := base.mean(func(r *run) float64 { return r.per100("") }); v > 0 {
			sentences = append(sentences, fmt.Sprintf("Anomalies even without faults: %s (%s per 100 checkouts)", d.classesOf([]*group{base}), num(v)))
		}
	}
	var cleanKinds []string
	for _, k := range d.kinds {
		var gs []*group
		for _, r := range d.rates(k) {
			if g := d.groups[[3]string{pattern, k, r}]; g != nil {
				gs = append(gs, g)
			}
		}
		if len(gs) == 0 {
			continue
		}
		if s := d.anomalyReading(k, gs); s != "" {
			sentences = append(sentences, s)
		} else {
			cleanKinds = append(cleanKinds, k)
		}
	}
	if len(cleanKinds) > 0 {
		clean := "No anomalies at any rate of " + joinOr(cleanKinds)
		if len(sentences) > 0 && strings.HasPrefix(sentences[0], "Anomalies even without faults") {
			clean = "None under " + joinOr(cleanKinds) + " at rates above 0"
			sentences = append(sentences[:1], append([]string{clean}, sentences[1:]...)...)
		} else {
			sentences = append([]string{clean}, sentences...)
		}
	}
	if a := d.availabilityReading(pattern, base); a != "" {
		sentences = append(sentences, a)
	}
	if c := d.convergeReading(pattern); c != "" {
		sentences = append(sentences, c)
	}
	if n := d.count(pattern, func(r *run) bool { return r.verdict == results.VerdictUnknown }); n > 0 {
		sentences = append(sentences, fmt.Sprintf("Verdict unknown in %d runs: some check could not be made", n))
	}
	return strings.Join(sentences, ". ") + "."
}

// anomalyReading names the classes found under kind, largest first, each
// at its peak rate, and the rate the first was seen at; "" when none was.
func (d *data) anomalyReading(kind string, gs []*group) string {
	type found struct {
		class      string
		peak       float64
		peakRate   string
		firstIndex int
	}
	var fs []found
	first := len(gs)
	for _, c := range d.classes {
		per := func(r *run) float64 { return r.per100(c) }
		f := found{class: c, firstIndex: -1}
		for i, g := range gs {
			if v := g.mean(per); v > 0 {
				if f.firstIndex < 0 {
					f.firstIndex = i
				}
				if v >= f.peak {
					f.peak, f.peakRate = v, g.rate
				}
			}
		}
		if f.firstIndex >= 0 {
			fs = append(fs, f)
			first = min(first, f.firstIndex)
		}
	}
	if len(fs) == 0 {
		return ""
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].peak > fs[j].peak })
	shown := fs[:min(3, len(fs))]
	samePeak := true
	for _, f := range shown {
		samePeak = samePeak && f.peakRate == shown[0].peakRate
	}
	var parts []string
	for _, f := range shown {
		if samePeak {
			parts = append(parts, fmt.Sprintf("%s %s", f.class, num(f.peak)))
		} else {
			parts = append(parts, fmt.Sprintf("%s %s at %s", f.class, num(f.peak), f.peakRate))
		}
	}
	s := "Under " + kind
	if samePeak {
		s += " at " + shown[0].peakRate
	}
	s += ": " + strings.Join(parts, ", ") + " per 100 checkouts"
	if len(fs) > 3 {
		s += fmt.Sprintf(" (and %d more %s)", len(fs)-3, plural(len(fs)-3, "class", "classes"))
	}
	if r := gs[first].rate; !samePeak || r != shown[0].peakRate {
		s += ", first seen at " + r
	}
	return s
}

// classesOf lists the classes found in gs with their counts.
func (d *data) classesOf(gs []*group) string {
	var out []string
	for _, c := range d.classes {
		k := 0
		for _, g := range gs {
			for _, r := range g.runs {
				k += r.anom[c]
			}
		}
		if k > 0 {
			out = append(out, fmt.Sprintf("%s %d", c, k))
		}
	}
	return strings.Join(out, ", ")
}

// availabilityReading compares availability at each kind's highest rate
// with the fault-free run.
func (d *data) availabilityReading(pattern string, base *group) string {
	avail := func(g *group) float64 { return g.mean(func(r *run) float64 { return 100 * r.fig("availability") }) }
	var at []string
	for _, k := range d.kinds {
		rates := d.rates(k)
		if len(rates) == 0 {
			continue
		}
		g := d.groups[[3]string{pattern, k, rates[len(rates)-1]}]
		if g == nil || math.IsNaN(avail(g)) {
			continue
		}
		at = append(at, fmt.Sprintf("%s at %s %s", pct(avail(g)/100), k, g.rate))
	}
	if len(at) == 0 {
		return ""
	}
	if base != nil && !math.IsNaN(avail(base)) {
		return fmt.Sprintf("Availability %s without faults, %s", pct(avail(base)/100), joinAnd(at))
	}
	return "Availability " + joinAnd(at)
}

// convergeReading says whether the pattern's runs came to rest.
func (d *data) convergeReading(pattern string) string {
	total, stuck := 0, 0
	worst := 0.0
	for _, r := range d.runs {
		if r.pattern != pattern {
			continue
		}
		total++
		if conv, ok := r.converged(); ok && !conv {
			stuck++
			continue
		}
		if v := r.fig("converge_ms"); v > worst {
			worst = v
		}
	}
	switch {
	case total == 0:
		return ""
	case stuck > 0:
		return fmt.Sprintf("Did not come to rest after healing in %d of %d runs", stuck, total)
	default:
		return fmt.Sprintf("Every run came to rest within %s of healing", msText(worst))
	}
}

func (d *data) count(pattern string, f func(*run) bool) int {
	n := 0
	for _, r := range d.runs {
		if r.pattern == pattern && f(r) {
			n++
		}
	}
	return n
}

// converged reads the metrics' converged flag.
func (r *run) converged() (bool, bool) {
	var m struct {
		Converged *bool `json:"converged"`
	}
	if err := json.Unmarshal(r.rec.Metrics, &m); err != nil || m.Converged == nil {
		return false, false
	}
	return *m.Converged, true
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return num(100*v) + "%"
}

func msOrDash(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return num(v)
}

func msText(ms float64) string {
	if ms >= 1000 {
		return num(ms/1000) + " s"
	}
	return num(ms) + " ms"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func joinOr(xs []string) string  { return join(xs, "or") }
func joinAnd(xs []string) string { return join(xs, "and") }

func join(xs []string, word string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	default:
		return strings.Join(xs[:len(xs)-1], ", ") + " " + word + " " + xs[len(xs)-1]
	}
}

// html renders the page: one file, styles inline, charts inlined as PNG,
// no script and no network reference.
func (pg *page) html() ([]byte, error) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, pg); err != nil {
		return nil, fmt.Errorf("report: rendering the page: %w", err)
	}
	return buf.Bytes(), nil
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "Liberation Sans", Arial, sans-serif; color: #1a1a1a; margin: 0; background: #fafafa; }
main { max-width: 1260px; margin: 0 auto; padding: 20px 16px 48px; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 20px; margin: 32px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #555; margin: 0 0 12px; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: center; white-space: nowrap; }
th { background: #f0f0f0; font-weight: 600; }
td.pattern, th.pattern { text-align: left; font-family: ui-monospace, "Liberation Mono", monospace; }
td.ok { background: #e3f2e1; }
td.unknown { background: #fff1c2; }
td.bad1 { background: #fbd9d3; }
td.bad2 { background: #f29b8c; }
td.bad3 { background: #c8321f; color: #fff; font-weight: 600; }
td.none { color: #999; }
.legend span { display: inline-block; padding: 1px 8px; margin-right: 6px; border: 1px solid #ccc; }
ul.readings li { margin: 6px 0; }
.charts { display: flex; flex-wrap: wrap; gap: 20px; }
figure { margin: 0; background: #fff; border: 1px solid #ddd; padding: 8px; width: 600px; box-sizing: border-box; }
figure img { width: 100%; height: auto; display: block; }
figcaption { font-size: 13px; color: #444; margin-top: 6px; }
.scroll { overflow-x: auto; }
details { margin-top: 8px; }
code { font-family: ui-monospace, "Liberation Mono", monospace; font-size: 13px; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p class="meta">{{.Runs}} runs of {{.Patterns}} patterns from <code>{{.Source}}</code> · generated {{.Generated}}</p>

<h2 id="scorecard">Scorecard</h2>
<p class="legend"><span class="ok" style="background:#e3f2e1">✓ clean</span><span style="background:#f29b8c">✗ anomalies per 100 checkouts (runs with anomalies / runs)</span><span style="background:#fff1c2">? verdict unknown</span> Hover a cell for the classes.</p>
<div class="scroll"><table id="scorecard-table">
<tr><th class="pattern" rowspan="2">pattern</th>{{range .Kinds}}<th colspan="{{.Span}}">{{if .Name}}{{.Name}}{{else}}no faults{{end}}</th>{{end}}</tr>
<tr>{{range .Columns}}<th>{{if eq .Kind "none"}}rate 0{{else}}{{.Label}}{{end}}</th>{{end}}</tr>
{{range .Rows}}<tr><td class="pattern">{{.Pattern}}</td>{{range .Cells}}<td class="{{.Class}}" title="{{.Title}}">{{.Text}}</td>{{end}}</tr>
{{end}}</table></div>

<h2 id="readings">What the numbers say</h2>
<ul class="readings">
{{range .Readings}}<li><b>{{.Pattern}}</b>: {{.Text}}</li>
{{end}}</ul>
{{range .Sections}}
<h2>{{.Title}}</h2>
<p>{{.Intro}}{{if .Empty}} {{.Empty}}{{end}}</p>
<div class="charts">
{{range .Charts}}<figure id="chart-{{.Name}}" data-chart="{{.Name}}"><img src="{{.PNG}}" alt="{{.Title}}"><figcaption>{{.Caption}} <a href="{{.SVGPath}}">SVG</a> · <a href="{{.PNGPath}}">PNG</a></figcaption></figure>
{{end}}</div>
{{end}}
{{if .Reads}}<h2 id="reads">Reads</h2>
<p>{{.ReadsIntro}}</p>
<div class="scroll"><table id="reads-table">
<tr><th class="pattern">pattern</th><th>promised</th><th>held in every run</th><th>broke</th><th>stale reads per 100 checkouts</th><th>stalest ms</th><th>runs</th></tr>
{{range .Reads}}<tr><td class="pattern">{{.Pattern}}</td><td>{{.Promise}}</td><td>{{.Held}}</td><td>{{.Broke}}</td><td>{{.Stale}}</td><td>{{.Stalest}}</td><td>{{.Runs}}</td></tr>
{{end}}</table></div>
{{end}}
<h2 id="histories">Failing histories</h2>
{{if .Histories}}<p>Porcupine's visualizations of the histories that did not linearize, one file per order key.</p>
<ul>{{range .Histories}}<li><code>{{.ID}}</code>: {{range $i, $l := .Links}}{{if $i}} · {{end}}<a href="{{$l.Href}}">{{$l.Text}}</a>{{end}}</li>
{{end}}</ul>{{else}}<p>No run left a history visualization (*.html beside its record).</p>{{end}}

<h2 id="runs">Every run</h2>
<details><summary>{{.Runs}} runs</summary>
<div class="scroll"><table>
<tr><th class="pattern">run</th><th>pattern</th><th>faults</th><th>rate</th><th>seed</th><th>verdict</th><th>anomalies</th><th>stale reads · stalest</th><th>availability</th><th>p50 ms</th><th>p99 ms</th><th>converge ms</th></tr>
{{range .AllRuns}}<tr><td class="pattern"><a href="{{.Record}}">{{.ID}}</a></td><td>{{.Pattern}}</td><td>{{.Faults}}</td><td>{{.Rate}}</td><td>{{.Seed}}</td><td>{{.Verdict}}</td><td>{{.Anomalies}}</td><td>{{.Stale}}</td><td>{{.Availability}}</td><td>{{.P50}}</td><td>{{.P99}}</td><td>{{.Conv}}</td></tr>
{{end}}</table></div>
</details>
</main>
</body>
</html>
`))
