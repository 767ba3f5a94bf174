package scenarios

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// quickJetStream is quickLive with NATS JetStream as the broker: small,
// since every run starts a NATS server.
func quickJetStream(pattern, faults string) Config {
	cfg := quickLive(pattern, faults)
	cfg.Workload = Workload{Txns: 30, Concurrency: 6, Attempts: 3, Customers: 10}
	cfg.World.Broker = sim.BrokerJetStream
	return cfg
}

// TestJetStream runs patterns on the live runtime with JetStream as the
// broker, under faults on the link to it: the outbox stays clean, the
// naive dual write loses events and the checker, reading the stream, says
// so. The record names the broker.
func TestJetStream(t *testing.T) {
	t.Run("outbox survives lost responses from the broker", func(t *testing.T) {
		res := execute(t, quickJetStream("outbox", "lost-response=orders-broker:0.5,lost-response=rewards-broker:0.3"))
		require.Equal(t, checker.VerdictClean, res.Report.Verdict, res.Report.String())
		require.Positive(t, res.Faults().Counts["lost-response orders->broker"], "a publish's answer was lost")
		require.Len(t, res.State.Offsets, 1, "the consumer's committed offset was read from the stream")
		confirmed := 0
		for _, o := range res.State.Orders {
			if o.State == sim.OrderConfirmed {
				confirmed++
			}
		}
		require.Len(t, res.State.Events, confirmed,
			"one event per confirmed order in the stream: the relay published again each event whose answer was lost, and the duplicate window dropped the copy")

		path := filepath.Join(t.TempDir(), "record.json")
		rec, err := res.WriteRecord(context.Background(), path)
		require.NoError(t, err)
		var cfg Config
		require.NoError(t, json.Unmarshal(rec.Config, &cfg))
		require.Equal(t, sim.BrokerJetStream, cfg.World.Broker, "the record names the broker")
		stored, err := ReadRun(context.Background(), path)
		require.NoError(t, err)
		spec, err := patterns.Lookup("outbox")
		require.NoError(t, err)
		require.Equal(t, res.Report.Verdict, checker.Check(stored.History, stored.State, spec.Reads).Verdict, "txchaos check judges the record alike")
	})
	t.Run("naive dual write loses events while the broker is unreachable", func(t *testing.T) {
		res := execute(t, quickJetStream("naive-dual-write", "drop-request=orders-broker:1,crash=broker:0.05"))
		require.Equal(t, checker.VerdictAnomalies, res.Report.Verdict)
		lost := res.Report.Anomalies[checker.LostEvent]
		require.Positive(t, lost.Count, res.Report.String())
		require.Contains(t, lost.Examples[0], "no order.confirmed event in the broker log")
	})
}

// TestJetStreamOnlyLive checks that a run refuses JetStream on the det
// runtime, naming both.
func TestJetStreamOnlyLive(t *testing.T) {
	cfg := quickJetStream("outbox", "")
	cfg.Runtime = "det"
	err := cfg.Validate()
	require.ErrorContains(t, err, "broker: jetstream runs on the live runtime only (runtime is det)")
}
