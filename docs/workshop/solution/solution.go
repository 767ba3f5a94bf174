// Package solution is one answer to the workshop's starter (exercise 7 of
// docs/workshop/README.md): the starter with its TODOs done. Instructors:
// delete it from the learners' copy. It is the transactional outbox of
// patterns/outbox cut to what the exercise asks: the order's confirmation
// and its event in one local transaction, a relay that publishes committed
// events at least once (patterns.Relay), and a recovery process for
// abandoned orders.
package solution

import (
	"context"
	"database/sql"
	"net/http"
	"time"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// Spec is the finished pattern.
var Spec = patterns.Spec{
	Name:        "my-pattern",
	Summary:     "the workshop's starter, finished: the order and its event in one transaction, a relay, recovery",
	Source:      "docs/workshop/README.md, exercise 7",
	CrashPoints: []string{"after-local-commit", "before-mark-sent"}, // the second is patterns.Relay's
	Pending:     []patterns.Pending{{Name: "unsent outbox rows", SQL: `SELECT event_id FROM outbox WHERE sent_at = 0`}},
	New:         func() sim.Service { return sim.ServiceFunc(start) },
}

// TODO(1): the outbox table: the columns patterns.Relay reads and marks.
const outbox = `CREATE TABLE IF NOT EXISTS outbox (
	event_id TEXT PRIMARY KEY,
	order_ref TEXT NOT NULL,
	customer TEXT NOT NULL,
	amount INTEGER NOT NULL,
	sent_at INTEGER NOT NULL DEFAULT 0
)`

func start(n *sim.Node) (http.Handler, error) {
	if err := patterns.Migrate(n, outbox, patterns.OutboxIndex); err != nil {
		return nil, err
	}
	// TODO(2b): the relay: patterns.Relay publishes the unsent rows in order
	// and marks them sent, at least once (the consumer de-duplicates by
	// event id).
	n.Go("relay", func(ctx context.Context) {
		n.Every(ctx, 20*time.Millisecond, func(ctx context.Context) { patterns.Relay(ctx, n) })
	})
	// TODO(4): recovery.
	n.Go("recovery", func(ctx context.Context) {
		n.Every(ctx, 200*time.Millisecond, func(ctx context.Context) {
			for _, o := range patterns.PendingOrders(ctx, n, patterns.Abandoned(n)) {
				checkout(ctx, n, o.Key, patterns.CheckoutOf(o))
			}
		})
	})

	mux := http.NewServeMux()
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		if key, co, _, ok := patterns.Begin(w, r, n); ok {
			patterns.Answer(w, checkout(r.Context(), n, key, co))
		}
	})
	mux.HandleFunc("GET /orders/{key}", patterns.GetOrder(n))
	return mux, nil
}

func checkout(ctx context.Context, n *sim.Node, key string, co sim.Checkout) sim.Order {
	order := sim.Order{Key: key, Customer: co.Customer, SKU: co.SKU, Qty: co.Qty, Amount: co.Amount, State: sim.OrderPending}
	steps := patterns.Steps(n)
	for i, s := range steps {
		_, err := s.Create(ctx, n, key, co)
		if sim.IsRejected(err) {
			for _, done := range steps[:i] {
				if done.Cancel(ctx, n, key) != nil {
					return order
				}
			}
			order.State, order.Reason = sim.OrderFailed, patterns.Reason(err)
			if patterns.FinishOrder(ctx, n, key, order.State, order.Reason) != nil {
				order.State = sim.OrderPending
			}
			return order
		}
		if err != nil {
			return order
		}
	}

	// TODO(2a): the confirmation and the event in one transaction; only the
	// driver that confirms the order writes the event.
	e := patterns.ConfirmedEvent(key, co)
	err := sim.InTx(ctx, n.DB(), func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE orders SET state = ?, updated_at = ? WHERE key = ? AND state = ?`,
			sim.OrderConfirmed, n.Now().UnixNano(), key, sim.OrderPending)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil // another driver finished it
		}
		_, err = tx.Exec(`INSERT INTO outbox(event_id, order_ref, customer, amount) VALUES (?, ?, ?, ?)`, e.EventID, key, co.Customer, co.Amount)
		return err
	})
	if err != nil {
		return order
	}
	n.CrashPoint("after-local-commit")
	o, _, err := patterns.LoadOrder(ctx, n.DB(), key)
	if err != nil {
		return order
	}
	return o
}
