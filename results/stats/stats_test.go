package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/results"
)

// TestWilson checks the interval against published values (Newcombe 1998,
// method 3) and its bounds at 0 and n.
func TestWilson(t *testing.T) {
	for _, tt := range []struct {
		k, n   int
		lo, hi float64
	}{
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0, 0.1611},
		{1, 29, 0.0061, 0.1718},
		{0, 3, 0, 0.5615},
		{3, 3, 0.4385, 1},
	} {
		i := Wilson(tt.k, tt.n)
		require.InDelta(t, float64(tt.k)/float64(tt.n), i.Est, 1e-12)
		require.InDelta(t, tt.lo, i.Lo, 5e-5, "%d/%d", tt.k, tt.n)
		require.InDelta(t, tt.hi, i.Hi, 5e-5, "%d/%d", tt.k, tt.n)
	}
	require.False(t, Wilson(0, 0).Valid())
	require.False(t, Wilson(4, 3).Valid())
}

// TestPoisson checks the exact interval against Garwood's table (the
// gamma quantiles, computed independently from the incomplete gamma
// function's series).
func TestPoisson(t *testing.T) {
	for _, tt := range []struct {
		k      int
		lo, hi float64
	}{
		{0, 0, 3.6889},
		{1, 0.0253, 5.5716},
		{2, 0.2422, 7.2247},
		{5, 1.6235, 11.6683},
		{10, 4.7954, 18.3904},
		{100, 81.3640, 121.6268},
	} {
		i := Poisson(tt.k)
		require.Equal(t, float64(tt.k), i.Est)
		require.InDelta(t, tt.lo, i.Lo, 5e-4, "k=%d", tt.k)
		require.InDelta(t, tt.hi, i.Hi, 5e-4, "k=%d", tt.k)
	}
	big := Poisson(20000) // no overflow, close to the normal approximation
	require.InDelta(t, 20000-z*math.Sqrt(20000), big.Lo, 2)
	require.InDelta(t, 20000+z*math.Sqrt(20000), big.Hi, 2)
}

func rec(t *testing.T, seed int64, verdict string, checkouts int, anomalies map[string]int, ev *results.Evidence) *results.Record {
	t.Helper()
	m, err := json.Marshal(map[string]any{"checkouts": checkouts})
	require.NoError(t, err)
	return &results.Record{Seed: seed, Runtime: "det", Verdict: verdict, Metrics: m, Anomalies: anomalies, Evidence: ev}
}

func TestSummarize(t *testing.T) {
	ev := func(landed ...int) *results.Evidence {
		e := &results.Evidence{NotExercised: []string{}}
		for i, l := range landed {
			f := fmt.Sprintf("crashpoint=p%d:0.2", i)
			e.Faults = append(e.Faults, results.FaultEvidence{Fault: f, Applied: l, Landed: l})
			if l == 0 {
				e.NotExercised = append(e.NotExercised, f)
			}
		}
		return e
	}
	c := Summarize([]*results.Record{
		rec(t, 1, results.VerdictAnomalies, 40, map[string]int{"lost-event": 3, "stuck": 1}, ev(2, 0, 0)),
		rec(t, 2, results.VerdictClean, 40, map[string]int{"lost-event": 0}, ev(1, 1, 0)),
		rec(t, 3, results.VerdictUnknown, 20, map[string]int{}, nil),
	})
	require.Equal(t, 3, c.Runs)
	require.Equal(t, 1, c.Anomalous)
	require.Equal(t, 1, c.Unknown)
	require.Equal(t, 100, c.Checkouts)
	require.Equal(t, 4, c.Anomalies)
	require.Equal(t, []int64{1, 2, 3}, c.Seeds)
	require.Equal(t, []string{"det"}, c.Runtimes)
	require.Equal(t, 1, c.NoEvidence)
	require.Equal(t, []Fault{{"crashpoint=p0:0.2", 2, 2}, {"crashpoint=p1:0.2", 2, 1}, {"crashpoint=p2:0.2", 2, 0}}, c.Faults)
	require.Equal(t, []string{"crashpoint=p2:0.2"}, c.NotExercised())

	require.Equal(t, Wilson(1, 3), c.RunsWithAnomalies())
	all := c.Per100("")
	require.InDelta(t, 4, all.Est, 1e-9, "4 anomalies in 100 checkouts")
	require.Equal(t, Poisson(4).Scale(1), all)
	require.InDelta(t, 3, c.Per100("lost-event").Est, 1e-9)
	require.False(t, Summarize(nil).Per100("").Valid())
}
