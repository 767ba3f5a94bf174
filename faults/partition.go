package faults

import (
	"math/rand/v2"
	"time"

	"github.com/txchaos/txchaos/sim"
)

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
		Draw: func(r *rand.Rand, w Space) (Fault, bool) {
			return Fault{Link: drawLink(r, w), Duration: drawDuration(r, 100*time.Millisecond, 500*time.Millisecond)}, true
		},
		Doc: "The link goes down in windows of DURATION, with as long between them: every request sent during a " +
			"window vanishes. A compensation or a publish that gives up during a window leaves work undone " +
			"(leaked-resource, lost-event) unless recovery tries again later.",
	})
}
