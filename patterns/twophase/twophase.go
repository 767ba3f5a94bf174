// Package twophase is the two-phase record with a caller-assigned key of
// docs/sources.md#caller-assigned-key: before every remote call the orders
// service saves a record of it under the key it will pass to the remote
// service, in a table of key, state and type; then it makes the call with
// that key; then it records the outcome.
//
//	create: create_requested → created | create_failed
//	delete: delete_requested → deleted | delete_failed   (compensations)
//
// A checkout is three creates (charge, reservation, shipment, each keyed
// <step>:<order>) and, once the order is confirmed, one more remote call
// tracked the same way: the publish of order.confirmed to the broker (type
// publish, saved in the same local transaction that confirms the order). A
// business rejection (4xx) records create_failed; every step of the order
// is then deleted by key (a cancel of a step that never happened leaves a
// tombstone, so a late create is refused) and the order fails. Transient
// errors are retried with capped backoff; what is left in a *_requested
// state — retries spent, a lost answer, a crash between phases — is
// re-driven by a recovery process with the same keys, as are orders left
// pending. Every phase boundary is a crash point.
//
// Promises: no resource leak and no lost tracking under lost responses,
// drops, partitions, service crashes and coordinator crashes at any of its
// points — given idempotent downstream services, which the source requires.
// The publish is at least once: a lost broker answer publishes again, and the
// de-duplicating consumer applies the event once. Expected to fail: with
// payments readable or opaque (no caller-assigned keys) a retried charge is
// a second charge and a cancel by key cannot undo it: duplicate effects and
// leaked resources.
package twophase

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
const Name = "two-phase-key"

// remote_calls is the source's table: key (caller-assigned), state, type (for
// polymorphism), plus the order it belongs to, the reason of a
// create_failed, and when it last moved (for recovery).
const schema = `CREATE TABLE IF NOT EXISTS remote_calls (
	key TEXT PRIMARY KEY,
	order_ref TEXT NOT NULL,
	type TEXT NOT NULL,
	state TEXT NOT NULL,
	reason TEXT NOT NULL DEFAULT '',
	updated_at INTEGER NOT NULL
)`

// The index lets recovery find unfinished records without a scan.
const index = `CREATE INDEX IF NOT EXISTS remote_calls_state ON remote_calls(state, updated_at)`

// op is one of the source's operations: the state before the call and the
// states that record its outcome.
type op struct{ requested, done, failed string }

var (
	create = op{"create_requested", "created", "create_failed"}
	remove = op{"delete_requested", "deleted", "delete_failed"}
)

const publish = "publish" // the type of the broker publish record

const recoveryEvery = 200 * time.Millisecond

func init() {
	patterns.MustRegister(patterns.Spec{
		Name:        Name,
		Summary:     "save a record (create_requested) before each remote call under a caller-assigned key, record the outcome, re-drive what is left",
		Source:      "docs/sources.md#caller-assigned-key: the two-phase record, the caller-assigned key, and the two combined",
		CrashPoints: []string{"after-record", "after-call", "after-local-commit"},
		Pending: []patterns.Pending{{Name: "remote calls in a requested state",
			SQL: `SELECT key FROM remote_calls WHERE state IN ('create_requested', 'delete_requested')`}},
		New: func() sim.Service { return sim.ServiceFunc(start) },
	})
}

func start(n *sim.Node) (http.Handler, error) {
	if err := patterns.Migrate(n, schema, index); err != nil {
		return nil, err
	}
	n.Go("recovery", func(ctx context.Context) {
		n.Every(ctx, recoveryEvery, func(ctx context.Context) { recoverAll(ctx, n) })
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		key, co, _, ok := patterns.Begin(w, r, n)
		if !ok {
			return
		}
		drive(r.Context(), n, key, co)
		o, _, err := patterns.LoadOrder(r.Context(), n.DB(), key)
		if err != nil {
			patterns.Unavailable(w, err)
			return
		}
		patterns.Answer(w, o)
	})
	mux.HandleFunc("GET /orders/{key}", patterns.GetOrder(n))
	return mux, nil
}

// drive takes an order as far as its records allow: the steps while none
// was refused, then the confirmation and the publish; or, once one was
// refused, the deletes and the failure. A driver that cannot go on (retries
// spent, a crash) leaves records in a requested state for recovery.
func drive(ctx context.Context, n *sim.Node, key string, co sim.Checkout) {
	o, found, err := patterns.LoadOrder(ctx, n.DB(), key)
	switch {
	case err != nil || !found:
		return
	case o.State == sim.OrderConfirmed:
		publishEvent(ctx, n, key, co)
		return
	case o.State == sim.OrderFailed:
		compensate(ctx, n, key, o.Reason)
		return
	}
	for _, s := range patterns.Steps(n) {
		state, err := call(ctx, n, s.Key(key), key, s.Name, create, func(ctx context.Context) error {
			_, err := s.Create(ctx, n, key, co)
			return err
		})
		switch state {
		case create.done:
			continue
		case create.requested:
			return // outcome unknown: the next driver calls again with the key
		default: // create_failed here or in another driver, or deletes under way
			compensate(ctx, n, key, patterns.Reason(err))
			return
		}
	}
	// Every step is created: confirm the order and save the publish record
	// in one local transaction, so the event is tracked from the commit on.
	e := patterns.ConfirmedEvent(key, co)
	err = sim.InTx(ctx, n.DB(), func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE orders SET state = ?, updated_at = ? WHERE key = ? AND state = ?`,
			sim.OrderConfirmed, n.Now().UnixNano(), key, sim.OrderPending); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT OR IGNORE INTO remote_calls(key, order_ref, type, state, updated_at)
			SELECT ?, key, ?, ?, ? FROM orders WHERE key = ? AND state = ?`,
			e.EventID, publish, create.requested, n.Now().UnixNano(), key, sim.OrderConfirmed)
		return err
	})
	if err != nil {
		return
	}
	n.CrashPoint("after-local-commit")
	publishEvent(ctx, n, key, co)
}

// publishEvent is the publish as a tracked remote call; a publish whose
// answer is lost is made again (at least once).
func publishEvent(ctx context.Context, n *sim.Node, key string, co sim.Checkout) {
	e := patterns.ConfirmedEvent(key, co)
	call(ctx, n, e.EventID, key, publish, create, func(ctx context.Context) error {
		return patterns.Retry(ctx, n, patterns.DefaultBackoff, func(ctx context.Context) error {
			_, err := n.Broker().Publish(ctx, e)
			return err
		})
	})
}

// compensate deletes every step of the order by its key, each delete a
// two-phase call of its own, then fails the order. A step with no record
// gets one too: its delete leaves a tombstone that refuses a create another
// driver may still send.
func compensate(ctx context.Context, n *sim.Node, key, reason string) {
	for _, s := range patterns.Steps(n) {
		state, _ := call(ctx, n, s.Key(key), key, s.Name, remove, func(ctx context.Context) error {
			return s.Cancel(ctx, n, key)
		})
		if state == remove.requested {
			return // retries spent: recovery finishes the deletes
		}
	}
	if err := n.DB().QueryRowContext(ctx, `SELECT reason FROM remote_calls WHERE order_ref = ? AND state = ? AND reason != '' LIMIT 1`,
		key, create.failed).Scan(&reason); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return
	}
	patterns.FinishOrder(ctx, n, key, sim.OrderFailed, reason)
}

// call is one remote call in the source's two phases: save the record in the
// requested state (a local commit), make the call with the record's key,
// record the outcome. It returns the record's state afterwards; a record
// another driver has moved on is not called again. A delete moves any
// create record that did not fail; a create never overwrites a record.
func call(ctx context.Context, n *sim.Node, key, order, typ string, o op, fn func(ctx context.Context) error) (string, error) {
	save := `INSERT OR IGNORE INTO remote_calls(key, order_ref, type, state, updated_at) VALUES (?, ?, ?, ?, ?)`
	if o == remove {
		save = `INSERT INTO remote_calls(key, order_ref, type, state, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT(key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
			WHERE state IN ('create_requested', 'created')`
	}
	if _, err := n.DB().ExecContext(ctx, save, key, order, typ, o.requested, n.Now().UnixNano()); err != nil {
		return o.requested, err
	}
	var state string
	if err := n.DB().QueryRowContext(ctx, `SELECT state FROM remote_calls WHERE key = ?`, key).Scan(&state); err != nil {
		return o.requested, err
	}
	if state != o.requested {
		return state, nil
	}
	n.CrashPoint("after-record")

	err := fn(ctx)
	n.CrashPoint("after-call")
	outcome, reason := o.done, ""
	switch {
	case sim.IsRejected(err):
		outcome, reason = o.failed, patterns.Reason(err)
	case err != nil:
		return o.requested, err // unknown: the record stays requested
	}
	if _, err := n.DB().ExecContext(ctx, `UPDATE remote_calls SET state = ?, reason = ?, updated_at = ? WHERE key = ? AND state = ?`,
		outcome, reason, n.Now().UnixNano(), key, o.requested); err != nil {
		return o.requested, err
	}
	if err := n.DB().QueryRowContext(ctx, `SELECT state FROM remote_calls WHERE key = ?`, key).Scan(&state); err != nil {
		return o.requested, err
	}
	return state, err
}

// recoverAll re-drives every order with a record left in a requested state
// or left pending, once it is older than a request could still be working.
func recoverAll(ctx context.Context, n *sim.Node) {
	before := n.Now().Add(-patterns.Abandoned(n)).UnixNano()
	rows, err := n.DB().QueryContext(ctx, `SELECT DISTINCT order_ref FROM remote_calls WHERE state IN (?, ?) AND updated_at < ?
		UNION SELECT key FROM orders WHERE state = ? AND updated_at < ? LIMIT 100`,
		create.requested, remove.requested, before, sim.OrderPending, before)
	if err != nil {
		return
	}
	var keys []string
	for rows.Next() {
		var k string
		if rows.Scan(&k) == nil {
			keys = append(keys, k)
		}
	}
	rows.Close()
	for _, k := range keys {
		if o, found, err := patterns.LoadOrder(ctx, n.DB(), k); err == nil && found {
			drive(ctx, n, k, patterns.CheckoutOf(o))
		}
	}
}
