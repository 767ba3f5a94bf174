package det_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/det"
)

// A charge whose answer is lost: the caller waits out its deadline on the
// virtual clock (no real time passes) while the charge is made. The same
// seed replays the same run.
func Example() {
	dir, err := os.MkdirTemp("", "det-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	w := sim.World{
		Config: sim.Config{CallTimeout: 250 * time.Millisecond},
		Services: map[string]sim.Service{
			sim.Orders:   sim.ServiceFunc(func(n *sim.Node) (http.Handler, error) { return http.NewServeMux(), nil }),
			sim.Payments: sim.NewResourceService(sim.Payments, sim.ResourceConfig{Maturity: sim.Idempotent}, 1, 0),
		},
		Links: []sim.Link{{From: sim.Orders, To: sim.Payments}},
	}
	rt, err := det.Start(context.Background(), w, det.Options{Dir: dir, Seed: 1})
	if err != nil {
		panic(err)
	}
	defer rt.Stop()
	rt.SetLinkFaults(sim.Link{From: sim.Orders, To: sim.Payments}, sim.LinkFaults{LostResponse: 1})

	orders := rt.Node(sim.Orders)
	err = rt.Main(context.Background(), func(ctx context.Context) error {
		start := rt.Now()
		_, err := orders.Payments().Create(ctx, sim.ResourceRequest{Key: "charge:o1", Order: "o1", Customer: "c1", Amount: 10})
		fmt.Println("after", rt.Now().Sub(start).Round(time.Millisecond), "the caller gave up:", err)
		return nil
	})
	if err != nil {
		panic(err)
	}
	rt.Heal(context.Background())
	got, err := orders.Payments().Get(context.Background(), "charge:o1")
	fmt.Println("yet the charge was made:", got.State, err)
	for _, a := range rt.Applied() {
		fmt.Println(a.Fault, a.Target, a.Detail)
	}
	// Output:
	// after 250ms the caller gave up: payments unavailable: Post "http://payments/resources": context deadline exceeded
	// yet the charge was made: active <nil>
	// lost-response orders->payments POST /resources
}
