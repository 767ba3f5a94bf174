package scenarios

import (
	"context"
	"fmt"
	"time"
)

// ProbeOrders bounds the orders of the det run Estimate makes of each
// pattern.
const ProbeOrders = 100

// Estimate is what a sweep's cells are expected to cost, from one short
// det run of each pattern (EstimateSweep).
type Estimate struct {
	// Cells is the number of cells estimated.
	Cells int
	// Simulated is the cells' total length on the runtime's clock: what a
	// live sweep takes, one cell at a time, since a live run is as long
	// as its simulated time.
	Simulated time.Duration
	// Det is the cells' total wall time on the det runtime, one at a
	// time, on this machine.
	Det time.Duration
	// Probe is the wall time the estimate itself took.
	Probe time.Duration
}

// Wall is the sweep's expected wall time on runtime (live or det) with
// parallel cells at a time.
func (e Estimate) Wall(runtime string, parallel int) time.Duration {
	d := e.Det
	if runtime == "live" {
		d = e.Simulated
	}
	return d / time.Duration(max(parallel, 1))
}

// EstimateSweep estimates cells, cells of s, by running each of their
// patterns once on the det runtime at up to ProbeOrders orders (its last
// cell: the highest rate, usually), and scaling the run's simulated length
// and wall time by each cell's orders. It is an estimate: faults, rates
// and seeds change a run's length, and a run of more orders than the
// probe's is scaled linearly.
func EstimateSweep(ctx context.Context, s Sweep, cells []Cell) (Estimate, error) {
	e := Estimate{Cells: len(cells)}
	start := time.Now()
	last := map[string]Cell{}
	count := map[string]int{}
	for _, c := range cells {
		last[c.Pattern] = c
		count[c.Pattern]++
	}
	for _, p := range s.Patterns {
		c, ok := last[p]
		if !ok {
			continue
		}
		cfg := s.config(c)
		cfg.Runtime, cfg.Isolation, cfg.World.Broker = "det", "", "" // what det runs
		n := cfg.Workload.Txns
		cfg.Workload.Txns = min(n, ProbeOrders)
		t := time.Now()
		res, err := Execute(ctx, cfg, "")
		if err != nil {
			return e, fmt.Errorf("sweep: estimate: a det run of %s (%s): %w", p, c.ID, err)
		}
		scale := float64(count[p]) * float64(n) / float64(max(cfg.Workload.Txns, 1))
		e.Simulated += time.Duration(float64(res.Duration) * scale)
		e.Det += time.Duration(float64(time.Since(t)) * scale)
	}
	e.Probe = time.Since(start)
	return e, nil
}
