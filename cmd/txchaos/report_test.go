package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReportCLI(t *testing.T) {
	code, _, stderr := run(t, "report")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "needs one argument, ")

	// A missing or empty directory, or a record that does not read, is
	// bad input (3), not a harness failure (4).
	empty := t.TempDir()
	code, _, stderr = run(t, "report", empty)
	require.Equal(t, exitUsage, code, stderr)
	require.Contains(t, stderr, "report: no record.json under")
	code, _, stderr = run(t, "report", filepath.Join(empty, "missing"))
	require.Equal(t, exitUsage, code, stderr)
	require.Contains(t, stderr, "missing: no such file or directory")
	broken := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(broken, "record.json"), []byte("{"), 0o644))
	code, _, stderr = run(t, "report", broken)
	require.Equal(t, exitUsage, code, stderr)
	require.Contains(t, stderr, "record.json: not a txchaos result record")

	dir := t.TempDir()
	rec, err := os.ReadFile("../../results/report/testdata/sweep/cells/outbox_none_0_seed1/record.json")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "record.json"), rec, 0o644))
	out := filepath.Join(t.TempDir(), "rep")
	code, stdout, stderr := run(t, "report", dir, "--out", out, "--title", "one run")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "1 runs, 1 charts\nhtml:     "+filepath.Join(out, "index.html"))
	for _, f := range []string{"index.html", "report.md", "charts/latency-no-faults.png", "charts/latency-no-faults.svg"} {
		require.FileExists(t, filepath.Join(out, f))
	}
}
