package scenarios_test

import (
	"fmt"

	"github.com/txchaos/txchaos/patterns"
	_ "github.com/txchaos/txchaos/patterns/all"
	"github.com/txchaos/txchaos/scenarios"
)

// ExampleParse reads a scenario file. A bad value is reported with the
// file, the line, the field and what is allowed.
func ExampleParse() {
	sc, err := scenarios.Parse("lost.yaml", []byte(`name: lost
description: |
  Lost answers on the payments link.
workload: {txns: 40, concurrency: 6}
faults: lost-response=orders-payments:0.3
expect:
  stuck: any
`))
	if err != nil {
		panic(err)
	}
	fmt.Println(sc.Name, "-", sc.Summary())
	fmt.Println(sc.Config.Workload.Txns, sc.Config.Faults)
	fmt.Println("lost-event:", sc.Expect.Of("lost-event"), "stuck:", sc.Expect.Of("stuck"))

	_, err = scenarios.Parse("lost.yaml", []byte("name: lost\ndescription: d\nworkload:\n  txns: -3\n"))
	fmt.Println(err)
	// Output:
	// lost - Lost answers on the payments link.
	// 40 lost-response=orders-payments:0.3
	// lost-event: zero stuck: any
	// lost.yaml:4: workload.txns: -3 is not between 1 and 1000000
}

// ExampleScenario_ConfigFor shows a scenario's crash points resolved for
// one pattern: "*" is each crash point the pattern declares.
func ExampleScenario_ConfigFor() {
	sc, err := scenarios.Parse("crash.yaml", []byte(`name: crash
description: The coordinator crashes at each of its points.
crash_points: "*:0.1"
`))
	if err != nil {
		panic(err)
	}
	spec, err := patterns.Lookup("two-phase-key")
	if err != nil {
		panic(err)
	}
	cfg, err := sc.ConfigFor(spec)
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Faults)
	// Output:
	// crashpoint=after-record:0.1,crashpoint=after-call:0.1,crashpoint=after-local-commit:0.1
}
