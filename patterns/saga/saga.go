// Package saga is the orchestrated saga, option 5 of
// 003_11c6468ac7a3d68e.txt ("SAGA"): the orders service runs the checkout's
// steps in order — reserve inventory, charge payment, create shipment — and
// when one is refused, or its outcome stays unknown after its retries, it
// compensates the steps that may have happened, in reverse.
//
// Every transition is written to a durable saga log in the orders database
// before the call it announces (log first, then act): sagas holds each
// saga's state (running, compensating, done, failed) and the furthest step
// an action may have been sent for; saga_steps holds each step's action and
// compensation state. A forward driver may only announce a step while the
// saga is running, and the switch to compensating reads the furthest
// announced step in the same transaction, so compensation covers every
// action that may have been sent. A recovery process resumes sagas a crash
// or a spent retry left behind: running ones forward, compensating ones
// further back. On success the order is confirmed and its event written to
// an outbox in one local transaction; a relay publishes it at least once.
//
// The anomalies of the saga literature are handled by the downstream
// services' caller-assigned keys, not by luck. An empty compensation (a
// cancel for an action that never arrived) leaves a tombstone at the
// service and is logged as done; a hanging action (arriving after its
// compensation) is refused by that tombstone with 409 "cancelled", which
// the saga takes as a failed step, never as success; a repeated
// compensation is a no-op, cancel being idempotent by key.
//
// Promises (the seed): "Will leave the resource in a consistent state
// always: either new state or old state, no intermediate" — no partial
// commit, no leak, no duplicate, no lost event, nothing stuck, under lost
// responses, dropped requests, partitions, payments crashes, business
// rejections at every step and coordinator crashes at any of its points.
// Expected to fail: below the idempotent maturity level (--payments
// readable or opaque) a cancel needs the service's id, and an action whose
// answer was lost has none to give — it cannot be compensated and leaks,
// and its retries duplicate (the seed's con: "having compensatory actions
// for all API / Db calls is not feasible in most cases").
package saga

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"time"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// Name is the pattern's registry name.
const Name = "saga"

// The saga log and the outbox. sagas.step is the furthest step whose
// action may have been sent (-1: none yet).
var schema = []string{
	`CREATE TABLE IF NOT EXISTS sagas (key TEXT PRIMARY KEY, state TEXT NOT NULL,
		step INTEGER NOT NULL DEFAULT -1, reason TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS saga_steps (key TEXT NOT NULL, step INTEGER NOT NULL, name TEXT NOT NULL,
		action_state TEXT NOT NULL DEFAULT 'pending', comp_state TEXT NOT NULL DEFAULT 'none',
		resource_id INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (key, step))`,
	`CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE,
		order_ref TEXT NOT NULL, customer TEXT NOT NULL, amount INTEGER NOT NULL, sent_at INTEGER NOT NULL DEFAULT 0)`,
	// The sagas not finished, by last move (recovery's question on every
	// tick, and the pending query's), and the unsent outbox rows (the
	// relay's): each read in time proportional to what it finds.
	`CREATE INDEX IF NOT EXISTS sagas_open ON sagas(updated_at) WHERE state NOT IN ('done', 'failed')`,
	patterns.OutboxIndex,
}

// Saga states. A step's action is pending (not sent, or its outcome
// unknown), done or failed (refused: nothing to undo); its compensation is
// none, pending, done or impossible (the service cannot undo it).
const (
	running      = "running"
	compensating = "compensating"
	done         = "done"
	failed       = "failed"
)

const (
	relayEvery    = 20 * time.Millisecond
	recoveryEvery = 200 * time.Millisecond
)

func init() {
	patterns.Register(patterns.Spec{
		Name:        Name,
		Summary:     "orchestrated saga with a durable log: reserve, charge, ship; compensate in reverse by key; outbox for the event",
		Source:      "003_11c6468ac7a3d68e.txt, option 5: SAGA",
		CrashPoints: []string{"after-reservation", "after-payment", "after-shipment", "during-compensation", "after-local-commit"},
		Pending: []patterns.Pending{
			{Name: "unfinished sagas", SQL: `SELECT key FROM sagas WHERE state NOT IN ('done', 'failed')`},
			{Name: "unsent outbox rows", SQL: `SELECT event_id FROM outbox WHERE sent_at = 0`},
		},
		New: func() sim.Service { return sim.ServiceFunc(start) },
	})
}

// steps are the saga's steps in its order: inventory, payments, shipping.
func steps(n *sim.Node) []patterns.Step {
	by := map[string]patterns.Step{}
	for _, s := range patterns.Steps(n) {
		by[s.Name] = s
	}
	return []patterns.Step{by["reservation"], by["charge"], by["shipment"]}
}

func start(n *sim.Node) (http.Handler, error) {
	if err := patterns.Migrate(n, schema...); err != nil {
		return nil, err
	}
	n.Go("relay", func(ctx context.Context) { n.Every(ctx, relayEvery, func(ctx context.Context) { relay(ctx, n) }) })
	var rec patterns.Resumer
	n.Go("recovery", func(ctx context.Context) {
		n.Every(ctx, recoveryEvery, func(ctx context.Context) {
			rec.Resume(n, abandoned(ctx, n), func(ctx context.Context, key string) { drive(ctx, n, key) })
		})
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		key, co, ok := patterns.ReadCheckout(w, r)
		if !ok {
			return
		}
		if err := begin(r.Context(), n, key, co); err != nil {
			patterns.Unavailable(w, err)
			return
		}
		o, _, err := patterns.LoadOrder(r.Context(), n.DB(), key)
		switch {
		case err != nil:
			patterns.Unavailable(w, err)
			return
		case !patterns.Same(o, co):
			patterns.KeyConflict(w, key)
			return
		case o.State == sim.OrderPending:
			drive(r.Context(), n, key)
			if o, _, err = patterns.LoadOrder(r.Context(), n.DB(), key); err != nil {
				patterns.Unavailable(w, err)
				return
			}
		}
		patterns.Answer(w, o)
	})
	mux.HandleFunc("GET /orders/{key}", patterns.GetOrder(n))
	return mux, nil
}

// begin records a new order and its saga, running with no step sent, in
// one transaction; a key already there is left alone.
func begin(ctx context.Context, n *sim.Node, key string, co sim.Checkout) error {
	now := n.Now().UnixNano()
	return sim.InTx(ctx, n.DB(), func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT OR IGNORE INTO orders(key, customer, sku, qty, amount, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			key, co.Customer, co.SKU, co.Qty, co.Amount, sim.OrderPending, now)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil
		}
		if _, err := tx.Exec(`INSERT INTO sagas(key, state, updated_at) VALUES (?, ?, ?)`, key, running, now); err != nil {
			return err
		}
		for i, s := range steps(n) {
			if _, err := tx.Exec(`INSERT INTO saga_steps(key, step, name) VALUES (?, ?, ?)`, key, i, s.Name); err != nil {
				return err
			}
		}
		return nil
	})
}

// stepRow is one step of a saga as the log has it.
type stepRow struct {
	action, comp string
	id           int64
}

// load reads a saga's state and steps.
func load(ctx context.Context, n *sim.Node, key string) (state string, rows []stepRow, err error) {
	if err = n.DB().QueryRowContext(ctx, `SELECT state FROM sagas WHERE key = ?`, key).Scan(&state); err != nil {
		return
	}
	q, err := n.DB().QueryContext(ctx, `SELECT action_state, comp_state, resource_id FROM saga_steps WHERE key = ? ORDER BY step`, key)
	if err != nil {
		return
	}
	defer q.Close()
	for q.Next() {
		var r stepRow
		if err = q.Scan(&r.action, &r.comp, &r.id); err != nil {
			return
		}
		rows = append(rows, r)
	}
	return state, rows, q.Err()
}

// exec runs one statement of the saga log and reports how many rows it
// changed.
func exec(ctx context.Context, n *sim.Node, query string, args ...any) (int64, error) {
	res, err := n.DB().ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// drive takes a saga as far as it can, forward while it runs and back
// while it compensates, until it ends or a call stays unanswered.
func drive(ctx context.Context, n *sim.Node, key string) {
	o, found, err := patterns.LoadOrder(ctx, n.DB(), key)
	if err != nil || !found {
		return
	}
	co := patterns.CheckoutOf(o)
	for ctx.Err() == nil {
		state, rows, err := load(ctx, n, key)
		if err != nil {
			return
		}
		var more bool
		switch state {
		case running:
			more = forward(ctx, n, key, co, rows)
		case compensating:
			more = compensate(ctx, n, key, rows)
		}
		if !more {
			return
		}
	}
}

// forward makes the steps not done yet, announcing each in the log before
// its call, then confirms the order with its event. It reports whether
// the saga moved on (confirmed, or switched to compensating).
func forward(ctx context.Context, n *sim.Node, key string, co sim.Checkout, rows []stepRow) bool {
	for i, s := range steps(n) {
		if rows[i].action == done {
			continue
		}
		if k, err := exec(ctx, n, `UPDATE sagas SET step = MAX(step, ?), updated_at = ? WHERE key = ? AND state = ?`,
			i, n.Now().UnixNano(), key, running); err != nil || k == 0 {
			return err == nil // another driver is compensating: look again
		}
		res, err := s.Create(ctx, n, key, co)
		if err == nil && res.State != sim.ResourceActive { // replayed after its compensation: never a success
			err = &sim.Rejected{Service: s.Client.Service(), Status: http.StatusConflict, Reason: "cancelled"}
		}
		switch {
		case ctx.Err() != nil:
			return false // our request was cut: decide nothing
		case err == nil:
			if _, err := exec(ctx, n, `UPDATE saga_steps SET action_state = ?, resource_id = ? WHERE key = ? AND step = ?`, done, res.ID, key, i); err != nil {
				return false
			}
			n.CrashPoint(s.After)
		case sim.IsRejected(err): // refused, or cancelled before it arrived (a hanging action): nothing to undo
			if _, err := exec(ctx, n, `UPDATE saga_steps SET action_state = ? WHERE key = ? AND step = ?`, failed, key, i); err != nil {
				return false
			}
			return abort(ctx, n, key, patterns.Reason(err))
		default: // outcome unknown after the retries: compensate it too
			return abort(ctx, n, key, patterns.Reason(err))
		}
	}
	e := patterns.ConfirmedEvent(key, co)
	err := sim.InTx(ctx, n.DB(), func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE sagas SET state = ?, updated_at = ? WHERE key = ? AND state = ?
			AND NOT EXISTS (SELECT 1 FROM saga_steps WHERE key = ? AND action_state != ?)`,
			done, n.Now().UnixNano(), key, running, key, done)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil // another driver decided first
		}
		if _, err := tx.Exec(`UPDATE orders SET state = ?, reason = '', updated_at = ? WHERE key = ? AND state = ?`,
			sim.OrderConfirmed, n.Now().UnixNano(), key, sim.OrderPending); err != nil {
			return err
		}
		_, err = tx.Exec(`INSERT OR IGNORE INTO outbox(event_id, order_ref, customer, amount) VALUES (?, ?, ?, ?)`, e.EventID, key, co.Customer, co.Amount)
		return err
	})
	if err != nil {
		return false
	}
	n.CrashPoint("after-local-commit")
	return true
}

// abort switches a running saga to compensating and marks a compensation
// pending for every step up to the furthest announced one, in the same
// transaction: no driver can announce another step after it.
func abort(ctx context.Context, n *sim.Node, key, reason string) bool {
	err := sim.InTx(ctx, n.DB(), func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE sagas SET state = ?, reason = ?, updated_at = ? WHERE key = ? AND state = ?`,
			compensating, reason, n.Now().UnixNano(), key, running)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil
		}
		_, err = tx.Exec(`UPDATE saga_steps SET comp_state = 'pending' WHERE key = ? AND comp_state = 'none'
			AND step <= (SELECT step FROM sagas WHERE key = ?)`, key, key)
		return err
	})
	return err == nil
}

// compensate undoes the steps whose compensation is pending, the last
// first, recording each before the next; then it fails the order. It
// reports whether the saga ended.
func compensate(ctx context.Context, n *sim.Node, key string, rows []stepRow) bool {
	all := steps(n)
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].comp != "pending" {
			continue
		}
		outcome := done
		if rows[i].action != failed { // a refused action left nothing to undo
			err := cancel(ctx, n, all[i], key, rows[i].id)
			var rej *sim.Rejected
			switch {
			case ctx.Err() != nil:
				return false
			case sim.IsTransient(err):
				exec(ctx, n, `UPDATE sagas SET updated_at = ? WHERE key = ?`, n.Now().UnixNano(), key)
				return false // recovery goes on from here
			case errors.As(err, &rej) && rej.Reason != "already_cancelled":
				outcome = "impossible" // no id to cancel by: the action leaks
			}
		}
		if _, err := exec(ctx, n, `UPDATE saga_steps SET comp_state = ? WHERE key = ? AND step = ?`, outcome, key, i); err != nil {
			return false
		}
		n.CrashPoint("during-compensation")
	}
	err := sim.InTx(ctx, n.DB(), func(tx *sql.Tx) error {
		var reason string
		if err := tx.QueryRow(`SELECT reason FROM sagas WHERE key = ?`, key).Scan(&reason); err != nil {
			return err
		}
		res, err := tx.Exec(`UPDATE sagas SET state = ?, updated_at = ? WHERE key = ? AND state = ?
			AND NOT EXISTS (SELECT 1 FROM saga_steps WHERE key = ? AND comp_state = 'pending')`,
			failed, n.Now().UnixNano(), key, compensating, key)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil
		}
		_, err = tx.Exec(`UPDATE orders SET state = ?, reason = ?, updated_at = ? WHERE key = ? AND state = ?`,
			sim.OrderFailed, reason, n.Now().UnixNano(), key, sim.OrderPending)
		return err
	})
	return err == nil
}

// cancel undoes a step by its caller-assigned key, retrying transient
// errors. Below the idempotent level the service takes its own id instead,
// which the saga has only if the action's answer arrived.
func cancel(ctx context.Context, n *sim.Node, s patterns.Step, key string, id int64) error {
	return patterns.Retry(ctx, n, patterns.DefaultBackoff, func(ctx context.Context) error {
		_, err := s.Client.Cancel(ctx, sim.CancelRequest{Key: s.Key(key), ID: id, Order: key})
		return err
	})
}

// abandoned lists the sagas no request has moved for a while: after a
// coordinator crash, a cut request or a spent retry.
func abandoned(ctx context.Context, n *sim.Node) []string {
	// Not done nor failed is running or compensating, as the index sagas_open
	// says it, so that the query is served by the index.
	return patterns.Keys(ctx, n, `SELECT key FROM sagas WHERE state NOT IN ('done', 'failed') AND updated_at < ? ORDER BY updated_at LIMIT 100`,
		n.Now().Add(-patterns.Abandoned(n)).UnixNano())
}

// relay publishes unsent outbox rows in order and marks them sent: at
// least once, the consumer de-duplicating by event id.
func relay(ctx context.Context, n *sim.Node) {
	for ctx.Err() == nil {
		var id int64
		e := sim.Event{Topic: sim.OrdersTopic, Type: sim.OrderConfirmedEvent}
		if n.DB().QueryRowContext(ctx, `SELECT id, event_id, order_ref, customer, amount FROM outbox WHERE sent_at = 0 ORDER BY id LIMIT 1`).
			Scan(&id, &e.EventID, &e.Order, &e.Customer, &e.Amount) != nil {
			return
		}
		if _, err := n.Broker().Publish(ctx, e); err != nil {
			return
		}
		if _, err := exec(ctx, n, `UPDATE outbox SET sent_at = ? WHERE id = ?`, n.Now().UnixNano(), id); err != nil {
			return
		}
	}
}
