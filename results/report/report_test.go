package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot/vg"
)

// fixture is a real sweep, small: naive-dual-write, outbox and
// two-phase-key under lost-response and a coordinator crash after the
// local commit, rates 0, 0.2 and 0.4, seeds 1 to 3, 10 checkouts a run
// (see testdata/README.md).
const fixture = "testdata/sweep"

// shared is a copy of the fixture with one porcupine visualization added
// beside a failing record, and its report, made once for the tests that
// look at a report: rendering is slow under the race detector.
var shared struct {
	once sync.Once
	dir  string
	rep  *Report
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// failingCell is a fixture cell whose record found anomalies.
const failingCell = "naive-dual-write_lost-response_0.4_seed1"

// generated returns the shared fixture copy and its report (in
// DIR/report).
func generated(t *testing.T) (string, *Report) {
	t.Helper()
	shared.once.Do(func() {
		tmp, err := os.MkdirTemp("", "txchaos-report-test-")
		if err != nil {
			shared.err = err
			return
		}
		shared.dir = tmp
		dir := filepath.Join(tmp, "sweep")
		if shared.err = copyDir(fixture, dir); shared.err != nil {
			return
		}
		// A porcupine visualization beside one failing record, as `txchaos
		// run` writes them.
		html := filepath.Join(dir, "cells", failingCell, "history-o000003.html")
		if shared.err = os.WriteFile(html, []byte("<html></html>"), 0o644); shared.err != nil {
			return
		}
		shared.rep, shared.err = Generate(dir, Options{})
	})
	require.NoError(t, shared.err)
	return filepath.Join(shared.dir, "sweep"), shared.rep
}

// copyFixture copies the fixture into a temporary directory.
func copyFixture(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "sweep")
	require.NoError(t, copyDir(fixture, dst))
	return dst
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}

// expectedCharts recomputes from the records themselves which charts the
// fixture calls for: availability, convergence and one per anomaly class
// found under each fault kind (the fault-free runs count for every kind),
// and the two latency charts.
func expectedCharts(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "cells", "*", "record.json"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	classesBy := map[string]map[string]bool{}
	kinds := map[string]bool{}
	for _, p := range paths {
		var cell struct{ Faults string }
		b, err := os.ReadFile(filepath.Join(filepath.Dir(p), "cell.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &cell))
		var rec struct{ Anomalies map[string]int }
		b, err = os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &rec))
		if classesBy[cell.Faults] == nil {
			classesBy[cell.Faults] = map[string]bool{}
		}
		if cell.Faults != "none" {
			kinds[cell.Faults] = true
		}
		for c, n := range rec.Anomalies {
			if n > 0 {
				classesBy[cell.Faults][c] = true
			}
		}
	}
	want := []string{"latency-no-faults", "latency-under-faults"}
	for k := range kinds {
		slug := strings.ReplaceAll(k, ":", "@")
		want = append(want, "availability-"+slug, "converge-"+slug)
		for c := range classesBy[k] {
			want = append(want, "anomaly-"+c+"-"+slug, "runs-with-anomalies-"+slug)
		}
		for c := range classesBy["none"] {
			want = append(want, "anomaly-"+c+"-"+slug, "runs-with-anomalies-"+slug)
		}
	}
	sort.Strings(want)
	return dedupe(want)
}

// dedupe drops duplicates from a sorted list.
func dedupe(xs []string) []string {
	var out []string
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func chartNames(rep *Report) []string {
	var names []string
	for _, c := range rep.Charts {
		names = append(names, filepath.Base(c))
	}
	sort.Strings(names)
	return names
}

// TestGenerate renders every chart of the fixture and checks the files:
// each PNG decodes at the chart's size, each SVG parses, the HTML inlines
// every chart (the same PNG bytes), references nothing on a network, and
// every link in it resolves to a file; the Markdown holds the scorecard.
func TestGenerate(t *testing.T) {
	dir, rep := generated(t)
	out := filepath.Join(dir, "report")
	require.Equal(t, filepath.Join(out, HTMLFile), rep.HTML)
	require.Equal(t, 45, rep.Runs)
	require.Equal(t, expectedCharts(t, dir), chartNames(rep))
	require.Contains(t, chartNames(rep), "anomaly-leaked-resource-lost-response", "the naive dual write leaks charges under lost responses")

	b, err := os.ReadFile(rep.HTML)
	require.NoError(t, err)
	page := string(b)
	for _, c := range rep.Charts {
		name := filepath.Base(c)
		pngBytes, err := os.ReadFile(c + ".png")
		require.NoError(t, err)
		img, err := png.Decode(bytes.NewReader(pngBytes))
		require.NoError(t, err, name)
		require.Equal(t, int(chartW.Dots(float64(dpi))+0.5), img.Bounds().Dx(), "%s: 16 cm at %d dpi", name, dpi)
		require.GreaterOrEqual(t, img.Bounds().Dy(), int((6.5 * vg.Centimeter).Dots(float64(dpi))), "%s: at least 6.5 cm high", name)

		svg, err := os.ReadFile(c + ".svg")
		require.NoError(t, err)
		requireXML(t, name, svg)

		m := regexp.MustCompile(`data-chart="` + regexp.QuoteMeta(name) + `"><img src="data:image/png;base64,([^"]+)"`).FindStringSubmatch(page)
		require.NotNil(t, m, "%s is in the page", name)
		inlined, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
		require.NoError(t, err)
		require.True(t, bytes.Equal(pngBytes, inlined), "%s is inlined as written", name)
		require.Contains(t, page, `href="charts/`+name+`.svg"`)
	}
	require.Equal(t, len(rep.Charts), strings.Count(page, "<img "), "every image is a chart")
	require.NotRegexp(t, `(?i)https?://`, page, "the page opens without a network")
	require.NotContains(t, page, "<script")
	require.NotContains(t, page, "<link")

	hrefs := regexp.MustCompile(`href="([^"]+)"`).FindAllStringSubmatch(page, -1)
	require.NotEmpty(t, hrefs)
	for _, h := range hrefs {
		_, err := os.Stat(filepath.Join(out, filepath.FromSlash(h[1])))
		require.NoError(t, err, "link %s", h[1])
	}
	require.Contains(t, page, `href="../cells/`+failingCell+`/history-o000003.html"`)

	md, err := os.ReadFile(rep.Markdown)
	require.NoError(t, err)
	rows := markdownRows(string(md))
	require.Equal(t, []string{"pattern", "no faults", "lost-response at 0.2", "lost-response at 0.4", "crashpoint:after-local-commit at 0.2", "crashpoint:after-local-commit at 0.4"}, rows[0])
	// A cell: its mark and figure, the interval of anomalies per 100
	// checkouts, the runs with anomalies with theirs, what it rests on.
	clean := `^✓<br>\[0–[0-9.]+\] per 100<br>0/3 runs \[0–56%\]<br>3 seeds · 30 checkouts$`
	for _, r := range rows[1:] {
		switch r[0] {
		case "`outbox`", "`two-phase-key`":
			for _, c := range r[1:] {
				require.Regexp(t, clean, c, "%s survives every fault", r[0])
			}
		case "`naive-dual-write`":
			require.Regexp(t, clean, r[1], "naive is clean without faults")
			for _, c := range r[2:] {
				require.Regexp(t, `^✗ [0-9.]+<br>\[[0-9.]+–[0-9.]+\] per 100<br>[1-3]/3 runs \[[0-9.]+–[0-9.]+%\]<br>3 seeds · 30 checkouts$`, c)
			}
		default:
			t.Fatalf("unexpected row %v", r)
		}
	}
	require.Contains(t, string(md), "- **outbox**: No anomalies at any rate of lost-response or crashpoint:after-local-commit. Availability 100% without faults; ")
	require.Regexp(t, `- \*\*naive-dual-write\*\*: Under lost-response at 0.4: [a-z-]+ [0-9.]+ \[[0-9.]+–[0-9.]+\], `, string(md))
	for _, name := range chartNames(rep) {
		require.Contains(t, string(md), "(charts/"+name+".png)")
	}
}

// requireXML checks that b is one well-formed XML document rooted at svg.
func requireXML(t *testing.T, name string, b []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "%s.svg", name)
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	require.Equal(t, "svg", root, "%s.svg", name)
}

// markdownRows returns the cells of the first Markdown table.
func markdownRows(md string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "| ") {
			if len(rows) > 0 {
				break
			}
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows = append(rows, cells)
	}
	return rows
}

// TestGenerateWithoutCellFiles: records that are not a sweep's (`txchaos
// run` writes no cell.json) are placed by their fault profiles, on the
// same axes, with the same readings.
func TestGenerateWithoutCellFiles(t *testing.T) {
	plan := func(dir string) (names, readings []string) {
		root, err := filepath.Abs(dir)
		require.NoError(t, err)
		runs, err := load(root, "")
		require.NoError(t, err)
		d := newData(root, runs)
		sort.Strings(d.kinds)   // sweep.json's order is gone in the second plan
		secs, err := d.charts() // built, not rendered
		require.NoError(t, err)
		for _, s := range secs {
			for _, c := range append(s.figures, s.charts...) {
				names = append(names, c.name)
			}
		}
		sort.Strings(names)
		for _, p := range d.patterns {
			readings = append(readings, d.reading(p))
		}
		return names, readings
	}
	dir := copyFixture(t)
	names, readings := plan(dir)
	require.Equal(t, expectedCharts(t, dir), names)

	cells, err := filepath.Glob(filepath.Join(dir, "cells", "*", "cell.json"))
	require.NoError(t, err)
	require.Len(t, cells, 45)
	for _, c := range cells {
		require.NoError(t, os.Remove(c))
	}
	require.NoError(t, os.Remove(filepath.Join(dir, "sweep.json")))
	names2, readings2 := plan(dir)
	require.Equal(t, names, names2)
	require.ElementsMatch(t, readings, readings2) // kinds may come in another order
}

// TestGenerateReadsRecordsNotSummary: a sweep killed midway can leave
// summary.csv a cell behind its records (until --resume rewrites it); the
// report counts the records, so it is never behind.
func TestGenerateReadsRecordsNotSummary(t *testing.T) {
	dir := copyFixture(t)
	records, err := filepath.Glob(filepath.Join(dir, "cells", "*", "record.json"))
	require.NoError(t, err)
	summary := filepath.Join(dir, "summary.csv")
	b, err := os.ReadFile(summary)
	require.NoError(t, err)
	header, _, _ := strings.Cut(string(b), "\n")
	require.NoError(t, os.WriteFile(summary, []byte(header+"\n"), 0o644)) // every row lost
	rep, err := Generate(dir, Options{Out: t.TempDir()})
	require.NoError(t, err)
	require.Equal(t, len(records), rep.Runs)
}

func TestGenerateErrors(t *testing.T) {
	_, err := Generate(t.TempDir(), Options{})
	require.ErrorContains(t, err, "report: no record.json under")

	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "a"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a", "record.json"), []byte(`{"schema_version": 99}`), 0o644))
	_, err = Generate(dir, Options{})
	require.ErrorContains(t, err, "record.json: schema_version 99 is not supported")
}

func TestAxisOf(t *testing.T) {
	tests := []struct{ profile, kind, rate string }{
		{"", "none", "0"},
		{"none", "none", "0"},
		{"lost-response=0.1", "lost-response", "0.1"},
		{"lost-response=orders-payments:0.2", "lost-response:orders-payments", "0.2"},
		{"crashpoint=after-record:0.2,crashpoint=after-call:0.2", "crashpoint", "0.2"},
		{"crashpoint=after-local-commit:0.05", "crashpoint:after-local-commit", "0.05"},
		{"crash=payments:0.1,error=payments:0.1", "crash:payments+error:payments", "0.1"},
		{"latency=100ms", "latency", "100ms"},
		{"lost-response=0.1,drop-request=0.2", "lost-response=0.1,drop-request=0.2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			kind, rate := axisOf(tt.profile)
			require.Equal(t, tt.kind, kind)
			require.Equal(t, tt.rate, rate)
		})
	}
}

func TestXOf(t *testing.T) {
	require.Equal(t, 0.2, xOf("lost-response", "0.2"))
	require.Equal(t, 100.0, xOf("latency", "0.1"), "a bare number of seconds, in ms")
	require.Equal(t, 20.0, xOf("partition:orders-payments", "20ms"))
	require.True(t, xOf("lost-response", "lots") != xOf("lost-response", "lots"), "NaN off the axis")
}

// editRecords rewrites the records under dir whose cell id has prefix.
func editRecords(t *testing.T, dir, prefix string, change func(doc map[string]any)) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "cells", prefix+"*", "record.json"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(b, &doc))
		change(doc)
		b, err = json.Marshal(doc)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, b, 0o644))
	}
}

// plan reads dir's records as Generate does and returns the page, charts
// not rendered.
func plan(t *testing.T, dir string) *page {
	t.Helper()
	root, err := filepath.Abs(dir)
	require.NoError(t, err)
	runs, err := load(root, "")
	require.NoError(t, err)
	views := byRuntime(root, runs)
	return newPage("t", filepath.Join(root, "report"), views, nil)
}

// TestNotExercisedCell: a clean cell whose fault landed in none of its
// runs is ✓?, not ✓; one that landed in some run is ✓ and says in how
// many.
func TestNotExercisedCell(t *testing.T) {
	dir := copyFixture(t)
	// In the fixture, after-local-commit at 0.2 did not land in seed 2;
	// make it land in no seed of outbox's cell.
	editRecords(t, dir, "outbox_crashpoint@after-local-commit_0.2_", func(doc map[string]any) {
		ev := doc["evidence"].(map[string]any)
		f := ev["faults"].([]any)[0].(map[string]any)
		f["landed"] = 0
		ev["not_exercised"] = []any{f["fault"]}
	})
	pg := plan(t, dir)
	require.Len(t, pg.Scorecards, 1)
	cell := func(pattern string, col int) scoreCell {
		for _, r := range pg.Scorecards[0].Rows {
			if r.Pattern == pattern {
				return r.Cells[col]
			}
		}
		t.Fatalf("no row %s", pattern)
		return scoreCell{}
	}
	cols := pg.Scorecards[0].Columns
	col := slices.IndexFunc(cols, func(c column) bool { return c.Kind == "crashpoint:after-local-commit" && c.Rate == "0.2" })
	require.Positive(t, col)
	ne := cell("outbox", col)
	require.Equal(t, "✓?", ne.Text)
	require.Equal(t, "unexercised", ne.Class)
	require.Equal(t, []string{"not exercised", "0/3 runs [0–56.1%]", "3 seeds · 30 checkouts"}, ne.Lines)
	require.Contains(t, ne.Title, "Clean, but crashpoint=after-local-commit:0.2 never landed while an order it affected was open, in any run")

	ok := cell("two-phase-key", col)
	require.Equal(t, "✓", ok.Text)
	require.Contains(t, ok.Title, "crashpoint=after-local-commit:0.2 landed in 2 of 3 runs")
	require.Contains(t, string(pg.markdown()), "✓? · not exercised · 0/3 runs")
}

// TestRuntimesApart: runs of two runtimes are never pooled: a scorecard
// each, and the readings name the runtime they come from.
func TestRuntimesApart(t *testing.T) {
	dir := copyFixture(t)
	// A det copy of naive-dual-write's cells, with six seeds.
	cells, err := filepath.Glob(filepath.Join(dir, "cells", "naive-dual-write_*"))
	require.NoError(t, err)
	for _, c := range cells {
		for _, shift := range []int{0, 3} {
			id := "det-" + filepath.Base(c) + fmt.Sprint(shift)
			require.NoError(t, copyDir(c, filepath.Join(dir, "det", id)))
			b, err := os.ReadFile(filepath.Join(dir, "det", id, "record.json"))
			require.NoError(t, err)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(b, &doc))
			doc["runtime"], doc["seed"] = "det", doc["seed"].(float64)+float64(shift)
			b, err = json.Marshal(doc)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "det", id, "record.json"), b, 0o644))
			var cell map[string]any
			b, err = os.ReadFile(filepath.Join(dir, "det", id, "cell.json"))
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, &cell))
			cell["id"] = id
			b, err = json.Marshal(cell)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "det", id, "cell.json"), b, 0o644))
		}
	}
	pg := plan(t, dir)
	require.Len(t, pg.Scorecards, 2)
	require.Equal(t, "live", pg.Scorecards[0].Runtime, "45 live runs against 30 det")
	require.Equal(t, "det", pg.Scorecards[1].Runtime)
	require.Equal(t, "live", pg.From)
	require.Equal(t, "live and det", pg.Runtimes)
	require.Len(t, pg.Scorecards[1].Rows, 1)
	require.Equal(t, "6 seeds · 60 checkouts", pg.Scorecards[1].Rows[0].Cells[0].Lines[2])
	require.Equal(t, "3 seeds · 30 checkouts", pg.Scorecards[0].Rows[0].Cells[0].Lines[2])
	md := string(pg.markdown())
	require.Contains(t, md, "## Scorecard: live runtime")
	require.Contains(t, md, "## Scorecard: det runtime")
	require.Contains(t, md, "## What the numbers say: live runtime")
	require.Contains(t, md, "## What the numbers say: det runtime", "each runtime's runs are read apart")
	require.Len(t, pg.Readings, 2)
	require.Len(t, pg.Readings[1].Items, 1, "the det runs are of one pattern")
}

// TestSweepKinds: the kinds' order is the sweep's, or that of the sweeps
// in the directories below (a demo's det and live sweeps).
func TestSweepKinds(t *testing.T) {
	root := t.TempDir()
	require.Nil(t, sweepKinds(root))
	for dir, kinds := range map[string]string{"det": `["lost-response","crashpoint"]`, "live": `["lost-response","drop-request"]`} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, dir), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, dir, "sweep.json"), []byte(`{"faults":`+kinds+`}`), 0o644))
	}
	require.Equal(t, []string{"lost-response", "crashpoint", "drop-request"}, sweepKinds(root))
	require.NoError(t, os.WriteFile(filepath.Join(root, "sweep.json"), []byte(`{"faults":["latency"]}`), 0o644))
	require.Equal(t, []string{"latency"}, sweepKinds(root))
}

// TestMarkdownEscapesHTML: HTML in a record's fields, its directory's and
// files' names or the title shows as text in report.md, as in index.html;
// it is never copied raw, and no link can be made a javascript: URL.
func TestMarkdownEscapesHTML(t *testing.T) {
	const (
		pattern = `<img src=x onerror=alert(1)>`
		runDir  = `javascript:<b>run` // a name cannot hold a /
		page    = `history-<i>k.html`
		title   = `<script>alert("title")</script>`
	)
	b, err := os.ReadFile(filepath.Join(fixture, "cells", "outbox_none_0_seed1", "record.json"))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	doc["pattern"] = pattern
	doc["reads"] = map[string]any{"promise": "<u>linearizable</u>"}
	b, err = json.Marshal(doc)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, runDir), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, runDir, "record.json"), b, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, runDir, page), []byte("<html></html>"), 0o644))

	rep, err := Generate(dir, Options{Title: title})
	require.NoError(t, err)
	for _, file := range []string{rep.Markdown, rep.HTML} {
		got, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, raw := range []string{"<img src=x", "<b>run", "<i>k", "<u>", "<script>", "](javascript:", `href="javascript:`} {
			require.NotContains(t, string(got), raw, "%s copies %q raw", filepath.Base(file), raw)
		}
	}
	md, err := os.ReadFile(rep.Markdown)
	require.NoError(t, err)
	require.NotContains(t, string(md), "<", "no HTML at all in report.md")
	require.Contains(t, string(md), "# &lt;script&gt;alert(\"title\")&lt;/script&gt;\n")
	require.Contains(t, string(md), "| &lt;img src=x onerror=alert(1)&gt; | ✓ · ")
	require.Contains(t, string(md), "- **&lt;img src=x onerror=alert(1)&gt;**: ")
	require.Contains(t, string(md), "| &lt;img src=x onerror=alert(1)&gt; | &lt;u&gt;linearizable&lt;/u&gt; | ", "the reads table")
	require.Contains(t, string(md), "- javascript:&lt;b&gt;run (&lt;img src=x onerror=alert(1)&gt;, seed 1, live runtime): [history-&lt;i&gt;k.html](../javascript:%3Cb%3Erun/history-%3Ci%3Ek.html)\n")
}
