package sim

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestChanceIsUniform guards the business-rejection roll: keys that differ
// in their last character must not land together.
func TestChanceIsUniform(t *testing.T) {
	const n = 10000
	var below [10]int
	for i := 0; i < n; i++ {
		c := chance(1, Payments, fmt.Sprintf("o%06d", i))
		require.GreaterOrEqual(t, c, 0.0)
		require.Less(t, c, 1.0)
		below[int(c*10)]++
	}
	// chance is a hash, the same on every run. Were it a uniform draw, a
	// decile's count would be Binomial(10000, 0.1): standard deviation 30,
	// so ±200 is over 6.6 of them and one of the ten deciles misses it with
	// probability < 1e-9.
	for decile, count := range below {
		require.InDelta(t, n/10, count, n/50, "decile %d has %d of %d", decile, count, n)
	}
	require.Equal(t, chance(7, Payments, "o1"), chance(7, Payments, "o1"), "a function of its inputs")
	require.NotEqual(t, chance(7, Payments, "o1"), chance(8, Payments, "o1"), "the seed matters")
}
