package patterns_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// clock is a runtime whose only working part is its clock.
type clock struct {
	sim.Runtime
	now time.Time
}

func (c *clock) Now() time.Time { return c.now }

// TestAbandoned: work waits two call timeouts before recovery takes it
// over, but after a restart what the dead incarnation left waits one.
func TestAbandoned(t *testing.T) {
	const timeout = 2 * time.Second
	epoch := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name          string
		sinceStart    time.Duration // how long the incarnation has run
		wantAbandoned time.Duration
	}{
		{"just restarted: one timeout after its last step", 0, timeout},
		{"half a timeout up: still one", timeout / 2, timeout},
		{"up 1.5 timeouts: work from before the start", 3 * timeout / 2, 3 * timeout / 2},
		{"up long: two timeouts, a driver may be alive", 10 * timeout, 2 * timeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{now: epoch}
			n := sim.NewNode(sim.Orders, nil, c, context.Background(), nil)
			n.SetCallTimeout(timeout)
			c.now = epoch.Add(tc.sinceStart)
			require.Equal(t, tc.wantAbandoned, patterns.Abandoned(n))
		})
	}
}
