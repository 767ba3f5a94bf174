package scenarios

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
)

func TestDetTargetStateRepublish(t *testing.T) {
	detSuite(t)
	const name = "target-state-republish"
	t.Run("no faults is clean", func(t *testing.T) {
		cfg := quick(name, "")
		cfg.World.Payments.RejectRate = 0.2
		cfg.World.Inventory.RejectRate = 0.1
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
		require.Positive(t, res.Report.Metrics.Rejected, "the business rejected some orders")
		require.Positive(t, res.Report.Metrics.Confirmed)
		require.Empty(t, res.Applied)
	})
	// The pattern's promise holds only while clients retry: give them enough
	// attempts to outlast the faults.
	for _, faults := range []string{
		"lost-response=0.2,crash=broker:0.05",
		"partition=orders-broker:50ms",
		"crashpoint=after-local-commit:0.05,crashpoint=before-publish:0.05,crashpoint=after-payment:0.05",
	} {
		t.Run("clients that retry survive "+faults, func(t *testing.T) {
			cfg := quick(name, faults)
			cfg.Workload.Attempts = 20
			res := execute(t, cfg)
			require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
			require.NotEmpty(t, res.Applied)
		})
	}
	for _, faults := range []string{"crashpoint=before-publish:0.3", "error=broker:1"} {
		t.Run("clients that give up lose events under "+faults, func(t *testing.T) {
			cfg := quick(name, faults)
			cfg.Workload.Attempts = 1
			res := execute(t, cfg)
			require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
			require.Positive(t, res.Report.Anomalies[checker.LostEvent].Count, res.Report.String())
		})
	}
}
