package scenarios

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
)

// TestDetStuckAtDeadline runs worlds whose recovery is still at work when
// the quiet period ends: an outbox relay with a backlog after the broker
// crashed. What is unfinished at the deadline is stuck, however long the
// final reads that follow (one GET per order) give it to finish: the
// state judged is the one read at the deadline, and the record's state
// gives the same verdict when checked again. Under the race detector it
// runs the first world only (make test runs both without -race).
func TestDetStuckAtDeadline(t *testing.T) {
	for i, tt := range []struct {
		name  string
		txns  int
		quiet time.Duration
	}{
		{"200 orders, 200ms quiet", 200, 200 * time.Millisecond},
		{"300 orders, 200ms quiet", 300, 200 * time.Millisecond},
	} {
		if raceDetector && i > 0 {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			cfg.Pattern, cfg.Runtime, cfg.Seed = "outbox", "det", 1
			cfg.Faults = "crash=broker:0.2"
			cfg.Workload.Txns, cfg.Workload.Concurrency = tt.txns, 16
			cfg.Quiet = tt.quiet
			res, _ := record(t, cfg)
			require.False(t, res.Converged, "the world must still be at work at the deadline for this test to mean anything")
			stuck := res.Report.Anomalies[checker.Stuck]
			require.Positive(t, stuck.Count, "work unfinished at the deadline must count as stuck: %s", res.Report)
			require.Contains(t, stuck.Examples[0], "unfinished after healing")
			require.Equal(t, res.Report.Verdict, checker.Check(res.History, res.State, res.Report.Reads.Promise).Verdict,
				"the stored state must give the stored verdict")
			require.Equal(t, stuck.Count, checker.Check(res.History, res.State, res.Report.Reads.Promise).Anomalies[checker.Stuck].Count)
		})
	}
}
