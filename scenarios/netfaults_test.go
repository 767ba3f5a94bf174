package scenarios

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
)

// The late, duplicate and commit-crash faults on both runtimes, judged by
// reading the services' databases directly, never by what they answered.

// faultCallTimeout is how long the tests' nodes wait for one answer.
const faultCallTimeout = 300 * time.Millisecond

// nothing is a service that serves nothing: the tests call from its node.
var nothing = sim.ServiceFunc(func(*sim.Node) (http.Handler, error) { return http.NewServeMux(), nil })

// startRuntime starts w on the named runtime until the test ends. Its
// nodes wait faultCallTimeout for an answer unless w says otherwise.
func startRuntime(t *testing.T, runtime string, w sim.World, seed int64) Runtime {
	t.Helper()
	if w.Config.CallTimeout == 0 {
		w.Config.CallTimeout = faultCallTimeout
	}
	rt, err := runtimes[runtime](context.Background(), w, t.TempDir(), Config{Seed: seed}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rt.Stop()) })
	return rt
}

// count runs a COUNT(*) query on node's database as the runtime has it
// committed now, as the checker reads it.
func count(t *testing.T, rt Runtime, node, query string, args ...any) int {
	t.Helper()
	return int(scalar(t, rt, node, query, args...))
}

// scalar runs a query of one integer on node's database as committed now.
func scalar(t *testing.T, rt Runtime, node, query string, args ...any) int64 {
	t.Helper()
	_, err := rt.Sync()
	require.NoError(t, err)
	db, err := sim.OpenReadOnly(rt.DBPath(node))
	require.NoError(t, err)
	defer db.Close()
	var n int64
	require.NoError(t, db.QueryRow(query, args...).Scan(&n))
	return n
}

// eventually sleeps on the runtime's clock until cond holds, for at most
// 10 s of it.
func eventually(t *testing.T, ctx context.Context, rt Runtime, what string, cond func() bool) {
	t.Helper()
	for deadline := rt.Now().Add(10 * time.Second); !cond(); {
		require.True(t, rt.Now().Before(deadline), "waited 10s for %s", what)
		require.NoError(t, rt.Sleep(ctx, 10*time.Millisecond))
	}
}

// sites lists the applied faults named fault, as "detail @ site".
func sites(rt Runtime, fault string) []string {
	var out []string
	for _, a := range rt.Applied() {
		if a.Fault == fault {
			out = append(out, a.Target+": "+a.Detail+" @ "+a.Site)
		}
	}
	return out
}

// TestLateRequestApplied: a request the network delivers after its caller's
// deadline is applied by the service, while the caller got an unknown
// outcome (a timeout), on both runtimes.
func TestLateRequestApplied(t *testing.T) {
	for _, runtime := range Runtimes {
		t.Run(runtime, func(t *testing.T) {
			w := sim.World{
				Services: map[string]sim.Service{
					sim.Orders:   nothing,
					sim.Payments: sim.NewResourceService(sim.Payments, sim.ResourceConfig{Maturity: sim.Idempotent}, 1, 0),
				},
				Links: []sim.Link{{From: sim.Orders, To: sim.Payments}},
			}
			rt := startRuntime(t, runtime, w, 1)
			require.NoError(t, rt.SetLinkFaults(sim.Link{From: sim.Orders, To: sim.Payments}, sim.LinkFaults{Late: 1}))
			const held = `SELECT COUNT(*) FROM resources WHERE key = 'k-1' AND state = 'active'`
			err := rt.Main(t.Context(), func(ctx context.Context) error {
				deadline := rt.Now().Add(faultCallTimeout)
				_, err := rt.Node(sim.Orders).Payments().Create(ctx, sim.ResourceRequest{Key: "k-1", Order: "o-1", Customer: "c-1", Amount: 10})
				require.True(t, sim.IsTransient(err), "the caller's outcome is unknown: %v", err)
				require.ErrorIs(t, err, context.DeadlineExceeded, "the caller timed out")
				eventually(t, ctx, rt, "the late request to be applied", func() bool { return count(t, rt, sim.Payments, held) == 1 })
				created := scalar(t, rt, sim.Payments, `SELECT created_at FROM resources WHERE key = 'k-1'`)
				require.Greater(t, created, deadline.UnixNano(), "applied after the caller's deadline")
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, []string{"orders->payments: POST /resources @ request 1 of o-1 on orders->payments"}, sites(rt, "late"))
		})
	}
}

// TestDuplicateRequest: a request the network delivers twice is applied
// twice at a service without keys and once at an idempotent one, while the
// caller gets one answer, on both runtimes.
func TestDuplicateRequest(t *testing.T) {
	for _, runtime := range Runtimes {
		t.Run(runtime, func(t *testing.T) {
			w := sim.World{
				Services: map[string]sim.Service{
					sim.Orders:   nothing,
					sim.Payments: sim.NewResourceService(sim.Payments, sim.ResourceConfig{Maturity: sim.Readable}, 1, 0),
					sim.Shipping: sim.NewResourceService(sim.Shipping, sim.ResourceConfig{Maturity: sim.Idempotent}, 1, 0),
				},
				Links: []sim.Link{{From: sim.Orders, To: sim.Payments}, {From: sim.Orders, To: sim.Shipping}},
			}
			rt := startRuntime(t, runtime, w, 1)
			for _, l := range w.Links {
				require.NoError(t, rt.SetLinkFaults(l, sim.LinkFaults{Duplicate: 1, DuplicateDelay: 50 * time.Millisecond}))
			}
			const made = `SELECT COUNT(*) FROM resources WHERE order_ref = 'o-1'`
			const arrived = `SELECT COUNT(*) FROM log WHERE op = 'create' AND order_ref = 'o-1'`
			err := rt.Main(t.Context(), func(ctx context.Context) error {
				n := rt.Node(sim.Orders)
				for _, c := range []sim.ResourceClient{n.Payments(), n.Shipping()} {
					_, err := c.Create(ctx, sim.ResourceRequest{Key: "k-1", Order: "o-1", Customer: "c-1", Amount: 10})
					require.NoError(t, err, "%s: the caller gets the first copy's answer", c.Service())
				}
				eventually(t, ctx, rt, "both copies to arrive", func() bool {
					return count(t, rt, sim.Payments, arrived) == 2 && count(t, rt, sim.Shipping, arrived) == 2
				})
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, 2, count(t, rt, sim.Payments, made), "applied twice without a key")
			require.Equal(t, 1, count(t, rt, sim.Shipping, made), "applied once by key")
			require.Equal(t, 1, count(t, rt, sim.Shipping, `SELECT COUNT(*) FROM log WHERE outcome = 'replayed'`), "the copy was answered with the resource made")
			require.Len(t, sites(rt, "duplicate"), 2)
		})
	}
}

// TestReorderedRequest: a request held back is overtaken by the next one
// on its link, on both runtimes: the service sees the second first.
func TestReorderedRequest(t *testing.T) {
	l := sim.Link{From: sim.Orders, To: sim.Payments}
	f := sim.LinkFaults{Reorder: 0.5, ReorderHold: time.Minute} // held until overtaken
	seed := int64(1)                                            // a seed whose first request is reordered and second is not
	for ; f.SiteFault(seed, sim.RequestSite(l, "o-1", 1)) != sim.SiteReorder || f.SiteFault(seed, sim.RequestSite(l, "o-2", 1)) != sim.SiteClean; seed++ {
	}
	for _, runtime := range Runtimes {
		t.Run(runtime, func(t *testing.T) {
			w := sim.World{
				Services: map[string]sim.Service{
					sim.Orders:   nothing,
					sim.Payments: sim.NewResourceService(sim.Payments, sim.ResourceConfig{Maturity: sim.Idempotent}, 1, 0),
				},
				Links:  []sim.Link{l},
				Config: sim.Config{CallTimeout: time.Minute}, // the held request's caller waits for it
			}
			rt := startRuntime(t, runtime, w, seed)
			require.NoError(t, rt.SetLinkFaults(l, f))
			err := rt.Main(t.Context(), func(ctx context.Context) error {
				n := rt.Node(sim.Orders)
				var done atomic.Bool
				rt.Go(sim.Orders, "first", func(ctx context.Context) {
					_, err := n.Payments().Create(ctx, sim.ResourceRequest{Key: "k-1", Order: "o-1", Customer: "c-1", Amount: 1})
					assert.NoError(t, err)
					done.Store(true)
				})
				eventually(t, ctx, rt, "the first request to be held", func() bool { return len(sites(rt, "reorder")) == 1 })
				_, err := n.Payments().Create(ctx, sim.ResourceRequest{Key: "k-2", Order: "o-2", Customer: "c-1", Amount: 1})
				require.NoError(t, err)
				eventually(t, ctx, rt, "the first request to be answered", done.Load)
				return nil
			})
			require.NoError(t, err)
			_, err = rt.Sync()
			require.NoError(t, err)
			db, err := sim.OpenReadOnly(rt.DBPath(sim.Payments))
			require.NoError(t, err)
			defer db.Close()
			var order []string
			rows, err := db.Query(`SELECT key FROM log ORDER BY seq`)
			require.NoError(t, err)
			for rows.Next() {
				var k string
				require.NoError(t, rows.Scan(&k))
				order = append(order, k)
			}
			require.NoError(t, rows.Err())
			require.Equal(t, []string{"k-2", "k-1"}, order, "the second request overtook the first")
		})
	}
}

// TestConsumerCrashBetweenCommits: the rewards consumer crashes just after
// one of its commits; a consumer that commits an event's inbox row and its
// credit in two transactions loses exactly the uncommitted credit (the
// event is marked applied and never credited), one that commits them
// together loses nothing. The consumer dies and restarts with its node, on
// both runtimes.
func TestConsumerCrashBetweenCommits(t *testing.T) {
	crash := sim.NodeFaults{CommitCrash: 1, Downtime: 200 * time.Millisecond}
	seed := int64(1) // a seed whose first commit at rewards crashes just after it
	for ; ; seed++ {
		if hit, before := crash.CommitFault(seed, sim.CommitSite(sim.Rewards, "", 1)); hit && !before {
			break
		}
	}
	for _, runtime := range Runtimes {
		for _, split := range []bool{true, false} {
			name := runtime + "/one-transaction"
			if split {
				name = runtime + "/two-transactions"
			}
			t.Run(name, func(t *testing.T) {
				w := sim.World{
					Services: map[string]sim.Service{
						sim.Orders:  nothing,
						sim.Broker:  sim.BrokerService{},
						sim.Rewards: sim.RewardsService{Dedupe: true, SplitInbox: split},
					},
					Links: []sim.Link{{From: sim.Orders, To: sim.Broker}, {From: sim.Rewards, To: sim.Broker}},
				}
				rt := startRuntime(t, runtime, w, seed)
				require.NoError(t, rt.SetNodeFaults(sim.Rewards, crash))
				credited := func(event string) int {
					return count(t, rt, sim.Rewards, `SELECT COUNT(*) FROM credits WHERE event_id = ?`, event)
				}
				err := rt.Main(t.Context(), func(ctx context.Context) error {
					publish := func(id string) {
						_, err := rt.Node(sim.Orders).Broker().Publish(ctx, sim.Event{Topic: sim.OrdersTopic, EventID: id,
							Type: sim.OrderConfirmedEvent, Order: "o-" + id, Customer: "c-1", Amount: 10})
						require.NoError(t, err)
					}
					publish("e-1")
					eventually(t, ctx, rt, "the consumer to crash at a commit", func() bool { return len(sites(rt, "crash-commit")) > 0 })
					require.NoError(t, rt.SetNodeFaults(sim.Rewards, sim.NodeFaults{}))
					publish("e-2")
					eventually(t, ctx, rt, "the restarted consumer to credit e-2", func() bool { return credited("e-2") == 1 })
					eventually(t, ctx, rt, "e-1 to be delivered again and passed", func() bool {
						return count(t, rt, sim.Broker, `SELECT COUNT(*) FROM deliveries WHERE offset = 1 AND count >= 2`) == 1 &&
							count(t, rt, sim.Broker, `SELECT COUNT(*) FROM offsets WHERE offset >= 2`) == 1
					})
					return nil
				})
				require.NoError(t, err)
				require.Equal(t, []string{"rewards: after the commit @ commit 1 of rewards"}, sites(rt, "crash-commit"))
				require.NotEmpty(t, sites(rt, "restart"), "the node restarted, and its consumer with it")
				require.Equal(t, 2, count(t, rt, sim.Rewards, `SELECT COUNT(*) FROM inbox`), "both events are marked applied")
				if split {
					require.Zero(t, credited("e-1"), "the credit after the crash was never committed: e-1 is lost")
				} else {
					require.Equal(t, 1, credited("e-1"), "inbox and credit committed together: e-1 credited once")
				}
				require.Equal(t, 1, credited("e-2"))
			})
		}
	}
}
