package scenarios

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

// sagaWorld rejects orders at every step, so that every depth of
// compensation happens: none (inventory), one (payments), two (shipping).
func sagaWorld(faults string) Config {
	cfg := quick("saga", faults)
	cfg.World.Inventory.RejectRate = 0.1
	cfg.World.Payments.RejectRate = 0.1
	cfg.World.Shipping.RejectRate = 0.1
	return cfg
}

func TestDetSaga(t *testing.T) {
	detSuite(t)
	t.Run("no faults is clean, rejections at every step compensated", func(t *testing.T) {
		cfg := sagaWorld("")
		cfg.World.Payments.RejectRate = 0.2
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
		require.Positive(t, res.Report.Metrics.Rejected, "the business rejected some orders")
		require.Positive(t, res.Report.Metrics.Confirmed)
		require.Empty(t, res.Applied)
	})
	t.Run("lost responses and dropped requests leave the resources consistent", func(t *testing.T) {
		res := execute(t, sagaWorld("lost-response=0.2,drop-request=0.2"))
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
		require.Positive(t, res.Faults().Counts["lost-response orders->payments"])
	})
	t.Run("a partition and payments crashes leave the resources consistent", func(t *testing.T) {
		res := execute(t, sagaWorld("partition=orders-payments:300ms,crash=payments:0.05"))
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
	})
	t.Run("coordinator crashes between steps and compensations are recovered", func(t *testing.T) {
		res := execute(t, sagaWorld("crashpoint=after-reservation:0.2,crashpoint=after-payment:0.2,crashpoint=after-shipment:0.2,"+
			"crashpoint=during-compensation:0.2,crashpoint=after-local-commit:0.2"))
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
		require.Positive(t, res.Faults().Counts["crash-point orders"])
	})
	t.Run("an unreachable shipping: steps whose outcome stays unknown are compensated too", func(t *testing.T) {
		res := execute(t, sagaWorld("lost-response=orders-shipping:0.5,drop-request=orders-shipping:0.4"))
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
		unknown := 0
		for _, o := range res.State.Orders {
			if o.Reason == "shipping_unavailable" {
				unknown++
			}
		}
		require.Positive(t, unknown, "some sagas spent their retries at shipping and compensated")
	})
	t.Run("opaque payments cannot be compensated by key: a lost charge answer leaks", func(t *testing.T) {
		cfg := sagaWorld("lost-response=orders-payments:0.3")
		cfg.World.Payments.Maturity = sim.Opaque
		cfg.World.Shipping.RejectRate = 0.5 // compensate many charges
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
		r := res.Report.Anomalies
		require.Positive(t, r[checker.PartialCommit].Count+r[checker.LeakedResource].Count, res.Report.String())
	})
}
