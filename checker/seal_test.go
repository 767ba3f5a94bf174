package checker_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
)

// TestSeal: a sealed state unseals equal to the state, field by field:
// rows, and nil lists and maps told from empty ones.
func TestSeal(t *testing.T) {
	full := &checker.State{
		Orders:    []checker.OrderRow{{Key: "o1", Customer: "c1", SKU: "s", Qty: 1, Amount: 5, State: "confirmed", UpdatedAt: 7}, {Key: "o2", State: "failed", Reason: "declined"}},
		Resources: map[string][]checker.ResourceRow{"payments": {{ID: 1, Key: "k", Order: "o1", State: "active", CreatedAt: 3}}, "shipping": {}},
		Log:       map[string][]checker.LogRow{"payments": {{Seq: 1, Op: "create", Order: "o1", Outcome: "created"}}, "inventory": nil},
		Stock:     []checker.StockRow{{SKU: "s", Initial: 9, Available: 8}},
		Events:    []checker.EventRow{},
		Offsets:   nil,
		Credits:   []checker.CreditRow{{ID: 1, EventID: "e", Offset: 1, Order: "o1", Customer: "c1", Points: 5}},
		Pending:   map[string][]string{"unsent": {}, "open": nil, "keys": {"a", "b"}},
		Missing:   map[string]string{},
	}
	long := &checker.State{Orders: []checker.OrderRow{}, Resources: map[string][]checker.ResourceRow{"payments": {}, "shipping": {}}, Log: map[string][]checker.LogRow{}}
	for i := range 10_000 { // several chunks a table
		o := fmt.Sprintf("o%06d", i)
		long.Orders = append(long.Orders, checker.OrderRow{Key: o, State: "confirmed", UpdatedAt: int64(i)})
		long.Resources["payments"] = append(long.Resources["payments"], checker.ResourceRow{ID: int64(i), Order: o})
		if i%3 == 0 {
			long.Resources["shipping"] = append(long.Resources["shipping"], checker.ResourceRow{ID: int64(i), Order: o, Cancels: 1})
		}
	}
	for _, s := range []*checker.State{full, long, {}, {Missing: map[string]string{"broker": "down"}, Resources: map[string][]checker.ResourceRow{}}} {
		z, err := checker.Seal(s)
		require.NoError(t, err)
		got, err := z.State()
		require.NoError(t, err)
		require.Equal(t, s, got)
	}
}
