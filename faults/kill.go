package faults

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// AnyNode targets a node drawn anew each time: kill=*:2s.
const AnyNode = "*"

func init() {
	Register(Kind{
		Name: "kill",
		Summary: "the node (or, for *, a node drawn each time) is killed at moments drawn by the seed, about once every " +
			"INTERVAL, whatever it is doing, and restarts 200ms later on its own files",
		Syntax: "NODE:INTERVAL",
		Parse: func(arg string) (Fault, error) {
			target, value := splitTarget(arg)
			if target == "" {
				return Fault{}, fmt.Errorf("%q names no node: want NODE:INTERVAL, e.g. rewards:2s or *:2s", arg)
			}
			d, err := parseDuration(value)
			return Fault{Node: target, Duration: d}, err
		},
		Timed: true,
		Draw: func(r *rand.Rand, w Space) (Fault, bool) {
			node, ok := drawNode(r, w)
			if r.IntN(4) == 0 {
				node = AnyNode
			}
			return Fault{Node: node, Duration: drawDuration(r, 500*time.Millisecond, 3*time.Second)}, ok
		},
		Doc: "A node dies at a random moment, not only while serving a request: between two polls of the " +
			"consumer, in the middle of the relay's loop, while recovery runs, while it waits for another service. " +
			"Moments are drawn by the seed, the k-th one from the (seed, fault, node, k) alone, uniformly between " +
			"half and one and a half INTERVAL after the last. Everything the node had not committed is lost; it " +
			"restarts 200ms later and its background processes start again with it.",
	})
}

// killGap is the wait before the k-th kill of f (from 1): uniform in
// [f.Duration/2, 3·f.Duration/2), decided by (seed, f, k) alone.
func killGap(seed int64, f Fault, k int) time.Duration {
	u := sim.Chance(seed, "kill", f.Node, f.Duration.String(), strconv.Itoa(k))
	return f.Duration/2 + time.Duration(u*float64(f.Duration))
}

// killTarget is the node the k-th kill of f hits.
func killTarget(seed int64, f Fault, k int, nodes []string) string {
	if f.Node != AnyNode || len(nodes) == 0 {
		return f.Node
	}
	u := sim.Chance(seed, "kill-node", f.Duration.String(), strconv.Itoa(k))
	return nodes[int(u*float64(len(nodes)))]
}
