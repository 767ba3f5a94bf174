package checker_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

// A checkout's first answer was lost; the retry with the same key was
// answered confirmed, yet the same client's read right after found no
// order: read-your-writes is broken, which a pattern promising
// linearizable (or session) reads must not do. Check needs only the
// history to say so; Visualize draws the key's history.
func ExampleVisualize() {
	co := sim.Checkout{Customer: "alice", SKU: "sku-1", Qty: 1, Amount: 10}
	h := []checker.Op{
		{Client: 0, Kind: checker.KindCheckout, Key: "k-1", Attempt: 1, Input: co, Call: 0, Return: 500e6, Outcome: checker.OutcomeUnknown, Reason: "timeout"},
		{Client: 0, Kind: checker.KindCheckout, Key: "k-1", Attempt: 2, Input: co, Call: 550e6, Return: 560e6, Outcome: checker.OutcomeOK, State: sim.OrderConfirmed},
		{Client: 0, Kind: checker.KindGet, Key: "k-1", Call: 570e6, Return: 575e6, Outcome: checker.OutcomeOK, State: checker.StateAbsent},
	}
	r := checker.Check(h, nil, checker.Linearizable)
	fmt.Println(r.Anomalies[checker.SessionStaleRead].Examples[0])
	fmt.Println("held:", r.Reads.Held, "· stale reads:", r.Reads.Stale, "· the stalest by at least", r.Reads.MaxStaleness)

	applied := []sim.Applied{{At: 200e6, Fault: "lost-response", Target: "client->orders", Detail: "POST /checkout"}}
	for _, p := range r.Linearizability {
		var page bytes.Buffer // the runner writes it to p.File beside the record
		if err := checker.Visualize(&page, h, p, applied, "pattern naive-dual-write · seed 1 · det runtime"); err != nil {
			panic(err)
		}
		fmt.Println(p.File, strings.Contains(page.String(), "checkout#2 → confirmed"))
	}
	// Output:
	// order k-1: client 0 read absent at 570ms, 10ms after its own checkout#2 answered confirmed at 560ms (history-k-1.html)
	// held: [eventual] · stale reads: 1 · the stalest by at least 10ms
	// history-k-1.html true
}
