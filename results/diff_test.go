package results

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDiff(t *testing.T) {
	base := func() *Record {
		return &Record{
			Pattern: "outbox", Runtime: RuntimeDet, Seed: 3,
			Config:    json.RawMessage(`{"txns":3}`),
			Anomalies: map[string]int{"stuck": 0},
			Verdict:   VerdictClean,
			History:   json.RawMessage(`[{"key":"o1","return":100},{"key":"o2","return":200}]`),
			Host:      Host{Hostname: "a", WallSeconds: 1},
		}
	}
	tests := []struct {
		name   string
		change func(r *Record)
		want   string
	}{
		{"the same run on another host", func(r *Record) { r.Host = Host{Hostname: "b", WallSeconds: 9} }, ""},
		{"a value deep in the history", func(r *Record) {
			r.History = json.RawMessage(`[{"key":"o1","return":100},{"key":"o2","return":250}]`)
		}, "history[1].return: 200 vs 250"},
		{"a shorter history", func(r *Record) { r.History = json.RawMessage(`[{"key":"o1","return":100}]`) }, "history: 2 items vs 1"},
		{"an anomaly class", func(r *Record) { r.Anomalies = map[string]int{"stuck": 0, "lost-event": 1} }, "anomalies.lost-event: missing vs 1"},
		{"the first of two differences", func(r *Record) { r.Seed, r.Verdict = 4, VerdictUnknown }, "seed: 3 vs 4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := base()
			tc.change(b)
			got, err := Diff(base(), b)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
