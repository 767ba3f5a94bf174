package checker_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

// requireCounts asserts every class's count: want's, zero for the others.
func requireCounts(t *testing.T, want map[checker.Class]int, r checker.Report) {
	t.Helper()
	require.Len(t, r.Anomalies, len(checker.Classes), "every class is reported")
	for _, c := range checker.Classes {
		f, ok := r.Anomalies[c]
		require.True(t, ok, "class %s missing from the report", c)
		require.Equal(t, want[c], f.Count, "class %s: %v", c, f.Examples)
		require.LessOrEqual(t, len(f.Examples), checker.MaxExamples)
		require.Equal(t, min(f.Count, checker.MaxExamples), len(f.Examples), "class %s examples", c)
	}
}

func TestCheckClasses(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(w *testWorld)
		want   map[checker.Class]int
		// example, if set, is a substring of the first example of the
		// first class of want (in Classes order).
		example string
	}{
		{
			name:   "clean",
			mutate: func(*testWorld) {},
			want:   nil,
		},
		{
			name: "leaked-resource: resources held for an order that does not exist",
			mutate: func(w *testWorld) {
				w.resource(sim.Shipping, "k9", "c9", "", 0, 0, sim.ResourceActive, 0)
				w.resource(sim.Inventory, "k9", "c9", "sku-3", 1, 0, sim.ResourceActive, 0)
			},
			want:    map[checker.Class]int{checker.LeakedResource: 2},
			example: "inventory reservation 4 for order k9: no such order",
		},
		{
			name: "leaked-resource: a charge created after its order's refund",
			mutate: func(w *testWorld) {
				w.resource(sim.Payments, "k3", "c1", "", 0, 30, sim.ResourceActive, 0)
			},
			want: map[checker.Class]int{
				checker.LeakedResource: 1, checker.PartialCommit: 1, checker.HangingAction: 1, checker.NotConserved: 1,
			},
			example: "payments charge 4 for order k3: order failed; created after a cancel for its order",
		},
		{
			name: "partial-commit: confirmed without a shipment",
			mutate: func(w *testWorld) {
				w.exec(sim.Shipping, `DELETE FROM resources WHERE order_ref = 'k2'`)
			},
			want:    map[checker.Class]int{checker.PartialCommit: 1},
			example: "order k2: confirmed without a held shipment at shipping",
		},
		{
			name: "partial-commit: failed but still shipped",
			mutate: func(w *testWorld) {
				w.exec(sim.Shipping, `UPDATE resources SET state = 'active', customer = 'c1' WHERE order_ref = 'k3'`)
			},
			want:    map[checker.Class]int{checker.LeakedResource: 1, checker.PartialCommit: 1},
			example: "shipping shipment 3 for order k3: order failed",
		},
		{
			name: "duplicate-effect: two shipments for one order",
			mutate: func(w *testWorld) {
				w.resource(sim.Shipping, "k1", "c1", "", 0, 0, sim.ResourceActive, 0)
			},
			want:    map[checker.Class]int{checker.DuplicateEffect: 1},
			example: "order k1: 2 active shipments at shipping (ids 1, 4)",
		},
		{
			name: "duplicate-effect: two charges for one order",
			mutate: func(w *testWorld) {
				w.resource(sim.Payments, "k1", "c1", "", 0, 100, sim.ResourceActive, 0)
			},
			want:    map[checker.Class]int{checker.DuplicateEffect: 1, checker.NotConserved: 1},
			example: "order k1: 2 active charges at payments (ids 1, 4)",
		},
		{
			name: "duplicate-effect: a refund applied twice",
			mutate: func(w *testWorld) {
				w.exec(sim.Payments, `UPDATE resources SET cancels = 2 WHERE order_ref = 'k3'`)
			},
			want:    map[checker.Class]int{checker.DuplicateEffect: 1},
			example: "payments charge 3 for order k3: cancelled 2 times",
		},
		{
			name: "lost-event: confirmed, never published",
			mutate: func(w *testWorld) {
				w.order("k4", "c2", "sku-3", 1, 20, sim.OrderConfirmed)
				w.resource(sim.Payments, "k4", "c2", "", 0, 20, sim.ResourceActive, 0)
				w.resource(sim.Inventory, "k4", "c2", "sku-3", 1, 0, sim.ResourceActive, 0)
				w.resource(sim.Shipping, "k4", "c2", "", 0, 0, sim.ResourceActive, 0)
			},
			want:    map[checker.Class]int{checker.LostEvent: 1, checker.NotConserved: 1},
			example: "order k4: confirmed, no credit at rewards: no order.confirmed event in the broker log",
		},
		{
			name: "lost-event: consumed but never applied",
			mutate: func(w *testWorld) {
				w.exec(sim.Rewards, `DELETE FROM credits WHERE order_ref = 'k2'`)
			},
			want:    map[checker.Class]int{checker.LostEvent: 1, checker.NotConserved: 1},
			example: "order k2: confirmed, no credit at rewards: event at offset 2 consumed but not applied",
		},
		{
			name: "ghost-event: a failed order's event, not yet consumed",
			mutate: func(w *testWorld) {
				w.event("k3", "c1", 30)
			},
			want:    map[checker.Class]int{checker.GhostEvent: 1, checker.Stuck: 1},
			example: "order k3: order.confirmed event at offset 3, but order failed",
		},
		{
			name: "ghost-event: an absent order's event, consumed",
			mutate: func(w *testWorld) {
				off := w.event("k9", "c9", 10)
				w.credit("k9", "c9", 10, off)
				w.ack(off)
			},
			want:    map[checker.Class]int{checker.GhostEvent: 1, checker.NotConserved: 1},
			example: "order k9: order.confirmed event at offset 3, but no such order",
		},
		{
			name: "duplicate-consumer-effect: a redelivered event applied twice",
			mutate: func(w *testWorld) {
				w.credit("k1", "c1", 100, 1)
			},
			want:    map[checker.Class]int{checker.DuplicateConsumerEffect: 1, checker.NotConserved: 1},
			example: "order k1: credited 2 times at rewards (credit ids 1, 3; event ids e-k1, e-k1)",
		},
		{
			name: "not-conserved: stock and money books",
			mutate: func(w *testWorld) {
				w.exec(sim.Inventory, `UPDATE stock SET available = 7 WHERE sku = 'sku-3'`)
				w.exec(sim.Payments, `UPDATE resources SET amount = 90 WHERE order_ref = 'k1'`)
			},
			want:    map[checker.Class]int{checker.NotConserved: 2},
			example: "customer c1: 90 held at payments, confirmed orders worth 100",
		},
		{
			name: "stuck: a pending order, an unsent outbox row, consumer lag",
			mutate: func(w *testWorld) {
				w.order("k5", "c3", "sku-3", 1, 10, sim.OrderPending)
				w.exec(sim.Orders, `INSERT INTO outbox(key, sent) VALUES ('k5', 0)`)
				w.ack(1)
			},
			want:    map[checker.Class]int{checker.Stuck: 3},
			example: "order k5: pending after healing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := cleanWorld(t)
			tt.mutate(w)
			found := w.watch()
			s := w.read()
			require.Empty(t, s.Missing)
			r := checker.Check(nil, s, checker.Linearizable)
			requireCounts(t, tt.want, r)
			require.Equal(t, r.Anomalies[checker.Stuck].Count > 0, found != "", "the Watch found %q", found)
			stuck, judged := checker.CheckStuck(s)
			require.True(t, judged)
			require.Equal(t, r.Anomalies[checker.Stuck].Count, stuck.Count, "CheckStuck finds what Check does")
			require.Equal(t, r.Anomalies[checker.Stuck].Examples, stuck.Examples)
			require.Empty(t, r.Unchecked)
			require.Empty(t, r.Reason)
			if len(tt.want) == 0 {
				require.Equal(t, checker.VerdictClean, r.Verdict, r.String())
				require.Equal(t, "clean", r.String())
				return
			}
			require.Equal(t, checker.VerdictAnomalies, r.Verdict)
			if tt.example != "" {
				for _, c := range checker.Classes {
					if tt.want[c] > 0 {
						require.Contains(t, r.Anomalies[c].Examples[0], tt.example)
						break
					}
				}
			}
		})
	}
}

func TestReadStateReadsEverything(t *testing.T) {
	w := cleanWorld(t)
	w.exec(sim.Orders, `INSERT INTO outbox(key, sent) VALUES ('k7', 0), ('k6', 0)`)
	s := w.read()
	require.Len(t, s.Orders, 3)
	require.Equal(t, checker.OrderRow{Key: "k1", Customer: "c1", SKU: "sku-1", Qty: 2, Amount: 100, State: sim.OrderConfirmed, UpdatedAt: 1}, s.Orders[0])
	require.Len(t, s.Resources[sim.Payments], 3)
	cancelled := s.Resources[sim.Payments][2]
	require.Equal(t, "k3", cancelled.Order)
	require.Equal(t, sim.ResourceCancelled, cancelled.State)
	require.EqualValues(t, 1, cancelled.Cancels)
	tomb := s.Resources[sim.Shipping][2]
	require.Equal(t, sim.ResourceTombstone, tomb.State)
	require.Equal(t, "shipping:k3:tombstone", tomb.Key)
	require.Len(t, s.Log[sim.Payments], 4) // three creates, one cancel
	require.Equal(t, []checker.StockRow{{"sku-1", 10, 8}, {"sku-2", 10, 9}, {"sku-3", 10, 10}}, s.Stock)
	require.Len(t, s.Events, 2)
	require.Equal(t, checker.EventRow{Offset: 1, Topic: sim.OrdersTopic, EventID: "e-k1", Type: sim.OrderConfirmedEvent,
		Order: "k1", Customer: "c1", Amount: 100, PublishedAt: s.Events[0].PublishedAt}, s.Events[0])
	require.Equal(t, []checker.OffsetRow{{Topic: sim.OrdersTopic, Group: sim.RewardsGroup, Offset: 2}}, s.Offsets)
	require.Len(t, s.Credits, 2)
	require.Equal(t, map[string][]string{"outbox": {"k6", "k7"}}, s.Pending)
	require.Empty(t, s.Missing)
}

func TestReadStateWhileServicesRun(t *testing.T) {
	// The live runtime may still hold the databases open: read them so.
	w := cleanWorld(t)
	s, err := checker.ReadState(context.Background(), w.paths, nil)
	require.NoError(t, err)
	require.Empty(t, s.Missing)
	require.Len(t, s.Orders, 3)
	require.Equal(t, checker.VerdictClean, checker.Check(nil, s, checker.Linearizable).Verdict)
}

func TestReadStateCallerMistakes(t *testing.T) {
	ctx := context.Background()
	_, err := checker.ReadState(ctx, nil, []checker.Pending{{Node: "ledger", Name: "open", SQL: "SELECT 1"}})
	require.ErrorContains(t, err, `node "ledger" has no database`)
	_, err = checker.ReadState(ctx, nil, []checker.Pending{{Name: "outbox"}})
	require.ErrorContains(t, err, "name and SQL are required")
	_, err = checker.ReadState(ctx, nil, []checker.Pending{outboxPending, outboxPending})
	require.ErrorContains(t, err, "given twice")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = checker.ReadState(cancelled, nil, nil)
	require.ErrorIs(t, err, context.Canceled)
}

func TestCheckUnknown(t *testing.T) {
	t.Run("no state", func(t *testing.T) {
		r := checker.Check(nil, nil, checker.Linearizable)
		require.Equal(t, checker.VerdictUnknown, r.Verdict)
		// Every class but those of the history, which it alone judges.
		stateClasses := slices.DeleteFunc(slices.Clone(checker.Classes), func(c checker.Class) bool {
			return slices.Contains([]checker.Class{checker.NonLinearizable, checker.StaleRead, checker.SessionStaleRead, checker.UnconvergedRead}, c)
		})
		require.Equal(t, stateClasses, r.Unchecked)
		require.Contains(t, r.Reason, "no state was read")
		requireCounts(t, nil, r)
	})
	t.Run("rewards database not given", func(t *testing.T) {
		w := cleanWorld(t)
		w.read()
		paths := w.paths
		delete(paths, sim.Rewards)
		s, err := checker.ReadState(context.Background(), paths, []checker.Pending{outboxPending})
		require.NoError(t, err)
		require.Equal(t, map[string]string{sim.Rewards: "no database given"}, s.Missing)
		r := checker.Check(nil, s, checker.Linearizable)
		require.Equal(t, checker.VerdictUnknown, r.Verdict, r.String())
		require.Equal(t, []checker.Class{checker.LostEvent, checker.DuplicateConsumerEffect, checker.NotConserved}, r.Unchecked)
		require.Equal(t, "not judged: lost-event, duplicate-consumer-effect, not-conserved: rewards not read (no database given)", r.Reason)
		requireCounts(t, nil, r)
	})
	t.Run("a database file that does not exist", func(t *testing.T) {
		w := cleanWorld(t)
		w.read()
		w.paths[sim.Broker] = filepath.Join(t.TempDir(), "gone.db")
		s, err := checker.ReadState(context.Background(), w.paths, []checker.Pending{outboxPending})
		require.NoError(t, err)
		require.Contains(t, s.Missing[sim.Broker], "does not exist")
		r := checker.Check(nil, s, checker.Linearizable)
		require.Equal(t, checker.VerdictUnknown, r.Verdict)
		require.Equal(t, []checker.Class{checker.GhostEvent, checker.Stuck}, r.Unchecked)
	})
	t.Run("a database without its tables", func(t *testing.T) {
		w := cleanWorld(t)
		w.read()
		w.paths[sim.Payments] = w.paths[sim.Broker] // a broker has no resources table
		s, err := checker.ReadState(context.Background(), w.paths, []checker.Pending{outboxPending})
		require.NoError(t, err)
		require.Contains(t, s.Missing[sim.Payments], "no such table")
		require.NotContains(t, s.Resources, sim.Payments)
		require.Equal(t, checker.VerdictUnknown, checker.Check(nil, s, checker.Linearizable).Verdict)
	})
	t.Run("a pending query that fails", func(t *testing.T) {
		w := cleanWorld(t)
		s := w.read(outboxPending, checker.Pending{Name: "saga", SQL: `SELECT key FROM saga_steps`})
		require.Contains(t, s.Missing["pending saga"], "no such table")
		require.Equal(t, []string{}, s.Pending["outbox"])
		r := checker.Check(nil, s, checker.Linearizable)
		require.Equal(t, checker.VerdictUnknown, r.Verdict)
		require.Equal(t, []checker.Class{checker.Stuck}, r.Unchecked)
		require.Contains(t, r.Reason, "pending saga failed")
	})
	t.Run("anomalies outweigh what could not be read", func(t *testing.T) {
		w := cleanWorld(t)
		w.resource(sim.Shipping, "k1", "c1", "", 0, 0, sim.ResourceActive, 0)
		w.read()
		delete(w.paths, sim.Rewards)
		s, err := checker.ReadState(context.Background(), w.paths, nil)
		require.NoError(t, err)
		r := checker.Check(nil, s, checker.Linearizable)
		require.Equal(t, checker.VerdictAnomalies, r.Verdict)
		require.Equal(t, 1, r.Anomalies[checker.DuplicateEffect].Count)
		require.NotEmpty(t, r.Unchecked)
		require.True(t, strings.HasPrefix(r.String(), "anomalies: duplicate-effect=1 (order k1: 2 active shipments"), r.String())
		require.Contains(t, r.String(), "not judged")
	})
}

func TestCheckExamplesAreCappedAndStable(t *testing.T) {
	s := &checker.State{}
	for _, k := range []string{"k7", "k3", "k9", "k1", "k5", "k2", "k8"} {
		s.Orders = append(s.Orders, checker.OrderRow{Key: k, State: sim.OrderPending})
	}
	r := checker.Check(nil, s, checker.Linearizable)
	f := r.Anomalies[checker.Stuck]
	require.Equal(t, 7, f.Count)
	require.Equal(t, []string{
		"order k1: pending after healing", "order k2: pending after healing", "order k3: pending after healing",
		"order k5: pending after healing", "order k7: pending after healing",
	}, f.Examples)
}

func TestStateJSONRoundTrip(t *testing.T) {
	w := cleanWorld(t)
	w.resource(sim.Payments, "k1", "c1", "", 0, 100, sim.ResourceActive, 0)
	w.event("k3", "c1", 30)
	w.order("k5", "c3", "sku-3", 1, 10, sim.OrderPending)
	s := w.read()
	want := checker.Check(nil, s, checker.Linearizable)
	require.Equal(t, checker.VerdictAnomalies, want.Verdict)

	b, err := json.Marshal(s)
	require.NoError(t, err)
	var back checker.State
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, *s, back)
	require.Equal(t, want, checker.Check(nil, &back, checker.Linearizable))

	b, err = json.Marshal(want)
	require.NoError(t, err)
	require.Contains(t, string(b), `"duplicate-effect":{"count":1,"examples":["order k1: 2 active charges at payments (ids 1, 4)"],"witness":{"subject":"order k1","story":[`)
	require.Contains(t, string(b), `"leaked-resource":{"count":0}`)
	var rep checker.Report
	require.NoError(t, json.Unmarshal(b, &rep))
	require.Equal(t, want, rep)
}
