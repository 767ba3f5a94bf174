package scenarios

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
)

func TestDetBlindRetry(t *testing.T) {
	detSuite(t)
	t.Run("no faults is clean", func(t *testing.T) {
		cfg := quick("blind-retry", "")
		cfg.World.Payments.RejectRate = 0.2
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
		require.Positive(t, res.Report.Metrics.Rejected, "the business rejected some orders")
		require.Positive(t, res.Report.Metrics.Confirmed)
		require.Empty(t, res.Applied)
	})
	t.Run("a lost charge answer is retried as a second charge", func(t *testing.T) {
		cfg := quick("blind-retry", "lost-response=orders-payments:0.3")
		cfg.World.Inventory.RejectRate = 0.1 // a rejection after the charge: nothing refunds it
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
		require.Positive(t, res.Report.Anomalies[checker.DuplicateEffect].Count, res.Report.String())
		require.Positive(t, res.Report.Anomalies[checker.LeakedResource].Count, res.Report.String())
		require.Positive(t, res.Faults().Counts["lost-response orders->payments"])
	})
	t.Run("a lost publish answer is republished under a new event id", func(t *testing.T) {
		res := execute(t, quick("blind-retry", "lost-response=orders-broker:0.3"))
		require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
		require.Positive(t, res.Report.Anomalies[checker.DuplicateConsumerEffect].Count, res.Report.String())
		require.Positive(t, res.Faults().Counts["lost-response orders->broker"])
	})
}
