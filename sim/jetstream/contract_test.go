package jetstream_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/jetstream"
	"github.com/txchaos/txchaos/sim/live"
)

// callTimeout bounds the tests' calls to the broker: long, since no test
// here waits one out, and a busy machine can be slow to create a consumer.
const callTimeout = 2 * time.Second

// brokers are the brokers every contract test runs against.
var brokers = []string{sim.BrokerLog, sim.BrokerJetStream}

// world is a broker and an orders node that does nothing itself: the
// tests call the broker from its node.
func world(broker string, window *time.Duration) sim.World {
	return sim.World{
		Config: sim.Config{CallTimeout: callTimeout, Broker: broker, DedupeWindow: window},
		Services: map[string]sim.Service{
			sim.Orders: sim.ServiceFunc(func(*sim.Node) (http.Handler, error) { return http.NewServeMux(), nil }),
			sim.Broker: sim.BrokerService{},
		},
		Links: []sim.Link{{From: sim.Orders, To: sim.Broker}},
	}
}

// start runs w on the live runtime until the test ends.
func start(t testing.TB, w sim.World) *live.Runtime {
	t.Helper()
	r, err := live.Start(t.Context(), w, live.Options{Dir: t.TempDir(), Seed: 7})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Stop()) })
	return r
}

// event is the i-th test event of topic orders.
func event(i int) sim.Event {
	return sim.Event{Topic: sim.OrdersTopic, EventID: fmt.Sprintf("e%d", i), Type: sim.OrderConfirmedEvent, Order: fmt.Sprintf("o%d", i), Customer: "c1", Amount: int64(i)}
}

// ids lists events' ids.
func ids(es []sim.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.EventID)
	}
	return out
}

// state is the broker's side of the checker's state of r, after a Sync.
func state(t *testing.T, r *live.Runtime) *checker.State {
	t.Helper()
	_, err := r.Sync()
	require.NoError(t, err)
	s, err := checker.ReadState(t.Context(), map[string]string{sim.Broker: r.DBPath(sim.Broker)}, nil)
	require.NoError(t, err)
	require.NotContains(t, s.Missing, sim.Broker)
	return s
}

// TestContract runs the broker contract on the log and on JetStream:
// publish, poll, acknowledge, an unacknowledged event delivered again, and
// the checker's view of the broker.
func TestContract(t *testing.T) {
	for _, broker := range brokers {
		t.Run(broker, func(t *testing.T) {
			t.Parallel()
			r := start(t, world(broker, nil))
			ctx := t.Context()
			b := r.Node(sim.Orders).Broker()

			var offsets []int64
			for i := 1; i <= 3; i++ {
				off, err := b.Publish(ctx, event(i))
				require.NoError(t, err)
				offsets = append(offsets, off)
			}
			require.True(t, slices.IsSorted(offsets) && offsets[0] < offsets[2], "offsets grow: %v", offsets)

			got, err := b.Poll(ctx, sim.OrdersTopic, "g", 10)
			require.NoError(t, err)
			require.Equal(t, []string{"e1", "e2", "e3"}, ids(got))
			for i, e := range got {
				want := event(i + 1)
				want.Offset = offsets[i]
				require.Equal(t, want, e)
			}

			// Acknowledge up to e2: e3 alone is delivered again — at once by
			// the log, after the acknowledgement wait by JetStream.
			require.NoError(t, b.Ack(ctx, sim.Ack{Topic: sim.OrdersTopic, Group: "g", Offset: offsets[1]}))
			var again []sim.Event
			require.Eventually(t, func() bool {
				again, err = b.Poll(ctx, sim.OrdersTopic, "g", 10)
				require.NoError(t, err)
				return len(again) > 0
			}, 10*jetstream.AckWait, 20*time.Millisecond, "the unacknowledged event is delivered again")
			require.Equal(t, []string{"e3"}, ids(again))

			// Another group has its own position.
			other, err := b.Poll(ctx, sim.OrdersTopic, "h", 1)
			require.NoError(t, err)
			require.Equal(t, []string{"e1"}, ids(other))

			require.NoError(t, b.Ack(ctx, sim.Ack{Topic: sim.OrdersTopic, Group: "g", Offset: offsets[2]}))
			s := state(t, r)
			require.Len(t, s.Events, 3)
			for i, e := range s.Events {
				require.Equal(t, offsets[i], e.Offset)
				require.Equal(t, fmt.Sprintf("e%d", i+1), e.EventID)
				require.Equal(t, sim.OrderConfirmedEvent, e.Type)
			}
			require.Contains(t, s.Offsets, checker.OffsetRow{Topic: sim.OrdersTopic, Group: "g", Offset: offsets[2]}, "the checker reads g's committed offset")

			time.Sleep(jetstream.AckWait + 200*time.Millisecond)
			none, err := b.Poll(ctx, sim.OrdersTopic, "g", 10)
			require.NoError(t, err)
			require.Empty(t, none, "an acknowledged event is not delivered again")
		})
	}
}

// TestBadArguments checks that both brokers refuse what the log refuses,
// with a rejection (never a transient failure, which a caller would
// retry).
func TestBadArguments(t *testing.T) {
	for _, broker := range brokers {
		t.Run(broker, func(t *testing.T) {
			t.Parallel()
			b := start(t, world(broker, nil)).Node(sim.Orders).Broker()
			ctx := t.Context()
			_, err := b.Publish(ctx, sim.Event{Topic: sim.OrdersTopic, Type: sim.OrderConfirmedEvent})
			require.True(t, sim.IsRejected(err), "no event id: %v", err)
			_, err = b.Poll(ctx, sim.OrdersTopic, "g", 0)
			require.True(t, sim.IsRejected(err), "max 0: %v", err)
			err = b.Ack(ctx, sim.Ack{Topic: sim.OrdersTopic, Group: "g"})
			require.True(t, sim.IsRejected(err), "offset 0: %v", err)
		})
	}
}

func duration(d time.Duration) *time.Duration { return &d }

// TestDuplicateWindow publishes one event id twice: the log and JetStream
// without a window append both; JetStream suppresses the second within its
// window and appends it again once the window has passed.
func TestDuplicateWindow(t *testing.T) {
	for _, tc := range []struct {
		name     string
		broker   string
		window   *time.Duration
		suppress bool
	}{
		{"log", sim.BrokerLog, nil, false},
		{"jetstream-default-window", sim.BrokerJetStream, nil, true},
		{"jetstream-window-off", sim.BrokerJetStream, duration(0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := start(t, world(tc.broker, tc.window))
			b := r.Node(sim.Orders).Broker()
			first, err := b.Publish(t.Context(), event(1))
			require.NoError(t, err)
			second, err := b.Publish(t.Context(), event(1))
			require.NoError(t, err)
			s := state(t, r)
			if tc.suppress {
				require.Equal(t, first, second, "a duplicate's offset is the first copy's")
				require.Len(t, s.Events, 1)
			} else {
				require.Less(t, first, second)
				require.Len(t, s.Events, 2)
			}
		})
	}

	t.Run("jetstream-window-passes", func(t *testing.T) {
		t.Parallel()
		window := 300 * time.Millisecond
		r := start(t, world(sim.BrokerJetStream, &window))
		b := r.Node(sim.Orders).Broker()
		at := r.Now() // the window is the world's: on the runtime's clock
		first, err := b.Publish(t.Context(), event(1))
		require.NoError(t, err)
		var again int64
		require.Eventually(t, func() bool {
			off, err := b.Publish(t.Context(), event(1))
			require.NoError(t, err)
			if off == first {
				return false
			}
			again = off
			return true
		}, time.Minute, 20*time.Millisecond, "still suppressed long after the window") // a minute guards against a hang
		require.GreaterOrEqual(t, r.Now().Sub(at), window, "appended again before the window passed")
		require.Greater(t, again, first)
	})
}
