package faults

import (
	"math/rand/v2"

	"github.com/txchaos/txchaos/sim"
)

func init() {
	Register(Kind{
		Name: "duplicate",
		Summary: "a share of requests is delivered twice, as a retransmit would; the second copy arrives DELAY after " +
			"the first was sent (at once without DELAY) and its answer goes nowhere",
		Syntax:          "[LINK:]RATE[:DELAY]",
		Parse:           linkRateDelay,
		RateAndDuration: true,
		Effect: func(f Fault, e *Effect) {
			e.Link(f, func(l *sim.LinkFaults) { l.Duplicate, l.DuplicateDelay = f.Rate, f.Duration })
		},
		Draw: func(r *rand.Rand, w Space) (Fault, bool) {
			f := Fault{Link: drawLink(r, w), Rate: drawRate(r, 0.02, 0.3)}
			if r.IntN(2) == 0 {
				f.Duration = drawDuration(r, 0, 2*w.callTimeout())
			}
			return f, true
		},
		Doc: "The network delivers a request twice: the caller gets the first copy's answer and never learns of " +
			"the second, which arrives DELAY after the first was sent (at once without DELAY, both in flight " +
			"together). A service that cannot recognise the copy acts twice (duplicate-effect at a service " +
			"without keys, duplicate-consumer-effect for a publish the consumer does not de-duplicate); an " +
			"idempotent service answers the copy with the resource it already made.",
	})
}
