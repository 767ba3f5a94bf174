package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/scenarios"
)

// TestOutputCheckedFirst: an output that cannot be written is bad input
// (exit 3) named by its flag, found before the first run: nothing is run,
// nothing printed to stdout, nothing created. A regular file stands where
// a directory is needed (permissions would not stop a test run as root).
func TestOutputCheckedFirst(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "hostname")
	require.NoError(t, os.WriteFile(file, []byte("box\n"), 0o644))
	rec := detRun(t, t.TempDir())
	small := []string{"--runtime", "det", "--pattern", "naive-dual-write", "--txns", "4", "--concurrency", "2", "--attempts", "1",
		"--quiet", "500ms", "--service-timeout", "300ms", "--faults", "lost-response=orders-payments:0.3"}
	for _, tt := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"run into a file", append([]string{"run", "--out", file}, small...), "--out: " + file + " cannot be written: " + file + " is not a directory"},
		{"run under a file", append([]string{"run", "--out", filepath.Join(file, "runs")}, small...), "is not a directory"},
		{"explore", append([]string{"explore", "--seeds", "2", "--out", file}, small...), "--out: " + file + " cannot be written"},
		{"sweep", []string{"sweep", "--patterns", "naive-dual-write", "--rates", "0", "--seeds", "1", "--txns", "2", "--runtime", "det", "--out", file}, "--out: " + file + " cannot be written"},
		{"demo", []string{"demo", "--txns", "1", "--out", filepath.Join(file, "demo")}, "--out: " + filepath.Join(file, "demo") + " cannot be written"},
		{"shrink under a file", []string{"shrink", rec, "--max-runs", "3", "--out", filepath.Join(file, "leak.yaml")}, "--out: " + filepath.Join(file, "leak.yaml") + " cannot be written"},
		{"shrink into a directory", []string{"shrink", rec, "--max-runs", "3", "--out", tmp}, "--out: " + tmp + " is a directory, not a file"},
		{"replay under a file", []string{"replay", rec, "--out", filepath.Join(file, "again.json")}, "cannot be written: " + file + " is not a directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := run(t, tt.args...)
			require.Equal(t, exitUsage, code, stderr)
			require.Contains(t, stderr, tt.wantErr)
			require.Empty(t, out, "nothing was run")
			entries, err := os.ReadDir(tmp)
			require.NoError(t, err)
			require.Len(t, entries, 1, "nothing created beside the file")
		})
	}
}

// TestOutputCreated: an output directory that does not exist yet is fine,
// and the check leaves no probe behind.
func TestOutputCreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	require.NoError(t, writable(dir))
	_, err := os.Stat(filepath.Join(filepath.Dir(dir)))
	require.ErrorIs(t, err, os.ErrNotExist, "the check creates no directory")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, writable(dir))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "the probe is removed")
}

// TestWriteRunPagesFirst: a run whose history pages cannot all be written
// leaves no record.json (which would name the missing pages); once they
// can, the record is written beside every page it names.
func TestWriteRunPagesFirst(t *testing.T) {
	cfg := scenarios.Default()
	cfg.Pattern, cfg.Runtime, cfg.Faults, cfg.Workload.Txns = "blind-retry", "det", "lost-response=0.2", 20
	res, err := scenarios.Execute(context.Background(), cfg, "")
	require.NoError(t, err)
	require.NotEmpty(t, res.Report.Linearizability, "this run must have history pages to write")
	dir := t.TempDir()
	path := filepath.Join(dir, "record.json")
	last := res.Report.Linearizability[len(res.Report.Linearizability)-1].File
	require.NoError(t, os.MkdirAll(filepath.Join(dir, last, "x"), 0o755)) // a page cannot replace a directory
	_, err = writeRun(context.Background(), path, res)
	require.Error(t, err)
	require.NoFileExists(t, path, "no record names a page that is not there")

	require.NoError(t, os.RemoveAll(filepath.Join(dir, last)))
	rec, err := writeRun(context.Background(), path, res)
	require.NoError(t, err)
	for _, p := range res.Report.Linearizability {
		require.FileExists(t, filepath.Join(dir, p.File))
	}
	require.FileExists(t, path)
	require.FileExists(t, filepath.Join(dir, rec.Files.History))
	require.FileExists(t, filepath.Join(dir, rec.Files.Faults))
	require.FileExists(t, filepath.Join(dir, rec.Files.State, "state.json"))
}
