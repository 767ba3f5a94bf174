package scenarios

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
)

// The late, duplicate, reorder and commit-crash faults on both runtimes,
// and on live with every service an OS process, judged by reading the
// services' databases directly, never by what they answered. The calls
// are made by orders, from its own node: under isolation process from its
// own process, through the runner's egress and links (netfaults_helpers_test.go).

// TestLateRequestApplied: a request the network delivers after its caller's
// deadline is applied by the service, while the caller got an unknown
// outcome (a timeout), on every runtime.
func TestLateRequestApplied(t *testing.T) {
	for _, r := range faultRuntimes {
		t.Run(r.name, func(t *testing.T) {
			rt := startRuntime(t, r, "late", 1)
			require.NoError(t, rt.SetLinkFaults(sim.Link{From: sim.Orders, To: sim.Payments}, sim.LinkFaults{Late: 1}))
			const held = `SELECT COUNT(*) FROM resources WHERE key = 'k-1' AND state = 'active'`
			err := rt.Main(t.Context(), func(ctx context.Context) error {
				got := mustCall(t, ctx, rt, "/create/payments", sim.ResourceRequest{Key: "k-1", Order: "o-1", Customer: "c-1", Amount: 10})
				require.True(t, got.Transient, "the caller's outcome is unknown: %s", got.Err)
				require.True(t, got.TimedOut, "the caller timed out: %s", got.Err)
				eventually(t, ctx, rt, "the late request to be applied", func() bool { return count(t, rt, sim.Payments, held) == 1 })
				created := scalar(t, rt, sim.Payments, `SELECT created_at FROM resources WHERE key = 'k-1'`)
				require.Greater(t, created, got.Deadline, "applied after the caller's deadline")
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, []string{"orders->payments: POST /resources @ request 1 of o-1 on orders->payments"}, sites(rt, "late"))
		})
	}
}

// TestDuplicateRequest: a request the network delivers twice is applied
// twice at a service without keys and once at an idempotent one, while the
// caller gets one answer, on every runtime.
func TestDuplicateRequest(t *testing.T) {
	for _, r := range faultRuntimes {
		t.Run(r.name, func(t *testing.T) {
			rt := startRuntime(t, r, "duplicate", 1)
			for _, l := range []sim.Link{{From: sim.Orders, To: sim.Payments}, {From: sim.Orders, To: sim.Shipping}} {
				require.NoError(t, rt.SetLinkFaults(l, sim.LinkFaults{Duplicate: 1, DuplicateDelay: 50 * time.Millisecond}))
			}
			const made = `SELECT COUNT(*) FROM resources WHERE order_ref = 'o-1'`
			const arrived = `SELECT COUNT(*) FROM log WHERE op = 'create' AND order_ref = 'o-1'`
			err := rt.Main(t.Context(), func(ctx context.Context) error {
				for _, service := range []string{sim.Payments, sim.Shipping} {
					got := mustCall(t, ctx, rt, "/create/"+service, sim.ResourceRequest{Key: "k-1", Order: "o-1", Customer: "c-1", Amount: 10})
					require.Empty(t, got.Err, "%s: the caller gets the first copy's answer", service)
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
			require.Equal(t, []string{
				"orders->payments: POST /resources @ request 1 of o-1 on orders->payments",
				"orders->shipping: POST /resources @ request 1 of o-1 on orders->shipping",
			}, sites(rt, "duplicate"))
		})
	}
}

// TestReorderedRequest: a request held back is overtaken by the next one
// on its link, on every runtime: the service sees the second first.
func TestReorderedRequest(t *testing.T) {
	l := sim.Link{From: sim.Orders, To: sim.Payments}
	f := sim.LinkFaults{Reorder: 0.5, ReorderHold: time.Minute} // held until overtaken
	seed := int64(1)                                            // a seed whose first request is reordered and second is not
	for ; f.SiteFault(seed, sim.RequestSite(l, "o-1", 1)) != sim.SiteReorder || f.SiteFault(seed, sim.RequestSite(l, "o-2", 1)) != sim.SiteClean; seed++ {
	}
	for _, r := range faultRuntimes {
		t.Run(r.name, func(t *testing.T) {
			rt := startRuntime(t, r, "reorder", seed)
			require.NoError(t, rt.SetLinkFaults(l, f))
			err := rt.Main(t.Context(), func(ctx context.Context) error {
				var done atomic.Bool
				rt.Go(sim.Client, "first", func(ctx context.Context) {
					got, err := call(ctx, rt, "/create/payments", sim.ResourceRequest{Key: "k-1", Order: "o-1", Customer: "c-1", Amount: 1})
					if assert.NoError(t, err) {
						assert.Empty(t, got.Err, "the held request is answered once overtaken")
					}
					done.Store(true)
				})
				eventually(t, ctx, rt, "the first request to be held", func() bool { return len(sites(rt, "reorder")) == 1 })
				got := mustCall(t, ctx, rt, "/create/payments", sim.ResourceRequest{Key: "k-2", Order: "o-2", Customer: "c-1", Amount: 1})
				require.Empty(t, got.Err)
				eventually(t, ctx, rt, "the first request to be answered", done.Load)
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, []string{"orders->payments: POST /resources @ request 1 of o-1 on orders->payments"}, sites(rt, "reorder"))
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
// every runtime: under isolation process its process is killed when it
// asks the runner after the commit.
func TestConsumerCrashBetweenCommits(t *testing.T) {
	crash := sim.NodeFaults{CommitCrash: 1, Downtime: 200 * time.Millisecond}
	seed := int64(1) // a seed whose first commit at rewards crashes just after it
	for ; ; seed++ {
		if hit, before := crash.CommitFault(seed, sim.CommitSite(sim.Rewards, "", 1)); hit && !before {
			break
		}
	}
	for _, r := range faultRuntimes {
		for _, world := range []string{"consumer-two-transactions", "consumer-one-transaction"} {
			t.Run(r.name+"/"+world, func(t *testing.T) {
				rt := startRuntime(t, r, world, seed)
				require.NoError(t, rt.SetNodeFaults(sim.Rewards, crash))
				credited := func(event string) int {
					return count(t, rt, sim.Rewards, `SELECT COUNT(*) FROM credits WHERE event_id = ?`, event)
				}
				err := rt.Main(t.Context(), func(ctx context.Context) error {
					publish := func(id string) {
						got := mustCall(t, ctx, rt, "/publish/"+id, nil)
						require.Empty(t, got.Err, "published %s", id)
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
				if world == "consumer-two-transactions" {
					require.Zero(t, credited("e-1"), "the credit after the crash was never committed: e-1 is lost")
				} else {
					require.Equal(t, 1, credited("e-1"), "inbox and credit committed together: e-1 credited once")
				}
				require.Equal(t, 1, credited("e-2"))
			})
		}
	}
}
