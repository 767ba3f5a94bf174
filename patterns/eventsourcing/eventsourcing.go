// Package eventsourcing is event sourcing with CQRS, option 4 of
// 003_11c6468ac7a3d68e.txt ("Event Sourcing"): "there is no resource as
// such in the data store, only events".
//
// An order is its stream of events in the orders database (order_events,
// append-only): Placed, then one event per step result — Charged, Reserved,
// Shipped, or Rejected and, while compensating, Refunded, Released,
// ShipmentCancelled — then Confirmed or Failed. Its current state is
// fold(events), a pure function. The command handler folds the stream,
// makes the next call with the step's caller-assigned key
// (000_065d6e3281f1afae.txt) and appends the result at the version it
// folded: an append that finds the stream moved on is refused, and the
// handler folds again (optimistic concurrency), so two drivers of one
// order never both decide. POST /checkout answers from the folded stream.
//
// Queries are served by a projection (CQRS): a process folds new events,
// past its projection_position, into the orders table (sim.OrdersSchema),
// which GET /orders/{key} and the checker read; events and position move
// in one transaction, so each event is projected once. The read model is
// eventually consistent: it lags the stream, then converges. A relay
// publishes Confirmed events past its publish_position to the broker, at
// least once (the event id is derived from the order key, the consumer
// de-duplicates). Transient errors are retried with capped backoff; a
// stream left non-terminal (retries spent, coordinator crashed) is
// re-driven by a recovery process; a business rejection compensates the
// steps made and fails the order. Recovery finds those streams in an index
// of the open streams (streams), written in each append's transaction, so
// that a tick costs what is open, not every stream ever written; the
// pending query still asks the event store itself.
//
// Promises: the event is the state change, so a state change and its
// event cannot part — no lost event, no ghost event, no duplicate effect at
// the consumer, no leak, and once converged the read model agrees with the
// streams — under lost responses, drops, latency, partitions, payments and
// broker crashes and coordinator crashes at any of its points. Its reads
// promise eventual consistency only (Spec.Reads): a read may lag what a
// checkout answered, even its own client's, and converges at rest.
// Expected to fail: with non-idempotent downstream services (--payments
// readable or opaque) retries duplicate charges.
package eventsourcing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// Name is the pattern's registry name.
const Name = "event-sourcing"

// The event store and the positions of its two readers. (order_key,
// version) is unique: the append at a version another driver took fails.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS order_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, order_key TEXT NOT NULL,
		version INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, at INTEGER NOT NULL, UNIQUE (order_key, version))`,
	`CREATE TABLE IF NOT EXISTS positions (name TEXT PRIMARY KEY, seq INTEGER NOT NULL)`,
	`INSERT OR IGNORE INTO positions(name, seq) VALUES ('projection_position', 0), ('publish_position', 0)`,
	// streams is an index of the event store, kept in each append's
	// transaction: each stream's last append (at, MAX(at) of its events)
	// and whether it has ended (a Confirmed or Failed event). The open
	// ones are indexed by last append: recovery's question.
	`CREATE TABLE IF NOT EXISTS streams (order_key TEXT PRIMARY KEY, ended INTEGER NOT NULL, at INTEGER NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS streams_open ON streams(order_key, at) WHERE ended = 0`,
}

const (
	projectEvery  = 50 * time.Millisecond
	relayEvery    = 20 * time.Millisecond
	recoveryEvery = 200 * time.Millisecond
)

// notTerminal selects the streams with neither Confirmed nor Failed.
const notTerminal = `SELECT order_key FROM order_events GROUP BY order_key HAVING SUM(type IN ('Confirmed', 'Failed')) = 0`

func init() {
	patterns.Register(patterns.Spec{
		Name:    Name,
		Summary: "the order is its event stream; a projection serves reads (CQRS), a relay publishes Confirmed events",
		Source:  "003_11c6468ac7a3d68e.txt, option 4: Event Sourcing",
		// Queries read the projection, which lags the streams: eventually
		// consistent, as the package doc says.
		Reads:       checker.Eventual,
		CrashPoints: []string{"after-append", "after-local-commit", "before-publish-mark"},
		Pending: []patterns.Pending{
			{Name: "streams not terminal", SQL: notTerminal},
			{Name: "events not projected", SQL: `SELECT order_key FROM order_events WHERE seq > (SELECT seq FROM positions WHERE name = 'projection_position')`},
			{Name: "confirmed events not published", SQL: `SELECT order_key FROM order_events WHERE type = 'Confirmed'
				AND seq > (SELECT seq FROM positions WHERE name = 'publish_position')`},
		},
		New: func() sim.Service { return sim.ServiceFunc(start) },
	})
}

func start(n *sim.Node) (http.Handler, error) {
	if err := patterns.Migrate(n, schema...); err != nil {
		return nil, err
	}
	n.Go("projection", func(ctx context.Context) { n.Every(ctx, projectEvery, func(ctx context.Context) { project(ctx, n) }) })
	n.Go("relay", func(ctx context.Context) { n.Every(ctx, relayEvery, func(ctx context.Context) { relay(ctx, n) }) })
	var rec patterns.Resumer
	n.Go("recovery", func(ctx context.Context) {
		n.Every(ctx, recoveryEvery, func(ctx context.Context) {
			// The streams notTerminal selects, last appended to before the
			// cut, by key: the open streams' index.
			keys := patterns.Keys(ctx, n, `SELECT order_key FROM streams WHERE ended = 0 AND at < ? ORDER BY order_key LIMIT 100`,
				n.Now().Add(-patterns.Abandoned(n)).UnixNano())
			rec.Resume(n, keys, func(ctx context.Context, key string) { drive(ctx, n, key) })
		})
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		key, co, ok := patterns.ReadCheckout(w, r)
		if !ok {
			return
		}
		s, err := load(r.Context(), n, key)
		if err == nil && s.Version == 0 {
			err = appendEvents(r.Context(), n, key, 0, Event{Type: Placed, Data: Data{Checkout: &co}})
			if err == nil || errors.Is(err, errConflict) { // placed now, or by a concurrent request
				s, err = load(r.Context(), n, key)
			}
		}
		switch {
		case err != nil:
			patterns.Unavailable(w, err)
		case !patterns.Same(s.order(key), co):
			patterns.KeyConflict(w, key)
		default:
			if s, err = drive(r.Context(), n, key); err != nil {
				patterns.Unavailable(w, err)
				return
			}
			patterns.Answer(w, s.order(key))
		}
	})
	mux.HandleFunc("GET /orders/{key}", patterns.GetOrder(n)) // the projection: eventually consistent
	return mux, nil
}

// errConflict is an append at a version another driver already took.
var errConflict = errors.New("the stream moved on")

// load reads an order's stream and folds it.
func load(ctx context.Context, n *sim.Node, key string) (State, error) {
	rows, err := n.DB().QueryContext(ctx, `SELECT type, data FROM order_events WHERE order_key = ? ORDER BY version`, key)
	if err != nil {
		return State{}, err
	}
	defer rows.Close()
	var events []Event
	for rows.Next() {
		var e Event
		var data string
		if err := rows.Scan(&e.Type, &data); err != nil {
			return State{}, err
		}
		if err := json.Unmarshal([]byte(data), &e.Data); err != nil {
			return State{}, err
		}
		events = append(events, e)
	}
	return fold(events), rows.Err()
}

// appendEvents appends events to a stream folded at version, or fails
// with errConflict if the stream has moved on since. The stream's row in
// streams moves in the same transaction.
func appendEvents(ctx context.Context, n *sim.Node, key string, version int, events ...Event) error {
	return sim.InTx(ctx, n.DB(), func(tx *sql.Tx) error {
		var at int64
		ended := 0
		for i, e := range events {
			data, err := json.Marshal(e.Data)
			if err != nil {
				return err
			}
			at = n.Now().UnixNano()
			res, err := tx.Exec(`INSERT OR IGNORE INTO order_events(order_key, version, type, data, at) VALUES (?, ?, ?, ?, ?)`,
				key, version+i+1, e.Type, string(data), at)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 0 {
				return errConflict
			}
			if e.Type == Confirmed || e.Type == Failed {
				ended = 1
			}
		}
		_, err := tx.Exec(`INSERT INTO streams(order_key, ended, at) VALUES (?, ?, ?)
			ON CONFLICT(order_key) DO UPDATE SET ended = MAX(ended, excluded.ended), at = MAX(at, excluded.at)`, key, ended, at)
		return err
	})
}

// drive takes an order's stream as far as it can: fold, make the next
// call, append its result at the folded version, again — until the stream
// ends or a call stays unanswered.
func drive(ctx context.Context, n *sim.Node, key string) (State, error) {
	for {
		s, err := load(ctx, n, key)
		if err != nil || s.Version == 0 || s.Status != sim.OrderPending || ctx.Err() != nil {
			return s, err
		}
		e, ok := decide(ctx, n, key, s)
		if !ok {
			return s, nil // retries spent: recovery re-drives it
		}
		switch err := appendEvents(ctx, n, key, s.Version, e); {
		case errors.Is(err, errConflict):
			continue // another driver appended first: fold again
		case err != nil:
			return s, err
		case e.Type == Confirmed:
			n.CrashPoint("after-local-commit")
		default:
			n.CrashPoint("after-append")
		}
	}
}

// decide makes the call a pending stream needs next and returns the event
// that records its result; ok is false when the outcome stays unknown.
func decide(ctx context.Context, n *sim.Node, key string, s State) (e Event, ok bool) {
	steps := patterns.Steps(n)
	if s.Refused != "" { // compensate the steps made, the last first, then fail
		for i := len(steps) - 1; i >= 0; i-- {
			st := steps[i]
			if id, made := s.Made[st.Name]; made && !s.Undone[st.Name] {
				err := patterns.Retry(ctx, n, patterns.DefaultBackoff, func(ctx context.Context) error {
					_, err := st.Client.Cancel(ctx, sim.CancelRequest{Key: st.Key(key), ID: id, Order: key})
					return err
				})
				if sim.IsTransient(err) {
					return e, false
				}
				undone := Event{Type: stepEvents[st.Name][1], Data: Data{Step: st.Name}}
				if err != nil { // refused: recorded, never retried
					undone.Data.Reason = patterns.Reason(err)
				}
				return undone, true
			}
		}
		return Event{Type: Failed, Data: Data{Reason: s.Refused}}, true
	}
	for _, st := range steps {
		if _, made := s.Made[st.Name]; made {
			continue
		}
		res, err := st.Create(ctx, n, key, s.Checkout)
		switch {
		case err == nil && res.State == sim.ResourceActive:
			return Event{Type: stepEvents[st.Name][0], Data: Data{Step: st.Name, ID: res.ID}}, true
		case err == nil: // replayed after its compensation: never a success
			return Event{Type: Rejected, Data: Data{Step: st.Name, Reason: "cancelled"}}, true
		case sim.IsRejected(err):
			return Event{Type: Rejected, Data: Data{Step: st.Name, Reason: patterns.Reason(err)}}, true
		default:
			return e, false
		}
	}
	return Event{Type: Confirmed, Data: Data{Checkout: &s.Checkout}}, true
}

// project folds the events past the projection position into the orders
// table, moving the position in the same transaction.
func project(ctx context.Context, n *sim.Node) {
	sim.InTx(ctx, n.DB(), func(tx *sql.Tx) error {
		rows, err := tx.Query(`SELECT seq, order_key, type, data FROM order_events
			WHERE seq > (SELECT seq FROM positions WHERE name = 'projection_position') ORDER BY seq LIMIT 200`)
		if err != nil {
			return err
		}
		type row struct {
			seq       int64
			key, kind string
			data      Data
		}
		var batch []row
		for rows.Next() {
			var r row
			var data string
			if rows.Scan(&r.seq, &r.key, &r.kind, &data) == nil && json.Unmarshal([]byte(data), &r.data) == nil {
				batch = append(batch, r)
			}
		}
		rows.Close()
		now := n.Now().UnixNano()
		for _, r := range batch {
			var err error
			switch r.kind {
			case Placed:
				co := r.data.Checkout
				_, err = tx.Exec(`INSERT OR IGNORE INTO orders(key, customer, sku, qty, amount, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
					r.key, co.Customer, co.SKU, co.Qty, co.Amount, sim.OrderPending, now)
			case Confirmed:
				_, err = tx.Exec(`UPDATE orders SET state = ?, reason = '', updated_at = ? WHERE key = ?`, sim.OrderConfirmed, now, r.key)
			case Failed:
				_, err = tx.Exec(`UPDATE orders SET state = ?, reason = ?, updated_at = ? WHERE key = ?`, sim.OrderFailed, r.data.Reason, now, r.key)
			}
			if err == nil {
				_, err = tx.Exec(`UPDATE positions SET seq = ? WHERE name = 'projection_position'`, r.seq)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// relay publishes the Confirmed events past the publish position, in
// order, moving the position after each. A crash between the two
// publishes it again: at least once.
func relay(ctx context.Context, n *sim.Node) {
	for ctx.Err() == nil {
		var seq int64
		var key, data string
		var d Data
		if n.DB().QueryRowContext(ctx, `SELECT seq, order_key, data FROM order_events WHERE type = ?
			AND seq > (SELECT seq FROM positions WHERE name = 'publish_position') ORDER BY seq LIMIT 1`, Confirmed).
			Scan(&seq, &key, &data) != nil || json.Unmarshal([]byte(data), &d) != nil {
			return
		}
		if _, err := n.Broker().Publish(ctx, patterns.ConfirmedEvent(key, *d.Checkout)); err != nil {
			return
		}
		n.CrashPoint("before-publish-mark")
		if _, err := n.DB().ExecContext(ctx, `UPDATE positions SET seq = MAX(seq, ?) WHERE name = 'publish_position'`, seq); err != nil {
			return
		}
	}
}
