package solution

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/scenarios"
)

// TestSolution is the starter's test, always on: the exercise can be
// done, and the starter's API still fits the harness.
func TestSolution(t *testing.T) {
	cfg := scenarios.Default()
	cfg.Faults = "crashpoint=after-local-commit:0.2,lost-response=0.1"
	cfg.Workload = scenarios.Workload{Txns: 40, Concurrency: 4, Attempts: 3, Customers: 10}
	cfg.World.CallTimeout, cfg.CallTimeout, cfg.Quiet = 300*time.Millisecond, 1500*time.Millisecond, 5*time.Second

	res, err := scenarios.ExecuteSpec(context.Background(), Spec, cfg, t.TempDir())
	require.NoError(t, err)
	t.Logf("faults applied: %v", res.Faults().FaultCounts())
	require.Positive(t, res.Faults().Counts["crash-point orders"], "the coordinator crashed at least once")
	require.Equal(t, checker.VerdictClean, res.Report.Verdict, "%s", res.Report)
}
