// Package blind is the blind-retry baseline: the naive dual write with
// retries bolted on, and nothing else. It is what a team writes after the
// naive checkout's first outage: "just retry on timeouts".
//
// It commits the order locally, then calls payments, inventory and
// shipping, then publishes order.confirmed — as naive-dual-write does — but
// every call that fails with a transient error (a timeout, a 5xx: the
// transient errors of docs/sources.md#domain-transactions) is retried with capped
// backoff. Each attempt is a new request: it carries a fresh key (and each
// publish a fresh event id), because nothing remembers the first attempt.
// There is no record of the steps and no recovery, and a failed step does
// not undo the steps before it. Business rejections (4xx) are not retried.
//
// It is the foil for the retry option of docs/sources.md#domain-transactions
// (retrying an idempotent dependency is safe) and for the idempotency key
// of docs/sources.md#idempotency-keys: retrying is only safe when the
// retry is recognisable as the same request. Here it is not.
//
// Promises: none. Expected to fail: a lost response is retried as a new
// request, so the charge whose answer was lost is made again (duplicate
// effect, money not conserved) and a republished event, with a new event
// id, is credited twice (duplicate consumer effect); a step rejected after
// the charge leaves the charge held (leaked resource); a crash after the
// local commit loses the event and commits partially, exactly as in
// naive-dual-write; a double submit (an answered order sent again with
// the same key) runs the checkout again, charges again, and fails the
// order it had confirmed when the stock is gone by then
// (non-linearizable). With no faults and only payments rejecting it is
// clean.
package blind

import (
	"context"
	"net/http"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// Name is the pattern's registry name.
const Name = "blind-retry"

func init() {
	patterns.MustRegister(patterns.Spec{
		Name:        Name,
		Summary:     "baseline: the naive dual write retrying every transient failure with a fresh key; no record, no recovery",
		Source:      "docs/sources.md#domain-transactions, error categories and dependent API services, option 1: retry (here without a key)",
		CrashPoints: []string{"after-local-commit", "after-payment", "after-reservation", "before-publish"},
		New:         func() sim.Service { return sim.ServiceFunc(start) },
	})
}

func start(n *sim.Node) (http.Handler, error) {
	if err := patterns.Migrate(n); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		key, co, ok := patterns.ReadCheckout(w, r)
		if ok {
			patterns.Answer(w, checkout(r.Context(), n, key, co))
		}
	})
	mux.HandleFunc("GET /orders/{key}", patterns.GetOrder(n))
	return mux, nil
}

func checkout(ctx context.Context, n *sim.Node, key string, co sim.Checkout) sim.Order {
	order := sim.Order{Key: key, Customer: co.Customer, SKU: co.SKU, Qty: co.Qty, Amount: co.Amount, State: sim.OrderConfirmed}
	if err := patterns.UpsertOrder(ctx, n.DB(), n.Now().UnixNano(), key, co, sim.OrderConfirmed); err != nil {
		order.State = sim.OrderPending // nothing was decided: the client may retry
		return order
	}
	n.CrashPoint("after-local-commit")

	steps := []struct {
		client sim.ResourceClient
		point  string
	}{
		{n.Payments(), "after-payment"},
		{n.Inventory(), "after-reservation"},
		{n.Shipping(), ""},
	}
	for _, s := range steps {
		err := patterns.Retry(ctx, n, patterns.DefaultBackoff, func(ctx context.Context) error {
			_, err := s.client.Create(ctx, sim.ResourceRequest{
				Key: patterns.NewKey(n, s.client.Service()), Order: key, // a new key: a new request
				Customer: co.Customer, SKU: co.SKU, Qty: co.Qty, Amount: co.Amount,
			})
			return err
		})
		if err != nil {
			order.State, order.Reason = sim.OrderFailed, patterns.Reason(err)
			if patterns.SetOrderState(ctx, n, key, order.State, order.Reason) != nil || sim.IsTransient(err) {
				order.State = sim.OrderPending // tell the client to try again
			}
			return order
		}
		if s.point != "" {
			n.CrashPoint(s.point)
		}
	}

	n.CrashPoint("before-publish")
	patterns.Retry(ctx, n, patterns.DefaultBackoff, func(ctx context.Context) error { // then forgotten
		_, err := n.Broker().Publish(ctx, sim.Event{
			Topic: sim.OrdersTopic, EventID: patterns.NewKey(n, "evt"), Type: sim.OrderConfirmedEvent,
			Order: key, Customer: co.Customer, Amount: co.Amount,
		})
		return err
	})
	return order
}
