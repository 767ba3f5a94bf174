// Package mypattern is a distributed-transaction pattern written outside
// txchaos's patterns tree, the way a workshop student or a team testing its
// own design writes one: an outbox with an eager publish.
//
// The order's confirmed state and its order.confirmed event are committed
// in one local transaction (a transactional outbox). Then, unlike the
// outbox of package patterns/outbox, the request publishes the event at
// once and marks it sent, so the consumer hears of the order without
// waiting for the relay; a relay publishes whatever the eager publish did
// not (a broker outage, a crash between the commit and the publish): the
// outbox table and relay of package patterns (patterns.OutboxSchema,
// patterns.Relay), which a pattern of your own can use as they are. The
// downstream steps use caller-assigned keys, a business rejection cancels
// the steps made, and a recovery process re-drives orders left pending.
//
// Its tests (mypattern_test.go) run it through txchaos's built-in
// scenarios with scenarios.Run, and show that a bug planted in its relay
// (Broken) is caught as lost events. Nothing here is registered: a spec is
// all scenarios.Run needs.
package mypattern

import (
	"context"
	"database/sql"
	"net/http"
	"time"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// How often the relay and the recovery process run.
const (
	relayEvery    = 50 * time.Millisecond
	recoveryEvery = 200 * time.Millisecond
)

// Spec is the pattern, for scenarios.Run, scenarios.ExecuteSpec or
// patterns.Register.
func Spec() patterns.Spec { return spec("eager-outbox", 0) }

// Broken is the pattern with a bug planted in its relay: it marks every
// n-th outbox row sent without publishing it, and the request does not
// publish eagerly, so every event goes through the relay. It is what a
// test harness must catch: the checker sees the confirmed orders whose
// event never reached the consumer (lost-event).
func Broken(n int) patterns.Spec { return spec("eager-outbox-broken", n) }

func spec(name string, skipEvery int) patterns.Spec {
	return patterns.Spec{
		Name:        name,
		Summary:     "outbox with an eager publish after the commit; a relay publishes what it missed",
		Source:      "003_11c6468ac7a3d68e.txt, option 3, with the event published at once",
		CrashPoints: []string{"after-payment", "after-reservation", "after-shipment", "after-local-commit", "before-mark-sent"},
		Pending:     []patterns.Pending{{Name: "unsent outbox rows", SQL: `SELECT event_id FROM outbox WHERE sent_at = 0`}},
		New:         func() sim.Service { return service{skipEvery: skipEvery} },
	}
}

// service is the orders service running the pattern.
type service struct {
	skipEvery int // Broken's bug; 0 for the pattern itself
}

// Start implements sim.Service.
func (s service) Start(n *sim.Node) (http.Handler, error) {
	if err := patterns.Migrate(n, patterns.OutboxSchema, patterns.OutboxIndex); err != nil {
		return nil, err
	}
	n.Go("relay", func(ctx context.Context) { n.Every(ctx, relayEvery, func(ctx context.Context) { s.relay(ctx, n) }) })
	n.Go("recovery", func(ctx context.Context) {
		n.Every(ctx, recoveryEvery, func(ctx context.Context) {
			for _, o := range patterns.PendingOrders(ctx, n, patterns.Abandoned(n)) {
				s.drive(ctx, n, o.Key, patterns.CheckoutOf(o))
			}
		})
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		// A bad request, a reused key or a retry of a decided order is
		// answered by Begin; a new or still pending order is driven here.
		if key, co, _, ok := patterns.Begin(w, r, n); ok {
			patterns.Answer(w, s.drive(r.Context(), n, key, co))
		}
	})
	mux.HandleFunc("GET /orders/{key}", patterns.GetOrder(n))
	return mux, nil
}

// drive takes a pending order as far as it can: every step under its
// caller-assigned key, then the order and its event in one transaction,
// then the eager publish. A rejection undoes the steps made.
func (s service) drive(ctx context.Context, n *sim.Node, key string, co sim.Checkout) sim.Order {
	order, done := patterns.TakeSteps(ctx, n, key, co)
	if !done {
		return order
	}
	e := patterns.ConfirmedEvent(key, co)
	var id int64
	err := sim.InTx(ctx, n.DB(), func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE orders SET state = ?, updated_at = ? WHERE key = ? AND state = ?`,
			sim.OrderConfirmed, n.Now().UnixNano(), key, sim.OrderPending)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil // another driver finished it
		}
		res, err = tx.Exec(`INSERT INTO outbox(event_id, order_ref, customer, amount) VALUES (?, ?, ?, ?)`, e.EventID, key, co.Customer, co.Amount)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return order
	}
	n.CrashPoint("after-local-commit")
	if id != 0 && s.skipEvery == 0 {
		// The eager publish: on any failure the relay tries again.
		if _, err := n.Broker().Publish(ctx, e); err == nil {
			n.CrashPoint("before-mark-sent")
			n.DB().ExecContext(ctx, `UPDATE outbox SET sent_at = ? WHERE id = ?`, n.Now().UnixNano(), id)
		}
	}
	o, _, err := patterns.LoadOrder(ctx, n.DB(), key)
	if err != nil {
		return order
	}
	return o
}

// relay publishes the outbox with patterns.Relay: in order, at least once,
// with the crash point before-mark-sent. Broken's relay first marks every
// n-th unsent row sent without publishing it: the planted bug.
func (s service) relay(ctx context.Context, n *sim.Node) {
	if s.skipEvery > 0 {
		if _, err := n.DB().ExecContext(ctx, `UPDATE outbox SET sent_at = ? WHERE sent_at = 0 AND id % ? = 0`, n.Now().UnixNano(), s.skipEvery); err != nil {
			return
		}
	}
	patterns.Relay(ctx, n)
}
