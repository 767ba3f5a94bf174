package scenarios

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/live"
)

// expectationsFile is the expectation matrix: every registered pattern
// under every built-in scenario. Its comment header says how to read it.
const expectationsFile = patterns.ExpectationsFile

// baselines are the patterns every built-in scenario is meant to break.
var baselines = []string{"naive-dual-write", "blind-retry"}

// cell is one line of the expectation matrix.
type cell struct {
	line              int
	pattern, scenario string
	expect            Expectations // resolved: every class of checker.Classes
	comment           string
}

// readMatrix reads and checks the expectation matrix: registered patterns,
// built-in scenarios, known classes and expectations, every pattern ×
// scenario once. Each cell's expectations are what Scenario.ExpectFor
// gives, the resolution scenarios.Run asserts.
func readMatrix(t *testing.T) []cell {
	t.Helper()
	builtins := map[string]Scenario{}
	for _, s := range Builtins() {
		builtins[s.Name] = s
	}
	var cells []cell
	seen := map[[2]string]bool{}
	for _, e := range patterns.ExpectationMatrix() {
		at := fmt.Sprintf("%s:%d", expectationsFile, e.Line)
		spec, err := patterns.Lookup(e.Pattern)
		require.NoError(t, err, at)
		s, ok := builtins[e.Scenario]
		require.True(t, ok, "%s: scenario %q is not built in (built-in: %s)", at, e.Scenario, strings.Join(BuiltinNames(), ", "))
		require.Equal(t, e.Classes, spec.Expect[e.Scenario], "%s: the registered spec's Expect is the line", at)
		want, err := s.ExpectFor(spec)
		require.NoError(t, err, at)
		seen[[2]string{e.Pattern, e.Scenario}] = true
		cells = append(cells, cell{line: e.Line, pattern: e.Pattern, scenario: e.Scenario, expect: want, comment: e.Why})
	}
	var missing []string
	for _, p := range patterns.Names() {
		for _, s := range BuiltinNames() {
			if !seen[[2]string{p, s}] {
				missing = append(missing, p+" "+s)
			}
		}
	}
	require.Empty(t, missing, "%s has no line for these pattern × scenario cells", expectationsFile)
	return cells
}

// TestMatrixTable checks the table itself: it parses, covers every cell,
// and expects every baseline to be broken by every built-in scenario; and
// the live sample: every pattern, every built-in scenario and every fault
// kind.
func TestMatrixTable(t *testing.T) {
	sampled := map[string]bool{} // patterns, scenarios and fault kinds
	for _, r := range liveSample(t, readMatrix(t)) {
		spec, err := patterns.Lookup(r.c.pattern)
		require.NoError(t, err)
		sc, err := Builtin(r.c.scenario)
		require.NoError(t, err)
		cfg, err := sc.ConfigFor(spec)
		require.NoError(t, err)
		if r.faults != "" {
			cfg.Faults = r.faults
		} else {
			sampled[r.c.scenario] = true
		}
		profile, err := faults.Parse(cfg.Faults)
		require.NoError(t, err)
		sampled[r.c.pattern] = true
		for _, f := range profile {
			sampled[f.Kind] = true
		}
	}
	var missing []string
	for _, name := range slices.Concat(patterns.Names(), BuiltinNames()) {
		if !sampled[name] {
			missing = append(missing, name)
		}
	}
	for _, k := range faults.Kinds() {
		if !sampled[k.Name] {
			missing = append(missing, k.Name)
		}
	}
	require.Empty(t, missing, "the live sample (liveSample) runs no cell with these patterns, scenarios or fault kinds: add a cell for them (a fault kind to sampleFaultCells)")

	for _, c := range readMatrix(t) {
		if !slices.Contains(baselines, c.pattern) {
			continue
		}
		var some []checker.Class
		for _, cl := range checker.Classes {
			if c.expect[cl] == Some {
				some = append(some, cl)
			}
		}
		assert.NotEmpty(t, some, "%s:%d: baseline %s must be expected to break under %s: name a class it shows (CLASS=some)",
			expectationsFile, c.line, c.pattern, c.scenario)
	}
}

// outcome is a measured cell.
type outcome struct {
	report  checker.Report
	misses  []Miss
	applied []sim.Applied // the faults the runtime applied
	err     error
}

// TestMatrix runs the live sample of the expectation matrix (liveSample)
// on the live runtime with isolation process — every service an OS
// process, killed with SIGKILL when it crashes — and holds each cell to
// its line of the matrix; on failure it prints the measured matrix. A
// baseline that passes a scenario meant to break it fails here: its cell
// expects some anomaly of a class it no longer shows. The sample covers
// every pattern, every built-in scenario and every fault kind
// (TestMatrixTable checks); a fault of sampleFaultCells must land on a
// request a node process sent. With -full-matrix (make test-live) it runs
// every cell and sampleFaultCells in-process instead.
func TestMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the matrix runs live cells; -short skips it")
	}
	cells := readMatrix(t)
	runs := liveSample(t, cells)
	set := func(cfg *Config) { cfg.Isolation = live.IsolationProcess }
	from := func(target string) bool { return !strings.HasPrefix(target, sim.Client+"->") } // a link from a node process
	if *fullMatrix {
		runs = nil
		for _, c := range cells {
			runs = append(runs, sampleRun{c: c})
		}
		runs = append(runs, faultRuns(t)...)
		set, from = func(*Config) {}, nil
	}
	results := runSample(t, runs, set, from)
	if !*fullMatrix {
		requireLandedAcross(t, results)
	}
	if t.Failed() {
		t.Logf("the measured matrix (%s; the last %d cells with their own faults: sampleFaultCells):\n%s",
			expectationsFile, len(sampleFaultCells), formatMatrix(sampleCells(runs), results))
	}
}

// requireLandedAcross: the faults decided per site or timed, new with
// issue 12, each landed somewhere in the sample run with isolation
// process: they work across the process boundary. (Judged when the whole
// sample ran, not a part chosen with -run.)
func requireLandedAcross(t *testing.T, results []outcome) {
	landed := map[string]bool{}
	whole := true
	for _, o := range results {
		whole = whole && (o.err != nil || o.report.Anomalies != nil)
		for _, a := range o.applied {
			landed[a.Fault] = true
			if a.Fault == "crash" && a.Detail == "" { // Crash, as the nemesis's timed kill calls it
				landed["kill"] = true
			}
		}
	}
	for _, k := range []string{"late", "duplicate", "reorder", "crash-commit", "kill"} {
		assert.True(t, !whole || landed[k], "no %s landed in the whole sample", k)
	}
}

func runCell(t *testing.T, spec patterns.Spec, c cell) outcome {
	return runCellWith(t, spec, c, func(*Config) {})
}

// runCellWith is runCell with the cell's configuration changed by set.
func runCellWith(t *testing.T, spec patterns.Spec, c cell, set func(*Config)) outcome {
	sc, err := Builtin(c.scenario)
	require.NoError(t, err)
	cfg, err := sc.ConfigFor(spec)
	require.NoError(t, err)
	set(&cfg)
	res, err := ExecuteSpec(t.Context(), spec, cfg, t.TempDir())
	if !assert.NoError(t, err, "%s under %s: the run did not complete", c.pattern, c.scenario) {
		return outcome{err: err}
	}
	t.Logf("slowness %.2f", res.Slowness)
	o := outcome{report: res.Report, misses: c.expect.Check(res.Report), applied: res.Applied}
	if len(o.misses) > 0 {
		why := ""
		if c.comment != "" {
			why = " (" + c.comment + ")"
		}
		baseline := ""
		if slices.Contains(baselines, c.pattern) && !breaks(res.Report, c.expect) {
			baseline = fmt.Sprintf("\nbaseline %s passed %s, a scenario meant to break it: the checker, the scenario or the baseline has stopped showing %s",
				c.pattern, c.scenario, strings.Join(someClasses(c.expect), ", "))
		}
		assert.Fail(t, fmt.Sprintf("%s × %s (%s:%d%s) missed %d expectation(s)", c.pattern, c.scenario, expectationsFile, c.line, why, len(o.misses)),
			"%s%s\n%s", FormatMisses(o.misses), baseline, FormatReport(res))
	}
	return o
}

// breaks reports whether r shows some anomaly of a class e expects some of.
func breaks(r checker.Report, e Expectations) bool {
	for _, c := range someClasses(e) {
		if r.Anomalies[checker.Class(c)].Count > 0 {
			return true
		}
	}
	return false
}

func someClasses(e Expectations) []string {
	var out []string
	for _, c := range checker.Classes {
		if e[c] == Some {
			out = append(out, string(c))
		}
	}
	return out
}

// formatMatrix prints the measured matrix, one line per cell: each class's
// count followed by its expectation's mark (. zero, + some, ? any), and
// a missed expectation in brackets.
func formatMatrix(cells []cell, results []outcome) string {
	var b strings.Builder
	b.WriteString("count and expectation: 3+ some, 0. zero, 2? any; [0+] a missed expectation; n/j not judged\n")
	header := []string{"scenario", "pattern"}
	for _, c := range checker.Classes {
		header = append(header, shortName(c))
	}
	rows := [][]string{header}
	order := make([]int, len(cells))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ca, cb := cells[order[a]], cells[order[b]]
		if ca.scenario != cb.scenario {
			return ca.scenario < cb.scenario
		}
		return ca.pattern < cb.pattern
	})
	for _, i := range order {
		c, o := cells[i], results[i]
		row := []string{c.scenario, c.pattern}
		for _, cl := range checker.Classes {
			if o.err != nil {
				row = append(row, "err")
				continue
			}
			if o.report.Anomalies == nil {
				row = append(row, "") // not run (-run)
				continue
			}
			mark := map[Expect]string{Zero: ".", Some: "+", Any: "?"}[c.expect[cl]]
			v := fmt.Sprint(o.report.Anomalies[cl].Count)
			if slices.Contains(o.report.Unchecked, cl) {
				v = "n/j"
			}
			v += mark
			if slices.ContainsFunc(o.misses, func(m Miss) bool { return m.Class == cl }) {
				v = "[" + v + "]"
			}
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	widths := make([]int, len(header))
	for _, r := range rows {
		for j, v := range r {
			widths[j] = max(widths[j], len(v))
		}
	}
	for _, r := range rows {
		for j, v := range r {
			fmt.Fprintf(&b, "%-*s ", widths[j], v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// shortName is a class's column header in the printed matrix.
func shortName(c checker.Class) string {
	if s, ok := short[c]; ok {
		return s
	}
	return string(c)
}
