package faults

import "github.com/txchaos/txchaos/sim"

func init() {
	Register(Kind{
		Name:    "lost-response",
		Summary: "the service acts but its answer never arrives; the caller times out (the fault that makes idempotency matter)",
		Syntax:  "[LINK:]RATE",
		Parse:   linkRate,
		Effect: func(f Fault, e *Effect) {
			e.Link(f, func(l *sim.LinkFaults) { l.LostResponse = f.Rate })
		},
		Draw: linkRateDraw(0.01, 0.15),
		Doc: "The service handles the request in full and its answer is lost: the caller waits until its deadline " +
			"and cannot tell this from a dropped request. A retry without a key makes a second resource " +
			"(duplicate-effect), a step given up without its key is never undone (leaked-resource).",
	})
}
