package checker_test

import (
	"fmt"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

// A blind retry after a lost response charged alice twice for one order.
// The state is written by hand here; after a run it comes from ReadState.
func ExampleCheck() {
	s := &checker.State{
		Orders: []checker.OrderRow{{Key: "k-1", Customer: "alice", SKU: "sku-1", Qty: 1, Amount: 100, State: sim.OrderConfirmed}},
		Resources: map[string][]checker.ResourceRow{
			sim.Payments: {
				{ID: 1, Order: "k-1", Customer: "alice", Amount: 100, State: sim.ResourceActive},
				{ID: 2, Order: "k-1", Customer: "alice", Amount: 100, State: sim.ResourceActive},
			},
			sim.Inventory: {{ID: 1, Order: "k-1", Customer: "alice", SKU: "sku-1", Qty: 1, State: sim.ResourceActive}},
			sim.Shipping:  {{ID: 1, Order: "k-1", Customer: "alice", State: sim.ResourceActive}},
		},
		Stock:   []checker.StockRow{{SKU: "sku-1", Initial: 10, Available: 9}},
		Events:  []checker.EventRow{{Offset: 1, Topic: sim.OrdersTopic, EventID: "e-1", Type: sim.OrderConfirmedEvent, Order: "k-1", Customer: "alice", Amount: 100}},
		Offsets: []checker.OffsetRow{{Topic: sim.OrdersTopic, Group: sim.RewardsGroup, Offset: 1}},
		Credits: []checker.CreditRow{{ID: 1, EventID: "e-1", Offset: 1, Order: "k-1", Customer: "alice", Points: 100}},
	}
	h := []checker.Op{
		{Client: 1, Kind: checker.KindCheckout, Key: "k-1", Attempt: 1, Call: 0, Return: 500e6, Outcome: checker.OutcomeUnknown, Reason: "timeout"},
		{Client: 1, Kind: checker.KindCheckout, Key: "k-1", Attempt: 2, Call: 600e6, Return: 650e6, Outcome: checker.OutcomeOK, State: sim.OrderConfirmed},
	}
	r := checker.Check(h, s, checker.Linearizable)
	fmt.Println("verdict:", r.Verdict)
	for _, c := range checker.Classes {
		if f := r.Anomalies[c]; f.Count > 0 {
			fmt.Println(c, f.Count, f.Examples)
		}
	}
	fmt.Printf("confirmed %d of %d, availability %.2f, p50 %v\n",
		r.Metrics.Confirmed, r.Metrics.Checkouts, r.Metrics.Availability, r.Metrics.LatencyP50)
	// Output:
	// verdict: anomalies
	// duplicate-effect 1 [order k-1: 2 active charges at payments (ids 1, 2)]
	// not-conserved 1 [customer alice: 200 held at payments, confirmed orders worth 100]
	// confirmed 1 of 1, availability 0.50, p50 50ms
}
