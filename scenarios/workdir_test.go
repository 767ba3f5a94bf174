package scenarios

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestKilledRunsWorkDirRemoved kills a run (kill -9) while another keeps
// running, both in processes of their own: the killed run's work
// directory is left behind, the next run removes it, and never the
// directory of the run still going.
func TestKilledRunsWorkDirRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	killed, killedDir := startLongRun(t, tmp)
	require.NoError(t, killed.Process.Kill()) // SIGKILL: no deferred cleanup runs
	killed.Wait()
	require.DirExists(t, killedDir, "a killed run cannot remove its own work directory")

	running, runningDir := startLongRun(t, tmp)
	defer func() {
		running.Process.Kill()
		running.Wait()
	}()

	next := detTiny("naive-dual-write", "")
	next.Runtime = "live" // a det run given no directory makes none (TestScratchRunMakesNoWorkDir)
	_, err := Execute(context.Background(), next, "")
	require.NoError(t, err)
	require.NoDirExists(t, killedDir, "the next run removes the killed run's work directory")
	require.DirExists(t, runningDir, "a running run's work directory is left alone")
	left, err := filepath.Glob(filepath.Join(tmp, workDirPrefix+"*"))
	require.NoError(t, err)
	require.Equal(t, []string{runningDir}, left, "the run removed its own work directory")
}

// startLongRun starts longRun in a process of its own and returns it and
// its work directory in tmp, once locked.
func startLongRun(t *testing.T, tmp string) (*exec.Cmd, string) {
	t.Helper()
	before, err := filepath.Glob(filepath.Join(tmp, workDirPrefix+"*"))
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	// A generous bound on starting a process, not a verdict on speed.
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		locks, err := filepath.Glob(filepath.Join(tmp, workDirPrefix+"*", lockFile))
		require.NoError(t, err)
		for _, l := range locks {
			if dir := filepath.Dir(l); !slices.Contains(before, dir) {
				return cmd, dir
			}
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	t.Fatal("the run's work directory and its lock did not appear")
	return nil, ""
}

// TestScratchRunMakesNoWorkDir: a det run given no directory keeps its
// databases in memory, so it makes no work directory at all.
func TestScratchRunMakesNoWorkDir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	_, err := Execute(context.Background(), detTiny("naive-dual-write", ""), "")
	require.NoError(t, err)
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, left, "a scratch det run writes nothing in the temporary directory")
}
