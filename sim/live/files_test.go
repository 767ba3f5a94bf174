//go:build unix

package live_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim/live"
)

// fileLimitEnv tells a subprocess of the test binary to run
// fileLimitChild: "SOFT HARD CLIENTS [SECOND]".
const fileLimitEnv = "TXCHAOS_TEST_FILE_LIMIT"

// TestFileLimit starts a runtime in a subprocess whose limit on open files
// is lowered first (lowering the hard limit cannot be undone, hence the
// subprocess): a soft limit below the hard one is raised to it; a hard
// limit that cannot carry the clients is refused before anything starts,
// naming the limit and what to change; and a second runtime that fits the
// limit but not beside the first waits for the first to stop.
func TestFileLimit(t *testing.T) {
	if spec := os.Getenv(fileLimitEnv); spec != "" {
		fileLimitChild(t, spec)
		return
	}
	var rl syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl))
	if rl.Max < 4096 {
		t.Skipf("the hard limit on open files is %d here; the test lowers it from 4096", rl.Max)
	}
	tests := []struct {
		name                string
		soft, hard, clients uint64
		want                string
	}{
		{"a soft limit below the hard one is raised to it", 64, 4096, 200, "started; soft limit 4096, hard limit 4096"},
		{"a hard limit too low for the clients is refused", 1024, 1024, 1024,
			"refused: live: 1024 concurrent clients need up to 16640 open files (a connection per request), but this process may open 1024 (RLIMIT_NOFILE, its hard limit): raise the limit (ulimit -n 16640) or lower the concurrency to 48 or fewer"},
		// 256+16·40 = 896 and 256+16·10 = 416 fit 1024 each, not together.
		{"runtimes of one process share the limit", 1024, 1024, 40,
			"the second waited for the first to stop"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestFileLimit$", "-test.count=1", "-test.v")
			spec := fmt.Sprintf("%d %d %d", tc.soft, tc.hard, tc.clients)
			if strings.Contains(tc.name, "share") {
				spec += " 10"
			}
			cmd.Env = append(os.Environ(), fileLimitEnv+"="+spec)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			require.Contains(t, string(out), "\n"+tc.want+"\n")
		})
	}
}

// fileLimitChild lowers the limit on open files as spec says, starts a
// runtime for the clients and prints what happened.
func fileLimitChild(t *testing.T, spec string) {
	var rl syscall.Rlimit
	var clients, second int
	n, _ := fmt.Sscan(spec, &rl.Cur, &rl.Max, &clients, &second)
	require.GreaterOrEqual(t, n, 3, spec)
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl))
	dir := t.TempDir()
	r, err := live.Start(context.Background(), paymentsWorld(), live.Options{Dir: dir, Clients: clients})
	if second > 0 {
		require.NoError(t, err)
		started := make(chan *live.Runtime)
		go func() {
			r2, err := live.Start(context.Background(), paymentsWorld(), live.Options{Dir: t.TempDir(), Clients: second})
			assert.NoError(t, err)
			started <- r2
		}()
		select {
		case <-started:
			t.Fatal("the second runtime started beside the first: together they need more files than the limit")
		case <-time.After(200 * time.Millisecond): // it waits (a late start would only pass this)
		}
		require.NoError(t, r.Stop())
		r2 := <-started
		require.NotNil(t, r2)
		require.NoError(t, r2.Stop())
		fmt.Printf("\nthe second waited for the first to stop\n")
		return
	}
	if err != nil {
		var fl *live.FileLimitError
		require.True(t, errors.As(err, &fl), "%v", err)
		entries, _ := os.ReadDir(dir)
		require.Empty(t, entries, "refused before anything started")
		fmt.Printf("\nrefused: %v\n", err)
		return
	}
	require.NoError(t, r.Stop())
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl))
	fmt.Printf("\nstarted; soft limit %d, hard limit %d\n", rl.Cur, rl.Max)
}

// TestFilesNeeded checks the estimate against its parts.
func TestFilesNeeded(t *testing.T) {
	require.Equal(t, uint64(256), live.FilesNeeded(0))
	require.Equal(t, uint64(256+16*8), live.FilesNeeded(8))
	e := &live.FileLimitError{Clients: 100, Need: live.FilesNeeded(100), Limit: 200}
	require.True(t, strings.HasSuffix(e.Error(), "raise the limit (ulimit -n 1856)"), "a limit below one client's files has nothing to lower: %s", e.Error())
}
