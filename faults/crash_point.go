package faults

import (
	"fmt"
	"math/rand/v2"

	"github.com/txchaos/txchaos/sim"
)

func init() {
	Register(Kind{
		Name:    "crashpoint",
		Summary: "the coordinator (orders) crashes at a named point of the pattern's code, each time it gets there with probability RATE",
		Syntax:  "POINT:RATE",
		Parse: func(arg string) (Fault, error) {
			point, value := splitTarget(arg)
			if point == "" {
				return Fault{}, fmt.Errorf("%q names no crash point: want POINT:RATE, e.g. after-local-commit:0.1", arg)
			}
			r, err := parseRate(value)
			return Fault{Point: point, Rate: r}, err
		},
		Effect: func(f Fault, e *Effect) {
			e.Node(sim.Orders, func(n *sim.NodeFaults) {
				if n.CrashPoints == nil {
					n.CrashPoints = map[string]float64{}
				}
				n.CrashPoints[f.Point] = f.Rate
				n.Downtime = CrashDowntime
			})
		},
		Draw: func(r *rand.Rand, w Space) (Fault, bool) {
			if len(w.CrashPoints) == 0 {
				return Fault{}, false
			}
			return Fault{Point: w.CrashPoints[r.IntN(len(w.CrashPoints))], Rate: drawRate(r, 0.02, 0.1)}, true
		},
		Doc: "The coordinator (orders) crashes at a named point of the pattern's code — after the local commit, " +
			"between two steps, while compensating — and restarts 200ms later. Only what the pattern committed " +
			"before the point survives: partial-commit, lost-event and stuck show a pattern that kept its plan in " +
			"memory.",
	})
}
