package checker_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

// A checkout's first answer was lost; the retry with the same key was
// answered confirmed, yet a read right after found no order. Check needs
// only the history to say so; Visualize draws the key's history.
func ExampleVisualize() {
	co := sim.Checkout{Customer: "alice", SKU: "sku-1", Qty: 1, Amount: 10}
	h := []checker.Op{
		{Client: 0, Kind: checker.KindCheckout, Key: "k-1", Attempt: 1, Input: co, Call: 0, Return: 500e6, Outcome: checker.OutcomeUnknown, Reason: "timeout"},
		{Client: 0, Kind: checker.KindCheckout, Key: "k-1", Attempt: 2, Input: co, Call: 550e6, Return: 560e6, Outcome: checker.OutcomeOK, State: sim.OrderConfirmed},
		{Client: 0, Kind: checker.KindGet, Key: "k-1", Call: 570e6, Return: 575e6, Outcome: checker.OutcomeOK, State: checker.StateAbsent},
	}
	r := checker.Check(h, nil)
	fmt.Println(r.Anomalies[checker.NonLinearizable].Examples[0])

	applied := []sim.Applied{{At: 200e6, Fault: "lost-response", Target: "client->orders", Detail: "POST /checkout"}}
	for _, p := range r.Linearizability {
		var page bytes.Buffer // the runner writes it to p.File beside the record
		if err := checker.Visualize(&page, h, p, applied); err != nil {
			panic(err)
		}
		fmt.Println(p.File, strings.Contains(page.String(), "checkout#2 → confirmed"))
	}
	// Output:
	// order k-1: get saw absent at 575ms after checkout#2 answered confirmed at 560ms (history-k-1.html)
	// history-k-1.html true
}
