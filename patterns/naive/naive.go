// Package naive is the naive-dual-write baseline: the checkout as most
// services first write it, with no keys, no records and no recovery.
//
// It commits the order locally, then calls payments, inventory and
// shipping, then publishes order.confirmed to the broker — two (here four)
// writes to different systems with nothing tying them together, the
// anti-pattern that docs/sources.md#reliable-messaging and
// docs/sources.md#domain-transactions set out to replace. Each remote call carries a fresh key, so a retry is a
// new request; a failed step marks the order failed without undoing the
// steps before it; a publish that fails is forgotten.
//
// Promises: none. Expected to fail: lost responses leak and double-charge
// (a charge whose answer was lost is never refunded; a client retry charges
// again), a crash after the local commit leaves a confirmed order with
// nothing charged and no event (partial commit, lost event), a broker outage
// loses events; a client that sends an answered order again with the same
// key (a double submit) makes it run the checkout again: a second charge,
// and, when the stock is gone by then or a step fails this time, the order
// marked failed after it was answered confirmed (non-linearizable). With
// no faults it is clean — which is why teams ship it.
package naive

import (
	"context"
	"net/http"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// Name is the pattern's registry name.
const Name = "naive-dual-write"

func init() {
	patterns.MustRegister(patterns.Spec{
		Name:        Name,
		Summary:     "baseline: commit the order, call every service once, publish; no keys, no records, no recovery",
		Source:      "docs/sources.md#domain-transactions (the problem); docs/sources.md#reliable-messaging (why it fails)",
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
		_, err := s.client.Create(ctx, sim.ResourceRequest{
			Key: patterns.NewKey(n, s.client.Service()), Order: key,
			Customer: co.Customer, SKU: co.SKU, Qty: co.Qty, Amount: co.Amount,
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
	n.Broker().Publish(ctx, sim.Event{ // a failed publish is forgotten
		Topic: sim.OrdersTopic, EventID: patterns.NewKey(n, "evt"), Type: sim.OrderConfirmedEvent,
		Order: key, Customer: co.Customer, Amount: co.Amount,
	})
	return order
}
