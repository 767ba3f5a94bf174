package faults

import (
	"fmt"

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
	})
}
