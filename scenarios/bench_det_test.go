package scenarios

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/det"
)

// detCheckouts places n fault-free naive-dual-write checkouts from clients
// concurrent clients on the det runtime, as BenchmarkLiveCheckout does on
// the live one, and returns the wall time they took.
func detCheckouts(tb testing.TB, n, clients int) time.Duration {
	spec, err := patterns.Lookup("naive-dual-write")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := sim.DefaultConfig()
	cfg.Payments.RejectRate = 0 // every checkout does all five calls
	ctx := context.Background()
	rt, err := det.Start(ctx, spec.World(cfg), det.Options{Dir: tb.TempDir(), Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	defer rt.Stop()
	client := rt.Node(sim.Client)
	var next, done atomic.Int64
	var failed error
	start := time.Now()
	err = rt.Main(ctx, func(ctx context.Context) error {
		for c := 0; c < clients; c++ {
			rt.Go(sim.Client, fmt.Sprintf("client %d", c), func(ctx context.Context) {
				defer done.Add(1)
				for i := int(next.Add(1)); i <= n; i = int(next.Add(1)) {
					co := sim.Checkout{Customer: "c1", SKU: sim.SKUs[i%len(sim.SKUs)], Qty: 1, Amount: 10}
					if _, err := client.Orders().Checkout(ctx, fmt.Sprintf("bench-%d", i), co); err != nil {
						failed = err
					}
				}
			})
		}
		join(ctx, detRuntime{rt}, &done, clients)
		return failed
	})
	took := time.Since(start)
	if err != nil {
		tb.Fatal(err)
	}
	return took
}

// BenchmarkDetCheckout is the det half of BenchmarkLiveCheckout alone:
// fault-free naive-dual-write checkouts per second of wall time, from eight
// clients, on the det runtime. Run it with GOMAXPROCS=1 for one core.
func BenchmarkDetCheckout(b *testing.B) {
	b.ResetTimer()
	d := detCheckouts(b, b.N, 8)
	b.ReportMetric(float64(b.N)/d.Seconds(), "checkouts/s")
}

// BenchmarkDetRun is what `txchaos explore` does per seed: a whole run of
// 50 outbox checkouts from 8 clients under every network fault, crashes
// and crash points, on the det runtime: the world's start, the workload,
// recovery until rest, the final reads, the checker. It reports runs per
// second of wall time.
func BenchmarkDetRun(b *testing.B) {
	cfg := Default()
	cfg.Runtime = "det"
	cfg.Pattern = "outbox"
	cfg.Workload.Txns = 50
	cfg.Faults = "lost-response=0.1,drop-request=0.05,partition=300ms,crash=payments:0.05,crash=broker:0.05,crashpoint=after-payment:0.05,crashpoint=after-local-commit:0.05"
	start := time.Now()
	for i := 0; i < b.N; i++ {
		cfg.Seed = int64(i + 1)
		if _, err := Execute(context.Background(), cfg, b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
}
