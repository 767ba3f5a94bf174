// Package rvc is read-validate-call, the second maturity level of
// 003_11c6468ac7a3d68e.txt's "Ensuring Transactionality with dependent API
// services" ("2 Non Idempotent API services but support reading resource
// state: READ - VALIDATE - CALL"): a downstream service that is not
// idempotent must not be called again blindly, so before every create the
// coordinator reads the resources held for the order, validates them, and
// calls only when there is no active one ("If the dependent state is already
// in the correct state/updated previsously, skip and continue to the next
// business step"). A failed call is never retried as such: the next attempt
// starts with a read again, which finds the charge a lost answer made.
//
// Compensation reads too: on a business rejection the order's reason is
// recorded (so a re-drive compensates instead of acquiring again), and every
// step is undone by reading its active resources and cancelling each by id
// (by key at the idempotent level: both are sent), re-reading after a
// failed cancel. When the read is refused (an opaque service) the pattern
// cannot validate: it calls anyway and cancels by the id it kept, if any.
//
// Events go through a transactional outbox and its relay (patterns.Relay),
// as in package outbox, so the pattern is judged on its calls. An order
// left pending is re-driven by a recovery process, reading and validating
// again.
//
// Promises: no duplicate charge, reservation or shipment and no leak at
// readable (or idempotent) services under lost responses, drops, partitions
// and coordinator crashes; no lost event. Expected to fail: at the opaque
// level (reads refused: retries duplicate, lost answers leak), and when two
// drivers of one order interleave (a request the client gave up on and its
// retry, or recovery): both read "nothing held", both call — the read is
// not a lock.
package rvc

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// Name is the pattern's registry name.
const Name = "read-validate-call"

// How often the relay and the recovery process run.
const (
	relayEvery    = 20 * time.Millisecond
	recoveryEvery = 200 * time.Millisecond
)

func init() {
	patterns.Register(patterns.Spec{
		Name:        Name,
		Summary:     "read the order's resources before every create and cancel; call only when they are not already right",
		Source:      "003_11c6468ac7a3d68e.txt, dependent API services, 2: Non Idempotent API services but support reading resource state: READ - VALIDATE - CALL",
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
		if key, co, o, ok := patterns.Begin(w, r, n); ok {
			patterns.Answer(w, drive(r.Context(), n, key, co, o.Reason))
		}
	})
	mux.HandleFunc("GET /orders/{key}", patterns.GetOrder(n))
	return mux, nil
}

// drive takes a pending order as far as it can. A non-empty reason means a
// step was rejected before: only compensation is left to do.
func drive(ctx context.Context, n *sim.Node, key string, co sim.Checkout, reason string) sim.Order {
	order := sim.Order{Key: key, Customer: co.Customer, SKU: co.SKU, Qty: co.Qty, Amount: co.Amount, State: sim.OrderPending}
	steps := patterns.Steps(n)
	kept := map[string]int64{} // the ids the calls returned, for services that cannot be read
	for _, s := range steps {
		if reason != "" {
			break
		}
		res, err := acquire(ctx, n, s, key, co)
		if sim.IsRejected(err) {
			reason = patterns.Reason(err)
			if _, err := n.DB().ExecContext(ctx, `UPDATE orders SET reason = ?, updated_at = ? WHERE key = ? AND state = ?`,
				reason, n.Now().UnixNano(), key, sim.OrderPending); err != nil {
				return order
			}
			break
		}
		if err != nil {
			return order // retries spent: recovery re-drives it later
		}
		kept[s.Name] = res.ID
		n.CrashPoint(s.After)
	}
	if reason != "" {
		for _, s := range slices.Backward(steps) {
			if release(ctx, n, s, key, kept[s.Name]) != nil {
				return order // recovery will finish undoing it
			}
		}
		order.State, order.Reason = sim.OrderFailed, reason
		if patterns.FinishOrder(ctx, n, key, order.State, order.Reason) != nil {
			order.State = sim.OrderPending
		}
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

// acquire makes sure the order holds a resource at s: READ the order's
// resources, VALIDATE (one is active: skip the call), CALL. After a
// transient failure it starts again with a read, never with a second call.
func acquire(ctx context.Context, n *sim.Node, s patterns.Step, key string, co sim.Checkout) (sim.Resource, error) {
	var res sim.Resource
	err := patterns.Retry(ctx, n, patterns.DefaultBackoff, func(ctx context.Context) error {
		held, err := read(ctx, s, key)
		if err != nil && !unreadable(err) {
			return err
		}
		if len(held) > 0 {
			res = held[0] // already done: continue to the next step
			return nil
		}
		res, err = s.Client.Create(ctx, s.Request(key, co)) // the key counts at idempotent services
		return err
	})
	return res, err
}

// release undoes s for the order: read its active resources and cancel
// each by id; after a failed cancel, read again. An unreadable service
// gets a cancel of the id kept from the create, if any.
func release(ctx context.Context, n *sim.Node, s patterns.Step, key string, kept int64) error {
	cancel := func(ctx context.Context, id int64) error {
		_, err := s.Client.Cancel(ctx, sim.CancelRequest{Key: s.Key(key), ID: id, Order: key})
		return err
	}
	return patterns.Retry(ctx, n, patterns.DefaultBackoff, func(ctx context.Context) error {
		held, err := read(ctx, s, key)
		switch {
		case unreadable(err) && kept == 0:
			return nil // nothing known to undo: a charge whose answer was lost stays
		case unreadable(err):
			if err := cancel(ctx, kept); err != nil && !sim.IsRejected(err) {
				return err
			}
			return nil // cancelled now or before
		case err != nil:
			return err
		}
		for _, r := range held {
			if err := cancel(ctx, r.ID); sim.IsTransient(err) {
				return err // read again before trying again
			}
		}
		return nil
	})
}

// read lists the order's active resources at s. It does not retry: its
// callers' next attempt starts with a read.
func read(ctx context.Context, s patterns.Step, key string) ([]sim.Resource, error) {
	all, err := s.Client.ByOrder(ctx, key)
	var held []sim.Resource
	for _, r := range all {
		if r.State == sim.ResourceActive {
			held = append(held, r)
		}
	}
	return held, err
}

// unreadable reports whether the service refused the read: it is opaque.
func unreadable(err error) bool {
	var r *sim.Rejected
	return errors.As(err, &r) && r.Status == http.StatusMethodNotAllowed
}

// redrive re-drives orders left pending longer than a request could still
// be working on them: read, validate and call again.
func redrive(ctx context.Context, n *sim.Node) {
	for _, o := range patterns.PendingOrders(ctx, n, patterns.Abandoned(n)) {
		drive(ctx, n, o.Key, patterns.CheckoutOf(o), o.Reason)
	}
}
