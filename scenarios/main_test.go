package scenarios

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/live"
)

// helperEnv makes the test binary a run to kill instead of the tests (see
// TestKilledRunsWorkDirRemoved).
const helperEnv = "TXCHAOS_TEST_LONG_RUN"

// TestMain serves a node when a run with isolation process started this
// binary as one (of a pattern's world, or of a test's: faultWorlds), and
// is a run to kill when helperEnv says so; otherwise it
// runs the tests and checks that runs leave nothing behind: no goroutine
// of a node, a proxy, a process or a database outlives the run that
// started it.
func TestMain(m *testing.M) {
	if live.IsNode() { // NodeMain, with the worlds of the tests besides
		os.Exit(live.ServeNode(func(b []byte) (sim.World, error) {
			if name, ok := strings.CutPrefix(string(b), faultWorldPrefix); ok {
				return faultWorld(name)
			}
			return nodeWorld(b, []patterns.Spec{buggySpec()})
		}))
	}
	if os.Getenv(helperEnv) != "" {
		longRun()
		return
	}
	goleak.VerifyTestMain(m)
}

// longRun is a live run too long to end before the test kills it; it
// gives up by itself after a while should the test not. It is live
// because a det run given no directory keeps its databases in memory and
// makes no work directory.
func longRun() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := Default()
	cfg.Pattern, cfg.Runtime = "outbox", "live"
	cfg.Workload.Txns = 1_000_000
	if _, err := Execute(ctx, cfg, ""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
