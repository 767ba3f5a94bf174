package scenarios

import (
	"flag"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// expectationsFile is the expectation matrix: every registered pattern
// under every built-in scenario. Its comment header says how to read it.
const expectationsFile = patterns.ExpectationsFile

// baselines are the patterns every built-in scenario is meant to break.
var baselines = []string{"naive-dual-write", "blind-retry"}

// fullMatrix makes TestMatrix run every cell of the expectation matrix on
// the live runtime (make test-live), not only the live sample's.
var fullMatrix = flag.Bool("full-matrix", false, "TestMatrix: run all the expectation matrix's cells on the live runtime, not only its sample")

// matrixSample is the cells of the expectation matrix in the live sample
// (liveSample): pattern k under scenario k, each list in name order
// wrapping around, for k up to the longer one. It holds every pattern,
// both baselines included, and every built-in scenario, and every cell
// asserts its expectations: a pattern the sample runs cannot break
// unseen. TestDetMatrix runs every cell on the det runtime, make
// test-live every cell live.
func matrixSample(cells []cell) []cell {
	var pats, scs []string
	at := map[[2]string]cell{}
	for _, c := range cells {
		if !slices.Contains(pats, c.pattern) {
			pats = append(pats, c.pattern)
		}
		if !slices.Contains(scs, c.scenario) {
			scs = append(scs, c.scenario)
		}
		at[[2]string{c.pattern, c.scenario}] = c
	}
	sort.Strings(pats)
	sort.Strings(scs)
	var out []cell
	for k := range max(len(pats), len(scs)) {
		out = append(out, at[[2]string{pats[k%len(pats)], scs[k%len(scs)]}])
	}
	return out
}

// sampleFaultCells are cells for the fault kinds no built-in scenario
// uses: a pattern under a profile of one kind, on the world and workload
// of a built-in scenario (base), held to what the pattern shows under that
// fault in patterns/README.md's measured table. Each must also show the
// fault applied (landed); with isolation process, to a request a node
// process sent, through the runner's egress and link. Which requests are
// hit is decided by the seed (sim.LinkFaults.SiteFault): with seed 1 the
// 10th, 11th, 13th, 15th, 16th and 20th checkouts are duplicated, and of
// orders' requests to payments the 6th is duplicated and the 1st, 3rd and
// 7th reordered.
var sampleFaultCells = []struct {
	pattern, base, faults, expect, landed, why string
}{
	{
		pattern: "naive-dual-write", base: "lost-responses", faults: "duplicate=0.2", expect: "duplicate-effect=some *=any", landed: "duplicate",
		why: "a duplicated checkout runs again and charges under new keys",
	},
	{
		pattern: "outbox", base: "lost-responses", faults: "reorder=0.2", expect: "-", landed: "reorder",
		why: "reordering alone breaks no pattern: the requests of one order are never in flight together",
	},
}

// sampleRun is a cell of the live sample: a cell of the matrix, or one of
// sampleFaultCells with its own faults.
type sampleRun struct {
	c      cell
	faults string // replaces the base scenario's, if not ""
	landed string // the fault that must have landed, if not ""
}

// name is the run's subtest name.
func (r sampleRun) name() string {
	if r.faults != "" {
		return r.faults + "/" + r.c.pattern
	}
	return r.c.scenario + "/" + r.c.pattern
}

// liveSample is what make test runs live, in-process (TestMatrix) and
// with every service an OS process (TestProcessMatrix): matrixSample's
// cells of cells, then sampleFaultCells. It holds every pattern, every
// built-in scenario and every fault kind (TestMatrixTable checks).
func liveSample(t *testing.T, cells []cell) []sampleRun {
	t.Helper()
	var runs []sampleRun
	for _, c := range matrixSample(cells) {
		runs = append(runs, sampleRun{c: c})
	}
	return append(runs, faultRuns(t)...)
}

// faultRuns are sampleFaultCells as runs.
func faultRuns(t *testing.T) []sampleRun {
	t.Helper()
	var runs []sampleRun
	for _, fc := range sampleFaultCells {
		want, err := resolveExpect(fc.expect, nil)
		require.NoError(t, err)
		runs = append(runs, sampleRun{c: cell{pattern: fc.pattern, scenario: fc.base, expect: want, comment: fc.why}, faults: fc.faults, landed: fc.landed})
	}
	return runs
}

// runSample runs the sample's runs, at most matrixParallel at once, each
// with its configuration changed by set, and checks that each run's fault
// landed: on a request whose link satisfies from, if from is not nil.
func runSample(t *testing.T, runs []sampleRun, set func(*Config), from func(target string) bool) []outcome {
	results := make([]outcome, len(runs))
	sem := make(chan struct{}, matrixParallel())
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			// t.Run may be called from many goroutines; the semaphore,
			// not -parallel, bounds how many cells run at once.
			t.Run(r.name(), func(t *testing.T) {
				spec, err := patterns.Lookup(r.c.pattern)
				require.NoError(t, err)
				results[i] = runCellWith(t, spec, r.c, func(cfg *Config) {
					set(cfg)
					if r.faults != "" {
						cfg.Scenario, cfg.Faults = "", r.faults
					}
				})
				if r.landed == "" || results[i].err != nil {
					return
				}
				var on []string
				for _, a := range results[i].applied {
					if a.Fault == r.landed && (from == nil || from(a.Target)) {
						on = append(on, a.Target)
					}
				}
				require.NotEmpty(t, on, "%s never landed where it must", r.landed)
			})
		}()
	}
	wg.Wait()
	return results
}

// sampleCells are the runs' cells, for formatMatrix.
func sampleCells(runs []sampleRun) []cell {
	var cells []cell
	for _, r := range runs {
		cells = append(cells, r.c)
	}
	return cells
}

// matrixParallel is how many cells run at once: -parallel (GOMAXPROCS by
// default), at most 3. A cell mostly waits on timeouts, but its world's
// idle polling under -race takes half a core, and CI has two.
func matrixParallel() int {
	n := 3
	if f := flag.Lookup("test.parallel"); f != nil {
		if p, err := strconv.Atoi(f.Value.String()); err == nil && p > 0 {
			n = min(n, p)
		}
	}
	return n
}

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

// TestMatrix runs the cells of the expectation matrix on the live runtime
// and asserts their expectations; on failure it prints the measured
// matrix. A baseline that passes a scenario meant to break it fails here:
// its cell expects some anomaly of a class it no longer shows. It runs
// the live sample (liveSample), or every cell and sampleFaultCells with
// -full-matrix (make test-live).
func TestMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the matrix runs live cells; -short skips it")
	}
	cells := readMatrix(t)
	runs := liveSample(t, cells)
	if *fullMatrix {
		runs = nil
		for _, c := range cells {
			runs = append(runs, sampleRun{c: c})
		}
		runs = append(runs, faultRuns(t)...)
	}
	results := runSample(t, runs, func(*Config) {}, nil)
	if t.Failed() {
		t.Logf("the measured matrix (%s; the last %d cells with their own faults: sampleFaultCells):\n%s",
			expectationsFile, len(sampleFaultCells), formatMatrix(sampleCells(runs), results))
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
