// Package republish is target-state republish, the first
// data-store-and-event option of docs/sources.md#domain-transactions:
// given a request, new or retried, read the order; if it is already in the target state
// (confirmed), emit its event again and answer success. Otherwise run the
// checkout, commit the order confirmed, then publish the event directly —
// no outbox, no relay. If the publish fails the client gets an error (503:
// the option's known cost, that callers see errors while publishing fails)
// and its retry, finding the order confirmed, publishes again. Every
// publish carries the event id derived from the order key, so the
// de-duplicating consumer applies a republished event once: the option
// holds under at-least-once delivery.
//
// The downstream calls use caller-assigned keys (docs/sources.md#caller-assigned-key)
// with capped retries of transient errors; a business rejection cancels the
// steps already made and fails the order. An order left pending (retries
// spent, coordinator crashed, client gone) is re-driven by a recovery
// process exactly as a retried request would be.
//
// Promises: no lost event, no duplicate effect at the consumer, no leak and
// no duplicate charge — provided the client retries until it gets a
// definitive answer — under lost responses, drops, broker outages and
// partitions, and coordinator crashes at any of its points. Expected to
// fail: when the client stops retrying (one attempt), an order committed
// confirmed whose publish failed or was cut by a crash (after-local-commit,
// before-publish) is never published: nothing else re-drives a confirmed
// order — the option relies on the caller's retries to publish. Availability suffers too: a confirmed order answers 503 while
// the broker is unreachable.
package republish

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// Name is the pattern's registry name.
const Name = "target-state-republish"

// recoveryEvery is how often abandoned pending orders are looked for.
const recoveryEvery = 200 * time.Millisecond

func init() {
	patterns.MustRegister(patterns.Spec{
		Name:        Name,
		Summary:     "commit, then publish; a retried request finding the order confirmed publishes again (the client drives delivery)",
		Source:      "docs/sources.md#domain-transactions, data store and events, option 1: target-state republish",
		CrashPoints: []string{"after-payment", "after-reservation", "after-shipment", "after-local-commit", "before-publish"},
		New:         func() sim.Service { return sim.ServiceFunc(start) },
	})
}

// errConflict is a key reused with other parameters.
var errConflict = errors.New("key conflict")

func start(n *sim.Node) (http.Handler, error) {
	if err := patterns.Migrate(n); err != nil {
		return nil, err
	}
	n.Go("recovery", func(ctx context.Context) { n.Every(ctx, recoveryEvery, func(ctx context.Context) { redrive(ctx, n) }) })
	mux := http.NewServeMux()
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		key, co, ok := patterns.ReadCheckout(w, r)
		if !ok {
			return
		}
		o, err := request(r.Context(), n, key, co)
		switch {
		case errors.Is(err, errConflict):
			patterns.KeyConflict(w, key)
		case err != nil:
			patterns.Unavailable(w, err) // 503: the client retries, and its retry republishes
		default:
			patterns.Answer(w, o)
		}
	})
	mux.HandleFunc("GET /orders/{key}", patterns.GetOrder(n))
	return mux, nil
}

// request is one checkout request, new or retried: read the order; if it is
// in the target state emit its event; otherwise take it there first.
func request(ctx context.Context, n *sim.Node, key string, co sim.Checkout) (sim.Order, error) {
	o, found, err := patterns.LoadOrder(ctx, n.DB(), key)
	switch {
	case err != nil:
		return o, err
	case found && !patterns.Same(o, co):
		return o, errConflict
	case !found:
		if err := patterns.InsertOrder(ctx, n, key, co); err != nil {
			return o, err
		}
		o = sim.Order{Key: key, Customer: co.Customer, SKU: co.SKU, Qty: co.Qty, Amount: co.Amount, State: sim.OrderPending}
	}
	if o.State == sim.OrderPending {
		o = drive(ctx, n, key, co)
	}
	if o.State != sim.OrderConfirmed {
		return o, nil // failed (422) or still pending (503)
	}
	n.CrashPoint("before-publish")
	err = patterns.Retry(ctx, n, patterns.DefaultBackoff, func(ctx context.Context) error {
		_, err := n.Broker().Publish(ctx, patterns.ConfirmedEvent(key, co))
		return err
	})
	if err != nil {
		return o, fmt.Errorf("order %s is confirmed but its event is not published; retry with the same key: %w", key, err)
	}
	return o, nil
}

// drive takes a pending order as far as it can: every step, then the order
// confirmed. A rejection undoes the steps made and fails the order.
func drive(ctx context.Context, n *sim.Node, key string, co sim.Checkout) sim.Order {
	order, done := patterns.TakeSteps(ctx, n, key, co)
	if !done {
		return order
	}
	if patterns.FinishOrder(ctx, n, key, sim.OrderConfirmed, "") != nil {
		return order
	}
	n.CrashPoint("after-local-commit")
	o, _, err := patterns.LoadOrder(ctx, n.DB(), key)
	if err != nil {
		return order
	}
	return o // confirmed, or whatever another driver decided first
}

// redrive treats each order left pending longer than a request could still
// be working on it as a retried request. Confirmed orders are not its
// business: only a client's retry republishes their events.
func redrive(ctx context.Context, n *sim.Node) {
	for _, o := range patterns.PendingOrders(ctx, n, patterns.Abandoned(n)) {
		request(ctx, n, o.Key, patterns.CheckoutOf(o))
	}
}
