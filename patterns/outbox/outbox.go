// Package outbox is the transactional outbox, option 3 of
// 003_11c6468ac7a3d68e.txt ("Resource and corresponding Events are stored
// atomically"): the order's new state and its event are written in one
// local transaction; a relay (patterns.Relay) polls the outbox, publishes
// each event and marks it sent. The consumer de-duplicates by event id (an
// inbox), so the relay's at-least-once delivery applies each event once.
//
// The downstream calls use caller-assigned keys (000_065d6e3281f1afae.txt)
// with capped retries of transient errors; a business rejection cancels the
// steps already made and fails the order. An order left pending (retries
// spent, coordinator crashed) is re-driven by a recovery process with the
// same keys.
//
// Promises: no lost event, no ghost event, no duplicate effect at the
// consumer, no leak — under lost responses, drops, partitions, broker
// outages and coordinator crashes at any of its points. Expected to fail:
// with non-idempotent downstream services (--payments readable or opaque)
// retries duplicate charges; with a consumer that does not de-duplicate
// (--dedupe=false) redelivered events are applied twice.
package outbox

import (
	"context"
	"database/sql"
	"net/http"
	"time"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// Name is the pattern's registry name.
const Name = "outbox"

// How often the relay and the recovery process run, and how old a pending
// order must be before recovery takes it over from its request.
const (
	relayEvery    = 20 * time.Millisecond
	recoveryEvery = 200 * time.Millisecond
)

func init() {
	patterns.Register(patterns.Spec{
		Name:        Name,
		Summary:     "order and event in one local transaction; a relay publishes the outbox at least once",
		Source:      "003_11c6468ac7a3d68e.txt, option 3: Resource and corresponding Events are stored atomically",
		CrashPoints: []string{"after-payment", "after-reservation", "after-shipment", "after-local-commit", "before-mark-sent"},
		Pending:     []patterns.Pending{{Name: "unsent outbox rows", SQL: `SELECT event_id FROM outbox WHERE sent_at = 0`}},
		New:         func() sim.Service { return sim.ServiceFunc(start) },
	})
}

func start(n *sim.Node) (http.Handler, error) {
	if err := patterns.Migrate(n, patterns.OutboxSchema, patterns.OutboxIndex); err != nil {
		return nil, err
	}
	n.Go("relay", func(ctx context.Context) {
		n.Every(ctx, relayEvery, func(ctx context.Context) { patterns.Relay(ctx, n) })
	})
	n.Go("recovery", func(ctx context.Context) { n.Every(ctx, recoveryEvery, func(ctx context.Context) { redrive(ctx, n) }) })
	mux := http.NewServeMux()
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		if key, co, _, ok := patterns.Begin(w, r, n); ok {
			patterns.Answer(w, drive(r.Context(), n, key, co))
		}
	})
	mux.HandleFunc("GET /orders/{key}", patterns.GetOrder(n))
	return mux, nil
}

// drive takes a pending order as far as it can: every step, then the order
// and its event in one transaction. A rejection undoes the steps made.
func drive(ctx context.Context, n *sim.Node, key string, co sim.Checkout) sim.Order {
	order, done := patterns.TakeSteps(ctx, n, key, co)
	if !done {
		return order
	}
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

// redrive re-drives orders left pending longer than a request could still
// be working on them.
func redrive(ctx context.Context, n *sim.Node) {
	for _, o := range patterns.PendingOrders(ctx, n, patterns.Abandoned(n)) {
		drive(ctx, n, o.Key, patterns.CheckoutOf(o))
	}
}
