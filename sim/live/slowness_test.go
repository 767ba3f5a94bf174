package live_test

import (
	"context"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/live"
)

// TestSlowness runs a world whose clock runs four times slower than the
// wall clock: every duration asked of the runtime — a sleep, a timeout, a
// crash's downtime, injected latency, a late request's delay, a reordered
// request's hold — lasts four times longer in real
// time, and the runtime's clock advances by what was asked. Only lower
// bounds are checked: a busy machine can make anything later, never
// earlier.
func TestSlowness(t *testing.T) {
	const slowness = 4
	s := newStore()
	w := s.world()
	w.Config.CallTimeout = 50 * time.Millisecond
	r, err := live.Start(context.Background(), w, live.Options{Dir: t.TempDir(), Seed: 1, Slowness: slowness})
	require.NoError(t, err)
	defer func() { require.NoError(t, r.Stop()) }()
	require.Equal(t, float64(slowness), r.Slowness())
	ctx := context.Background()
	client := r.Node(sim.Client)
	// elapsed runs fn and returns how long it took on the runtime's clock
	// and on the wall clock.
	elapsed := func(fn func()) (onClock, onWall time.Duration) {
		c, w := r.Now(), time.Now()
		fn()
		return r.Now().Sub(c), time.Since(w)
	}
	const d = 50 * time.Millisecond
	atLeast := func(what string, onClock, onWall time.Duration) {
		t.Helper()
		t.Logf("%s: %v on the runtime's clock, %v on the wall clock", what, onClock, onWall)
		require.GreaterOrEqual(t, onClock, d-time.Millisecond, "%s: on the runtime's clock", what)
		require.GreaterOrEqual(t, onWall, slowness*d, "%s: on the wall clock", what)
	}

	onClock, onWall := elapsed(func() { require.NoError(t, r.Sleep(ctx, d)) })
	atLeast("Sleep", onClock, onWall)

	onClock, onWall = elapsed(func() {
		tctx, cancel := r.WithTimeout(ctx, d)
		defer cancel()
		<-tctx.Done()
	})
	atLeast("WithTimeout", onClock, onWall)

	require.NoError(t, r.SetLinkFaults(w.Links[0], sim.LinkFaults{Latency: d}))
	onClock, onWall = elapsed(func() {
		status, err := call(ctx, client, sim.Orders, http.MethodPost, "/rows/late")
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, status)
	})
	atLeast("injected latency", onClock, onWall)

	// A late request's delay, and a reordered request's hold when nothing
	// overtakes it, are durations of the runtime's clock too.
	for _, f := range []struct {
		what, row string
		faults    sim.LinkFaults
	}{
		{"a late request's delay", "late", sim.LinkFaults{Late: 1, LateDelay: d}},
		{"a reordered request's hold", "held", sim.LinkFaults{Reorder: 1, ReorderHold: d}},
	} {
		require.NoError(t, r.SetLinkFaults(w.Links[0], f.faults))
		onClock, onWall = elapsed(func() {
			status, err := call(ctx, client, sim.Orders, http.MethodPost, "/rows/"+f.row)
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, status)
		})
		atLeast(f.what, onClock, onWall)
	}
	require.NoError(t, r.SetLinkFaults(w.Links[0], sim.LinkFaults{}))

	// The world's call timeout: a dropped request waits it out.
	require.NoError(t, r.SetLinkFaults(w.Links[0], sim.LinkFaults{DropRequest: 1}))
	onClock, onWall = elapsed(func() {
		_, err := client.Orders().Get(ctx, "o1")
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
	atLeast("the world's call timeout", onClock, onWall)
	require.NoError(t, r.Heal(ctx))

	onClock, onWall = elapsed(func() {
		require.NoError(t, r.Crash(sim.Orders, d))
		waitFor(t, func() bool { return s.starts.Load() == 2 }, "the node restarts after its downtime")
	})
	atLeast("a crash's downtime", onClock, onWall)

	for _, a := range r.Applied() {
		require.Less(t, a.At, time.Duration(float64(time.Since(r.Epoch()))/slowness)+time.Millisecond,
			"%s at %v: applied faults are timed on the runtime's clock", a.Fault, a.At)
	}
}

// TestSlownessOption refuses a slowness that is not a factor from 1 to
// MaxSlowness, and measures one when it is 0.
func TestSlownessOption(t *testing.T) {
	for _, bad := range []float64{-1, 0.5, math.NaN(), math.Inf(1), live.MaxSlowness + 1} {
		_, err := live.Start(context.Background(), paymentsWorld(), live.Options{Dir: t.TempDir(), Slowness: bad})
		require.ErrorContains(t, err, "Options.Slowness", "%v", bad)
		require.ErrorContains(t, err, "want 0 (measure it) or a factor between 1 and 100")
	}
	r := start(t, paymentsWorld())
	require.GreaterOrEqual(t, r.Slowness(), 1.0)
	require.LessOrEqual(t, r.Slowness(), float64(live.MaxSlowness))
}
