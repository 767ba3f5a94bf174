package checker_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

// TestWitnessTellsTheStory checks the witness of a hanging action, read
// from real databases: the client's operations, the order, every
// service's rows for it, the broker and rewards.
func TestWitnessTellsTheStory(t *testing.T) {
	w := cleanWorld(t)
	failedOrder(w)
	w.logged(sim.Shipping, "cancel", "", 99, "k4", "not-found")
	w.created(sim.Shipping, "", "k4", "c2")
	s := w.read()
	ms := time.Millisecond
	h := []checker.Op{
		{Client: 2, Kind: checker.KindGet, Key: "k4", Call: 700 * ms, Return: 710 * ms, Outcome: checker.OutcomeOK, State: sim.OrderFailed},
		{Client: 2, Kind: checker.KindCheckout, Key: "k4", Attempt: 1, Call: 0, Return: 500 * ms, Outcome: checker.OutcomeUnknown, Reason: "timeout"},
		{Client: 2, Kind: checker.KindCheckout, Key: "k4", Attempt: 2, Call: 600 * ms, Return: 650 * ms, Outcome: checker.OutcomeRejected, Reason: "address_refused"},
		{Client: 1, Kind: checker.KindCheckout, Key: "k1", Attempt: 1, Call: 0, Return: 5 * ms, Outcome: checker.OutcomeOK, State: sim.OrderConfirmed},
	}
	r := checker.Check(h, s, checker.Linearizable)
	wit := r.Anomalies[checker.HangingAction].Witness
	require.NotNil(t, wit)
	require.Equal(t, "order k4", wit.Subject)
	require.Equal(t, []string{
		"client 2: checkout attempt 1 0s→500ms: unknown (timeout)",
		"client 2: checkout attempt 2 600ms→650ms: rejected (address_refused)",
		"client 2: get 700ms→710ms: ok failed",
		"orders: order k4 customer c2 sku-3×1 amount 20: failed",
		"payments: no charge, no request reached it",
		"inventory: no reservation, no request reached it",
		"shipping: shipment 4 for order k4: active",
		"shipping log seq 4: cancel → not-found (shipment 99)",
		"shipping log seq 5: create → created (shipment 4)",
		"broker: no event for this order",
		"rewards: no credit for this order",
	}, wit.Story)
	require.True(t, strings.HasPrefix(wit.String(), "order k4:\n  client 2: checkout attempt 1"), wit.String())
	require.Equal(t, wit, r.Anomalies[checker.EmptyCompensation].Witness, "the same subject, the same story")
	require.Nil(t, r.Anomalies[checker.DuplicateEffect].Witness, "no anomaly, no witness")
}

// TestWitnessSubjects checks which subject each kind of example gets.
func TestWitnessSubjects(t *testing.T) {
	base := func() *checker.State {
		return &checker.State{
			Orders: []checker.OrderRow{{Key: "o1", Customer: "c1", SKU: "sku-1", Qty: 1, Amount: 10, State: sim.OrderConfirmed}},
			Resources: map[string][]checker.ResourceRow{
				sim.Payments:  {{ID: 1, Order: "o1", Customer: "c1", Amount: 10, State: sim.ResourceActive}},
				sim.Inventory: {{ID: 1, Order: "o1", Customer: "c1", SKU: "sku-1", Qty: 1, State: sim.ResourceActive}},
				sim.Shipping:  {{ID: 1, Order: "o1", Customer: "c1", State: sim.ResourceActive}},
			},
			Stock:   []checker.StockRow{{SKU: "sku-1", Initial: 10, Available: 9}},
			Events:  []checker.EventRow{{Offset: 1, Topic: sim.OrdersTopic, EventID: "order.confirmed:o1", Type: sim.OrderConfirmedEvent, Order: "o1", Customer: "c1", Amount: 10}},
			Offsets: []checker.OffsetRow{{Topic: sim.OrdersTopic, Group: sim.RewardsGroup, Offset: 1}},
			Credits: []checker.CreditRow{{ID: 1, EventID: "order.confirmed:o1", Offset: 1, Order: "o1", Customer: "c1", Points: 10}},
		}
	}
	tests := []struct {
		name    string
		mutate  func(s *checker.State)
		class   checker.Class
		subject string
		line    string // one line the story must hold
	}{
		{
			name:    "a customer's books",
			mutate:  func(s *checker.State) { s.Credits[0].Points = 7 },
			class:   checker.NotConserved,
			subject: "customer c1",
			line:    "rewards: credit 1 for order o1 (event order.confirmed:o1): 7 points",
		},
		{
			name:    "a SKU's books",
			mutate:  func(s *checker.State) { s.Stock[0].Available = 3 },
			class:   checker.NotConserved,
			subject: "sku sku-1",
			line:    "inventory: reservation 1 for order o1 sku-1×1: active; order confirmed",
		},
		{
			name: "a pending key that names its order after a colon",
			mutate: func(s *checker.State) {
				s.Orders[0].State = sim.OrderConfirmed
				s.Pending = map[string][]string{"unsent outbox rows": {"order.confirmed:o1"}}
			},
			class:   checker.Stuck,
			subject: "order o1",
			line:    "pending: unsent outbox rows: order.confirmed:o1 unfinished",
		},
		{
			name:    "an event's order",
			mutate:  func(s *checker.State) { s.Offsets[0].Offset = 0 },
			class:   checker.Stuck,
			subject: "order o1",
			line:    "broker: offset 1 orders order.confirmed event order.confirmed:o1 amount 10: not consumed by rewards (committed offset 0)",
		},
		{
			name: "a database not read",
			mutate: func(s *checker.State) {
				s.Orders[0].State = sim.OrderPending
				s.Missing = map[string]string{sim.Rewards: "no database given"}
			},
			class:   checker.Stuck,
			subject: "order o1",
			line:    "rewards: not read (no database given)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			require.Equal(t, checker.VerdictClean, checker.Check(nil, s, checker.Linearizable).Verdict)
			tt.mutate(s)
			r := checker.Check(nil, s, checker.Linearizable)
			wit := r.Anomalies[tt.class].Witness
			require.NotNil(t, wit, r.String())
			require.Equal(t, tt.subject, wit.Subject)
			require.Contains(t, wit.Story, tt.line, strings.Join(wit.Story, "\n"))
		})
	}
}

// TestWitnessWithoutState checks that a report with no state still tells
// what the clients saw.
func TestWitnessWithoutState(t *testing.T) {
	ms := time.Millisecond
	h := []checker.Op{
		{Client: 1, Kind: checker.KindCheckout, Key: "o1", Attempt: 1, Call: 0, Return: 10 * ms, Outcome: checker.OutcomeOK, State: sim.OrderConfirmed},
		{Client: 1, Kind: checker.KindGet, Key: "o1", Call: 11 * ms, Return: 12 * ms, Outcome: checker.OutcomeOK, State: checker.StateAbsent},
	}
	r := checker.Check(h, nil, checker.Linearizable)
	wit := r.Anomalies[checker.SessionStaleRead].Witness
	require.NotNil(t, wit, r.String())
	require.Equal(t, "order o1", wit.Subject)
	require.Equal(t, []string{
		"client 1: checkout attempt 1 0s→10ms: ok confirmed",
		"client 1: get 11ms→12ms: ok absent",
		"state: not read (no state was read)",
	}, wit.Story)
}

// TestWitnessKeepsWhatTheExampleCites checks that a long story sums up
// many resources by state and keeps the log rows its example cites, even
// past the rows it has room for.
func TestWitnessKeepsWhatTheExampleCites(t *testing.T) {
	s := &checker.State{
		Orders:    []checker.OrderRow{{Key: "o1", Customer: "c1", State: sim.OrderFailed}},
		Resources: map[string][]checker.ResourceRow{},
		Log:       map[string][]checker.LogRow{},
	}
	// Twenty shipments made by blind retries, all cancelled, then an
	// empty cancel and one more shipment that hangs.
	seq := int64(0)
	for id := int64(1); id <= 20; id++ {
		s.Resources[sim.Shipping] = append(s.Resources[sim.Shipping], checker.ResourceRow{ID: id, Order: "o1", Customer: "c1", State: sim.ResourceCancelled, Cancels: 1})
		seq++
		s.Log[sim.Shipping] = append(s.Log[sim.Shipping], checker.LogRow{Seq: seq, Op: "create", ResourceID: id, Order: "o1", Outcome: "created"})
		seq++
		s.Log[sim.Shipping] = append(s.Log[sim.Shipping], checker.LogRow{Seq: seq, Op: "cancel", ResourceID: id, Order: "o1", Outcome: "cancelled"})
	}
	s.Log[sim.Shipping] = append(s.Log[sim.Shipping],
		checker.LogRow{Seq: 41, Op: "cancel", Key: "shipment:o1", Order: "o1", Outcome: "not-found"},
		checker.LogRow{Seq: 42, Op: "create", ResourceID: 21, Order: "o1", Outcome: "created"})
	s.Resources[sim.Shipping] = append(s.Resources[sim.Shipping], checker.ResourceRow{ID: 21, Order: "o1", Customer: "c1", State: sim.ResourceActive})

	r := checker.Check(nil, s, checker.Linearizable)
	require.Equal(t, "shipping shipment 21 for order o1: created at log seq 42, after its cancel at seq 2 (cancelled), and still held",
		r.Anomalies[checker.HangingAction].Examples[0])
	story := r.Anomalies[checker.EmptyCompensation].Witness.Story
	require.Contains(t, story, "shipping: 21 shipments for order o1: cancelled ×20 (ids 1, 2, 3, 4, 5, 6, 7, 8, …); active ×1 (ids 21)")
	require.Contains(t, story, "shipping log seq 41: cancel key shipment:o1 → not-found", "cited by the example")
	require.Contains(t, story, "shipping log seq 42: create → created (shipment 21)", "cited by the example")
	require.Contains(t, story, "shipping log seq 1: create → created (shipment 1)", "the first rows fill the room left")
	require.Contains(t, story, "shipping log: … 30 more rows")
	require.NotContains(t, story, "shipping log seq 11: create → created (shipment 6)", "no room left")
}
