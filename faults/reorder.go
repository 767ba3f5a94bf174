package faults

import (
	"math/rand/v2"

	"github.com/txchaos/txchaos/sim"
)

func init() {
	Register(Kind{
		Name: "reorder",
		Summary: "a share of requests is held back until a request sent after it over the same link has been answered " +
			"(at most HOLD, 100ms without it): the later request overtakes it",
		Syntax:          "[LINK:]RATE[:HOLD]",
		Parse:           linkRateDelay,
		RateAndDuration: true,
		Effect: func(f Fault, e *Effect) {
			e.Link(f, func(l *sim.LinkFaults) { l.Reorder, l.ReorderHold = f.Rate, f.Duration })
		},
		Draw: func(r *rand.Rand, w Space) (Fault, bool) {
			return Fault{Link: drawLink(r, w), Rate: drawRate(r, 0.05, 0.3)}, true
		},
		Doc: "Two requests on one link overtake each other: a request is held back until one sent after it has " +
			"been answered, or HOLD has passed. Its caller waits, as for latency (a caller whose deadline passes " +
			"meanwhile gives up and the request is never sent). A cancel that overtakes its create, or an " +
			"acknowledgement that overtakes a poll, shows code that assumed the network keeps order.",
	})
}
