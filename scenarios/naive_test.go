package scenarios

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	_ "github.com/txchaos/txchaos/patterns/all"
)

// quick is a small, fast run configuration for tests.
func quick(pattern, faults string) Config {
	cfg := Default()
	cfg.Pattern = pattern
	cfg.Faults = faults
	cfg.Workload = Workload{Txns: 60, Concurrency: 6, Attempts: 3, Customers: 10}
	cfg.World.CallTimeout = 300 * time.Millisecond
	cfg.CallTimeout = 1500 * time.Millisecond
	cfg.Quiet = 5 * time.Second
	// The deterministic runtime: the same seed is the same run, and a
	// pattern's suite takes seconds, not minutes. The live runtime is
	// covered by TestNaiveDualWrite and the expectation matrix (TestMatrix).
	cfg.Runtime = "det"
	return cfg
}

// quickLive is quick on the live runtime: real sockets, real proxies.
func quickLive(pattern, faults string) Config {
	cfg := quick(pattern, faults)
	cfg.Runtime = "live"
	return cfg
}

func execute(t *testing.T, cfg Config) *Result {
	t.Helper()
	res, err := Execute(context.Background(), cfg, t.TempDir())
	require.NoError(t, err)
	t.Logf("%s under %q: %s; faults applied: %v", cfg.Pattern, cfg.Faults, res.Report, res.Faults().FaultCounts())
	return res
}

func TestNaiveDualWrite(t *testing.T) {
	t.Run("no faults is clean", func(t *testing.T) {
		cfg := quickLive("naive-dual-write", "")
		cfg.World.Payments.RejectRate = 0.2
		// The baseline breaks on any timeout, and a loaded CI machine under
		// -race is slow: give it the default timeouts so only faults count.
		cfg.World.CallTimeout, cfg.CallTimeout = 0, Default().CallTimeout*2
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
		require.Positive(t, res.Report.Metrics.Rejected, "the business rejected some orders")
		require.Positive(t, res.Report.Metrics.Confirmed)
		require.Empty(t, res.Applied)
	})
	// The live subtests below assert that seeded fault rolls hit at least
	// once in a run of 60 orders. The rolls follow the seed, but which
	// request meets which roll follows the machine's timing; for any
	// sequence, each of them misses every one of its ~57 chances (orders
	// that get past payments' 5% rejections) with probability below 1e-7:
	// 0.7⁵⁷ ≈ 1.5e-9 at a rate of 0.3, 0.75⁵⁷ ≈ 7.6e-8 at 0.25. They
	// mostly wait on timeouts, so they run at once, after the clean run.
	t.Run("a lost charge answer leaks the charge", func(t *testing.T) {
		t.Parallel()
		cfg := quickLive("naive-dual-write", "lost-response=orders-payments:0.3")
		cfg.Workload.Attempts = 1 // the client gives up: the order stays failed
		res := execute(t, cfg)
		require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
		require.Positive(t, res.Report.Anomalies[checker.LeakedResource].Count, res.Report.String())
		require.Positive(t, res.Faults().Counts["lost-response orders->payments"])
	})
	t.Run("a lost checkout answer double-charges on the client's retry", func(t *testing.T) {
		t.Parallel()
		res := execute(t, quickLive("naive-dual-write", "lost-response=client-orders:0.3"))
		require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
		require.Positive(t, res.Report.Anomalies[checker.DuplicateEffect].Count, res.Report.String())
		require.Positive(t, res.Report.Anomalies[checker.DuplicateConsumerEffect].Count, res.Report.String())
		require.Positive(t, res.Faults().Counts["lost-response client->orders"])
	})
	t.Run("a crash after the local commit loses events and commits partially", func(t *testing.T) {
		t.Parallel()
		res := execute(t, quickLive("naive-dual-write", "crashpoint=after-local-commit:0.25"))
		require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
		require.Positive(t, res.Report.Anomalies[checker.LostEvent].Count, res.Report.String())
		require.Positive(t, res.Report.Anomalies[checker.PartialCommit].Count, res.Report.String())
		require.Positive(t, res.Faults().Counts["crash-point orders"])
	})
}

// TestFaultTimesMatchTheHistory: the faults a run applied are timed on the
// history's clock, on both runtimes. With one client, every request the
// client sends is delayed (latency on client->orders) while the operation
// that sent it is in flight: its Applied time falls inside that operation.
func TestFaultTimesMatchTheHistory(t *testing.T) {
	for _, runtime := range Runtimes {
		t.Run(runtime, func(t *testing.T) {
			cfg := quick("naive-dual-write", "latency=client-orders:4ms")
			cfg.Runtime = runtime
			cfg.Workload.Concurrency, cfg.Workload.Txns = 1, 10
			res := execute(t, cfg)
			var checked int
			for _, a := range res.Applied {
				if a.Target != "client->orders" {
					continue
				}
				checked++
				inside := false
				for _, op := range res.History {
					inside = inside || (op.Call <= a.At && a.At <= op.Return)
				}
				require.True(t, inside, "%s %s at %v is inside no operation of the history", a.Fault, a.Detail, a.At)
			}
			require.Positive(t, checked)
		})
	}
}
