package eventsourcing

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
)

func TestFold(t *testing.T) {
	co := sim.Checkout{Customer: "c1", SKU: "sku-1", Qty: 2, Amount: 30}
	placed := Event{Type: Placed, Data: Data{Checkout: &co}}
	t.Run("no events: nothing placed", func(t *testing.T) {
		s := fold(nil)
		require.Zero(t, s.Version)
		require.Empty(t, s.Status)
	})
	t.Run("placed and every step made: confirmed", func(t *testing.T) {
		s := fold([]Event{placed,
			{Type: "Charged", Data: Data{Step: "charge", ID: 7}},
			{Type: "Reserved", Data: Data{Step: "reservation", ID: 3}},
		})
		require.Equal(t, 3, s.Version)
		require.Equal(t, sim.OrderPending, s.Status)
		require.Equal(t, map[string]int64{"charge": 7, "reservation": 3}, s.Made)
		require.Equal(t, co, s.Checkout)

		s = fold([]Event{placed, {Type: "Charged", Data: Data{ID: 7}}, {Type: "Reserved", Data: Data{ID: 3}},
			{Type: "Shipped", Data: Data{ID: 1}}, {Type: Confirmed, Data: Data{Checkout: &co}}})
		require.Equal(t, sim.OrderConfirmed, s.Status)
		require.Equal(t, sim.Order{Key: "k", Customer: "c1", SKU: "sku-1", Qty: 2, Amount: 30, State: sim.OrderConfirmed}, s.order("k"))
	})
	t.Run("a refused step: compensating while pending, then failed", func(t *testing.T) {
		events := []Event{placed,
			{Type: "Charged", Data: Data{ID: 7}},
			{Type: Rejected, Data: Data{Step: "reservation", Reason: "out_of_stock"}},
		}
		s := fold(events)
		require.Equal(t, sim.OrderPending, s.Status)
		require.Equal(t, "out_of_stock", s.Refused)
		require.False(t, s.Undone["charge"])

		events = append(events, Event{Type: "Refunded", Data: Data{Step: "charge"}}, Event{Type: Failed, Data: Data{Reason: "out_of_stock"}})
		s = fold(events)
		require.True(t, s.Undone["charge"])
		require.Equal(t, sim.OrderFailed, s.Status)
		require.Equal(t, "out_of_stock", s.order("k").Reason)
		require.Equal(t, 5, s.Version)
	})
	t.Run("fold is pure: the same events, the same state", func(t *testing.T) {
		events := []Event{placed, {Type: "Charged", Data: Data{ID: 7}}}
		require.Equal(t, fold(events), fold(events))
	})
}
