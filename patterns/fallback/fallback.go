// Package fallback is the fallback queue, the second data-store-and-event
// option of docs/sources.md#domain-transactions: publish the event to the
// broker with retries and, when every retry has failed, write it to a
// fallback queue — a second durable log on its own node ("fallback") —
// that is reconciled into the main topic: a reconciler on orders polls the
// fallback (consumer group "reconciler"), publishes each event to the main
// broker, then acknowledges it. A committed order is answered 200 whatever
// the broker did: the point of the option is that a broker outage does
// not fail the API.
//
// The order is committed confirmed first, then the event is published — no
// outbox. The publish runs on the node's context, not the request's: a
// client that stops waiting does not cut the delivery of a committed
// order's event. Every publish carries the event id derived from the order
// key, so the reconciler's at-least-once republishing is applied once by
// the de-duplicating consumer. The downstream calls use caller-assigned
// keys with capped retries; a business rejection cancels the steps made and
// fails the order; recovery re-drives orders left pending.
//
// Promises: no lost event while either the broker or the fallback takes the
// publish — broker partitions, crashes and outages (the fallback takes
// them, the reconciler drains them after healing); no leak, no duplicate
// effect. Expected to fail: when the broker and the fallback both refuse a
// publish (its event is lost), and whenever the coordinator crashes while
// it is handing events off — at after-local-commit or before-fallback, or
// at before-ack or anywhere else while other requests are publishing: the
// event of a committed-but-unpublished order lives only in memory, and
// nothing re-drives it.
package fallback

import (
	"context"
	"database/sql"
	"net/http"
	"time"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// Name is the pattern's registry name.
const Name = "fallback-queue"

// Queue is the fallback queue's node, and Group the reconciler's consumer
// group on it.
const (
	Queue = "fallback"
	Group = "reconciler"
)

// unpublished holds the orders committed confirmed whose event this node
// is still handing to the broker or the fallback: a row is written with
// the confirmation and deleted once either log took the event. Nothing
// relays it — that would make this an outbox — it only makes the window
// between commit and publish visible: a row left after healing is an event
// whose handoff was cut (by a failure of both logs, or by a crash — which
// may also come after a log took it but before the row was deleted).
const schema = `CREATE TABLE IF NOT EXISTS unpublished (order_ref TEXT PRIMARY KEY)`

// How often the reconciler and the recovery process run.
const (
	reconcileEvery = 50 * time.Millisecond
	recoveryEvery  = 200 * time.Millisecond
)

func init() {
	patterns.MustRegister(patterns.Spec{
		Name:        Name,
		Summary:     "commit, publish with retries, else write the event to a fallback queue that a reconciler drains into the broker",
		Source:      "docs/sources.md#domain-transactions, data store and events, option 2: fallback queue",
		CrashPoints: []string{"after-payment", "after-reservation", "after-shipment", "after-local-commit", "before-fallback", "before-ack"},
		Pending: []patterns.Pending{{Name: "events not handed off", SQL: `SELECT order_ref FROM unpublished`}, {
			Node: Queue, Name: "unreconciled fallback events",
			SQL: `SELECT event_id FROM events WHERE topic = '` + sim.OrdersTopic + `' AND offset >
				(SELECT COALESCE(MAX(offset), 0) FROM offsets WHERE topic = '` + sim.OrdersTopic + `' AND grp = '` + Group + `')`,
		}},
		New:      func() sim.Service { return sim.ServiceFunc(start) },
		Services: map[string]func(sim.Config) sim.Service{Queue: func(sim.Config) sim.Service { return sim.BrokerService{} }},
		Links:    []sim.Link{{From: sim.Orders, To: Queue}},
	})
}

func start(n *sim.Node) (http.Handler, error) {
	if err := patterns.Migrate(n, schema); err != nil {
		return nil, err
	}
	n.Go("reconciler", func(ctx context.Context) {
		n.Every(ctx, reconcileEvery, func(ctx context.Context) { reconcile(ctx, n) })
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

// drive takes a pending order as far as it can: every step, the order
// committed confirmed, then its event to the broker or the fallback queue.
func drive(ctx context.Context, n *sim.Node, key string, co sim.Checkout) sim.Order {
	order, done := patterns.TakeSteps(ctx, n, key, co)
	if !done {
		return order
	}
	committed := false
	err := sim.InTx(ctx, n.DB(), func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE orders SET state = ?, updated_at = ? WHERE key = ? AND state = ?`,
			sim.OrderConfirmed, n.Now().UnixNano(), key, sim.OrderPending)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil // another driver finished it, and sends its event
		}
		committed = true
		_, err = tx.Exec(`INSERT OR IGNORE INTO unpublished(order_ref) VALUES (?)`, key)
		return err
	})
	if err != nil {
		return order
	}
	if committed {
		n.CrashPoint("after-local-commit")
		// The node's context, not the request's: a client that stops
		// waiting must not cut the delivery of a committed order's event.
		if publish(n.Context(), n, patterns.ConfirmedEvent(key, co)) == nil {
			n.DB().ExecContext(n.Context(), `DELETE FROM unpublished WHERE order_ref = ?`, key)
		}
	}
	o, _, err := patterns.LoadOrder(ctx, n.DB(), key)
	if err != nil {
		return order
	}
	return o
}

// publish sends e to the broker with retries, and failing that to the
// fallback queue. If both refuse it, the event is lost.
func publish(ctx context.Context, n *sim.Node, e sim.Event) error {
	err := patterns.Retry(ctx, n, patterns.DefaultBackoff, func(ctx context.Context) error {
		_, err := n.Broker().Publish(ctx, e)
		return err
	})
	if err == nil {
		return nil
	}
	n.CrashPoint("before-fallback")
	return patterns.Retry(ctx, n, patterns.DefaultBackoff, func(ctx context.Context) error {
		_, err := n.BrokerAt(Queue).Publish(ctx, e)
		return err
	})
}

// reconcile moves the fallback queue's events into the main topic: publish
// each, then acknowledge it. A crash between the two publishes it again.
func reconcile(ctx context.Context, n *sim.Node) {
	queue := n.BrokerAt(Queue)
	events, err := queue.Poll(ctx, sim.OrdersTopic, Group, 100)
	if err != nil {
		return
	}
	for _, e := range events {
		offset := e.Offset
		e.Offset = 0
		if _, err := n.Broker().Publish(ctx, e); err != nil {
			return // the broker is still down: try again on the next tick
		}
		n.CrashPoint("before-ack")
		if queue.Ack(ctx, sim.Ack{Topic: sim.OrdersTopic, Group: Group, Offset: offset}) != nil {
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
