package checker_test

import (
	"context"
	"database/sql"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

// TestWatch shows what a Watch finds, and that it says it as the stuck
// check does. (TestCheckClasses and TestCheckSagaOrdering ask one of every world they
// judge, and require it to find work unfinished exactly when the stuck
// check counts some.)
func TestWatch(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(w *testWorld)
		want   string // what Unfinished says; "" for nothing
	}{
		{"clean", func(*testWorld) {}, ""},
		{"an order not terminal", func(w *testWorld) { w.order("k5", "c3", "sku-3", 1, 10, "compensating") }, "order k5: compensating after healing"},
		{"an event not consumed", func(w *testWorld) { w.ack(1) },
			"event at offset 2 (order.confirmed for order k2): not consumed by rewards (committed offset 1)"},
		{"a pending key", func(w *testWorld) { w.exec(sim.Orders, `INSERT INTO outbox(key, sent) VALUES ('k7', 0)`) }, "outbox: k7 unfinished after healing"},
		{"a request retried on a refusal", func(w *testWorld) {
			for range checker.MaxRejections + 1 {
				w.logged(sim.Shipping, "cancel", "", 3, "k3", "not-found")
			}
		}, "shipping: cancel for order k3 refused 11 times (not-found ×11): retried on a non-transient error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := cleanWorld(t)
			tt.mutate(w)
			require.Equal(t, tt.want, w.watch())
			f, judged := checker.CheckStuck(w.read())
			require.True(t, judged)
			if tt.want == "" {
				require.Zero(t, f.Count)
			} else {
				require.Contains(t, f.Examples, tt.want)
			}
		})
	}
}

// TestWatchCannotRead: a database not given, or a pending query that
// fails, is unfinished work: what the stuck check cannot judge.
func TestWatchCannotRead(t *testing.T) {
	w := cleanWorld(t)
	watch, err := checker.NewWatch([]checker.Pending{{Name: "broken", SQL: `SELECT nope FROM nowhere`}})
	require.NoError(t, err)
	found, err := watch.Unfinished(context.Background(), w.dbs)
	require.NoError(t, err)
	require.Contains(t, found, "pending broken: ")

	dbs := map[string]*sql.DB{}
	for n, db := range w.dbs {
		if n != sim.Broker {
			dbs[n] = db
		}
	}
	watch, err = checker.NewWatch(nil)
	require.NoError(t, err)
	found, err = watch.Unfinished(context.Background(), dbs)
	require.NoError(t, err)
	require.Equal(t, "broker: no database given", found)

	_, err = checker.NewWatch([]checker.Pending{{Name: "x", SQL: "SELECT 1"}, {Name: "x", SQL: "SELECT 2"}})
	require.ErrorContains(t, err, `pending query "x" given twice`)
}

// TestWatchLogCursor: the Watch reads each log row once, and counts the
// refusals written between two questions with those before.
func TestWatchLogCursor(t *testing.T) {
	w := cleanWorld(t)
	watch, err := checker.NewWatch([]checker.Pending{outboxPending})
	require.NoError(t, err)
	ask := func() string {
		found, err := watch.Unfinished(context.Background(), w.dbs)
		require.NoError(t, err)
		return found
	}
	for range checker.MaxRejections {
		w.logged(sim.Payments, "create", "charge:k9", 0, "k9", "rejected")
	}
	require.Empty(t, ask(), "MaxRejections refusals are not stuck")
	w.logged(sim.Payments, "create", "charge:k9", 0, "k9", "rejected")
	require.Equal(t, "payments: create by key charge:k9 for order k9 refused 11 times (rejected ×11): retried on a non-transient error", ask())
}

// TestWatchPlans asks SQLite how it answers each of the Watch's questions
// on the sim schemas: none may read a table whole, or the Watch would
// cost the whole state on every poll.
func TestWatchPlans(t *testing.T) {
	w := newTestWorld(t)
	scan := regexp.MustCompile(`^SCAN (\w+)`)
	for node, queries := range checker.WatchQueries() {
		for _, q := range queries {
			rows, err := w.dbs[node].Query("EXPLAIN QUERY PLAN "+q, make([]any, strings.Count(q, "?"))...)
			require.NoError(t, err, q)
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				require.NoError(t, rows.Scan(&id, &parent, &notused, &detail))
				plan = append(plan, detail)
			}
			require.NoError(t, rows.Close())
			for _, line := range plan {
				if m := scan.FindStringSubmatch(line); m != nil && m[1] != "c" { // c: the one-row subquery
					t.Errorf("%s: %s\nreads %s whole: %s", node, q, m[1], strings.Join(plan, "; "))
				}
			}
		}
	}
}
