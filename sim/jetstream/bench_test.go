package jetstream_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
)

// BenchmarkCrashRestart measures a crash of the broker node and its
// restart on its files until it takes calls again (one publish), with
// each broker holding 100 events: how long the broker is away beyond a
// crash's downtime.
func BenchmarkCrashRestart(b *testing.B) {
	for _, broker := range brokers {
		b.Run(broker, func(b *testing.B) {
			r := start(b, world(broker, nil))
			c := r.Node(sim.Orders).Broker()
			for i := range 100 {
				_, err := c.Publish(b.Context(), event(i))
				require.NoError(b, err)
			}
			b.ResetTimer()
			for b.Loop() {
				require.NoError(b, r.Crash(sim.Broker, 0))
				require.NoError(b, r.Restart(b.Context(), sim.Broker))
				_, err := c.Publish(b.Context(), event(0))
				require.NoError(b, err)
			}
		})
	}
}

// BenchmarkPublish measures one publish from orders to the broker, over
// the link's Toxiproxy lane: an HTTP request to the log, a NATS connection
// and a JetStream publish.
func BenchmarkPublish(b *testing.B) {
	for _, broker := range brokers {
		b.Run(broker, func(b *testing.B) {
			c := start(b, world(broker, nil)).Node(sim.Orders).Broker()
			i := 0
			for b.Loop() {
				i++
				_, err := c.Publish(b.Context(), event(i))
				require.NoError(b, err)
			}
		})
	}
}
