package mypattern_test

import (
	"context"
	"fmt"

	"github.com/txchaos/txchaos/examples/mypattern"
	"github.com/txchaos/txchaos/scenarios"
)

// Example runs a pattern that lives outside txchaos through a built-in
// scenario and checks the scenario's expectations — what scenarios.Run
// does in a test.
func Example() {
	sc, err := scenarios.Builtin("crash-between-commit-and-publish")
	if err != nil {
		panic(err)
	}
	spec := mypattern.Spec()
	cfg, err := sc.ConfigFor(spec) // the scenario's crash point, for this pattern
	if err != nil {
		panic(err)
	}
	res, err := scenarios.ExecuteSpec(context.Background(), spec, cfg, "")
	if err != nil {
		panic(err)
	}
	fmt.Println(sc.Summary())
	fmt.Println("faults:", cfg.Faults)
	fmt.Println("all checkouts placed:", res.Report.Metrics.Checkouts == cfg.Workload.Txns)
	fmt.Println("missed expectations:", len(sc.Expect.Check(res.Report)))
	// Output:
	// The coordinator dies right after its local commit: the event must already be safe in the same transaction.
	// faults: crashpoint=after-local-commit:0.25
	// all checkouts placed: true
	// missed expectations: 0
}
