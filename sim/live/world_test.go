package live_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
)

// publisher is an orders service that confirms every checkout and
// publishes its event: enough to drive the standard world's broker and
// rewards consumer.
func publisher(n *sim.Node) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		var co sim.Checkout
		if !sim.ReadJSON(w, r, &co) {
			return
		}
		key := r.Header.Get("Idempotency-Key")
		e := sim.Event{Topic: sim.OrdersTopic, EventID: "confirmed-" + key, Type: sim.OrderConfirmedEvent, Order: key, Customer: co.Customer, Amount: co.Amount}
		if _, err := n.Broker().Publish(r.Context(), e); err != nil {
			sim.WriteError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
			return
		}
		sim.WriteJSON(w, http.StatusOK, sim.Order{Key: key, Customer: co.Customer, Amount: co.Amount, State: sim.OrderConfirmed})
	})
	return mux, nil
}

// TestCheckoutWorld runs the standard world: the client's checkout goes
// through orders to the broker, and the rewards consumer, a process polling
// the broker over its own link, credits it; after a crash of rewards the
// consumer runs again.
func TestCheckoutWorld(t *testing.T) {
	cfg := sim.DefaultConfig()
	cfg.CallTimeout = callTimeout
	r := start(t, sim.NewWorld(cfg, sim.ServiceFunc(publisher)))
	ctx := context.Background()
	points := func() int64 {
		db, err := sim.OpenReadOnly(r.DBPath(sim.Rewards))
		require.NoError(t, err)
		defer db.Close()
		var p int64
		require.NoError(t, db.QueryRow(`SELECT COALESCE(SUM(points), 0) FROM credits`).Scan(&p))
		return p
	}

	o, err := r.Node(sim.Client).Orders().Checkout(ctx, "o1", sim.Checkout{Customer: "c1", SKU: "sku-1", Qty: 1, Amount: 30})
	require.NoError(t, err)
	require.Equal(t, sim.OrderConfirmed, o.State)
	waitFor(t, func() bool { return points() == 30 }, "the consumer credits the confirmed order")

	require.NoError(t, r.Crash(sim.Rewards, 50*time.Millisecond))
	_, err = r.Node(sim.Client).Orders().Checkout(ctx, "o2", sim.Checkout{Customer: "c1", SKU: "sku-1", Qty: 1, Amount: 12})
	require.NoError(t, err)
	waitFor(t, func() bool { return points() == 42 }, "the restarted consumer picks up where it acknowledged")
}
