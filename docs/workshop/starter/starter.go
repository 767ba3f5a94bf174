// Package starter is the workshop's pattern for you to finish (exercise 7
// of docs/workshop/README.md). It is deliberately incomplete: as shipped it
// loses events when the coordinator crashes right after its local commit,
// and its test fails. The test only runs when you ask for it:
//
//	TXCHAOS_WORKSHOP=1 go test ./docs/workshop/starter/
//
// What it already does right: a retry of a decided order gets the same
// answer (the client's Idempotency-Key, patterns.Begin), and every
// downstream call carries a caller-assigned key and is retried on
// transient errors (patterns.Steps), so lost responses neither leak nor
// double-charge.
//
// What it does wrong: it confirms the order, then publishes the
// order.confirmed event in a second, separate step. A crash between the two
// (the crash point after-local-commit) leaves a confirmed order whose event
// never reaches the rewards consumer: a lost event. And nothing finishes
// an order whose driver died: after a crash, or once the client stops
// retrying, it stays pending with its charge held (stuck, leaked). Do the
// TODOs: make the order and its event one local transaction, with a relay
// that publishes what was committed (the transactional outbox, seed
// 003_11c6468ac7a3d68e.txt, option 3), and a recovery process that
// re-drives abandoned orders. patterns/outbox is one answer; try first.
//
// Like every pattern, it takes the clock, sleeps, randomness, HTTP clients
// and background processes from its sim.Node, never from the standard
// library: check with
//
//	go run ./internal/lint/cmd/runtimelint ./docs/workshop/starter
package starter

import (
	"context"
	"net/http"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// Spec is the pattern. It is not registered under a name: run it with
// scenarios.ExecuteSpec, as starter_test.go does.
var Spec = patterns.Spec{
	Name:        "my-pattern",
	Summary:     "the workshop's starter: confirm the order, then publish its event (finish me)",
	Source:      "docs/workshop/README.md, exercise 7",
	CrashPoints: []string{"after-local-commit"},
	// TODO(3): once events wait in a table of yours, tell the checker how to
	// find the ones not yet published, so that "stuck" can be judged, e.g.
	//   Pending: []patterns.Pending{{Name: "unsent outbox rows", SQL: `SELECT event_id FROM outbox WHERE sent_at = 0`}},
	New: func() sim.Service { return sim.ServiceFunc(start) },
}

// start is the orders service: its tables, its background processes and
// its HTTP API.
func start(n *sim.Node) (http.Handler, error) {
	// TODO(1): create a table for events waiting to be published, e.g.
	//   CREATE TABLE IF NOT EXISTS outbox (event_id TEXT PRIMARY KEY,
	//     order_ref TEXT, customer TEXT, amount INTEGER, sent_at INTEGER DEFAULT 0)
	// by passing the statement to Migrate, with patterns.OutboxIndex after
	// it (the unsent rows by an index: a relay pass that does not read
	// every row ever sent).
	if err := patterns.Migrate(n); err != nil {
		return nil, err
	}
	// TODO(2b): start a relay that publishes unsent events and marks them
	// sent, every few milliseconds:
	//   n.Go("relay", func(ctx context.Context) { n.Every(ctx, 20*time.Millisecond, func(ctx context.Context) { relay(ctx, n) }) })
	// TODO(4): an order left pending (the coordinator crashed mid-checkout,
	// or the client gave up retrying) has nobody driving it any more: start
	// a recovery process that re-drives abandoned orders with the same keys:
	//   n.Go("recovery", func(ctx context.Context) {
	//     n.Every(ctx, 200*time.Millisecond, func(ctx context.Context) {
	//       for _, o := range patterns.PendingOrders(ctx, n, patterns.Abandoned(n)) {
	//         checkout(ctx, n, o.Key, patterns.CheckoutOf(o))
	//       }
	//     })
	//   })

	mux := http.NewServeMux()
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		if key, co, _, ok := patterns.Begin(w, r, n); ok {
			patterns.Answer(w, checkout(r.Context(), n, key, co))
		}
	})
	mux.HandleFunc("GET /orders/{key}", patterns.GetOrder(n))
	return mux, nil
}

// checkout drives a pending order: charge, reserve, ship (each under its
// caller-assigned key), confirm, publish.
func checkout(ctx context.Context, n *sim.Node, key string, co sim.Checkout) sim.Order {
	order := sim.Order{Key: key, Customer: co.Customer, SKU: co.SKU, Qty: co.Qty, Amount: co.Amount, State: sim.OrderPending}
	steps := patterns.Steps(n)
	for i, s := range steps {
		_, err := s.Create(ctx, n, key, co)
		if sim.IsRejected(err) { // card declined, out of stock: undo what was done
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
			return order // still unknown: the client retries with the same key
		}
	}

	// TODO(2a): write the confirmation and the event in ONE transaction
	// (sim.InTx(ctx, n.DB(), func(tx *sql.Tx) error { ... })), and leave the
	// publishing to the relay. As written these are two separate writes to
	// two systems: the dual write.
	if err := patterns.FinishOrder(ctx, n, key, sim.OrderConfirmed, ""); err != nil {
		return order
	}
	n.CrashPoint("after-local-commit")
	n.Broker().Publish(ctx, patterns.ConfirmedEvent(key, co)) // a failed publish is forgotten
	order.State = sim.OrderConfirmed
	return order
}
