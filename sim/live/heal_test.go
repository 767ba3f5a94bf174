package live_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
)

// TestHealRescindsDecidedCrash: a crash the node's faults decided for a
// request before Heal, to land once its service has acted, does not land
// after Heal: the request is answered and the node stays up. Every request
// crashes (rate 1), half before the service acts and half after; the test
// sends requests until one reaches the service (a crash after), which
// happens within 200 requests but with probability 2^-200 per seed.
func TestHealRescindsDecidedCrash(t *testing.T) {
	s := newStore()
	r := start(t, s.world())
	require.NoError(t, r.SetNodeFaults(sim.Orders, sim.NodeFaults{CrashRate: 1, Downtime: 5 * time.Millisecond}))
	client := r.Node(sim.Client)
	for i := range 200 {
		name := fmt.Sprintf("w%d", i)
		type answer struct {
			status int
			err    error
		}
		done := make(chan answer, 1)
		go func() {
			status, err := callWithin(context.Background(), client, sim.Orders, http.MethodPost, "/wait/"+name, hangGuard)
			done <- answer{status, err}
		}()
		select {
		case a := <-done: // crashed before the service acted, or the node is down
			require.Error(t, a.err, "request %s: every request crashes", name)
			continue
		case <-s.held:
		}
		require.NoError(t, r.Heal(context.Background()))
		s.free <- struct{}{}
		a := <-done
		require.NoError(t, a.err, "the crash after %s was decided before Heal: it must not land after it", name)
		require.Equal(t, http.StatusCreated, a.status)
		for _, f := range r.Applied() {
			require.NotContains(t, f.Detail, "/wait/"+name, "a crash landed after Heal: %+v", f)
		}
		status, err := call(context.Background(), client, sim.Orders, http.MethodGet, "/rows/"+name)
		require.NoError(t, err, "the healed node answers")
		require.Equal(t, http.StatusOK, status, "the row %s the service committed is there", name)
		return
	}
	t.Fatal("no request of 200 reached the service")
}
