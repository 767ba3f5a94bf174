// Package outbox is the transactional outbox, option 3 of
// 003_11c6468ac7a3d68e.txt ("Resource and corresponding Events are stored
// atomically"): the order's new state and its event are written in one
// local transaction; a relay polls the outbox, publishes each event and
// marks it sent. The consumer de-duplicates by event id (an inbox), so the
// relay's at-least-once delivery applies each event once.
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

const schema = `CREATE TABLE IF NOT EXISTS outbox (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id TEXT NOT NULL UNIQUE,
	order_ref TEXT NOT NULL,
	customer TEXT NOT NULL,
	amount INTEGER NOT NULL,
	sent_at INTEGER NOT NULL DEFAULT 0
)`

// How often the relay and the recovery process run, and how old a pending
// order must be before recovery takes it over from its request.
const (
	relayEvery     = 20 * time.Millisecond
	recoveryEvery  = 200 * time.Millisecond
	abandonedAfter = 3 * sim.DefaultCallTimeout
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
	if err := patterns.Migrate(n, schema); err != nil {
		return nil, err
	}
	n.Go("relay", func(ctx context.Context) { n.Every(ctx, relayEvery, func(ctx context.Context) { relay(ctx, n) }) })
	n.Go("recovery", func(ctx context.Context) { n.Every(ctx, recoveryEvery, func(ctx context.Context) { redrive(ctx, n) }) })
	mux := http.NewServeMux()
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		key, co, ok := patterns.ReadCheckout(w, r)
		if !ok {
			return
		}
		o, found, err := patterns.LoadOrder(r.Context(), n.DB(), key)
		switch {
		case err != nil:
			patterns.Unavailable(w, err)
			return
		case found && !patterns.Same(o, co):
			patterns.KeyConflict(w, key)
			return
		case found && o.State != sim.OrderPending:
			patterns.Answer(w, o) // a retry of a decided order: the same answer
			return
		case !found:
			if err := patterns.InsertOrder(r.Context(), n, key, co); err != nil {
				patterns.Unavailable(w, err)
				return
			}
		}
		patterns.Answer(w, drive(r.Context(), n, key, co))
	})
	mux.HandleFunc("GET /orders/{key}", patterns.GetOrder(n))
	return mux, nil
}

// drive takes a pending order as far as it can: every step, then the order
// and its event in one transaction. A rejection undoes the steps made.
func drive(ctx context.Context, n *sim.Node, key string, co sim.Checkout) sim.Order {
	order := sim.Order{Key: key, Customer: co.Customer, SKU: co.SKU, Qty: co.Qty, Amount: co.Amount, State: sim.OrderPending}
	steps := patterns.Steps(n)
	for i, s := range steps {
		_, err := s.Create(ctx, n, key, co)
		if sim.IsRejected(err) {
			for _, done := range steps[:i] {
				if done.Cancel(ctx, n, key) != nil {
					return order // recovery will finish undoing it
				}
			}
			order.State, order.Reason = sim.OrderFailed, patterns.Reason(err)
			if patterns.FinishOrder(ctx, n, key, order.State, order.Reason) != nil {
				order.State = sim.OrderPending
			}
			return order
		}
		if err != nil {
			return order // retries spent: recovery re-drives it later
		}
		n.CrashPoint(s.After)
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

// relay publishes unsent outbox rows in order and marks them sent. A crash
// between the publish and the mark publishes the event again: at least once.
func relay(ctx context.Context, n *sim.Node) {
	rows, err := n.DB().QueryContext(ctx, `SELECT id, event_id, order_ref, customer, amount FROM outbox WHERE sent_at = 0 ORDER BY id LIMIT 100`)
	if err != nil {
		return
	}
	type row struct {
		id int64
		e  sim.Event
	}
	var batch []row
	for rows.Next() {
		var r row
		r.e = sim.Event{Topic: sim.OrdersTopic, Type: sim.OrderConfirmedEvent}
		if rows.Scan(&r.id, &r.e.EventID, &r.e.Order, &r.e.Customer, &r.e.Amount) == nil {
			batch = append(batch, r)
		}
	}
	rows.Close()
	for _, r := range batch {
		if _, err := n.Broker().Publish(ctx, r.e); err != nil {
			return // try again on the next tick, in order
		}
		n.CrashPoint("before-mark-sent")
		if _, err := n.DB().ExecContext(ctx, `UPDATE outbox SET sent_at = ? WHERE id = ?`, n.Now().UnixNano(), r.id); err != nil {
			return
		}
	}
}

// redrive re-drives orders left pending longer than a request could still
// be working on them.
func redrive(ctx context.Context, n *sim.Node) {
	for _, o := range patterns.PendingOrders(ctx, n, patterns.Abandoned(n)) {
		drive(ctx, n, o.Key, patterns.CheckoutOf(o))
	}
}
