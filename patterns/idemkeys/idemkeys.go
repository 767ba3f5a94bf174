// Package idemkeys is the idempotent API of 002_139e2c07e7ebd14c.txt
// ("Idempotent API — Handling with Idempotency-Key on RDBMS"): the client's
// Idempotency-Key is stored with the request and, once finished, the
// response; the checkout is a walk over recovery points, each phase an
// atomic local transaction ("Atomic Phases", "Recovery Points", "Directed
// Acyclic Graph (DAG)"), and a draining job finishes keys their requests
// abandoned ("Draining Jobs").
//
//	started → payment_charged → inventory_reserved → shipment_created → finished
//
// Each phase makes one foreign state mutation (a charge, a reservation, a
// shipment, under a step key derived from the order key), then in one
// transaction moves the recovery point. The last phase confirms the order,
// stages its order.confirmed event (an outbox-like row a relay publishes at
// least once) and stores the response, atomically. A business rejection
// cancels the steps by key and stores the failure response. A repeated
// request replays the stored response; one with other parameters is refused
// (422 key_conflict); one for a key another request holds is told to retry
// (503 in_progress: the client takes a 4xx as final).
//
// Promises: exactly-once effects from the client's point of view — one
// charge, one reservation, one shipment per confirmed order, nothing held
// for a failed one, the event applied once — under lost responses (client
// to orders and downstream), drops, partitions, service crashes and
// coordinator crashes at any of its points. Expected to fail: with
// non-idempotent downstream services (--payments readable or opaque) a
// phase retried after a lost answer charges twice; with a consumer that
// does not de-duplicate, the relay's redeliveries are applied twice.
package idemkeys

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// Name is the pattern's registry name.
const Name = "idempotency-keys"

var schema = []string{`CREATE TABLE IF NOT EXISTS idempotency_keys (
	idempotency_key TEXT PRIMARY KEY,
	request_method TEXT NOT NULL,
	request_path TEXT NOT NULL,
	request_params TEXT NOT NULL,
	response_code INTEGER NULL,
	response_body TEXT NULL,
	recovery_point TEXT NOT NULL,
	locked_at INTEGER NOT NULL DEFAULT 0,
	last_run_at INTEGER NOT NULL
)`, `CREATE TABLE IF NOT EXISTS staged_events (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id TEXT NOT NULL UNIQUE,
	order_ref TEXT NOT NULL,
	customer TEXT NOT NULL,
	amount INTEGER NOT NULL
)`,
	// The keys not finished, by last run: the drainer's question on every
	// tick and the pending query's, served in time proportional to them.
	`CREATE INDEX IF NOT EXISTS idempotency_keys_open ON idempotency_keys(last_run_at) WHERE recovery_point != 'finished'`,
}

// The recovery points, the seed's RecoveryPoint enum.
const (
	started           = "started"
	paymentCharged    = "payment_charged"
	inventoryReserved = "inventory_reserved"
	shipmentCreated   = "shipment_created"
	finished          = "finished"
)

const (
	relayEvery = 20 * time.Millisecond
	drainEvery = 200 * time.Millisecond
)

func init() {
	patterns.Register(patterns.Spec{
		Name:        Name,
		Summary:     "Idempotency-Key stored with its response; atomic phases between recovery points; a drainer finishes abandoned keys",
		Source:      "002_139e2c07e7ebd14c.txt: Idempotency Key, Atomic Phases, Recovery Points, DAG, Draining Jobs",
		CrashPoints: []string{"after-lock", "after-payment", "after-reservation", "after-shipment", "after-local-commit", "before-unstage"},
		Pending: []patterns.Pending{
			{Name: "unfinished idempotency keys", SQL: `SELECT idempotency_key FROM idempotency_keys WHERE recovery_point != 'finished'`},
			{Name: "staged events", SQL: `SELECT event_id FROM staged_events`},
		},
		New: func() sim.Service { return sim.ServiceFunc(start) },
	})
}

func start(n *sim.Node) (http.Handler, error) {
	if err := patterns.Migrate(n, schema...); err != nil {
		return nil, err
	}
	n.Go("relay", func(ctx context.Context) { n.Every(ctx, relayEvery, func(ctx context.Context) { relay(ctx, n) }) })
	n.Go("drainer", func(ctx context.Context) { n.Every(ctx, drainEvery, func(ctx context.Context) { drain(ctx, n) }) })
	mux := http.NewServeMux()
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		key, co, ok := patterns.ReadCheckout(w, r)
		if !ok {
			return
		}
		got, err := lockKey(r.Context(), n, key, r.Method, r.URL.Path, co)
		switch {
		case err != nil:
			patterns.Unavailable(w, err)
		case got == conflict:
			patterns.KeyConflict(w, key)
		case got == locked:
			sim.WriteError(w, http.StatusServiceUnavailable, "in_progress", "a request with Idempotency-Key "+key+" is in progress; retry later")
		case got == acquired && drive(r.Context(), n, key, co) != nil:
			patterns.Unavailable(w, errors.New("order "+key+" is not finished yet; retry with the same key"))
		default:
			replay(r.Context(), w, n, key)
		}
	})
	mux.HandleFunc("GET /orders/{key}", patterns.GetOrder(n))
	return mux, nil
}

type lockResult int

const (
	acquired lockResult = iota // this request drives the key now
	done                       // the key is finished: replay its response
	conflict                   // the key was used with other parameters
	locked                     // another request holds the key
)

// lockKey is the first atomic phase: insert the key (and the pending order)
// or take the lock of an unfinished key nobody holds.
func lockKey(ctx context.Context, n *sim.Node, key, method, path string, co sim.Checkout) (lockResult, error) {
	data, _ := json.Marshal(co)
	params, res := string(data), acquired
	err := sim.InTx(ctx, n.DB(), func(tx *sql.Tx) error {
		now := n.Now().UnixNano()
		var stored, point string
		var lockedAt int64
		err := tx.QueryRow(`SELECT request_params, recovery_point, locked_at FROM idempotency_keys WHERE idempotency_key = ?`, key).
			Scan(&stored, &point, &lockedAt)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.Exec(`INSERT INTO idempotency_keys(idempotency_key, request_method, request_path, request_params, recovery_point, locked_at, last_run_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, key, method, path, params, started, now, now); err != nil {
				return err
			}
			return patterns.UpsertOrder(ctx, tx, now, key, co, sim.OrderPending)
		case err != nil:
			return err
		case stored != params:
			res = conflict
			return nil
		case point == finished:
			res = done
			return nil
		case lockedAt != 0 && lockedAt > n.Now().Add(-patterns.Abandoned(n)).UnixNano():
			res = locked
			return nil
		}
		_, err = tx.Exec(`UPDATE idempotency_keys SET locked_at = ?, last_run_at = ? WHERE idempotency_key = ?`, now, now, key)
		return err
	})
	return res, err
}

// drive walks a key this driver has locked. A walk that stops short
// (retries spent, the client gone) unlocks the key, so that the client's
// retry or the drainer can take it again.
func drive(ctx context.Context, n *sim.Node, key string, co sim.Checkout) error {
	n.CrashPoint("after-lock")
	err := walk(ctx, n, key, co)
	if err != nil {
		n.DB().ExecContext(n.Context(), `UPDATE idempotency_keys SET locked_at = 0 WHERE idempotency_key = ? AND recovery_point != ?`, key, finished)
	}
	return err
}

// walk drives a locked key from its recovery point to finished: the seed's
// DAG, one atomic phase per turn of the loop.
func walk(ctx context.Context, n *sim.Node, key string, co sim.Checkout) error {
	steps := patterns.Steps(n)
	for {
		var point string
		if err := n.DB().QueryRowContext(ctx, `SELECT recovery_point FROM idempotency_keys WHERE idempotency_key = ?`, key).Scan(&point); err != nil {
			return err
		}
		var err error
		switch point {
		case started:
			err = mutate(ctx, n, key, co, steps[0], started, paymentCharged)
		case paymentCharged:
			err = mutate(ctx, n, key, co, steps[1], paymentCharged, inventoryReserved)
		case inventoryReserved:
			err = mutate(ctx, n, key, co, steps[2], inventoryReserved, shipmentCreated)
		case shipmentCreated:
			err = confirm(ctx, n, key, co)
		case finished:
			return nil
		default:
			return fmt.Errorf("bug: unhandled recovery point %q", point)
		}
		if err != nil {
			return err
		}
	}
}

// mutate makes one step's foreign mutation under its step key, then moves
// the recovery point from → to in an atomic phase. A rejection fails the
// order instead.
func mutate(ctx context.Context, n *sim.Node, key string, co sim.Checkout, s patterns.Step, from, to string) error {
	_, err := s.Create(ctx, n, key, co)
	if sim.IsRejected(err) {
		return reject(ctx, n, key, patterns.Reason(err))
	}
	if err != nil {
		return err
	}
	n.CrashPoint(s.After)
	return sim.InTx(ctx, n.DB(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE idempotency_keys SET recovery_point = ?, locked_at = ?, last_run_at = ? WHERE idempotency_key = ? AND recovery_point = ?`,
			to, n.Now().UnixNano(), n.Now().UnixNano(), key, from)
		return err
	})
}

// confirm is the last phase: the order confirmed, its event staged, the
// response stored and the key finished, in one transaction.
func confirm(ctx context.Context, n *sim.Node, key string, co sim.Checkout) error {
	o := sim.Order{Key: key, Customer: co.Customer, SKU: co.SKU, Qty: co.Qty, Amount: co.Amount, State: sim.OrderConfirmed}
	e := patterns.ConfirmedEvent(key, co)
	err := finish(ctx, n, key, shipmentCreated, http.StatusOK, o, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE orders SET state = ?, updated_at = ? WHERE key = ? AND state = ?`, o.State, n.Now().UnixNano(), key, sim.OrderPending); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT OR IGNORE INTO staged_events(event_id, order_ref, customer, amount) VALUES (?, ?, ?, ?)`, e.EventID, key, co.Customer, co.Amount)
		return err
	})
	if err == nil {
		n.CrashPoint("after-local-commit")
	}
	return err
}

// reject undoes the order's steps by their keys — all of them, so that a
// create still in flight from an abandoned driver finds a tombstone — then
// fails the order and stores the failure response. A cancel the service
// refuses (4xx) is not retried: there is nothing more to do.
func reject(ctx context.Context, n *sim.Node, key, reason string) error {
	steps := patterns.Steps(n)
	for i := len(steps) - 1; i >= 0; i-- {
		if err := steps[i].Cancel(ctx, n, key); sim.IsTransient(err) {
			return err
		}
	}
	body := sim.ErrorBody{Error: "order " + key + " failed: " + reason, Reason: reason}
	return finish(ctx, n, key, "", http.StatusUnprocessableEntity, body, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE orders SET state = ?, reason = ?, updated_at = ? WHERE key = ? AND state = ?`,
			sim.OrderFailed, reason, n.Now().UnixNano(), key, sim.OrderPending)
		return err
	})
}

// finish stores the response and moves the key to finished (from the
// recovery point from, or from any unfinished one when from is empty),
// together with the local writes of fn. A key another driver finished is
// left as it is.
func finish(ctx context.Context, n *sim.Node, key, from string, code int, body any, fn func(tx *sql.Tx) error) error {
	data, _ := json.Marshal(body)
	return sim.InTx(ctx, n.DB(), func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE idempotency_keys SET response_code = ?, response_body = ?, recovery_point = ?, locked_at = 0, last_run_at = ?
			WHERE idempotency_key = ? AND recovery_point != ? AND (? = '' OR recovery_point = ?)`,
			code, string(data), finished, n.Now().UnixNano(), key, finished, from, from)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil
		}
		return fn(tx)
	})
}

// replay answers with the stored response of a finished key.
func replay(ctx context.Context, w http.ResponseWriter, n *sim.Node, key string) {
	var code int
	var body string
	err := n.DB().QueryRowContext(ctx, `SELECT response_code, response_body FROM idempotency_keys WHERE idempotency_key = ? AND recovery_point = ?`,
		key, finished).Scan(&code, &body)
	if err != nil {
		patterns.Unavailable(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write([]byte(body))
}

// drain is the draining job: it takes over unfinished keys whose request
// went quiet longer than a request could still be working, and walks them.
func drain(ctx context.Context, n *sim.Node) {
	stale := n.Now().Add(-patterns.Abandoned(n)).UnixNano()
	rows, err := n.DB().QueryContext(ctx, `SELECT idempotency_key, request_method, request_path, request_params FROM idempotency_keys
		WHERE recovery_point != 'finished' AND last_run_at < ? AND locked_at < ? ORDER BY last_run_at LIMIT 100`, stale, stale)
	if err != nil {
		return
	}
	type job struct {
		key, method, path string
		co                sim.Checkout
	}
	var jobs []job
	for rows.Next() {
		var j job
		var params string
		if rows.Scan(&j.key, &j.method, &j.path, &params) == nil && json.Unmarshal([]byte(params), &j.co) == nil {
			jobs = append(jobs, j)
		}
	}
	rows.Close()
	for _, j := range jobs {
		if got, err := lockKey(ctx, n, j.key, j.method, j.path, j.co); err == nil && got == acquired {
			drive(ctx, n, j.key, j.co)
		}
	}
}

// relay publishes staged events in order and unstages them. A crash between
// the publish and the delete publishes the event again: at least once.
func relay(ctx context.Context, n *sim.Node) {
	rows, err := n.DB().QueryContext(ctx, `SELECT id, event_id, order_ref, customer, amount FROM staged_events ORDER BY id LIMIT 100`)
	if err != nil {
		return
	}
	type staged struct {
		id int64
		e  sim.Event
	}
	var batch []staged
	for rows.Next() {
		s := staged{e: sim.Event{Topic: sim.OrdersTopic, Type: sim.OrderConfirmedEvent}}
		if rows.Scan(&s.id, &s.e.EventID, &s.e.Order, &s.e.Customer, &s.e.Amount) == nil {
			batch = append(batch, s)
		}
	}
	rows.Close()
	for _, s := range batch {
		if _, err := n.Broker().Publish(ctx, s.e); err != nil {
			return // again on the next tick, in order
		}
		n.CrashPoint("before-unstage")
		if _, err := n.DB().ExecContext(ctx, `DELETE FROM staged_events WHERE id = ?`, s.id); err != nil {
			return
		}
	}
}
