package scenarios

import (
	"time"

	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

// rvcWorld sets every downstream service to maturity m.
func rvcWorld(faults string, m sim.Maturity) Config {
	cfg := quick("read-validate-call", faults)
	cfg.World.Payments.Maturity = m
	cfg.World.Inventory.Maturity = m
	cfg.World.Shipping.Maturity = m
	return cfg
}

// requireCleanButRaces asserts that a run is clean but for the one race
// the pattern's doc names: recovery takes over an order pending for two
// call timeouts (patterns.Abandoned) while its request may still drive it,
// and the read is not a lock, so an order whose checkout outlived that age
// may be charged twice (and its customer's money then does not add up).
// Every duplicated order must be such a one.
func requireCleanButRaces(t *testing.T, res *Result) {
	t.Helper()
	r := res.Report
	slow := map[string]bool{}
	for _, op := range res.History {
		if op.Kind == checker.KindCheckout && op.Return-op.Call > 2*res.Config.World.CallTimeout {
			slow[op.Key] = true
		}
	}
	for svc, rows := range res.State.Resources {
		held := map[string]int{}
		for _, row := range rows {
			if row.State == sim.ResourceActive {
				held[row.Order]++
			}
		}
		for order, n := range held {
			require.True(t, n == 1 || slow[order], "%s holds %d for order %s, whose checkout did not outlive two call timeouts: %s", svc, n, order, r.String())
		}
	}
	require.Empty(t, r.Unchecked, r.String())
	for _, c := range checker.Classes {
		if c != checker.DuplicateEffect && (c != checker.NotConserved || r.Anomalies[checker.DuplicateEffect].Count == 0) {
			require.Zero(t, r.Anomalies[c].Count, "%s: %s", c, r.String())
		}
	}
	if n := r.Anomalies[checker.DuplicateEffect].Count; n > 0 {
		t.Logf("%d duplicates, each of an order whose checkout outlived two call timeouts: recovery raced its request", n)
	}
}

func TestDetReadValidateCall(t *testing.T) {
	detSuite(t)
	t.Run("no faults is clean at readable services", func(t *testing.T) {
		cfg := rvcWorld("", sim.Readable)
		cfg.World.Payments.RejectRate = 0.2
		cfg.World.Inventory.RejectRate = 0.1
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
		require.Positive(t, res.Report.Metrics.Rejected, "the business rejected some orders")
		require.Positive(t, res.Report.Metrics.Confirmed)
		require.Empty(t, res.Applied)
	})
	for _, faults := range []string{
		"lost-response=orders-payments:0.3",
		"lost-response=orders-inventory:0.2,drop-request=orders-shipping:0.2,crash=payments:0.05",
		"crashpoint=after-payment:0.1,crashpoint=after-local-commit:0.1,crashpoint=before-mark-sent:0.1",
	} {
		t.Run("readable services survive "+faults+", but for recovery racing a slow request", func(t *testing.T) {
			cfg := rvcWorld(faults, sim.Readable)
			cfg.World.Inventory.RejectRate = 0.1 // compensation reads and cancels by id
			// One client driver per order: a client retry could drive the
			// order while its first request still does (the race the next
			// tests show); here the read is judged, and recovery finishes
			// orders.
			cfg.Workload.Attempts = 1
			res := execute(t, cfg)
			requireCleanButRaces(t, res)
			require.NotEmpty(t, res.Applied)
		})
	}
	t.Run("idempotent services survive lost responses", func(t *testing.T) {
		res := execute(t, rvcWorld("lost-response=orders-payments:0.3", sim.Idempotent))
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
	})
	t.Run("two drivers of one order both read nothing and both call", func(t *testing.T) {
		// Slow charges outlast the client's patience: its retry drives the
		// order while the first request still does. The read is not a lock.
		cfg := rvcWorld("latency=orders-payments:150ms", sim.Readable)
		cfg.Workload.Attempts = 5
		cfg.CallTimeout = 300 * time.Millisecond // an impatient client: shorter than one slow step
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
		require.Positive(t, res.Report.Anomalies[checker.DuplicateEffect].Count, res.Report.String())
	})
	t.Run("opaque services cannot be validated: lost answers duplicate and leak", func(t *testing.T) {
		cfg := rvcWorld("lost-response=orders-payments:0.3", sim.Opaque)
		cfg.World.Inventory.RejectRate = 0.1
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
		rep := res.Report
		require.Positive(t, rep.Anomalies[checker.DuplicateEffect].Count+rep.Anomalies[checker.LeakedResource].Count, rep.String())
	})
}
