package explore_test

import (
	"context"
	"fmt"

	"github.com/txchaos/txchaos/explore"
	"github.com/txchaos/txchaos/patterns"
)

// The naive dual write is broken by one fault: the first schedule of
// the exploration that shows an anomaly loses the answer to the
// checkout, and the client's retry charges the order again.
func ExampleExhaustive() {
	spec, err := patterns.Lookup("naive-dual-write")
	if err != nil {
		panic(err)
	}
	res, err := explore.Exhaustive(context.Background(), spec, explore.Bound{Orders: 1, MaxFaults: 2}, explore.Options{})
	if err != nil {
		panic(err)
	}
	ce := res.Counterexample
	fmt.Println(len(ce.Schedule), "fault:", ce.Schedule[0])
	fmt.Println("shows:", ce.Classes)
	// Output:
	// 1 fault: request 1 of o000001 on client->orders: lost-response
	// shows: [duplicate-effect duplicate-consumer-effect not-conserved unconverged-read]
}
