package scenarios

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/live"
)

// BenchmarkLiveCheckout measures fault-free naive-dual-write checkouts per
// second on the live runtime and, in the same run and through the same
// proxies, the raw request rate for the same number of calls per checkout
// (client->orders, orders->payments, orders->inventory, orders->shipping,
// orders->broker: five requests answered without touching a database).
// The ratio says how much of a checkout's cost is the harness's sockets and
// proxies, and how much is the services' work.
//
// In the same run a second live world runs every service as an OS process
// of its own (isolation process); the checkouts alternate between the two
// worlds in four rounds, so that the machine's drift weighs on both alike:
// process/none-ratio is the rate with processes over the rate without,
// the cost of process isolation. Then it places the same checkouts on the
// det runtime (detCheckouts) and reports its rate and its ratio to the
// live one.
func BenchmarkLiveCheckout(b *testing.B) {
	spec, err := patterns.Lookup("naive-dual-write")
	if err != nil {
		b.Fatal(err)
	}
	cfg := sim.DefaultConfig()
	cfg.Payments.RejectRate = 0 // every checkout does all five calls
	start := func(isolation string) *live.Runtime {
		rt, err := live.Start(context.Background(), spec.World(cfg),
			live.Options{Dir: b.TempDir(), Seed: 1, Isolation: isolation, World: describeWorld(spec.Name, cfg)})
		if err != nil {
			b.Fatal(err)
		}
		return rt
	}
	rt, procs := start(live.IsolationNone), start(live.IsolationProcess)
	defer rt.Stop()
	defer procs.Stop()
	ctx := context.Background()
	const clients = 8
	client, orders := rt.Node(sim.Client), rt.Node(sim.Orders)

	// run has clients goroutines share n units of work.
	run := func(n int, unit func(i int) error) time.Duration {
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Value
		start := time.Now()
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)); i <= n; i = int(next.Add(1)) {
					if err := unit(i); err != nil {
						failed.Store(err)
					}
				}
			}()
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	// checkout places the checkouts numbered from..from+n on world c.
	checkout := func(c *sim.Node, from, n int) time.Duration {
		return run(n, func(i int) error {
			co := sim.Checkout{Customer: "c1", SKU: sim.SKUs[i%len(sim.SKUs)], Qty: 1, Amount: 10}
			_, err := c.Orders().Checkout(ctx, fmt.Sprintf("bench-%d", from+i), co)
			return err
		})
	}

	b.ResetTimer()
	const rounds = 4
	var none, processes time.Duration
	for k := range rounds {
		n := b.N/rounds + boolInt(k < b.N%rounds)
		none += checkout(client, k*b.N, n)
		b.StopTimer()
		processes += checkout(procs.Node(sim.Client), k*b.N, n)
		b.StartTimer()
	}
	b.StopTimer()
	procs.Stop()
	raw := run(b.N, func(i int) error {
		if _, err := client.Orders().Get(ctx, "none"); !sim.NotFound(err) {
			return fmt.Errorf("raw GET /orders: %v", err)
		}
		for _, c := range []sim.ResourceClient{orders.Payments(), orders.Inventory(), orders.Shipping()} {
			if _, err := c.Get(ctx, "none"); !sim.NotFound(err) {
				return fmt.Errorf("raw GET /resources at %s: %v", c.Service(), err)
			}
		}
		if _, err := orders.Broker().Poll(ctx, "bench", "bench", 1); err != nil {
			return fmt.Errorf("raw poll: %v", err)
		}
		return nil
	})
	perSec := func(d time.Duration) float64 { return float64(b.N) / d.Seconds() }
	b.ReportMetric(perSec(none), "checkouts/s")
	b.ReportMetric(perSec(raw), "raw-5req-groups/s")
	b.ReportMetric(5*perSec(raw), "raw-req/s")
	b.ReportMetric(perSec(none)/perSec(raw), "checkout/raw-ratio")
	b.ReportMetric(perSec(processes), "process-checkouts/s")
	b.ReportMetric(perSec(processes)/perSec(none), "process/none-ratio")

	// The same checkouts on the det runtime, in this run: its speed-up.
	rt.Stop()
	det := detCheckouts(b, b.N, clients)
	b.ReportMetric(perSec(det), "det-checkouts/s")
	b.ReportMetric(perSec(det)/perSec(none), "det/live-ratio")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
