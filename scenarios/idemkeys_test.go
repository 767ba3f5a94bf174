package scenarios

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/live"
)

func TestDetIdempotencyKeys(t *testing.T) {
	detSuite(t)
	t.Run("no faults is clean, rejections compensated", func(t *testing.T) {
		cfg := quick("idempotency-keys", "")
		cfg.World.Payments.RejectRate = 0.2
		cfg.World.Inventory.RejectRate = 0.1
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
		require.Positive(t, res.Report.Metrics.Rejected, "the business rejected some orders")
		require.Positive(t, res.Report.Metrics.Confirmed)
	})
	t.Run("lost responses and drops on every link: exactly once", func(t *testing.T) {
		cfg := quick("idempotency-keys", "lost-response=0.2,drop-request=0.1")
		cfg.World.Payments.RejectRate = 0.2
		cfg.World.Inventory.RejectRate = 0.1
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
		require.Positive(t, res.Faults().Counts["lost-response client->orders"])
		require.Positive(t, res.Faults().Counts["lost-response orders->payments"])
	})
	t.Run("coordinator crashes at every point are drained", func(t *testing.T) {
		cfg := quick("idempotency-keys", "crashpoint=after-lock:0.05,crashpoint=after-payment:0.05,crashpoint=after-reservation:0.05,"+
			"crashpoint=after-shipment:0.05,crashpoint=after-local-commit:0.1,crashpoint=before-unstage:0.1")
		cfg.World.Payments.RejectRate = 0.2
		cfg.World.Inventory.RejectRate = 0.1
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
		require.Positive(t, res.Faults().Counts["crash-point orders"])
	})
	t.Run("service crashes, transient errors and a partition are retried", func(t *testing.T) {
		cfg := quick("idempotency-keys", "crash=payments:0.05,crash=broker:0.05,error=payments:0.2,partition=orders-payments:300ms")
		cfg.World.Payments.RejectRate = 0.2
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
	})
	t.Run("without caller-assigned keys downstream a lost charge answer charges twice", func(t *testing.T) {
		cfg := quick("idempotency-keys", "lost-response=orders-payments:0.3")
		cfg.World.Payments.Maturity = sim.Readable
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
		require.Positive(t, res.Report.Anomalies[checker.DuplicateEffect].Count, res.Report.String())
	})
	t.Run("a consumer that does not de-duplicate applies a republished event twice", func(t *testing.T) {
		cfg := quick("idempotency-keys", "lost-response=orders-broker:0.5")
		cfg.World.RewardsDedupe = false
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
		require.Positive(t, res.Report.Anomalies[checker.DuplicateConsumerEffect].Count, res.Report.String())
	})
}

// TestIdempotencyKeysRepeatedKey: on the live runtime, a repeated key
// replays the stored answer, and other parameters under it are refused.
func TestIdempotencyKeysRepeatedKey(t *testing.T) {
	spec, err := patterns.Lookup("idempotency-keys")
	require.NoError(t, err)
	wcfg := sim.DefaultConfig()
	wcfg.Payments.RejectRate = 0.5
	rt, err := live.Start(context.Background(), spec.World(wcfg), live.Options{Dir: t.TempDir(), Seed: 1})
	require.NoError(t, err)
	defer rt.Stop()
	orders := rt.Node(sim.Client).Orders()
	ctx := context.Background()
	var confirmed, rejected int
	for i := range 10 {
		key := fmt.Sprintf("k%d", i)
		co := sim.Checkout{Customer: "c1", SKU: sim.SKUs[0], Qty: 1, Amount: 10}
		first, err1 := orders.Checkout(ctx, key, co)
		again, err2 := orders.Checkout(ctx, key, co)
		require.Equal(t, first, again)
		require.Equal(t, fmt.Sprint(err1), fmt.Sprint(err2))
		if err1 == nil {
			confirmed++
			require.Equal(t, sim.OrderConfirmed, first.State)
		} else {
			rejected++
			require.True(t, sim.IsRejected(err1), err1)
		}
		co.Amount++
		_, err := orders.Checkout(ctx, key, co)
		var rej *sim.Rejected
		require.True(t, errors.As(err, &rej), err)
		require.Equal(t, http.StatusUnprocessableEntity, rej.Status)
		require.Equal(t, "key_conflict", rej.Reason)
	}
	require.Positive(t, confirmed)
	require.Positive(t, rejected)
}
