package scenarios

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/sim"
)

// TestEvidenceOf checks which applied faults count as landed: while the
// order their request names is open, or, naming none, while any order is.
func TestEvidenceOf(t *testing.T) {
	ms := time.Millisecond
	start := time.Unix(1000, 0)
	at := func(d time.Duration) int64 { return start.Add(d).UnixNano() }
	profile, err := faults.Parse("lost-response=0.2,lost-response=orders-payments:0.3,crashpoint=after-local-commit:0.2,partition=1h,crash=payments:0.1")
	require.NoError(t, err)
	history := []checker.Op{
		// o1: placed at 10ms, answered at 50ms; its event published at 120ms.
		{Kind: checker.KindCheckout, Key: "o1", Attempt: 1, Call: 10 * ms, Return: 50 * ms, Outcome: checker.OutcomeOK, State: sim.OrderConfirmed},
		// o2: two attempts, 200-260ms, then at rest.
		{Kind: checker.KindCheckout, Key: "o2", Attempt: 1, Call: 200 * ms, Return: 230 * ms, Outcome: checker.OutcomeUnknown},
		{Kind: checker.KindCheckout, Key: "o2", Attempt: 2, Call: 240 * ms, Return: 260 * ms, Outcome: checker.OutcomeOK, State: sim.OrderFailed},
		// o3: answered at 420ms but still pending at the end.
		{Kind: checker.KindCheckout, Key: "o3", Attempt: 1, Call: 400 * ms, Return: 420 * ms, Outcome: checker.OutcomeUnknown},
		// A read names o2, after its rest: it does not reopen o2.
		{Kind: checker.KindGet, Key: "o2", Call: 900 * ms, Return: 910 * ms, Outcome: checker.OutcomeOK, State: sim.OrderFailed},
	}
	st := &checker.State{
		Orders: []checker.OrderRow{
			{Key: "o1", State: sim.OrderConfirmed, UpdatedAt: at(40 * ms)},
			{Key: "o2", State: sim.OrderFailed, UpdatedAt: at(255 * ms)},
			{Key: "o3", State: sim.OrderPending, UpdatedAt: at(410 * ms)},
		},
		Events: []checker.EventRow{{Order: "o1", PublishedAt: at(120 * ms)}},
	}
	applied := []sim.Applied{
		{At: 20 * ms, Fault: "lost-response", Target: "client->orders", Order: "o1"},                             // o1 open: landed, entry 0
		{At: 100 * ms, Fault: "lost-response", Target: "orders->broker", Order: "o1"},                            // before o1's publish: landed
		{At: 300 * ms, Fault: "lost-response", Target: "orders->payments", Order: "o2"},                          // entry 1; o2 at rest: not landed
		{At: 30 * ms, Fault: "crash-point", Target: "orders", Detail: "after-local-commit"},                      // no order named; o1 open: landed
		{At: 150 * ms, Fault: "crash-point", Target: "orders", Detail: "after-local-commit"},                     // nothing open: not landed
		{At: 180 * ms, Fault: "restart", Target: "orders"},                                                       // not a fault of the profile
		{At: 5 * time.Second, Fault: "crash", Target: "payments", Detail: "before POST /resources", Order: "o3"}, // o3 never came to rest: landed
	}
	ev := evidenceOf(profile, applied, history, st, start, 6*time.Second)
	require.Equal(t, []results.FaultEvidence{
		{Fault: "lost-response=0.2", Applied: 2, Landed: 2, Targets: map[string]results.Count{
			"client->orders": {Applied: 1, Landed: 1}, "orders->broker": {Applied: 1, Landed: 1}}},
		{Fault: "lost-response=orders-payments:0.3", Applied: 1, Landed: 0},
		{Fault: "crashpoint=after-local-commit:0.2", Applied: 2, Landed: 1},
		{Fault: "partition=1h0m0s", Applied: 0, Landed: 0},
		{Fault: "crash=payments:0.1", Applied: 1, Landed: 1},
	}, ev.Faults)
	require.Equal(t, []string{"lost-response=orders-payments:0.3", "partition=1h0m0s"}, ev.NotExercised)

	rec := &results.Record{SchemaVersion: results.SchemaVersion, Tool: results.Tool, Pattern: "p", Runtime: "det", Config: []byte(`{}`), Anomalies: map[string]int{}, Verdict: "clean", Evidence: ev}
	require.NoError(t, rec.Validate())
	require.Equal(t, ev.NotExercised, rec.NotExercisedClean())
	ev.NotExercised = nil
	require.ErrorContains(t, rec.Validate(), "evidence.not_exercised")

	none := evidenceOf(nil, nil, history, st, start, time.Second)
	require.Empty(t, none.NotExercised, "a run without faults has nothing to exercise")
	require.Empty(t, none.Faults)
}

// TestEvidenceDet runs the det runtime: a fault that cannot land in the
// run (a partition whose first window opens after it, a crash point the
// pattern never reaches) is not exercised; one that hits is counted.
func TestEvidenceDet(t *testing.T) {
	tests := []struct {
		name, pattern, faults string
		reject                float64
		notExercised          []string
	}{
		{"partition-after-the-run", "outbox", "partition=1h", 0.2, []string{"partition=1h0m0s"}},
		{"crash-point-never-reached", "saga", "crashpoint=during-compensation:0.5", 0, []string{"crashpoint=during-compensation:0.5"}},
		{"lost-responses-land", "outbox", "lost-response=0.2", 0.2, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := detTiny(tt.pattern, tt.faults)
			cfg.World.Payments.RejectRate = tt.reject
			res, rec := record(t, cfg)
			require.Equal(t, tt.notExercised, rec.Evidence.NotExercised)
			require.Len(t, rec.Evidence.Faults, 1)
			f := rec.Evidence.Faults[0]
			if len(tt.notExercised) > 0 {
				require.Zero(t, f.Landed)
				return
			}
			require.Positive(t, f.Landed, "lost responses hit open orders")
			require.LessOrEqual(t, f.Landed, f.Applied)
			n := 0
			for _, a := range res.Applied {
				if a.Fault == "lost-response" {
					n++
				}
			}
			require.Equal(t, n, f.Applied, "every lost response applied is counted")
			require.NotEmpty(t, f.Targets, "a fault on every link is split by link")
		})
	}
}
