package report

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/results/stats"
)

// run is one record read from the directory.
type run struct {
	id      string // the cell's id, or the record's directory relative to the root
	dir     string // the record's directory
	record  string // the record's path
	pattern string
	faults  string // the fault kind, "none" without faults
	rate    string
	runtime string
	// scenario is the scenario the run came from, if any.
	scenario string
	seed     int64
	verdict  string
	anom     map[string]int
	rec      *results.Record
	reads    *checker.Reads // what the reads showed; nil when the record does not say
	// histories are the *.html files beside the record: porcupine's
	// visualizations of histories that did not linearize.
	histories []string
}

// fig is a figure of the record, NaN when it holds none.
func (r *run) fig(name string) float64 {
	if v, ok := r.rec.Figure(name); ok {
		return v
	}
	return math.NaN()
}

// cellFile is what a sweep writes beside each record (scenarios.Cell).
type cellFile struct {
	ID      string `json:"id"`
	Pattern string `json:"pattern"`
	Faults  string `json:"faults"`
	Rate    string `json:"rate"`
	Seed    int64  `json:"seed"`
}

// load reads every record.json under root, skipping the directory skip.
// A record beside a cell.json takes its fault kind and rate from it; any
// other from its fault profile (see axisOf).
func load(root, skip string) ([]*run, error) {
	var runs []*run
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skip != "" && path == skip {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() != "record.json" {
			return nil
		}
		rec, err := results.Read(path)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		r := &run{dir: dir, record: path, pattern: rec.Pattern, runtime: rec.Runtime, scenario: rec.Scenario, seed: rec.Seed, verdict: rec.Verdict, anom: rec.Anomalies, rec: rec, reads: readsOf(rec.Reads)}
		var cell cellFile
		if b, err := os.ReadFile(filepath.Join(dir, "cell.json")); err == nil && json.Unmarshal(b, &cell) == nil && cell.ID != "" {
			r.id, r.faults, r.rate = cell.ID, cell.Faults, cell.Rate
		} else {
			var cfg struct {
				Faults string `json:"faults"`
			}
			json.Unmarshal(rec.Config, &cfg)
			r.faults, r.rate = axisOf(cfg.Faults)
			rel, _ := filepath.Rel(root, dir)
			r.id = filepath.ToSlash(rel)
		}
		htmls, _ := filepath.Glob(filepath.Join(dir, "*.html"))
		sort.Strings(htmls)
		r.histories = htmls
		runs = append(runs, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: reading the records under %s: %w", root, err)
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("report: no record.json under %s", root)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].id < runs[j].id })
	return runs, nil
}

// axisOf names a profile's fault kind and rate as a sweep does: the kinds
// in order, each with its target when it has exactly one (crashpoint at
// several points is crashpoint), joined with "+"; the rate when every
// fault has the same one, else the whole profile is the kind and the rate
// is "". An empty profile is "none" at rate "0".
func axisOf(profile string) (kind, rate string) {
	p, err := faults.Parse(profile)
	if err != nil || len(p) == 0 {
		if err != nil {
			return profile, ""
		}
		return "none", "0"
	}
	var order []string
	targets := map[string][]string{}
	rates := map[string]bool{}
	for _, f := range p {
		if _, ok := targets[f.Kind]; !ok {
			order = append(order, f.Kind)
		}
		t := f.Point
		if f.Link != nil {
			t = f.Link.From + "-" + f.Link.To
		} else if t == "" {
			t = f.Node
		}
		targets[f.Kind] = append(targets[f.Kind], t)
		if f.Duration != 0 {
			rates[f.Duration.String()] = true
		} else {
			rates[strconv.FormatFloat(f.Rate, 'g', -1, 64)] = true
		}
	}
	var parts []string
	for _, k := range order {
		if ts := targets[k]; len(ts) == 1 && ts[0] != "" {
			parts = append(parts, k+":"+ts[0])
		} else {
			parts = append(parts, k)
		}
	}
	if len(rates) != 1 {
		return profile, ""
	}
	for r := range rates {
		rate = r
	}
	return strings.Join(parts, "+"), rate
}

// durationKind reports whether every kind of a sweep's fault kind takes a
// duration (latency, partition): its rates are then plotted in ms.
func durationKind(kind string) bool {
	for _, part := range strings.Split(kind, "+") {
		name, _, _ := strings.Cut(part, ":")
		ok := false
		for _, k := range faults.Kinds() {
			if k.Name == name && strings.HasSuffix(k.Syntax, "DURATION") {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// xOf is where a rate of kind sits on a chart's x axis: a probability, or
// for duration kinds milliseconds (a bare number is seconds, as in a
// sweep). NaN when the rate is neither.
func xOf(kind, rate string) float64 {
	ms := durationKind(kind)
	if f, err := strconv.ParseFloat(rate, 64); err == nil {
		if ms {
			return f * 1000
		}
		return f
	}
	if d, err := time.ParseDuration(rate); err == nil {
		if ms {
			return float64(d) / float64(time.Millisecond)
		}
		return d.Seconds()
	}
	return math.NaN()
}

// group is the runs of one pattern under one kind at one rate on one
// runtime: the seeds of one cell, and their sum.
type group struct {
	pattern, kind, rate string
	runs                []*run
	cell                stats.Cell
}

// per100 is the group's anomalies of class ("" for every class) per 100
// checkouts, pooled over its runs, with its 95% interval.
func (g *group) per100(class string) stats.Interval { return g.cell.Per100(class) }

// mean is the mean of f over the group's runs that have it; NaN if none.
func (g *group) mean(f func(*run) float64) float64 {
	sum, n := 0.0, 0
	for _, r := range g.runs {
		if v := f(r); !math.IsNaN(v) {
			sum += v
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// data is what the report is made of, for the runs of one runtime.
type data struct {
	root     string
	runtime  string
	runs     []*run
	patterns []string // sorted
	kinds    []string // fault kinds but "none", in the sweep's order when known
	classes  []string // anomaly classes in checker.Classes order, then others sorted
	groups   map[[3]string]*group
	hasNone  bool
	// scenarios are the scenarios the runs of each fault kind came from,
	// and of each kind at each rate (keyed kind+" at "+rate); plain says
	// which of those keys also have runs that came from no scenario.
	scenarios map[string][]string
	plain     map[string]bool
}

// byRuntime splits runs by runtime, the runtime with the most runs first
// (live first on a tie): the report's figures come from the first.
func byRuntime(root string, runs []*run) []*data {
	split := map[string][]*run{}
	var names []string
	for _, r := range runs {
		if split[r.runtime] == nil {
			names = append(names, r.runtime)
		}
		split[r.runtime] = append(split[r.runtime], r)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := len(split[names[i]]), len(split[names[j]])
		if a != b {
			return a > b
		}
		return names[i] == results.RuntimeLive || names[j] != results.RuntimeLive && names[i] < names[j]
	})
	var out []*data
	for _, n := range names {
		out = append(out, newData(root, split[n]))
	}
	return out
}

// newData groups runs (of one runtime) by cell.
func newData(root string, runs []*run) *data {
	d := &data{root: root, runs: runs, groups: map[[3]string]*group{}, scenarios: map[string][]string{}, plain: map[string]bool{}}
	if len(runs) > 0 {
		d.runtime = runs[0].runtime
	}
	seenKind := map[string]bool{}
	seenClass := map[string]bool{}
	for _, r := range runs {
		if !slices.Contains(d.patterns, r.pattern) {
			d.patterns = append(d.patterns, r.pattern)
		}
		if r.faults == "none" {
			d.hasNone = true
		} else if !seenKind[r.faults] {
			seenKind[r.faults] = true
			d.kinds = append(d.kinds, r.faults)
		}
		for c := range r.anom {
			seenClass[c] = true
		}
		for _, k := range []string{r.faults, r.faults + " at " + r.rate} {
			if r.scenario == "" {
				d.plain[k] = true
			} else if !slices.Contains(d.scenarios[k], r.scenario) {
				d.scenarios[k] = append(d.scenarios[k], r.scenario)
			}
		}
		key := [3]string{r.pattern, r.faults, r.rate}
		g := d.groups[key]
		if g == nil {
			g = &group{pattern: r.pattern, kind: r.faults, rate: r.rate}
			d.groups[key] = g
		}
		g.runs = append(g.runs, r)
	}
	sort.Strings(d.patterns)
	order := sweepKinds(root)
	sort.SliceStable(d.kinds, func(i, j int) bool {
		a, b := slices.Index(order, d.kinds[i]), slices.Index(order, d.kinds[j])
		if a < 0 || b < 0 {
			return a >= 0 && b < 0 || a < 0 && b < 0 && d.kinds[i] < d.kinds[j]
		}
		return a < b
	})
	for _, c := range checker.Classes {
		if seenClass[string(c)] {
			d.classes = append(d.classes, string(c))
			delete(seenClass, string(c))
		}
	}
	var rest []string
	for c := range seenClass {
		rest = append(rest, c)
	}
	sort.Strings(rest)
	d.classes = append(d.classes, rest...)
	for _, g := range d.groups {
		recs := make([]*results.Record, len(g.runs))
		for i, r := range g.runs {
			recs[i] = r.rec
		}
		g.cell = stats.Summarize(recs)
	}
	return d
}

// sweepKinds is the fault kinds of the sweep stored in root, if any, or
// else of the sweeps in its directories (a demo's det and live sweeps),
// in order.
func sweepKinds(root string) []string {
	read := func(dir string) ([]string, bool) {
		var s struct {
			Faults []string `json:"faults"`
		}
		b, err := os.ReadFile(filepath.Join(dir, "sweep.json"))
		if err != nil || json.Unmarshal(b, &s) != nil {
			return nil, false
		}
		return s.Faults, true
	}
	if kinds, ok := read(root); ok {
		return kinds
	}
	var out []string
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		kinds, _ := read(filepath.Join(root, e.Name()))
		for _, k := range kinds {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// rates are the rates of kind in the data, by their place on the x axis;
// rates that have none come last, in name order.
func (d *data) rates(kind string) []string {
	var out []string
	for _, g := range d.groups {
		if g.kind == kind && !slices.Contains(out, g.rate) {
			out = append(out, g.rate)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := xOf(kind, out[i]), xOf(kind, out[j])
		switch {
		case math.IsNaN(a) || math.IsNaN(b):
			return !math.IsNaN(a) || math.IsNaN(b) && out[i] < out[j]
		default:
			return a < b
		}
	})
	return out
}

// series is the groups of a pattern along kind's axis: its fault-free
// group at 0 (when there is one), then the kind's rates in order. Rates
// with no place on the axis are left out.
func (d *data) series(pattern, kind string) []*group {
	var out []*group
	if g := d.groups[[3]string{pattern, "none", "0"}]; g != nil {
		out = append(out, g)
	}
	for _, r := range d.rates(kind) {
		if g := d.groups[[3]string{pattern, kind, r}]; g != nil && !math.IsNaN(xOf(kind, r)) {
			out = append(out, g)
		}
	}
	return out
}

// x is the group's place on its kind's axis (0 without faults).
func (g *group) x() float64 {
	if g.kind == "none" {
		return 0
	}
	return xOf(g.kind, g.rate)
}

// profileKind reports whether kind is a whole fault profile (faults at
// different rates, which no sweep makes) rather than a sweep's fault kind.
func profileKind(kind string) bool { return strings.Contains(kind, "=") }

// kindLines names kind for a reader, a line each: the scenarios its runs
// came from ("some runs" when others came from none), then the kind — a
// whole profile a fault per line, so that a column headed by it stays
// narrow.
func (d *data) kindLines(kind string) []string {
	var out []string
	for _, s := range d.scenarios[kind] {
		out = append(out, "scenario "+s+d.some(kind))
	}
	if kind == "none" {
		return append(out, "no faults")
	}
	if profileKind(kind) {
		return append(out, strings.Split(kind, ",")...)
	}
	return append(out, kind)
}

// some is " (some runs)" when key's runs came from a scenario and from
// none.
func (d *data) some(key string) string {
	if d.plain[key] && len(d.scenarios[key]) > 0 {
		return " (some runs)"
	}
	return ""
}

// kindText is kind on one line: "lost-response", "drop-request=orders-broker:1,
// crash=broker:0.05 (scenario broker-outage)".
func (d *data) kindText(kind string) string { return d.cellText(kind, "") }

// cellText says where a cell sits: "lost-response at 0.2", or a whole
// profile, which has no one rate, with the scenarios its runs came from
// (at that rate, when rate is given).
func (d *data) cellText(kind, rate string) string {
	s := kind
	if profileKind(kind) {
		s = strings.ReplaceAll(kind, ",", ", ")
	}
	key := kind
	if rate != "" {
		s += " at " + rate
		key = kind + " at " + rate
	}
	if sc := d.scenarios[key]; len(sc) > 0 {
		s += " (scenario " + strings.Join(sc, ", ")
		if d.some(key) != "" {
			s += "; some runs without one"
		}
		s += ")"
	}
	return s
}
