package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/scenarios"
)

func TestListScenarios(t *testing.T) {
	code, out, _ := run(t, "list")
	require.Zero(t, code)
	require.Contains(t, out, "SCENARIOS")
	for _, s := range scenarios.Builtins() {
		require.Contains(t, out, s.Name)
		require.Contains(t, out, s.Summary())
	}
}

func TestRunScenarioErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(data), 0o644))
		return path
	}
	bad := write("bad.yaml", "name: bad\ndescription: a bad value\nworkload:\n  txns: -3\n")
	crash := write("crash.yaml", "name: crash\ndescription: a point outbox lacks\ncrash_points: before-publish:0.1\n")
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"run", "--scenario", "nope"}, `--scenario: scenario "nope" is not built in (built-in: broker-outage, `},
		{[]string{"run", "--scenario", bad}, "--scenario: " + bad + ":4: workload.txns: -3 is not between 1 and 1000000"},
		{[]string{"run", "--scenario", filepath.Join(dir, "absent.yaml")}, "no such file or directory"},
		{[]string{"run", "--scenario", crash, "--pattern", "outbox"}, `crash_points: "before-publish:0.1": crash point "before-publish" is not one of pattern outbox's`},
		{[]string{"run", "--scenario", "lost-responses", "--pattern", "nope"}, `--pattern: pattern "nope" is not registered`},
		{[]string{"run", "--scenario", "lost-responses", "--txns", "0"}, "--txns: 0 is not between 1 and 1000000"},
		{[]string{"run", "--scenario", "lost-responses", "--faults", "tornado=1"}, `unknown fault "tornado"`},
	}
	for _, tt := range tests {
		t.Run(tt.wantErr, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			require.Equal(t, exitUsage, code, stderr)
			require.Contains(t, stderr, tt.wantErr)
		})
	}
}

// TestRunScenario: a scenario sets the run's configuration, flags given
// explicitly override it, and the table says whether the run met the
// scenario's expectations.
func TestRunScenario(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := run(t, "run", "--scenario", "business-rejections", "--pattern", "outbox",
		"--txns", "10", "--seed", "5", "--output", "json", "--out", dir)
	require.Equal(t, 0, code, stderr)
	var rec results.Record
	require.NoError(t, json.Unmarshal([]byte(out), &rec))
	require.Equal(t, "business-rejections", rec.Scenario)
	require.Equal(t, int64(5), rec.Seed, "--seed overrides the scenario's seed")
	var cfg scenarios.Config
	require.NoError(t, json.Unmarshal(rec.Config, &cfg))
	sc, err := scenarios.Builtin("business-rejections")
	require.NoError(t, err)
	want := sc.Config
	want.Pattern, want.Scenario, want.Seed, want.Workload.Txns = "outbox", "business-rejections", 5, 10
	require.Equal(t, want, cfg, "the scenario's values, but for the flags given")

	code, out, stderr = run(t, "run", "--scenario", "business-rejections", "--pattern", "outbox", "--txns", "10", "--out", "")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "scenario business-rejections: expectations met")
}
