package faults

import (
	"time"

	"github.com/txchaos/txchaos/sim"
)

// CrashDowntime is how long a crashed node stays down.
const CrashDowntime = 200 * time.Millisecond

func init() {
	Register(Kind{
		Name:    "crash",
		Summary: "the node crashes hard while handling a share of its requests (before or after acting) and restarts on its own files",
		Syntax:  "NODE:RATE",
		Parse:   nodeRate,
		Effect: func(f Fault, e *Effect) {
			e.Node(f.Node, func(n *sim.NodeFaults) { n.CrashRate, n.Downtime = f.Rate, CrashDowntime })
		},
		Draw: nodeRateDraw(0.01, 0.05),
		Doc: "The node crashes hard while handling a share of its requests, before or after acting, and restarts " +
			"200ms later on its own files: everything it had not committed is lost, and its background processes " +
			"(relay, consumer, recovery) die and start again with it.",
	})
}
