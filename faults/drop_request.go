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
	})
}
