package results

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFigure(t *testing.T) {
	r := &Record{
		Metrics: json.RawMessage(`{"availability":0.75,"converged":true,"latency_p50_ms":3}`),
		Host:    Host{Extra: map[string]float64{"latency_p50_ms": 9, "converge_ms": 120}},
	}
	tests := []struct {
		name   string
		want   float64
		wantOK bool
	}{
		{"availability", 0.75, true},   // in the metrics
		{"converge_ms", 120, true},     // only under host.extra
		{"latency_p50_ms", 3, true},    // the metrics win
		{"converged", 0, false},        // not a number
		{"throughput_per_s", 0, false}, // nowhere
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := r.Figure(tt.name)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.want, v)
		})
	}
	v, ok := (&Record{}).Figure("availability")
	require.False(t, ok, "a record without metrics or extras holds nothing")
	require.Zero(t, v)
}
