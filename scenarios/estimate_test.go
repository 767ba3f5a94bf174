package scenarios

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEstimateSweep: the estimate of a det sweep's simulated length, made
// from one run of each pattern, is near the length its cells then run (on
// the det clock, so the same on any machine): the probes run the cells'
// own orders here, and each pattern's cells differ only in faults and
// seed. A live sweep is expected to take its simulated length; det less.
func TestEstimateSweep(t *testing.T) {
	ctx := context.Background()
	s := tinySweep()
	s.Base.Runtime = "det"
	s.Seeds = 2
	cells, err := s.Cells()
	require.NoError(t, err)
	e, err := EstimateSweep(ctx, s, cells)
	require.NoError(t, err)
	require.Equal(t, len(cells), e.Cells)
	require.Positive(t, e.Det)
	require.Equal(t, e.Simulated/2, e.Wall("live", 2))
	require.Equal(t, e.Det, e.Wall("det", 0), "parallel 0 is one at a time")

	done, err := RunSweep(ctx, s, t.TempDir(), SweepOptions{})
	require.NoError(t, err)
	var ran time.Duration
	for _, c := range done {
		var m struct {
			Duration float64 `json:"duration_s"`
		}
		require.NoError(t, json.Unmarshal(c.Record.Metrics, &m))
		require.Positive(t, m.Duration, "cell %s", c.Cell.ID)
		ran += time.Duration(m.Duration * float64(time.Second))
	}
	t.Logf("estimated %s simulated, ran %s", e.Simulated, ran)
	require.InDelta(t, 1, float64(e.Simulated)/float64(ran), 0.5, "estimated %s, the cells ran %s", e.Simulated, ran)
}
