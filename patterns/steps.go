package patterns

import (
	"context"

	"github.com/txchaos/txchaos/sim"
)

// Step is one downstream call of a checkout: a charge at payments, a
// reservation at inventory, a shipment at shipping.
type Step struct {
	// Name is the step's name in keys and records: charge, reservation, shipment.
	Name string
	// Client calls the service.
	Client sim.ResourceClient
	// After is the crash point right after the step: after-payment,
	// after-reservation, after-shipment.
	After string
}

// Steps are the checkout's downstream calls in the order most patterns make
// them.
func Steps(n *sim.Node) []Step {
	return []Step{
		{"charge", n.Payments(), "after-payment"},
		{"reservation", n.Inventory(), "after-reservation"},
		{"shipment", n.Shipping(), "after-shipment"},
	}
}

// Key is the caller-assigned key of an order's step: the same on every
// retry and every recovery, so an idempotent service does it once
// (docs/sources.md#caller-assigned-key).
func (s Step) Key(order string) string { return s.Name + ":" + order }

// Request is the step's create request for an order, under the step's key.
func (s Step) Request(order string, co sim.Checkout) sim.ResourceRequest {
	return sim.ResourceRequest{Key: s.Key(order), Order: order, Customer: co.Customer, SKU: co.SKU, Qty: co.Qty, Amount: co.Amount}
}

// Create makes the step for an order, retrying transient errors.
func (s Step) Create(ctx context.Context, n *sim.Node, order string, co sim.Checkout) (sim.Resource, error) {
	var res sim.Resource
	err := Retry(ctx, n, DefaultBackoff, func(ctx context.Context) error {
		var err error
		res, err = s.Client.Create(ctx, s.Request(order, co))
		return err
	})
	return res, err
}

// Cancel undoes the step for an order by its key, retrying transient
// errors. Cancelling a step that never happened leaves a tombstone at an
// idempotent service, so a late create is refused.
func (s Step) Cancel(ctx context.Context, n *sim.Node, order string) error {
	return Retry(ctx, n, DefaultBackoff, func(ctx context.Context) error {
		_, err := s.Client.Cancel(ctx, sim.CancelRequest{Key: s.Key(order), Order: order})
		return err
	})
}

// ConfirmedEvent is the order.confirmed event of an order. Its EventID is
// derived from the order key, so every publish of it is the same event to a
// consumer that de-duplicates.
func ConfirmedEvent(key string, co sim.Checkout) sim.Event {
	return sim.Event{
		Topic: sim.OrdersTopic, EventID: "order.confirmed:" + key, Type: sim.OrderConfirmedEvent,
		Order: key, Customer: co.Customer, Amount: co.Amount,
	}
}

// TakeSteps makes the checkout's steps for an order, in order, reaching
// each step's crash point (Step.After) once it is made, and reports done
// when all are. Otherwise it returns the order to answer: failed when a
// step was refused and the steps made before it are undone, pending when
// a step's outcome stayed unknown after its retries or the undoing did not
// finish (recovery, or the client's retry, takes it on from there).
func TakeSteps(ctx context.Context, n *sim.Node, key string, co sim.Checkout) (order sim.Order, done bool) {
	order = sim.Order{Key: key, Customer: co.Customer, SKU: co.SKU, Qty: co.Qty, Amount: co.Amount, State: sim.OrderPending}
	steps := Steps(n)
	for i, s := range steps {
		_, err := s.Create(ctx, n, key, co)
		if sim.IsRejected(err) {
			for _, made := range steps[:i] {
				if made.Cancel(ctx, n, key) != nil {
					return order, false
				}
			}
			order.State, order.Reason = sim.OrderFailed, Reason(err)
			if FinishOrder(ctx, n, key, order.State, order.Reason) != nil {
				order.State = sim.OrderPending
			}
			return order, false
		}
		if err != nil {
			return order, false
		}
		n.CrashPoint(s.After)
	}
	return order, true
}
