package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRequireExercised: a clean run under a fault that never landed says
// so, and --require-exercised turns it into exit 2 (verdict unknown); a
// run whose fault landed passes it.
func TestRequireExercised(t *testing.T) {
	small := []string{"run", "--runtime", "det", "--pattern", "outbox", "--txns", "8", "--concurrency", "2",
		"--quiet", "500ms", "--service-timeout", "100ms", "--call-timeout", "400ms", "--out", ""}

	// The first window of a one-hour partition opens after the run.
	code, out, stderr := run(t, append(small, "--faults", "partition=1h")...)
	require.Zero(t, code, stderr+out)
	require.Regexp(t, `partition=1h0m0s +applied +0, landed +0  not exercised`, out)
	require.Contains(t, out, "verdict: CLEAN, but NOT EXERCISED: partition=1h0m0s never landed")

	code, out, stderr = run(t, append(small, "--faults", "partition=1h", "--require-exercised")...)
	require.Equal(t, 2, code, stderr+out)

	code, out, stderr = run(t, append(small, "--faults", "lost-response=0.2", "--require-exercised")...)
	require.Zero(t, code, stderr+out)
	require.Regexp(t, `lost-response=0.2 +applied +\d+, landed +[1-9]\d*\n`, out)
	require.Contains(t, out, "verdict: CLEAN\n")
}
