package faults

import "github.com/txchaos/txchaos/sim"

func init() {
	Register(Kind{
		Name:    "latency",
		Summary: "every request is delayed by DURATION ± DURATION/2",
		Syntax:  "[LINK:]DURATION",
		Parse:   linkDuration,
		Effect: func(f Fault, e *Effect) {
			e.Link(f, func(l *sim.LinkFaults) { l.Latency, l.Jitter = f.Duration, f.Duration/2 })
		},
	})
}
