package jetstream_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

var toBroker = sim.Link{From: sim.Orders, To: sim.Broker}

// TestLinkFaults checks that the faults of the link to the broker mean
// the same with both brokers: a dropped publish never reaches it, a
// publish whose answer is lost was appended, a partition is a drop, and
// an injected error fails before the broker acts.
func TestLinkFaults(t *testing.T) {
	for _, broker := range brokers {
		for _, tc := range []struct {
			name     string
			link     sim.LinkFaults
			node     sim.NodeFaults
			appended bool
			fault    string
		}{
			{"drop-request", sim.LinkFaults{DropRequest: 1}, sim.NodeFaults{}, false, "drop-request"},
			{"lost-response", sim.LinkFaults{LostResponse: 1}, sim.NodeFaults{}, true, "lost-response"},
			{"partition", sim.LinkFaults{Down: true}, sim.NodeFaults{}, false, "partition"},
			{"error", sim.LinkFaults{}, sim.NodeFaults{ErrorRate: 1}, false, "error"},
		} {
			t.Run(broker+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				w := world(broker, nil)
				w.Config.CallTimeout = 300 * time.Millisecond // the faulted call waits it out
				r := start(t, w)
				require.NoError(t, r.SetLinkFaults(toBroker, tc.link))
				require.NoError(t, r.SetNodeFaults(sim.Broker, tc.node))
				_, err := r.Node(sim.Orders).Broker().Publish(t.Context(), event(1))
				require.True(t, sim.IsTransient(err), "the publish fails with a transient error: %v", err)
				require.NoError(t, r.Heal(t.Context()))

				s := state(t, r)
				if tc.appended {
					require.Equal(t, []string{"e1"}, eventIDs(s.Events), "the broker acted")
				} else {
					require.Empty(t, s.Events, "the broker never acted")
				}
				var hits []string
				for _, a := range r.Applied() {
					hits = append(hits, a.Fault)
				}
				require.Equal(t, []string{tc.fault}, hits)

				off, err := r.Node(sim.Orders).Broker().Publish(t.Context(), event(2))
				require.NoError(t, err, "healed")
				require.Positive(t, off)
			})
		}
	}
}

// TestCrash checks that a crash of the broker node means the same with
// both brokers: calls fail while it is down, and it restarts on its files
// with every event it acknowledged.
func TestCrash(t *testing.T) {
	for _, broker := range brokers {
		t.Run(broker, func(t *testing.T) {
			t.Parallel()
			r := start(t, world(broker, nil))
			b := r.Node(sim.Orders).Broker()
			_, err := b.Publish(t.Context(), event(1))
			require.NoError(t, err)

			require.NoError(t, r.Crash(sim.Broker, 0))
			_, err = b.Publish(t.Context(), event(2))
			require.True(t, sim.IsTransient(err), "down: %v", err)
			_, err = b.Poll(t.Context(), sim.OrdersTopic, "g", 10)
			require.True(t, sim.IsTransient(err), "down: %v", err)

			require.NoError(t, r.Restart(t.Context(), sim.Broker))
			_, err = b.Publish(t.Context(), event(3))
			require.NoError(t, err)
			got, err := b.Poll(t.Context(), sim.OrdersTopic, "g", 10)
			require.NoError(t, err)
			require.Equal(t, []string{"e1", "e3"}, ids(got), "the acknowledged event survived the crash")
		})
	}
}

// TestCrashBeforeOrAfterActing crashes the broker on every request,
// before or after it acts (the node's crash rate): with both brokers,
// exactly the publishes it crashed after acting on were appended. Before
// or after is a fair coin: none of 24 crashes after acting has
// probability 2⁻²⁴ ≈ 6e-8 for any seed.
func TestCrashBeforeOrAfterActing(t *testing.T) {
	for _, broker := range brokers {
		t.Run(broker, func(t *testing.T) {
			t.Parallel()
			r := start(t, world(broker, nil))
			b := r.Node(sim.Orders).Broker()
			require.NoError(t, r.SetNodeFaults(sim.Broker, sim.NodeFaults{CrashRate: 1, Downtime: 20 * time.Millisecond}))
			for i := 1; i <= 24; i++ {
				_, err := b.Publish(t.Context(), event(i))
				require.Error(t, err, "publish %d: every request crashes the broker", i)
				// Let it restart after its downtime, on the runtime's clock: a
				// call to a broker down is no roll of its faults.
				require.NoError(t, r.Sleep(t.Context(), 100*time.Millisecond))
			}
			require.NoError(t, r.Heal(t.Context()))

			var after []string
			for _, a := range r.Applied() {
				if a.Fault == "crash" && strings.HasPrefix(a.Detail, "after") {
					after = append(after, a.Detail)
				}
			}
			require.NotEmpty(t, after, "some crash came after acting")
			require.Len(t, state(t, r).Events, len(after), "one event per crash after acting (%s)", strings.Join(after, "; "))
		})
	}
}

// eventIDs lists the ids of the broker's events the checker read.
func eventIDs(rows []checker.EventRow) []string {
	var out []string
	for _, e := range rows {
		out = append(out, e.EventID)
	}
	return out
}

// TestStopWhileDown stops the world with the broker crashed: the checker
// still reads what the broker's files hold.
func TestStopWhileDown(t *testing.T) {
	for _, broker := range brokers {
		t.Run(broker, func(t *testing.T) {
			t.Parallel()
			r := start(t, world(broker, nil))
			_, err := r.Node(sim.Orders).Broker().Publish(t.Context(), event(1))
			require.NoError(t, err)
			require.NoError(t, r.Crash(sim.Broker, 0))
			require.NoError(t, r.Stop())
			s, err := checker.ReadState(t.Context(), map[string]string{sim.Broker: r.DBPath(sim.Broker)}, nil)
			require.NoError(t, err)
			require.Equal(t, []string{"e1"}, eventIDs(s.Events))
		})
	}
}
