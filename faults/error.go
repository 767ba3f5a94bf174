package faults

import "github.com/txchaos/txchaos/sim"

func init() {
	Register(Kind{
		Name:    "error",
		Summary: "the node answers a share of its requests with a transient 503 before acting",
		Syntax:  "NODE:RATE",
		Parse:   nodeRate,
		Effect: func(f Fault, e *Effect) {
			e.Node(f.Node, func(n *sim.NodeFaults) { n.ErrorRate = f.Rate })
		},
		Draw: nodeRateDraw(0.02, 0.2),
		Doc: "The node answers a share of its requests with a transient 503 before acting. A caller must retry: " +
			"giving up after one 503 leaves a step unmade.",
	})
}
