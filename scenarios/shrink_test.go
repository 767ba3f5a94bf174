package scenarios

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
)

// TestDetShrink shrinks a failing run of the naive dual write — 500 orders
// from 8 clients under nine kinds of fault at once, thousands of faults —
// to a handful of orders from one client and the few faults, at named
// sites, that the leak needs: without any one of them the run no longer
// leaks (1-minimal). It writes the result as a scenario file and runs that
// file again: it still leaks a charge. Under the race detector it starts
// from 20 orders and four kinds of fault.
func TestDetShrink(t *testing.T) {
	cfg := Default()
	cfg.Pattern, cfg.Runtime = "naive-dual-write", "det"
	cfg.Workload.Txns = 500
	cfg.Quiet = 2 * time.Second
	cfg.Faults = "lost-response=0.1,drop-request=0.05,partition=200ms,latency=20ms,crash=payments:0.05,crash=broker:0.05,error=payments:0.1," +
		"crashpoint=after-local-commit:0.05,crashpoint=before-publish:0.05"
	if raceDetector { // SQLite is ten times slower: a smaller run, the same search
		cfg.Workload.Txns = 20
		cfg.Faults = "lost-response=0.1,crash=payments:0.2,error=payments:0.1,crashpoint=after-local-commit:0.1"
	}
	var steps []ShrinkStep
	start := time.Now()
	best, res, err := Shrink(context.Background(), cfg, checker.LeakedResource, ShrinkOptions{Progress: func(s ShrinkStep) { steps = append(steps, s) }})
	require.NoError(t, err)
	require.True(t, steps[0].Fails, "the run as recorded leaks")
	require.True(t, steps[1].Fails, "the faults it got, as a schedule, are the same run")
	require.Positive(t, res.Report.Anomalies[checker.LeakedResource].Count)
	t.Logf("%d runs in %s: %d orders from %d clients, %d attempts, schedule:\n%s",
		len(steps), time.Since(start).Round(time.Millisecond), best.Workload.Txns, best.Workload.Concurrency, best.Workload.Attempts, best.Schedule)

	require.LessOrEqual(t, best.Workload.Txns, 5, "a handful of orders")
	require.Equal(t, 1, best.Workload.Concurrency)
	require.Empty(t, best.Faults, "no profile: the faults are named one by one")
	sched, err := faults.ParseSchedule(best.Schedule)
	require.NoError(t, err)
	require.NotEmpty(t, sched)
	require.LessOrEqual(t, len(sched), 3, "the few faults that matter: %s", best.Schedule)
	for _, e := range sched {
		require.Regexp(t, `^(request \d+ of o\d{6} on \S+|request \d+ on \S+|visit \d+ of \S+ at \S+( for o\d{6})?|commit \d+ of \S+( for o\d{6})?|at \S+): `, e.String(), "at a named site")
	}
	// 1-minimal: without any one of its faults, the run leaks nothing.
	spec, err := patterns.Lookup(cfg.Pattern)
	require.NoError(t, err)
	for i := range sched {
		c := best
		c.Schedule = append(append(faults.Schedule(nil), sched[:i]...), sched[i+1:]...).String()
		r, err := ExecuteSpec(context.Background(), spec, c, "")
		require.NoError(t, err)
		require.Zero(t, r.Report.Anomalies[checker.LeakedResource].Count, "without %q the run still leaks: not 1-minimal", sched[i])
	}

	var file bytes.Buffer
	require.NoError(t, WriteScenario(&file, "shrunk-leak", "The naive dual write leaks a charge.", best))
	sc, err := Parse("shrunk-leak.yaml", file.Bytes())
	require.NoError(t, err)
	again, err := sc.ConfigFor(spec)
	require.NoError(t, err)
	require.Equal(t, best.Schedule, again.Schedule, "the scenario file holds the schedule")
	res2, err := ExecuteSpec(context.Background(), spec, again, t.TempDir())
	require.NoError(t, err)
	require.Positive(t, res2.Report.Anomalies[checker.LeakedResource].Count, "the scenario file still leaks:\n%s", file.String())
	require.NotEmpty(t, sc.Expect.Check(res2.Report), "as a regression test, the scenario fails until the bug is fixed")
}

// TestShrinkRefuses: only a det run that shows the class can be shrunk.
func TestShrinkRefuses(t *testing.T) {
	live := Default()
	_, _, err := Shrink(context.Background(), live, checker.LostEvent, ShrinkOptions{})
	require.ErrorContains(t, err, "only a det run can be shrunk")

	clean := detTiny("outbox", "")
	_, _, err = Shrink(context.Background(), clean, checker.LostEvent, ShrinkOptions{})
	require.ErrorContains(t, err, "shows no lost-event")

	_, _, err = Shrink(context.Background(), clean, "lost-socks", ShrinkOptions{})
	require.ErrorContains(t, err, `"lost-socks" is not an anomaly class`)
}

// TestDetExplore explores seeds of the naive dual write under lost
// responses: it finds the classes the baseline is known for, reports the
// lowest failing seed of each, and that seed alone shows the class again.
func TestDetExplore(t *testing.T) {
	cfg := detTiny("naive-dual-write", "lost-response=orders-payments:0.3")
	var seen []int64
	exp, err := Explore(context.Background(), cfg, ExploreOptions{Seeds: 6, Parallel: 2, Progress: func(r ExploreRun) { seen = append(seen, r.Seed) }})
	require.NoError(t, err)
	require.Equal(t, 6, exp.Runs)
	require.ElementsMatch(t, []int64{5, 6, 7, 8, 9, 10}, seen)
	var classes []checker.Class
	for _, f := range exp.Failures {
		classes = append(classes, f.Class)
		require.Positive(t, f.Result.Report.Anomalies[f.Class].Count)
		require.Equal(t, f.Seed, f.Result.Config.Seed)
		require.GreaterOrEqual(t, f.Seed, cfg.Seed)
		require.LessOrEqual(t, f.Seeds, exp.Runs)
	}
	require.Contains(t, classes, checker.LeakedResource)

	first := exp.Failures[0]
	for s := cfg.Seed; s < first.Seed; s++ {
		c := cfg
		c.Seed = s
		res, err := Execute(context.Background(), c, t.TempDir())
		require.NoError(t, err)
		require.Zero(t, res.Report.Anomalies[first.Class].Count, "seed %d shows %s: %d is not the first", s, first.Class, first.Seed)
	}

	_, err = Explore(context.Background(), Default(), ExploreOptions{Seeds: 1})
	require.ErrorContains(t, err, "explore runs seeds on the det runtime")
}

// TestShrinkMovesMoment: a partition at a moment lands on whatever the run
// is doing then, so latency faults that only slowed the run until the
// moment came were needed with it. Moved to the run's start, it breaks the
// first order alone, and the latencies and later orders go: the naive dual
// write's points out of balance (not-conserved), from 9 orders and 9 faults (as a shrink of the
// everything-at-once scenario left them before moments moved) to 1 order
// and the partition.
func TestShrinkMovesMoment(t *testing.T) {
	cfg := Default()
	cfg.Pattern, cfg.Runtime, cfg.Seed = "naive-dual-write", "det", 1
	cfg.Quiet, cfg.CallTimeout = 10*time.Second, time.Second
	cfg.Workload = Workload{Txns: 9, Concurrency: 1, Attempts: 1, Customers: 1}
	cfg.World.Payments.RejectRate, cfg.World.Inventory.RejectRate, cfg.World.Shipping.RejectRate = 0, 0, 0
	cfg.World.CallTimeout = 300 * time.Millisecond
	cfg.Schedule = `request 1 of o000001 on client->orders: latency 5.132497ms
request 1 of o000001 on orders->shipping: latency 5.726632ms
request 1 of o000002 on client->orders: latency 3.709605ms
request 1 of o000002 on orders->payments: latency 7.079381ms
request 2 of o000002 on client->orders: latency 3.512151ms
request 1 of o000003 on client->orders: latency 4.907796ms
request 2 of o000003 on client->orders: latency 4.807713ms
request 1 of o000004 on client->orders: latency 7.013466ms
at 95.566125ms: partition orders->broker for 300ms
`
	var steps []ShrinkStep
	best, _, err := Shrink(context.Background(), cfg, checker.NotConserved, ShrinkOptions{Progress: func(s ShrinkStep) { steps = append(steps, s) }})
	require.NoError(t, err)
	t.Logf("%d runs: %d orders, schedule:\n%s", len(steps), best.Workload.Txns, best.Schedule)
	require.Equal(t, "at 0s: partition orders->broker for 300ms\n", best.Schedule)
	require.Equal(t, 1, best.Workload.Txns)
}
