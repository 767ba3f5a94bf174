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
	})
}
