//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fileLimitEnv makes a subprocess of the test binary lower its limit on
// open files to the value given and run the command line after it.
const fileLimitEnv = "TXCHAOS_TEST_FILE_LIMIT"

// TestRunWithinFileLimit is `(ulimit -n 1024; txchaos run --runtime live
// --pattern outbox --txns 2000 --concurrency 1024)`: 1024 clients, each
// with connections of its own, cannot fit in 1024 open files. The run
// must stop before its first request, naming the limit and what to change
// (exit 3), not run out of descriptors half-way and wait out every
// request's timeout (which took over an hour).
func TestRunWithinFileLimit(t *testing.T) {
	if spec := os.Getenv(fileLimitEnv); spec != "" {
		limit, args, _ := strings.Cut(spec, " ")
		var rl syscall.Rlimit
		_, err := fmt.Sscan(limit, &rl.Cur)
		require.NoError(t, err)
		rl.Max = rl.Cur
		require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl))
		var out, errb bytes.Buffer
		code := execute(context.Background(), strings.Fields(args), &out, &errb)
		fmt.Printf("\nexit %d\nstderr: %s\n", code, errb.String())
		return
	}
	var rl syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl))
	if rl.Max < 1024 {
		t.Skipf("the hard limit on open files is %d here, below the 1024 the test sets", rl.Max)
	}
	// A guard against the stall, not a speed verdict: the refusal comes
	// before anything starts.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRunWithinFileLimit$", "-test.count=1")
	cmd.Env = append(os.Environ(), fileLimitEnv+"=1024 run --runtime live --pattern outbox --txns 2000 --concurrency 1024 --out "+t.TempDir())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the run did not end (killed after 2 minutes):\n%s", out)
	require.Contains(t, string(out), "\nexit 3\n", "%s", out)
	require.Contains(t, string(out), "1024 concurrent clients need up to 16640 open files (a connection per request), but this process may open 1024 (RLIMIT_NOFILE, its hard limit): raise the limit (ulimit -n 16640) or lower the concurrency to 48 or fewer")
}
