package faults

import "github.com/txchaos/txchaos/sim"

func init() {
	Register(Kind{
		Name:     "partition",
		Summary:  "a link goes down (requests vanish) for windows of DURATION, with as long between them; without LINK each window picks a link at random",
		Syntax:   "[LINK:]DURATION",
		Parse:    linkDuration,
		Windowed: true,
		Effect: func(f Fault, e *Effect) {
			e.Link(f, func(l *sim.LinkFaults) { l.Down = true })
		},
	})
}
