package faults

import (
	"math/rand/v2"
	"time"

	"github.com/txchaos/txchaos/sim"
)

func init() {
	Register(Kind{
		Name:    "latency",
		Summary: "every request is delayed by DURATION ± DURATION/2",
		Syntax:  "[LINK:]DURATION",
		Parse:   linkDuration,
		Effect: func(f Fault, e *Effect) {
			e.Link(f, func(l *sim.LinkFaults) { l.Latency, l.Jitter = f.Duration, f.Duration/2 })
		},
		Draw: func(r *rand.Rand, w Space) (Fault, bool) {
			return Fault{Link: drawLink(r, w), Duration: drawDuration(r, time.Millisecond, 20*time.Millisecond)}, true
		},
		Doc: "Every request on the link waits DURATION ± DURATION/2 before it leaves; a caller whose deadline passes " +
			"meanwhile gives up and the request is never sent. Slows a run and widens its races.",
	})
}
