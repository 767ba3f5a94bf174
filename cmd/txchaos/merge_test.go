package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMergeCLI runs a det sweep in two shards as two machines would, merges
// them and finds the straight run's summary; a shard resumed without flags
// keeps its shard; a shard of another sweep is refused by the parameter
// that differs; a missing shard exits 2 and says how to run its cells.
func TestMergeCLI(t *testing.T) {
	tmp := t.TempDir()
	args := []string{"sweep", "--runtime", "det", "--patterns", "naive-dual-write,outbox", "--faults", "crashpoint:after-local-commit",
		"--rates", "0,0.5", "--seeds", "2", "--txns", "8", "--concurrency", "4", "--attempts", "2",
		"--service-timeout", "300ms", "--call-timeout", "1500ms", "--quiet", "5s"}
	straight := filepath.Join(tmp, "straight")
	code, out, stderr := run(t, append(args, "--out", straight)...)
	require.Equal(t, 1, code, stderr+out)

	var shards []string
	for k := 1; k <= 2; k++ {
		dir := filepath.Join(tmp, fmt.Sprint("shard", k))
		code, out, stderr := run(t, append(args, "--shard", fmt.Sprintf("%d/2", k), "--out", dir)...)
		require.Contains(t, []int{0, 1}, code, stderr+out)
		require.Contains(t, out, fmt.Sprintf("sweep: shard %d/2: ", k))
		require.Contains(t, out, " of 8 cells (2 patterns × 1 fault kinds × 2 rates × 2 seeds) on the det runtime into "+dir)
		shards = append(shards, dir)
	}
	code, out, stderr = run(t, "sweep", "--resume", "--out", shards[1])
	require.Contains(t, []int{0, 1}, code, stderr+out)
	require.Contains(t, out, "sweep: shard 2/2: ", "--resume takes the shard from sweep.json")
	require.Contains(t, out, "sweep: shard 2/2: 4 of 8 cells", "--resume takes the shard from sweep.json")
	require.Equal(t, 4, strings.Count(out, "kept from before"), out)

	merged := filepath.Join(tmp, "merged")
	code, out, stderr = run(t, "merge", merged, shards[0], shards[1])
	require.Equal(t, 1, code, "the naive dual write's anomalies: exit 1\n"+stderr+out)
	require.Contains(t, out, "merged: 2 directories, 8 of 8 cells into "+merged)
	require.Contains(t, out, "cells over their seeds, with 95% intervals")
	for _, f := range []string{"summary.csv", "aggregate.csv", "sweep.json"} {
		want, err := os.ReadFile(filepath.Join(straight, f))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(merged, f))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), f)
	}

	code, _, stderr = run(t, "merge", merged, shards[0], shards[1])
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "txchaos: merge: the directory already holds a sweep ("+filepath.Join(merged, "sweep.json")+"): merge into another directory")

	other := filepath.Join(tmp, "other")
	code, out, stderr = run(t, append(args, "--txns", "9", "--shard", "2/2", "--out", other)...)
	require.Contains(t, []int{0, 1}, code, stderr+out)
	code, _, stderr = run(t, "merge", filepath.Join(tmp, "bad"), shards[0], other)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "txchaos: merge: the directory holds a different sweep: "+other+" was made with base.workload.txns 9, not 8 (as "+shards[0]+" was)")
	require.NoDirExists(t, filepath.Join(tmp, "bad"))

	half := filepath.Join(tmp, "half")
	code, out, stderr = run(t, "merge", half, shards[1])
	require.Contains(t, []int{1, 2}, code, stderr+out)
	require.Regexp(t, `missing: \d+ cells \(.*\); run them with: txchaos sweep --resume --out `+half, out)

	code, _, stderr = run(t, "merge", merged)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "requires at least 2 arg(s)")
}
