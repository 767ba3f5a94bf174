package scenarios

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

func TestDetTwoPhaseKey(t *testing.T) {
	detSuite(t)
	t.Run("no faults is clean, rejections compensated", func(t *testing.T) {
		cfg := quick("two-phase-key", "")
		cfg.World.Payments.RejectRate = 0.2
		cfg.World.Inventory.RejectRate = 0.1
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
		require.Positive(t, res.Report.Metrics.Rejected, "the business rejected some orders")
		require.Positive(t, res.Report.Metrics.Confirmed)
	})
	t.Run("lost responses and drops on every link leave nothing leaked or duplicated", func(t *testing.T) {
		cfg := quick("two-phase-key", "lost-response=0.2,drop-request=0.1")
		cfg.World.Payments.RejectRate = 0.2
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
		require.Positive(t, res.Faults().Counts["lost-response orders->payments"])
	})
	t.Run("coordinator crashes between the phases are recovered", func(t *testing.T) {
		cfg := quick("two-phase-key", "crashpoint=after-record:0.1,crashpoint=after-call:0.1,crashpoint=after-local-commit:0.2")
		cfg.World.Payments.RejectRate = 0.2
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
		require.Positive(t, res.Faults().Counts["crash-point orders"])
	})
	t.Run("service crashes, transient errors and a partition are retried", func(t *testing.T) {
		cfg := quick("two-phase-key", "crash=payments:0.05,crash=broker:0.05,error=payments:0.2,partition=orders-payments:300ms")
		cfg.World.Payments.RejectRate = 0.2
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
	})
	t.Run("without caller-assigned keys a lost charge answer duplicates or leaks", func(t *testing.T) {
		cfg := quick("two-phase-key", "lost-response=orders-payments:0.3")
		cfg.World.Payments.Maturity = sim.Readable
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
		r := res.Report.Anomalies
		require.Positive(t, r[checker.DuplicateEffect].Count+r[checker.LeakedResource].Count, res.Report.String())
	})
	t.Run("a consumer that does not de-duplicate applies a republished event twice", func(t *testing.T) {
		cfg := quick("two-phase-key", "lost-response=orders-broker:0.5")
		cfg.World.RewardsDedupe = false
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
		require.Positive(t, res.Report.Anomalies[checker.DuplicateConsumerEffect].Count, res.Report.String())
	})
}
