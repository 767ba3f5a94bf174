package main

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/scenarios"
)

// TestDetDemoMonotone runs the demo's det sweep and requires its scorecard
// to be monotone in the fault rate: for every pattern and fault kind, the
// runs with anomalies and the anomalies per 100 checkouts never fall from
// no faults to rate 0.05 to rate 0.2, where a pattern that breaks breaks
// more as faults grow. The det runtime replays every run from its seed, so
// the verdict is the same on every machine: when a change makes it fail,
// the demo needs more seeds or checkouts to tell its rates apart. It is
// hundreds of det runs: under the race detector it is left to make test's
// pass without.
func TestDetDemoMonotone(t *testing.T) {
	if raceDetector {
		t.Skip("hundreds of det runs: make test runs it without -race")
	}
	det, _ := demoSweeps(20, 10)
	done, err := scenarios.RunSweep(context.Background(), det, t.TempDir(), scenarios.SweepOptions{Parallel: 2})
	require.NoError(t, err)
	cells := map[[3]string]scenarios.CellStats{}
	for _, c := range scenarios.Aggregate(done) {
		require.Equal(t, det.Seeds, c.Runs)
		cells[[3]string{c.Pattern, c.Faults, c.Rate}] = c
	}
	broke := 0
	for _, p := range det.Patterns {
		for _, kind := range det.Faults {
			seq := []scenarios.CellStats{cells[[3]string{p, "none", "0"}], cells[[3]string{p, kind, "0.05"}], cells[[3]string{p, kind, "0.2"}]}
			var share, per []float64
			for _, c := range seq {
				share, per = append(share, c.RunsWithAnomalies().Est), append(per, c.Per100("").Est)
			}
			t.Logf("%-24s %-14s runs with anomalies %v, per 100 checkouts %v", p, kind, share, per)
			require.True(t, slices.IsSorted(share), "%s under %s: runs with anomalies %v fall as the rate grows", p, kind, share)
			require.True(t, slices.IsSorted(per), "%s under %s: anomalies per 100 checkouts %v fall as the rate grows", p, kind, per)
			if per[2] > 0 {
				broke++
			}
		}
	}
	require.Positive(t, broke, "some pattern breaks: a scorecard of zeros is monotone for nothing")
}
