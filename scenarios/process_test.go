package scenarios

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/live"
)

// processSample is a sample of the expectation matrix that holds every
// pattern and every built-in scenario at least once: pattern k and
// scenario k, each list wrapping around, for k up to the longer one.
func processSample(cells []cell) []cell {
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

// processFaultCells are cells for the fault kinds no built-in scenario
// uses: a pattern under a profile of one kind, on the world and workload
// of a built-in scenario (base), held to what the pattern shows under that
// fault in patterns/README.md's measured table. Each must also show the
// fault applied to a request a node process sent, through the runner's
// egress and link (landed). Which requests are hit is decided by the seed
// (sim.LinkFaults.SiteFault): with seed 1 the 10th, 11th, 13th, 15th,
// 16th and 20th checkouts are duplicated, and of orders' requests to
// payments the 6th is duplicated and the 1st, 3rd and 7th reordered.
var processFaultCells = []struct {
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

// TestProcessMatrix runs a sample of the expectation matrix on the live
// runtime with isolation process — every service an OS process, killed
// with SIGKILL when it crashes — and holds each cell to its line of the
// matrix. The sample covers every pattern and every built-in scenario,
// and with processFaultCells every fault kind; the records say the
// isolation.
func TestProcessMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the sample runs a live cell per pattern; -short skips it")
	}
	type run struct {
		c      cell
		faults string // replaces the base scenario's, if not ""
		landed string // the fault that must have landed on a request from a node process, if not ""
		spec   patterns.Spec
	}
	var runs []run
	kinds := map[string]bool{}
	pats, scs := map[string]bool{}, map[string]bool{}
	addKinds := func(profile string) {
		p, err := faults.Parse(profile)
		require.NoError(t, err)
		for _, f := range p {
			kinds[f.Kind] = true
		}
	}
	for _, c := range processSample(readMatrix(t)) {
		pats[c.pattern], scs[c.scenario] = true, true
		spec, err := patterns.Lookup(c.pattern)
		require.NoError(t, err)
		sc, err := Builtin(c.scenario)
		require.NoError(t, err)
		cfg, err := sc.ConfigFor(spec)
		require.NoError(t, err)
		addKinds(cfg.Faults)
		runs = append(runs, run{c: c, spec: spec})
	}
	require.Len(t, pats, len(patterns.Names()), "every pattern")
	require.Len(t, scs, len(BuiltinNames()), "every built-in scenario")
	for _, fc := range processFaultCells {
		spec, err := patterns.Lookup(fc.pattern)
		require.NoError(t, err)
		want, err := resolveExpect(fc.expect, nil)
		require.NoError(t, err)
		addKinds(fc.faults)
		runs = append(runs, run{c: cell{pattern: fc.pattern, scenario: fc.base, expect: want, comment: fc.why}, faults: fc.faults, landed: fc.landed, spec: spec})
	}
	for _, k := range faults.Kinds() {
		require.True(t, kinds[k.Name], "fault kind %s is in no cell of the sample: add a cell for it to processFaultCells", k.Name)
	}

	results := make([]outcome, len(runs))
	sem := make(chan struct{}, matrixParallel())
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			name := r.c.scenario + "/" + r.c.pattern
			if r.faults != "" {
				name = r.faults + "/" + r.c.pattern
			}
			t.Run(name, func(t *testing.T) {
				results[i] = runCellWith(t, r.spec, r.c, func(cfg *Config) {
					cfg.Isolation = live.IsolationProcess
					if r.faults != "" {
						cfg.Scenario, cfg.Faults = "", r.faults
					}
				})
				if r.landed != "" && results[i].err == nil {
					var from []string
					for _, a := range results[i].applied {
						if a.Fault == r.landed && !strings.HasPrefix(a.Target, sim.Client+"->") { // a link from a node process
							from = append(from, a.Target)
						}
					}
					require.NotEmpty(t, from, "%s never landed on a request a node process sent", r.landed)
				}
			})
		}()
	}
	wg.Wait()
	// The faults decided per site or timed, new with issue 12, each landed
	// somewhere in the sample: they work across the process boundary.
	landed := map[string]bool{}
	for _, o := range results {
		for _, a := range o.applied {
			landed[a.Fault] = true
			if a.Fault == "crash" && a.Detail == "" { // Crash, as the nemesis's timed kill calls it
				landed["kill"] = true
			}
		}
	}
	for _, k := range []string{"late", "duplicate", "reorder", "crash-commit", "kill"} {
		assert.True(t, landed[k], "no %s landed in the whole sample", k)
	}
	if t.Failed() {
		var cells []cell
		for _, r := range runs {
			cells = append(cells, r.c)
		}
		t.Logf("the measured sample with isolation process (%s; the last %d cells with their own faults: processFaultCells):\n%s",
			expectationsFile, len(processFaultCells), formatMatrix(cells, results))
	}
}

// TestProcessRecord: a run with isolation process says so in its record,
// and its nodes ran in processes of their own: the coordinator's crashes
// at its crash point were decided by the runtime and each was followed by
// a restart.
func TestProcessRecord(t *testing.T) {
	cfg := quickLive("outbox", "crashpoint=after-local-commit:0.3")
	cfg.Workload.Txns = 20
	cfg.Isolation = live.IsolationProcess
	res := execute(t, cfg)
	require.Positive(t, res.Faults().Counts["crash-point orders"], "the coordinator crashed")
	require.Equal(t, res.Faults().Counts["crash-point orders"], res.Faults().Counts["restart orders"], "each crash was followed by a restart")
	rec, err := res.Record()
	require.NoError(t, err)
	var got struct {
		Isolation string `json:"isolation"`
	}
	require.NoError(t, json.Unmarshal(rec.Config, &got))
	require.Equal(t, "process", got.Isolation)
	require.Equal(t, "clean", rec.Verdict, FormatReport(res))
}

// TestIsolationRefused: process isolation runs on the live runtime only,
// without JetStream; an unknown isolation is named.
func TestIsolationRefused(t *testing.T) {
	cfg := quick("outbox", "")
	cfg.Isolation = "process"
	require.ErrorContains(t, cfg.Validate(), "isolation: process runs on the live runtime only (runtime is det)")
	cfg = quickLive("outbox", "")
	cfg.Isolation = "vm"
	require.ErrorContains(t, cfg.Validate(), `isolation: "vm" is not one of [none process]`)
	cfg = quickJetStream("outbox", "")
	cfg.Isolation = "process"
	err := cfg.Validate()
	require.ErrorContains(t, err, "isolation: process cannot run broker jetstream")
	require.True(t, strings.Contains(err.Error(), "use isolation none"), err)
}

// TestProcessUnknownPattern: a pattern the node processes cannot find —
// neither registered nor given to NodeMain — stops the run with an error
// that says so and what to do.
func TestProcessUnknownPattern(t *testing.T) {
	spec, err := patterns.Lookup("outbox")
	require.NoError(t, err)
	spec.Name = "my-outbox" // the caller's own, unregistered
	cfg := quickLive("", "")
	cfg.Isolation = live.IsolationProcess
	_, err = ExecuteSpec(t.Context(), spec, cfg, t.TempDir())
	require.ErrorContains(t, err, "the node process exited before serving (exit status 1); it said:")
	require.ErrorContains(t, err, `pattern "my-outbox" is not registered`)
	require.ErrorContains(t, err, "nor given to scenarios.NodeMain")
}

// buggySpec is the outbox with a bug that panics in a process of orders
// once it has run a moment.
func buggySpec() patterns.Spec {
	spec, err := patterns.Lookup("outbox")
	if err != nil {
		panic(err)
	}
	spec.Name = "buggy-outbox"
	orders := spec.New
	spec.New = func() sim.Service {
		svc := orders()
		return sim.ServiceFunc(func(n *sim.Node) (http.Handler, error) {
			n.Go("bug", func(ctx context.Context) {
				if n.Sleep(ctx, 100*time.Millisecond) == nil {
					panic("a bug in the pattern")
				}
			})
			return svc.Start(n)
		})
	}
	return spec
}

// TestProcessBug: a node process that dies of its own bug — no fault
// did it — fails the run with what it said, as a panic in the runner's
// process would.
func TestProcessBug(t *testing.T) {
	cfg := quickLive("", "")
	cfg.Workload.Txns = 10
	cfg.Isolation = live.IsolationProcess
	_, err := ExecuteSpec(t.Context(), buggySpec(), cfg, t.TempDir())
	require.ErrorContains(t, err, "node orders: its process exited by itself, which no fault does")
	require.ErrorContains(t, err, "panic: a bug in the pattern")
}
