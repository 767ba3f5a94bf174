package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/scenarios"
)

func TestSweepBadFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"sweep", "--patterns", "nope"}, `--patterns: pattern "nope" is not registered`},
		{[]string{"sweep", "--patterns", ","}, "--patterns: none given"},
		{[]string{"sweep", "--faults", "crash"}, `--faults: "crash": crash needs a node, e.g. crash:payments`},
		{[]string{"sweep", "--rates", "0,2"}, `rate "2" is not a probability between 0 and 1, which lost-response takes`},
		// Refused before the sweep starts (--out is never reached).
		{[]string{"sweep", "--rates", "0,NaN", "--out", "/dev/null/sweep"}, `--rates: "NaN" is neither a rate between 0 and 1 nor a duration such as 50ms (or seconds: 0.05)`},
		{[]string{"sweep", "--faults", "latency", "--rates", "Inf", "--out", "/dev/null/sweep"}, `--rates: "Inf" is neither a rate between 0 and 1 nor a duration`},
		{[]string{"sweep", "--faults", "partition", "--rates", "1e6", "--out", "/dev/null/sweep"}, `rate "1e6" is not a duration for partition: give one such as 50ms, or seconds from 0 to 86400`},
		{[]string{"sweep", "--seeds", "0"}, "--seeds: 0 is not between 1 and 10000"},
		{[]string{"sweep", "--txns", "0"}, "--txns: 0 is not between 1 and 1000000"},
		{[]string{"sweep", "--service-timeout", "-1s"}, "--service-timeout: -1s is negative"},
		{[]string{"sweep", "--parallel", "0"}, "--parallel: 0 is not between 1 and 64"},
		{[]string{"sweep", "--out", ""}, "--out: a directory is needed"},
		{[]string{"sweep", "--resume", "--out", "/nonexistent/sweep"}, "--resume: nothing to resume in /nonexistent/sweep"},
		{[]string{"sweep", "--shard", "0/4"}, "--shard: 0/4: K must be between 1 and 4"},
		{[]string{"sweep", "--shard", "5/4"}, "--shard: 5/4: K must be between 1 and 4"},
		{[]string{"sweep", "--shard", "1/0"}, "--shard: 1/0: N is the number of slices, at least 1"},
		{[]string{"sweep", "--shard", "2"}, `--shard: "2" is not K/N (e.g. 2/4, the second of four slices of the cells)`},
	}
	for _, tt := range tests {
		t.Run(tt.wantErr, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			require.Equal(t, exitUsage, code, stderr)
			require.Contains(t, stderr, tt.wantErr)
		})
	}
}

// TestSweepFlagValuesCoverEveryFlag: --resume fills in every flag that
// defines a sweep from sweep.json, so none may be missing.
func TestSweepFlagValuesCoverEveryFlag(t *testing.T) {
	vals := sweepFlagValues(scenarios.Sweep{Base: scenarios.Default()})
	newSweep().Flags().VisitAll(func(fl *pflag.Flag) {
		switch fl.Name {
		case "out", "parallel", "resume", "require-exercised":
			return
		}
		require.Contains(t, vals, fl.Name, "--resume would not restore --%s", fl.Name)
	})
}

// TestSweepCLI runs a two-cell sweep, resumes the finished sweep (nothing
// to run) and refuses to resume it with other rates.
func TestSweepCLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sweep")
	args := []string{"sweep", "--patterns", "naive-dual-write", "--faults", "crashpoint:after-local-commit",
		"--rates", "0,0.5", "--seeds", "1", "--txns", "10", "--concurrency", "4", "--attempts", "1",
		"--service-timeout", "300ms", "--call-timeout", "1500ms", "--quiet", "5s", "--out", dir}
	code, out, stderr := run(t, args...)
	require.Equal(t, 1, code, "anomalies found: exit 1\n"+stderr+out)
	require.Contains(t, out, "sweep: 2 cells (1 patterns × 1 fault kinds × 2 rates × 1 seeds) on the live runtime into "+dir)
	require.Regexp(t, `^estimate: 2 cells of 10 orders take about \S+ on the live runtime \(a live run lasts its simulated time\) and \S+ on det, 1 at a time \(from a det run of up to 100 orders of each pattern, \S+\)\nsweep: `, out, "the estimate comes first")
	require.Contains(t, out, "[1/2] ✓ naive-dual-write_none_0_seed1  clean · availability 100%")
	require.Contains(t, out, "[2/2] ✗ naive-dual-write_crashpoint@after-local-commit_0.5_seed1  anomalies: ")
	require.Contains(t, out, "done: 2 cells, 1 with anomalies")
	require.NotContains(t, out, "\r", "no bar when stdout is not a terminal")
	for _, id := range []string{"naive-dual-write_none_0_seed1", "naive-dual-write_crashpoint@after-local-commit_0.5_seed1"} {
		_, err := results.Read(filepath.Join(dir, "cells", id, "record.json"))
		require.NoError(t, err)
	}
	require.FileExists(t, filepath.Join(dir, "summary.csv"))

	code, out, stderr = run(t, "sweep", "--resume", "--out", dir)
	require.Equal(t, 1, code, stderr+out)
	require.Equal(t, 2, strings.Count(out, "kept from before"), out)

	code, _, stderr = run(t, "sweep", "--resume", "--out", dir, "--rates", "0,0.2")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "--resume: the directory holds a different sweep: "+filepath.Join(dir, "sweep.json")+" was made with rates 0,0.5, not 0,0.2")

	code, _, stderr = run(t, args...)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "--out: sweep: the directory already holds a sweep")
}

// TestSweepRequireExercised: a det sweep whose partition never opens
// during the run exits 0 without --require-exercised and 2 with it; its
// cells summed over their two seeds say so too.
func TestSweepRequireExercised(t *testing.T) {
	args := []string{"sweep", "--runtime", "det", "--patterns", "outbox", "--faults", "partition", "--rates", "0,1h",
		"--seeds", "2", "--txns", "6", "--concurrency", "2", "--service-timeout", "100ms", "--call-timeout", "400ms", "--quiet", "500ms"}
	code, out, stderr := run(t, append(args, "--out", filepath.Join(t.TempDir(), "a"))...)
	require.Zero(t, code, stderr+out)
	require.Contains(t, out, "✓? outbox_partition_1h_seed1  clean, not exercised: partition=1h0m0s")
	require.Contains(t, out, "cells over their seeds, with 95% intervals (")
	require.Regexp(t, `\n  ✓ +outbox +none 0 +0/2 runs \[0–65.8%\] +0 \[0–[0-9.]+\] per 100 +12 checkouts\n`, out)
	require.Regexp(t, `\n  ✓\? +outbox +partition 1h +0/2 runs \[0–65.8%\] +0 \[0–[0-9.]+\] per 100 +12 checkouts +not exercised: partition=1h0m0s\n`, out)
	code, out, stderr = run(t, append(args, "--out", filepath.Join(t.TempDir(), "b"), "--require-exercised")...)
	require.Equal(t, 2, code, stderr+out)
}

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newProgress(&buf, true)
	p.now = func() time.Time { return now }
	p.header = "sweep: 4 cells\n"
	stop := p.start()
	cell := func(id string) scenarios.Cell { return scenarios.Cell{ID: id} }
	rec := func(verdict string, leaks int) *results.Record {
		return &results.Record{Verdict: verdict, Anomalies: map[string]int{"leaked-resource": leaks}, Metrics: []byte(`{"availability":0.5}`)}
	}
	p.event(scenarios.SweepEvent{Cell: cell("a"), Result: &scenarios.CellResult{Record: rec("clean", 0), Resumed: true}, Done: 1, Total: 4})
	p.event(scenarios.SweepEvent{Started: true, Cell: cell("b"), Done: 1, Total: 4})
	now = now.Add(10 * time.Second)
	p.event(scenarios.SweepEvent{Cell: cell("b"), Result: &scenarios.CellResult{Record: rec("anomalies", 3)}, Done: 2, Total: 4})
	stop()
	out := buf.String()
	require.True(t, strings.HasPrefix(out, "sweep: 4 cells\n"), out)
	require.Contains(t, out, "[1/4] ✓ a  clean · availability 50% · kept from before\n")
	require.Contains(t, out, "\r\033[K[2/4] ✗ b  anomalies: leaked-resource 3 · availability 50% · 10s\n", "the bar is cleared before a cell's line")
	require.Contains(t, out, "] 1/4 cells · 0s · ETA ? · 0 anomalies in 0 cells · b")
	// one cell run in 10s, two to go
	require.Contains(t, out, "\r\033[K[████████████░░░░░░░░░░░░] 2/4 cells · 10s · ETA 20s · 3 anomalies in 1 cells")
	require.True(t, strings.HasSuffix(out, "\n"), "the bar's line is ended")

	buf.Reset()
	p = newProgress(&buf, false)
	p.start()()
	unexercised := rec("clean", 0)
	unexercised.Evidence = &results.Evidence{Faults: []results.FaultEvidence{{Fault: "partition=1h0m0s"}}, NotExercised: []string{"partition=1h0m0s"}}
	p.event(scenarios.SweepEvent{Cell: cell("d"), Result: &scenarios.CellResult{Record: unexercised}, Done: 1, Total: 1})
	require.Contains(t, buf.String(), "[1/1] ✓? d  clean, not exercised: partition=1h0m0s · availability 50%")

	buf.Reset()
	p = newProgress(&buf, false)
	p.start()()
	p.event(scenarios.SweepEvent{Started: true, Cell: cell("c"), Done: 0, Total: 1})
	p.event(scenarios.SweepEvent{Cell: cell("c"), Result: &scenarios.CellResult{Record: rec("clean", 0)}, Done: 1, Total: 1})
	require.NotContains(t, buf.String(), "\r")
	require.NotContains(t, buf.String(), "ETA")
	require.Contains(t, buf.String(), "[1/1] ✓ c  clean")
}

func TestIsTerminal(t *testing.T) {
	require.False(t, isTerminal(&bytes.Buffer{}))
	f, err := os.CreateTemp(t.TempDir(), "out")
	require.NoError(t, err)
	defer f.Close()
	require.False(t, isTerminal(f), "a regular file is not a terminal")
}

// TestDemoSweep: the demo's sweeps are every pattern, small, the det
// runtime's with many seeds, the live runtime's with one.
func TestDemoSweep(t *testing.T) {
	det, live := demoSweeps(20, 10)
	for _, s := range []scenarios.Sweep{det, live} {
		cells, err := s.Cells()
		require.NoError(t, err)
		require.Equal(t, patterns.Names(), s.Patterns)
		require.Len(t, cells, s.Seeds*len(s.Patterns)*(1+2*(len(s.Rates)-1)), "per pattern and seed: no faults, and two kinds at each rate")
		require.Equal(t, 20, s.Base.Workload.Txns)
	}
	require.Equal(t, "det", det.Base.Runtime)
	require.Equal(t, 10, det.Seeds)
	require.Equal(t, []string{"0", "0.05", "0.2"}, det.Rates)
	require.Equal(t, "live", live.Base.Runtime)
	require.Equal(t, 1, live.Seeds)
	require.Equal(t, []string{"0", "0.2"}, live.Rates, "one run cannot tell two rates apart")
}
