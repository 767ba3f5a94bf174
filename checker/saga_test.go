package checker_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

// logged appends a row to svc's log as the service writes it: a create or
// cancel that reached it, and its outcome.
func (w *testWorld) logged(svc, op, key string, id int64, order, outcome string) {
	w.t.Helper()
	w.exec(svc, `INSERT INTO log(op, key, resource_id, order_ref, outcome, at) VALUES (?, ?, ?, ?, ?, ?)`,
		op, key, id, order, outcome, w.now())
}

// created inserts an active resource at svc with its create log row, as a
// create that took effect leaves it; key is empty below the idempotent
// level.
func (w *testWorld) created(svc, key, order, customer string) int64 {
	w.t.Helper()
	var k any
	if key != "" {
		k = key
	}
	res := w.exec(svc, `INSERT INTO resources(key, order_ref, customer, state, created_at) VALUES (?, ?, ?, ?, ?)`,
		k, order, customer, sim.ResourceActive, w.now())
	id, _ := res.LastInsertId()
	w.logged(svc, "create", key, id, order, "created")
	return id
}

// cancelled cancels the resource id at svc as the service does.
func (w *testWorld) cancelled(svc, key string, id int64, order string) {
	w.t.Helper()
	w.exec(svc, `UPDATE resources SET state = ?, cancels = cancels + 1, cancelled_at = ? WHERE id = ?`, sim.ResourceCancelled, w.now(), id)
	w.logged(svc, "cancel", key, id, order, "cancelled")
}

// failedOrder adds order k4, failed, which nothing should hold anything for.
func failedOrder(w *testWorld) { w.order("k4", "c2", "sku-3", 1, 20, sim.OrderFailed) }

func TestCheckSagaOrdering(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(w *testWorld)
		want   map[checker.Class]int
		// examples maps a class to a substring of its first example.
		examples map[checker.Class]string
	}{
		{
			name: "handled: idempotent service, cancel before create leaves a tombstone, the late create is refused",
			mutate: func(w *testWorld) {
				failedOrder(w)
				res := w.exec(sim.Shipping, `INSERT INTO resources(key, order_ref, customer, state, created_at, cancelled_at) VALUES ('shipment:k4', 'k4', '', ?, ?, ?)`,
					sim.ResourceTombstone, w.now(), w.now())
				id, _ := res.LastInsertId()
				w.logged(sim.Shipping, "cancel", "shipment:k4", id, "k4", "tombstone")
				w.logged(sim.Shipping, "create", "shipment:k4", id, "k4", "refused-after-cancel")
				w.logged(sim.Shipping, "cancel", "shipment:k4", id, "k4", "already-cancelled")
			},
		},
		{
			name: "handled: an empty compensation whose action never arrives",
			mutate: func(w *testWorld) {
				failedOrder(w)
				w.logged(sim.Shipping, "cancel", "", 99, "k4", "not-found")
			},
		},
		{
			name: "handled: create, then its cancel",
			mutate: func(w *testWorld) {
				failedOrder(w)
				id := w.created(sim.Shipping, "", "k4", "c2")
				w.cancelled(sim.Shipping, "", id, "k4")
			},
		},
		{
			name: "empty compensation at a non-idempotent service, then the action: it hangs",
			mutate: func(w *testWorld) {
				failedOrder(w)
				w.logged(sim.Shipping, "cancel", "", 99, "k4", "not-found")
				w.created(sim.Shipping, "", "k4", "c2")
			},
			want: map[checker.Class]int{
				checker.LeakedResource: 1, checker.PartialCommit: 1,
				checker.HangingAction: 1, checker.EmptyCompensation: 1,
			},
			examples: map[checker.Class]string{
				checker.HangingAction:     "shipping shipment 4 for order k4: created at log seq 5, after its cancel at seq 4 (not-found), and still held",
				checker.EmptyCompensation: "shipping: cancel for order k4 at log seq 4 found nothing to undo (not-found) and left no tombstone; shipment 4 was created after it, at seq 5, and is still held",
				checker.LeakedResource:    "shipping shipment 4 for order k4: order failed; created after a cancel for its order",
			},
		},
		{
			name: "handled: a late action a later compensation released (two drivers, the second caught it)",
			mutate: func(w *testWorld) {
				failedOrder(w)
				w.logged(sim.Shipping, "cancel", "", 99, "k4", "not-found")
				id := w.created(sim.Shipping, "", "k4", "c2")
				w.cancelled(sim.Shipping, "", id, "k4")
			},
		},
		{
			name: "a compensation that could not name its action (answer lost): the retry's action hangs",
			mutate: func(w *testWorld) {
				// The first create took effect but its answer was lost;
				// the compensation has no id to cancel by; the create's
				// retry arrives after it.
				failedOrder(w)
				w.created(sim.Shipping, "", "k4", "c2")
				w.logged(sim.Shipping, "cancel", "shipment:k4", 0, "k4", "not-found")
				w.created(sim.Shipping, "", "k4", "c2")
			},
			want: map[checker.Class]int{
				checker.LeakedResource: 2, checker.PartialCommit: 1, checker.DuplicateEffect: 1,
				checker.HangingAction: 1, checker.EmptyCompensation: 1,
			},
			examples: map[checker.Class]string{
				checker.HangingAction:     "shipping shipment 5 for order k4: created at log seq 6, after its cancel at seq 5 (not-found), and still held",
				checker.EmptyCompensation: "shipping: cancel for order k4 at log seq 5 found nothing to undo (not-found)",
			},
		},
		{
			name: "a second action after the first was compensated",
			mutate: func(w *testWorld) {
				failedOrder(w)
				id := w.created(sim.Shipping, "", "k4", "c2")
				w.cancelled(sim.Shipping, "", id, "k4")
				w.created(sim.Shipping, "", "k4", "c2")
			},
			want: map[checker.Class]int{checker.LeakedResource: 1, checker.PartialCommit: 1, checker.HangingAction: 1},
			examples: map[checker.Class]string{
				checker.HangingAction: "shipping shipment 5 for order k4: created at log seq 6, after its cancel at seq 5 (cancelled), and still held",
			},
		},
		{
			name: "a tombstone the service ignored: the compensation was recorded, the action still hangs",
			mutate: func(w *testWorld) {
				// cleanWorld's shipping holds a tombstone for k3; a buggy
				// service creates the shipment anyway, under another key.
				w.created(sim.Shipping, "shipment:k3:again", "k3", "c1")
			},
			want: map[checker.Class]int{checker.LeakedResource: 1, checker.PartialCommit: 1, checker.HangingAction: 1},
			examples: map[checker.Class]string{
				checker.HangingAction: "shipping shipment 4 for order k3: created at log seq 4, after its cancel at seq 3 (tombstone), and still held",
			},
		},
		{
			name: "a compensation applied twice, by the log",
			mutate: func(w *testWorld) {
				w.logged(sim.Payments, "cancel", "", 3, "k3", "cancelled")
			},
			want: map[checker.Class]int{checker.DuplicateEffect: 1},
			examples: map[checker.Class]string{
				checker.DuplicateEffect: "payments charge 3 for order k3: cancelled 2 times",
			},
		},
		{
			name: "handled: a compensation repeated, answered already-cancelled",
			mutate: func(w *testWorld) {
				for range 3 {
					w.logged(sim.Payments, "cancel", "", 3, "k3", "already-cancelled")
				}
			},
		},
		{
			name: "stuck: a create retried on a business rejection",
			mutate: func(w *testWorld) {
				failedOrder(w)
				for range checker.MaxRejections + 1 {
					w.logged(sim.Payments, "create", "charge:k4", 0, "k4", "rejected")
				}
			},
			want: map[checker.Class]int{checker.Stuck: 1},
			examples: map[checker.Class]string{
				checker.Stuck: "payments: create by key charge:k4 for order k4 refused 11 times (rejected ×11): retried on a non-transient error",
			},
		},
		{
			name: "stuck: a cancel without a key retried on not-found and already-cancelled",
			mutate: func(w *testWorld) {
				for i := range checker.MaxRejections + 1 {
					outcome := "already-cancelled"
					if i%2 == 0 {
						outcome = "not-found"
					}
					w.logged(sim.Inventory, "cancel", "", 3, "k3", outcome)
				}
			},
			want: map[checker.Class]int{checker.Stuck: 1},
			examples: map[checker.Class]string{
				checker.Stuck: "inventory: cancel for order k3 refused 11 times (already-cancelled ×5, not-found ×6)",
			},
		},
		{
			name: "not stuck: an idempotent service answers a repeated cancel with success",
			mutate: func(w *testWorld) {
				for range checker.MaxRejections + 1 {
					w.logged(sim.Shipping, "cancel", "shipping:k3:tombstone", 3, "k3", "already-cancelled")
				}
			},
		},
		{
			name: "not stuck: late copies of a create refused by its compensation's tombstone",
			mutate: func(w *testWorld) {
				failedOrder(w)
				w.logged(sim.Payments, "cancel", "charge:k4", 0, "k4", "tombstone")
				for range checker.MaxRejections + 3 {
					w.logged(sim.Payments, "create", "charge:k4", 0, "k4", "refused-after-cancel")
				}
			},
		},
		{
			name: "not stuck: refused MaxRejections times",
			mutate: func(w *testWorld) {
				failedOrder(w)
				for range checker.MaxRejections {
					w.logged(sim.Payments, "create", "charge:k4", 0, "k4", "rejected")
				}
			},
		},
		{
			name: "not stuck: a new key each time is a new request",
			mutate: func(w *testWorld) {
				failedOrder(w)
				for i := range checker.MaxRejections + 1 {
					w.logged(sim.Payments, "create", fmt.Sprintf("charge:k4:%d", i), 0, "k4", "rejected")
				}
			},
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
			for c, ex := range tt.examples {
				require.Contains(t, r.Anomalies[c].Examples[0], ex, "class %s", c)
			}
			if len(tt.want) == 0 {
				require.Equal(t, checker.VerdictClean, r.Verdict, r.String())
			}
		})
	}
}

func TestCheckSagaOrderingNeedsTheServicesLogs(t *testing.T) {
	w := cleanWorld(t)
	w.read()
	delete(w.paths, sim.Shipping)
	s, err := checker.ReadState(t.Context(), w.paths, []checker.Pending{outboxPending})
	require.NoError(t, err)
	r := checker.Check(nil, s, checker.Linearizable)
	require.Equal(t, checker.VerdictUnknown, r.Verdict)
	for _, c := range []checker.Class{checker.HangingAction, checker.EmptyCompensation, checker.Stuck} {
		require.Contains(t, r.Unchecked, c)
	}
}
