package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// page is what the HTML and Markdown renderings are made of.
type page struct {
	Title, Source, Generated string
	Runs, Patterns           int
	// Runtimes names the runtimes of the runs; From says, when there are
	// several, which one the charts come from.
	Runtimes, From string
	Scorecards     []scorecard
	// Readings are what the numbers say, per runtime (Runtime set when
	// there are several).
	Readings []readings
	Sections []pageSection
	// NoChart names the fault kinds without a chart, and why.
	NoChart    string
	Reads      []readsRow
	ReadsIntro string
	Histories  []historyRow
	AllRuns    []runRow
	Classes    []string
}

type reading struct{ Pattern, Text string }

type readings struct {
	Runtime string
	Items   []reading
}

type pageSection struct {
	Title, Intro, Empty string
	Figures, Charts     []pageChart
	Table               *valueTable
}

type pageChart struct {
	Name, Title, Caption string
	PNG                  template.URL
	PNGPath, SVGPath     string
	Wide                 bool
}

type historyRow struct {
	ID, Runtime, Pattern string
	Seed                 int64
	Links                []link
}

type link struct{ Href, Text string }

type runRow struct {
	ID, Record, Pattern, Faults, Rate, Runtime, Verdict string
	Seed                                                int64
	Anomalies, Stale, Availability, P50, P99            string
	Conv                                                string
}

// maxHistoryLinks is how many history files of one run the page links to
// by name; the run's directory holds the rest.
const maxHistoryLinks = 4

// newPage assembles the page from views, the runs of each runtime (the
// first gives the readings and the charts, secs); out is the directory it
// is written to (links are relative to it).
func newPage(title, out string, views []*data, secs []*section) *page {
	d := views[0]
	var runs []*run
	var runtimes []string
	patterns := map[string]bool{}
	for _, v := range views {
		runs = append(runs, v.runs...)
		runtimes = append(runtimes, v.runtime)
		for _, p := range v.patterns {
			patterns[p] = true
		}
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].id < runs[j].id })
	pg := &page{Title: title, Source: d.root, Generated: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Runs: len(runs), Patterns: len(patterns),
		Classes: d.classes, Runtimes: joinAnd(runtimes)}
	if len(views) > 1 {
		pg.From = d.runtime
	}
	for _, v := range views {
		pg.Scorecards = append(pg.Scorecards, v.scorecard(len(views) > 1))
	}
	for _, v := range views {
		rs := readings{}
		if len(views) > 1 {
			rs.Runtime = v.runtime
		}
		for _, p := range v.patterns {
			rs.Items = append(rs.Items, reading{Pattern: p, Text: v.reading(p)})
		}
		pg.Readings = append(pg.Readings, rs)
	}
	rel := func(path string) string {
		r, err := filepath.Rel(out, path)
		if err != nil {
			return filepath.ToSlash(path)
		}
		return filepath.ToSlash(r)
	}
	for _, s := range secs {
		if len(s.noChart) > 0 {
			pg.NoChart = "No chart for " + strings.Join(s.noChart, "; ") + ": each pattern ran " + plural(len(s.noChart), "it", "them") +
				" at one rate only, with no run without faults to compare; the scorecard shows " + plural(len(s.noChart), "it", "them") + "."
			continue
		}
		ps := pageSection{Title: s.title, Intro: s.intro, Table: s.table}
		if len(s.empty) > 0 {
			ps.Empty = "No pattern showed " + joinOr(s.empty) + " here at any rate: no chart."
		}
		pc := func(ch *chart) pageChart {
			return pageChart{
				Name: ch.name, Title: ch.title, Caption: ch.caption,
				PNG:     template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(ch.png)),
				PNGPath: ChartsDir + "/" + ch.name + ".png", SVGPath: ChartsDir + "/" + ch.name + ".svg", Wide: ch.wide,
			}
		}
		for _, ch := range s.figures {
			ps.Figures = append(ps.Figures, pc(ch))
		}
		for _, ch := range s.charts {
			ps.Charts = append(ps.Charts, pc(ch))
		}
		pg.Sections = append(pg.Sections, ps)
	}
	for _, r := range runs {
		if len(r.histories) > 0 {
			h := historyRow{ID: r.id, Runtime: r.runtime, Pattern: r.pattern, Seed: r.seed}
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
			ID: r.id, Record: rel(r.record), Pattern: r.pattern, Faults: r.faults, Rate: r.rate, Runtime: r.runtime, Seed: r.seed, Verdict: r.verdict,
			Anomalies: fmt.Sprint(total), Stale: staleText(r.reads), Availability: pct(r.fig("availability")),
			P50: msOrDash(r.fig("latency_p50_ms")), P99: msOrDash(r.fig("latency_p99_ms")), Conv: msOrDash(r.fig("converge_ms")),
		})
	}
	pg.Reads, pg.ReadsIntro = d.readsRows(), readsIntro
	return pg
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

var pageTemplate = template.Must(template.Must(template.New("page").Parse(`{{define "figure"}}<figure id="chart-{{.Name}}" data-chart="{{.Name}}"{{if .Wide}} class="wide"{{end}}><img src="{{.PNG}}" alt="{{.Title}}"><figcaption>{{.Caption}} <a href="{{.SVGPath}}">SVG</a> · <a href="{{.PNGPath}}">PNG</a></figcaption></figure>
{{end}}`)).Parse(`<!DOCTYPE html>
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
th.kind { white-space: normal; max-width: 15em; overflow-wrap: anywhere; font-weight: 600; }
td.pattern, th.pattern { text-align: left; font-family: ui-monospace, "Liberation Mono", monospace; }
td.ok { background: #e3f2e1; }
td.unexercised { background: #e3ecf7; }
td small { color: #555; font-size: 11px; }
td.bad3 small { color: #fff; }
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
figure.wide { width: 100%; max-width: 1220px; }
table.values { margin: 12px 0 20px; }
table.values caption { text-align: left; color: #444; padding: 4px 0; caption-side: top; }
figcaption { font-size: 13px; color: #444; margin-top: 6px; }
.scroll { overflow-x: auto; }
details { margin-top: 8px; }
code { font-family: ui-monospace, "Liberation Mono", monospace; font-size: 13px; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p class="meta">{{.Runs}} runs of {{.Patterns}} patterns on the {{.Runtimes}} runtime from <code>{{.Source}}</code> · generated {{.Generated}}</p>
{{range $i, $sc := .Scorecards}}
<h2 id="scorecard{{if $sc.Runtime}}-{{$sc.Runtime}}{{end}}">Scorecard{{if $sc.Runtime}}: {{$sc.Runtime}} runtime{{end}}</h2>
<p class="legend"><span class="ok" style="background:#e3f2e1">✓ clean</span><span style="background:#e3ecf7">✓? clean, but a fault never landed: not exercised</span><span style="background:#f29b8c">✗ anomalies per 100 checkouts</span><span style="background:#fff1c2">? verdict unknown</span><br>Under each mark: the 95% interval of anomalies per 100 checkouts (exact Poisson), the runs that found anomalies out of the cell's runs with their 95% interval (Wilson), and the seeds and checkouts the cell rests on ({{$sc.Note}}). Hover a cell for the classes and the faults that landed.</p>
<div class="scroll"><table class="scorecard-table"{{if eq $i 0}} id="scorecard-table"{{end}}>
<tr><th class="pattern" rowspan="2">pattern</th>{{range $sc.Kinds}}<th class="kind" colspan="{{.Span}}">{{range $i, $l := .Lines}}{{if $i}}<br>{{end}}{{$l}}{{end}}</th>{{end}}</tr>
<tr>{{range $sc.Columns}}<th>{{.Label}}</th>{{end}}</tr>
{{range $sc.Rows}}<tr><td class="pattern">{{.Pattern}}</td>{{range .Cells}}<td class="{{.Class}}" title="{{.Title}}">{{.Text}}{{range .Lines}}<br><small>{{.}}</small>{{end}}</td>{{end}}</tr>
{{end}}</table></div>
{{end}}
{{range .Readings}}
<h2 id="readings{{if .Runtime}}-{{.Runtime}}{{end}}">What the numbers say{{if .Runtime}}: {{.Runtime}} runtime{{end}}</h2>
<ul class="readings">
{{range .Items}}<li><b>{{.Pattern}}</b>: {{.Text}}</li>
{{end}}</ul>
{{end}}
{{if .NoChart}}<p id="no-chart">{{.NoChart}}</p>{{end}}
{{range .Sections}}
<h2>{{.Title}}</h2>
<p>{{.Intro}}{{if .Empty}} {{.Empty}}{{end}}</p>
<div class="charts">
{{range .Figures}}{{template "figure" .}}{{end}}</div>
{{with .Table}}<div class="scroll"><table class="values">
<caption>{{.Caption}}</caption>
<tr>{{range $i, $h := .Head}}<th{{if eq $i 0}} class="pattern"{{end}}>{{$h}}</th>{{end}}</tr>
{{range .Rows}}<tr><td class="pattern">{{.Pattern}}</td>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table></div>{{end}}
<div class="charts">
{{range .Charts}}{{template "figure" .}}{{end}}</div>
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
<ul>{{range .Histories}}<li><code>{{.ID}}</code> ({{.Pattern}}, seed {{.Seed}}, {{.Runtime}} runtime): {{range $i, $l := .Links}}{{if $i}} · {{end}}<a href="{{$l.Href}}">{{$l.Text}}</a>{{end}}</li>
{{end}}</ul>{{else}}<p>No run left a history visualization (*.html beside its record).</p>{{end}}

<h2 id="runs">Every run</h2>
<details><summary>{{.Runs}} runs</summary>
<div class="scroll"><table>
<tr><th class="pattern">run</th><th>pattern</th><th>faults</th><th>rate</th><th>runtime</th><th>seed</th><th>verdict</th><th>anomalies</th><th>stale reads · stalest</th><th>availability</th><th>p50 ms</th><th>p99 ms</th><th>converge ms</th></tr>
{{range .AllRuns}}<tr><td class="pattern"><a href="{{.Record}}">{{.ID}}</a></td><td>{{.Pattern}}</td><td>{{.Faults}}</td><td>{{.Rate}}</td><td>{{.Runtime}}</td><td>{{.Seed}}</td><td>{{.Verdict}}</td><td>{{.Anomalies}}</td><td>{{.Stale}}</td><td>{{.Availability}}</td><td>{{.P50}}</td><td>{{.P99}}</td><td>{{.Conv}}</td></tr>
{{end}}</table></div>
</details>
</main>
</body>
</html>
`))
