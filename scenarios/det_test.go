package scenarios

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/results"
)

// detTiny is a small det run: few orders, short timeouts, a short quiet
// period, so that many of them fit in a test.
func detTiny(pattern, faults string) Config {
	cfg := Default()
	cfg.Pattern, cfg.Faults, cfg.Runtime, cfg.Seed = pattern, faults, "det", 5
	cfg.Workload = Workload{Txns: 6, Concurrency: 3, Attempts: 2, Customers: 3}
	cfg.World.Payments.RejectRate = 0.2
	cfg.World.CallTimeout = 100 * time.Millisecond
	cfg.CallTimeout = 400 * time.Millisecond
	cfg.Quiet = 500 * time.Millisecond
	return cfg
}

// record executes cfg and returns its record.
func record(t *testing.T, cfg Config) (*Result, *results.Record) {
	t.Helper()
	res, err := Execute(context.Background(), cfg, t.TempDir())
	require.NoError(t, err)
	rec, err := res.Record()
	require.NoError(t, err)
	return res, rec
}

// requireReplays runs cfg twice and requires the same run outside the
// host key — the record, the history, every fault applied, the schedule,
// the final state — naming the first field that differs. The first run is
// compared as its record stores it: written (WriteRecord) and read back
// (ReadRun).
func requireReplays(t *testing.T, cfg Config) *Result {
	t.Helper()
	ctx := context.Background()
	res, err := Execute(ctx, cfg, t.TempDir())
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "record.json")
	_, err = res.WriteRecord(ctx, path)
	require.NoError(t, err)
	first, err := ReadRun(ctx, path)
	require.NoError(t, err)
	again, _ := record(t, cfg)
	diff, err := first.Diff(ctx, again)
	require.NoError(t, err)
	require.Empty(t, diff, "%s under %q: the second run differs from the first", cfg.Pattern, cfg.Faults)
	return res
}

// TestDetReplays runs every pattern twice under no fault, lost responses,
// a partition, payments crashes and coordinator crashes at every one of
// its crash points, and requires byte-identical records. Under the race
// detector it runs four patterns (the baseline, one with a relay, one that
// compensates, one with a node of its own), each under all of those at once.
func TestDetReplays(t *testing.T) {
	for _, spec := range patterns.All() {
		if raceDetector && !slices.Contains([]string{"naive-dual-write", "outbox", "saga", "fallback-queue"}, spec.Name) {
			continue
		}
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
			var crashPoints []string
			for _, p := range spec.CrashPoints {
				crashPoints = append(crashPoints, "crashpoint="+p+":0.3")
			}
			profiles := []string{"", "lost-response=0.3", "partition=client-orders:10ms", "crash=payments:0.5", strings.Join(crashPoints, ",")}
			if raceDetector {
				profiles = []string{strings.Join(profiles[1:], ",")}
			}
			for _, p := range profiles {
				cfg := detTiny(spec.Name, p)
				if raceDetector {
					cfg.Workload.Txns = 12 // every fault at once: enough orders that each shows
				}
				res := requireReplays(t, cfg)
				if p == "" {
					require.Empty(t, res.Applied)
					continue
				}
				counts := res.Faults().Counts
				for _, want := range []string{"lost-response", "partition", "crash payments", "crash-point orders"} {
					if strings.Contains(p, strings.Fields(want)[0]+"=") {
						require.Positive(t, countPrefix(counts, want), "%s under %q: no %s was applied; the test tests less than it says", spec.Name, p, want)
					}
				}
			}
		})
	}
}

// detSuite skips a pattern's det suite (TestDetSaga and the like: det runs
// of the pattern under each fault it claims to survive or is known to
// fail) under the race detector, where SQLite makes det runs ten times
// slower: make test runs it in full again without -race. Every pattern
// runs under -race live (TestMatrix) and on det (TestDetMatrix's sample).
func detSuite(t *testing.T) {
	t.Helper()
	if raceDetector {
		t.Skip("a pattern's det suite: make test runs it without -race")
	}
}

// countPrefix adds up the applied-fault counts whose "fault target" key
// starts with prefix.
func countPrefix(counts map[string]int, prefix string) int {
	n := 0
	for k, v := range counts {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// TestDetMatrix runs every cell of the expectation matrix (every pattern
// under every built-in scenario) on the det runtime, twice: both runs must
// give the same record, and the cell's expectations must hold as they do
// on the live runtime (TestMatrix). Under the race detector it runs three
// cells: the k-th scenario with the k-th pattern, for k < 3.
func TestDetMatrix(t *testing.T) {
	specs := map[string]patterns.Spec{}
	for _, s := range patterns.All() {
		specs[s.Name] = s
	}
	names, scenarioNames := patterns.Names(), BuiltinNames()
	for _, c := range readMatrix(t) {
		if k := slices.Index(scenarioNames, c.scenario); raceDetector && (k >= 3 || c.pattern != names[k%len(names)]) {
			continue // the sample: the k-th scenario with the k-th pattern
		}
		t.Run(c.scenario+"/"+c.pattern, func(t *testing.T) {
			t.Parallel()
			sc, err := Builtin(c.scenario)
			require.NoError(t, err)
			cfg, err := sc.ConfigFor(specs[c.pattern])
			require.NoError(t, err)
			cfg.Runtime = "det"
			if raceDetector {
				cfg.Quiet = min(cfg.Quiet, 2*time.Second) // a cell that never comes to rest polls the databases all quiet long
			}
			res := requireReplays(t, cfg)
			if misses := c.expect.Check(res.Report); len(misses) > 0 {
				t.Errorf("%s × %s (%s:%d) holds on live but misses on det:\n%s\n%s",
					c.pattern, c.scenario, expectationsFile, c.line, FormatMisses(misses), FormatReport(res))
			}
		})
	}
}

// TestDetReplaysSiteFaults runs patterns under the faults decided per site
// (late, duplicate, reorder, crash-commit) and timed crashes twice each,
// and requires byte-identical records in which every one of them landed.
func TestDetReplaysSiteFaults(t *testing.T) {
	for _, pattern := range []string{"outbox", "saga", "fallback-queue"} {
		t.Run(pattern, func(t *testing.T) {
			cfg := detTiny(pattern, "late=0.3:500ms,duplicate=0.3,reorder=0.3,kill=*:300ms,crash-commit=orders:0.1,crash-commit=rewards:0.3")
			cfg.Workload.Txns, cfg.Workload.Concurrency = 12, 2
			cfg.Quiet = 5 * time.Second
			res := requireReplays(t, cfg)
			landed := map[string]bool{}
			for _, a := range res.Applied {
				landed[a.Fault] = true
				if a.Fault == "late" || a.Fault == "duplicate" || a.Fault == "reorder" || a.Fault == "crash-commit" {
					require.NotEmpty(t, a.Site, "%s is recorded with its site", a.Fault)
				}
			}
			for _, f := range []string{"late", "duplicate", "reorder", "crash", "crash-commit"} {
				require.True(t, landed[f], "%s never landed: %v", f, res.Faults().FaultCounts())
			}
		})
	}
}
