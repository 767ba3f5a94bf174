package faults

import "github.com/txchaos/txchaos/sim"

func init() {
	Register(Kind{
		Name:    "drop-request",
		Summary: "a share of requests never reach the service; the caller times out",
		Syntax:  "[LINK:]RATE",
		Parse:   linkRate,
		Effect: func(f Fault, e *Effect) {
			e.Link(f, func(l *sim.LinkFaults) { l.DropRequest = f.Rate })
		},
		Draw: linkRateDraw(0.01, 0.1),
		Doc: "A request on the link is lost on its way: the service never sees it and the caller waits until its " +
			"deadline (an unknown outcome, though nothing happened). Retrying is safe here, and necessary. Exposes " +
			"lost-event and stuck where a step is given up after one try.",
	})
}
