package scenarios

import (
	"bytes"
	"context"
	"math"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/patterns"
)

// doubleSubmit is the built-in double-submit scenario's run of pattern on
// the det runtime, at the scenario's seed; edit changes its configuration.
func doubleSubmit(t *testing.T, pattern string, edit func(*Config)) *Result {
	t.Helper()
	sc, err := Builtin("double-submit")
	require.NoError(t, err)
	spec, err := patterns.Lookup(pattern)
	require.NoError(t, err)
	cfg, err := sc.ConfigFor(spec)
	require.NoError(t, err)
	cfg.Runtime = "det"
	if edit != nil {
		edit(&cfg)
	}
	res, err := ExecuteSpec(context.Background(), spec, cfg, t.TempDir())
	require.NoError(t, err)
	return res
}

// answers are the checkouts of each key in h, in the order they were
// called.
func answers(h []checker.Op) map[string][]checker.Op {
	out := map[string][]checker.Op{}
	for _, op := range h {
		if op.Kind == checker.KindCheckout {
			out[op.Key] = append(out[op.Key], op)
		}
	}
	return out
}

// resubmitted are the checkouts of h sent after their key had been
// answered definitively.
func resubmitted(h []checker.Op) []checker.Op {
	var out []checker.Op
	for _, ops := range answers(h) {
		for i, op := range ops {
			if i > 0 && ops[i-1].Outcome.Definitive() {
				out = append(out, op)
			}
		}
	}
	return out
}

// TestDoubleSubmitShowsNonLinearizable: the baselines run the checkout
// again when a client re-sends an order it was answered about, and decide
// it again: an order the client was told was confirmed is marked failed
// (its stock is gone by the second run), and non-linearizable names it,
// with the answer that contradicts the first.
func TestDoubleSubmitShowsNonLinearizable(t *testing.T) {
	flip := regexp.MustCompile(`^order (o[0-9]+): checkout#([0-9]+) answered failed at [^,]+, but checkout#1 answered confirmed at [^ ]+ \(history-(o[0-9]+)\.html\)$`)
	for _, pattern := range []string{"naive-dual-write", "blind-retry"} {
		t.Run(pattern, func(t *testing.T) {
			res := doubleSubmit(t, pattern, nil)
			f := res.Report.Anomalies[checker.NonLinearizable]
			require.Positive(t, f.Count, "%s decides a re-submitted order again; the checker must see it:\n%s", pattern, res.Report)
			m := flip.FindStringSubmatch(f.Examples[0])
			require.NotNil(t, m, "the example tells the flip: %q", f.Examples[0])
			require.Equal(t, m[1], m[3], "the example's page is its order's")
			ops := answers(res.History)[m[1]]
			require.GreaterOrEqual(t, len(ops), 2, "order %s", m[1])
			require.Equal(t, checker.OutcomeOK, ops[0].Outcome, "order %s: the first answer", m[1])
			require.Equal(t, "confirmed", ops[0].State)
			last := ops[len(ops)-1]
			require.Equal(t, m[2], strconv.Itoa(last.Attempt), "order %s: the example names the re-submit", m[1])
			require.Equal(t, checker.OutcomeRejected, last.Outcome, "order %s: the re-submit was refused: %+v", m[1], last)
			require.Equal(t, "out_of_stock", last.Reason)
			require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
		})
	}
}

// TestDoubleSubmitKeyedPatternsAnswerTheSame: the patterns of
// docs/sources.md#caller-assigned-key (a caller-assigned key) and
// docs/sources.md#idempotency-keys (a stored response) answer every
// re-submit with the decision they made, confirmed or refused, and the run
// is clean: the scenario's run, and the same with every answered order
// sent again.
func TestDoubleSubmitKeyedPatternsAnswerTheSame(t *testing.T) {
	for _, pattern := range []string{"two-phase-key", "idempotency-keys"} {
		t.Run(pattern, func(t *testing.T) {
			res := doubleSubmit(t, pattern, nil)
			require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
			require.GreaterOrEqual(t, len(resubmitted(res.History)), 5, "the scenario re-sends about half of 20 orders")

			res = doubleSubmit(t, pattern, func(c *Config) { c.Workload.Resubmit = 1 })
			require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
			again := resubmitted(res.History)
			require.Equal(t, res.Report.Metrics.Checkouts-res.Report.Metrics.Unknown, len(again), "every order answered is sent again")
			rejected := 0
			for _, op := range again {
				ops := answers(res.History)[op.Key]
				first := ops[0]
				for _, o := range ops {
					if o.Outcome.Definitive() {
						first = o
						break
					}
				}
				require.Equal(t, first.Outcome, op.Outcome, "order %s: re-submit %+v, first answer %+v", op.Key, op, first)
				require.Equal(t, first.State, op.State, "order %s", op.Key)
				if op.Outcome == checker.OutcomeRejected {
					rejected++
				}
			}
			require.Positive(t, rejected, "some re-submitted order had been refused: its refusal is answered again")
		})
	}
}

// TestResubmitDraw: which orders are re-submitted is drawn from the seed,
// apart from the orders themselves: the same seed places the same orders
// whatever the share, none is re-submitted at 0 and all are at 1.
func TestResubmitDraw(t *testing.T) {
	cfg := Default()
	cfg.Workload.Txns = 1000
	base := orders(cfg)
	for _, share := range []float64{0, 0.3, 1} {
		cfg.Workload.Resubmit = share
		got := orders(cfg)
		n := 0
		for i, o := range got {
			require.Equal(t, base[i].key, o.key)
			require.Equal(t, base[i].co, o.co, "order %s does not depend on the re-submit share", o.key)
			if o.resubmit {
				n++
			}
		}
		// Binomial(1000, share): 100 is over 6.9 standard deviations at 0.3,
		// and the draw is the seed's, the same at every run.
		require.InDelta(t, share*1000, n, 100, "share %g", share)
		if share == 0 || share == 1 {
			require.Equal(t, int(share*1000), n)
		}
	}
}

// TestResubmitOff: by default nothing is re-submitted, so the runs of
// every other scenario and matrix are those they were.
func TestResubmitOff(t *testing.T) {
	res := execute(t, quick("naive-dual-write", ""))
	require.Empty(t, resubmitted(res.History))
	require.Equal(t, res.Report.Metrics.Checkouts, res.Report.Metrics.Attempts, "no faults, no re-submits: one attempt per order")
}

// TestResubmitValidate: a share outside 0..1 is refused, naming the field.
func TestResubmitValidate(t *testing.T) {
	for _, v := range []float64{-0.1, 1.01, math.NaN(), math.Inf(1)} {
		cfg := Default()
		cfg.Workload.Resubmit = v
		require.ErrorContains(t, cfg.Validate(), "resubmit: ")
		require.ErrorContains(t, cfg.Validate(), " is not a share between 0 and 1")
	}
}

// TestShrinkDoubleSubmit shrinks the naive dual write's non-linearizable
// double-submit run: the re-submits stay (without them nothing decides an
// answered order again), and the scenario file it writes says so and
// fails again when run.
func TestShrinkDoubleSubmit(t *testing.T) {
	sc, err := Builtin("double-submit")
	require.NoError(t, err)
	spec, err := patterns.Lookup("naive-dual-write")
	require.NoError(t, err)
	cfg, err := sc.ConfigFor(spec)
	require.NoError(t, err)
	cfg.Runtime = "det"
	var tried []string
	best, _, err := Shrink(context.Background(), cfg, checker.NonLinearizable, ShrinkOptions{MaxRuns: 80, Progress: func(s ShrinkStep) {
		if s.Change == "no re-submits" {
			tried = append(tried, s.Change)
			require.False(t, s.Fails, "without re-submits the order is decided once")
		}
	}})
	require.NoError(t, err)
	t.Logf("shrunk to %d orders, %d clients, %d attempts, resubmit %g, faults %q", best.Workload.Txns, best.Workload.Concurrency, best.Workload.Attempts, best.Workload.Resubmit, best.Faults)
	require.NotEmpty(t, tried, "the search tried to do without re-submits")
	require.Equal(t, 0.5, best.Workload.Resubmit)
	require.Less(t, best.Workload.Txns, cfg.Workload.Txns)

	var file bytes.Buffer
	require.NoError(t, WriteScenario(&file, "shrunk-double-submit", "A re-submitted order decided again.", best))
	require.Contains(t, file.String(), ", resubmit: 0.5}\n")
	again, err := Parse("shrunk-double-submit.yaml", file.Bytes())
	require.NoError(t, err)
	require.Equal(t, best.Workload, again.Config.Workload)
	run, err := again.ConfigFor(spec)
	require.NoError(t, err)
	res, err := ExecuteSpec(context.Background(), spec, run, t.TempDir())
	require.NoError(t, err)
	require.Positive(t, res.Report.Anomalies[checker.NonLinearizable].Count, "the scenario file still shows it:\n%s", file.String())
}
