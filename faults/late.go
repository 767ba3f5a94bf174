package faults

import (
	"math/rand/v2"

	"github.com/txchaos/txchaos/sim"
)

func init() {
	Register(Kind{
		Name: "late",
		Summary: "a share of requests is held in the network and delivered DELAY after it was sent (without DELAY, just after " +
			"the caller gave up), whether or not the caller still waits; the service acts, an answer nobody waits for goes nowhere",
		Syntax:          "[LINK:]RATE[:DELAY]",
		Parse:           linkRateDelay,
		RateAndDuration: true,
		Effect: func(f Fault, e *Effect) {
			e.Link(f, func(l *sim.LinkFaults) { l.Late, l.LateDelay = f.Rate, f.Duration })
		},
		Draw: func(r *rand.Rand, w Space) (Fault, bool) {
			f := Fault{Link: drawLink(r, w), Rate: drawRate(r, 0.05, 0.5)}
			if r.IntN(2) == 0 {
				t := w.callTimeout()
				f.Duration = drawDuration(r, t/2, 10*t)
			}
			return f, true
		},
		Doc: "A request arrives after its sender gave up: it was held in the network (a slow route, a queue, a " +
			"retransmission) and is delivered DELAY after it was sent, or, without DELAY, 100ms after the caller's " +
			"deadline. The caller saw a timeout (an unknown outcome) and has moved on — to a retry, or to a " +
			"compensation; the service still handles the request in full. A saga participant that forgets an " +
			"empty compensation lets the late action through (empty-compensation, hanging-action), and a " +
			"two-phase record meets a resource it believed failed. On the live runtime a detached sender holds " +
			"the request and sends it on a connection of its own.",
	})
}
