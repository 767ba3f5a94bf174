package scenarios

import (
	"flag"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/patterns"
)

// The live sample of the expectation matrix: the cells make test runs on
// the live runtime (TestMatrix), and how they run.

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

// liveSample is what make test runs live, with every service an OS
// process (TestMatrix): matrixSample's cells of cells, then
// sampleFaultCells. It holds every pattern, every built-in scenario and
// every fault kind (TestMatrixTable checks).
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
