package scenarios

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

func eventSourcingWorld(faults string) Config {
	cfg := quick("event-sourcing", faults)
	cfg.World.Payments.RejectRate = 0.2
	cfg.World.Inventory.RejectRate = 0.1
	return cfg
}

// requireOnlyStaleReads asserts that a run's only anomalies are reads of
// the lagging projection. Reads are served from the read model (CQRS),
// which is eventually consistent: a read right after a confirmed answer
// may find the order absent or pending, which is honestly not
// linearizable. Nothing else may be wrong: every other class is zero, and
// without the reads made during the run — the checkout answers and the
// reads at rest alone — the history linearizes and the balances add up.
func requireOnlyStaleReads(t *testing.T, res *Result) {
	t.Helper()
	r := res.Report
	require.Empty(t, r.Unchecked, r.String())
	for _, c := range checker.Classes {
		if c != checker.NonLinearizable {
			require.Zero(t, r.Anomalies[c].Count, "%s: %s", c, r.String())
		}
	}
	var settled []checker.Op
	for _, op := range res.History {
		if op.Kind != checker.KindGet || op.Client == res.Config.Workload.Concurrency { // the client of the reads at rest
			settled = append(settled, op)
		}
	}
	without := checker.Check(settled, res.State)
	require.Equal(t, checker.VerdictClean, without.Verdict, "without the reads during the run: %s", without.String())
	t.Logf("%d orders read stale during the run, e.g. %v", r.Anomalies[checker.NonLinearizable].Count, r.Anomalies[checker.NonLinearizable].Examples)
}

func TestEventSourcing(t *testing.T) {
	t.Run("no faults: only stale reads of the projection, rejections compensated", func(t *testing.T) {
		res := execute(t, eventSourcingWorld(""))
		requireOnlyStaleReads(t, res)
		require.Positive(t, res.Report.Metrics.Rejected, "the business rejected some orders")
		require.Positive(t, res.Report.Metrics.Confirmed)
		require.Empty(t, res.Applied)
	})
	t.Run("the projection lags the streams but converges: eventual consistency is no loss", func(t *testing.T) {
		cfg := eventSourcingWorld("latency=20ms,lost-response=0.2,drop-request=0.1")
		dir := t.TempDir()
		res, err := Execute(context.Background(), cfg, dir)
		require.NoError(t, err)
		t.Logf("%s under %q: %s; faults applied: %v", cfg.Pattern, cfg.Faults, res.Report, res.Faults().FaultCounts())
		requireOnlyStaleReads(t, res)
		require.Positive(t, res.Faults().Counts["lost-response orders->payments"])

		// Each decided order reached the read model after its stream had
		// decided it: the answer came from the stream, the read model lagged.
		db, err := sim.OpenReadOnly(filepath.Join(dir, "orders.db"))
		require.NoError(t, err)
		defer db.Close()
		var decided, lagged int
		var maxLag int64
		require.NoError(t, db.QueryRow(`SELECT COUNT(*), COALESCE(SUM(o.updated_at > e.at), 0), COALESCE(MAX(o.updated_at - e.at), 0)
			FROM orders o JOIN order_events e ON e.order_key = o.key AND e.type IN ('Confirmed', 'Failed')`).Scan(&decided, &lagged, &maxLag))
		t.Logf("%d decided orders, %d projected after their stream decided them, the longest %s later", decided, lagged, time.Duration(maxLag))
		require.Equal(t, len(res.State.Orders), decided, "every projected order is decided in its stream")
		require.Equal(t, decided, lagged)
	})
	t.Run("a partition, transient errors, payments and broker crashes are retried", func(t *testing.T) {
		res := execute(t, eventSourcingWorld("partition=orders-payments:300ms,error=payments:0.2,crash=payments:0.05,crash=broker:0.05"))
		requireOnlyStaleReads(t, res)
	})
	t.Run("coordinator crashes after appends, the confirmation and publishes are recovered", func(t *testing.T) {
		res := execute(t, eventSourcingWorld("crashpoint=after-append:0.1,crashpoint=after-local-commit:0.2,crashpoint=before-publish-mark:0.2"))
		requireOnlyStaleReads(t, res)
		require.Positive(t, res.Faults().Counts["crash-point orders"])
	})
	t.Run("without caller-assigned keys a lost charge answer duplicates the charge", func(t *testing.T) {
		cfg := eventSourcingWorld("lost-response=orders-payments:0.3")
		cfg.World.Payments.Maturity = sim.Opaque
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
		require.Positive(t, res.Report.Anomalies[checker.DuplicateEffect].Count, res.Report.String())
	})
}
