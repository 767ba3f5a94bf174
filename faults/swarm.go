package faults

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// Space is what a world offers a fault: its links, its nodes (the client
// excluded), the crash points of the pattern on orders, and how long a
// node waits for an answer (which sizes late deliveries).
type Space struct {
	Links       []sim.Link
	Nodes       []string
	CrashPoints []string
	CallTimeout time.Duration
}

// Swarm draws the fault profile of one seed of swarm exploration (Groce et
// al., "Swarm Testing", ISSTA 2012; TigerBeetle's VOPR): each registered
// kind is in the profile with probability one half (at least one is), and
// each kind in it draws its targets and rate within w (Kind.Draw). Runs
// that leave most faults out reach states a run with every fault at once
// does not: a crash-heavy seed without partitions, a seed of late requests
// alone. The same seed and world give the same profile.
func Swarm(seed int64, w Space) Profile {
	r := rand.New(rand.NewPCG(uint64(seed), 0x737761726d))
	var p Profile
	for len(p) == 0 {
		for _, k := range Kinds() {
			if k.Draw == nil || r.IntN(2) == 0 {
				continue
			}
			if f, ok := k.Draw(r, w); ok {
				f.Kind = k.Name
				p = append(p, f)
			}
		}
	}
	return p
}

// drawRate draws a rate in [lo, hi), kept to two significant digits.
func drawRate(r *rand.Rand, lo, hi float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(lo+r.Float64()*(hi-lo), 'g', 2, 64), 64)
	return v
}

// drawDuration draws a duration in [lo, hi), to the millisecond.
func drawDuration(r *rand.Rand, lo, hi time.Duration) time.Duration {
	return (lo + time.Duration(r.Int64N(int64(hi-lo)+1))).Round(time.Millisecond)
}

// drawLink is every link (nil) half the time, else one of w's.
func drawLink(r *rand.Rand, w Space) *sim.Link {
	if len(w.Links) == 0 || r.IntN(2) == 0 {
		return nil
	}
	l := w.Links[r.IntN(len(w.Links))]
	return &l
}

// drawNode is one of w's nodes.
func drawNode(r *rand.Rand, w Space) (string, bool) {
	if len(w.Nodes) == 0 {
		return "", false
	}
	return w.Nodes[r.IntN(len(w.Nodes))], true
}

// linkRateDraw draws a link fault with a rate in [lo, hi).
func linkRateDraw(lo, hi float64) func(r *rand.Rand, w Space) (Fault, bool) {
	return func(r *rand.Rand, w Space) (Fault, bool) {
		return Fault{Link: drawLink(r, w), Rate: drawRate(r, lo, hi)}, true
	}
}

// nodeRateDraw draws a node fault with a rate in [lo, hi).
func nodeRateDraw(lo, hi float64) func(r *rand.Rand, w Space) (Fault, bool) {
	return func(r *rand.Rand, w Space) (Fault, bool) {
		node, ok := drawNode(r, w)
		return Fault{Node: node, Rate: drawRate(r, lo, hi)}, ok
	}
}

// callTimeout is w's call timeout, or the default one.
func (w Space) callTimeout() time.Duration {
	if w.CallTimeout > 0 {
		return w.CallTimeout
	}
	return sim.DefaultCallTimeout
}
