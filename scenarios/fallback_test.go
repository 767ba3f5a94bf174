package scenarios

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
)

func TestDetFallbackQueue(t *testing.T) {
	detSuite(t)
	const name = "fallback-queue"
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
	for _, faults := range []string{
		"partition=orders-broker:300ms,crash=broker:0.1",
		"error=broker:1", // the broker is down for the whole run: every event goes through the fallback
		"lost-response=0.2",
	} {
		t.Run("survives "+faults, func(t *testing.T) {
			res := execute(t, quick(name, faults))
			require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
			require.NotEmpty(t, res.Applied)
		})
	}
	for _, faults := range []string{
		"crashpoint=after-local-commit:0.2",
		"error=broker:0.7,crashpoint=before-ack:0.3", // a reconciler crash cuts the requests' handoffs in flight
		"error=broker:0.8,error=fallback:0.8",        // both logs refuse most publishes
	} {
		t.Run("loses events under "+faults, func(t *testing.T) {
			res := execute(t, quick(name, faults))
			require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
			require.Positive(t, res.Report.Anomalies[checker.LostEvent].Count, res.Report.String())
		})
	}
}
