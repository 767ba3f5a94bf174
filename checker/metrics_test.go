package checker_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

func TestMetrics(t *testing.T) {
	ms := time.Millisecond
	in := sim.Checkout{Customer: "c1", SKU: "sku-1", Qty: 1, Amount: 10}
	op := func(client int, kind, key string, attempt int, call, ret time.Duration, out checker.Outcome, state string) checker.Op {
		return checker.Op{Client: client, Kind: kind, Key: key, Attempt: attempt, Input: in, Call: call, Return: ret, Outcome: out, State: state}
	}
	tests := []struct {
		name string
		h    []checker.Op
		want checker.Metrics
	}{
		{name: "empty", h: nil, want: checker.Metrics{}},
		{
			name: "retries, rejections, timeouts and reads",
			h: []checker.Op{
				op(1, checker.KindCheckout, "a", 1, 0, 10*ms, checker.OutcomeOK, sim.OrderConfirmed),
				op(2, checker.KindCheckout, "b", 1, 5*ms, 105*ms, checker.OutcomeUnknown, ""),
				op(3, checker.KindCheckout, "c", 1, 20*ms, 40*ms, checker.OutcomeRejected, ""),
				op(4, checker.KindCheckout, "d", 1, 30*ms, 1030*ms, checker.OutcomeUnknown, ""),
				op(5, checker.KindCheckout, "e", 1, 40*ms, 50*ms, checker.OutcomeOK, sim.OrderPending),
				op(1, checker.KindCheckout, "f", 1, 50*ms, 60*ms, checker.OutcomeOK, sim.OrderFailed),
				op(2, checker.KindCheckout, "b", 2, 110*ms, 130*ms, checker.OutcomeOK, sim.OrderConfirmed),
				op(5, checker.KindGet, "e", 0, 200*ms, 210*ms, checker.OutcomeOK, sim.OrderConfirmed),
			},
			want: checker.Metrics{
				Ops: 8, Attempts: 7, Checkouts: 6,
				Confirmed: 2, Rejected: 2, Pending: 1, Unknown: 1, // a, b | c, f | e | d
				Availability: 5.0 / 7,
				LatencyP50:   10 * ms, // of 10, 10, 10, 20, 20
				LatencyP99:   20 * ms,
				Duration:     1030 * ms,
				Throughput:   5 / 1.03,
			},
		},
		{
			name: "the last attempt decides, even when it answered first",
			h: []checker.Op{
				op(1, checker.KindCheckout, "a", 2, 0, 10*ms, checker.OutcomeUnknown, ""),
				op(2, checker.KindCheckout, "a", 1, 0, 20*ms, checker.OutcomeOK, sim.OrderConfirmed),
			},
			want: checker.Metrics{
				Ops: 2, Attempts: 2, Checkouts: 1, Unknown: 1,
				Availability: 0.5, LatencyP50: 20 * ms, LatencyP99: 20 * ms,
				Duration: 20 * ms, Throughput: 50,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checker.Check(tt.h, &checker.State{}, checker.Linearizable).Metrics
			require.InDelta(t, tt.want.Throughput, got.Throughput, 1e-9)
			require.InDelta(t, tt.want.Availability, got.Availability, 1e-9)
			got.Throughput, got.Availability = tt.want.Throughput, tt.want.Availability
			require.Equal(t, tt.want, got)
		})
	}
}

func TestMetricsJSON(t *testing.T) {
	m := checker.Metrics{Ops: 1, LatencyP50: 1500 * time.Microsecond, LatencyP99: 2 * time.Millisecond, Duration: time.Second}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	require.JSONEq(t, `{"ops":1,"attempts":0,"checkouts":0,"confirmed":0,"rejected":0,"pending":0,"unknown":0,
		"availability":0,"latency_p50":1500000,"latency_p99":2000000,"duration":1000000000,"throughput":0,
		"latency_p50_ms":1.5,"latency_p99_ms":2,"duration_ms":1000}`, string(b))
	var back checker.Metrics
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, m, back)
}

func TestHistory(t *testing.T) {
	var h checker.History
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			for i := range 50 {
				h.Add(checker.Op{Client: 3 - c, Kind: checker.KindCheckout, Call: time.Duration(50-i) * time.Millisecond})
			}
		})
	}
	wg.Wait()
	ops := h.Ops()
	require.Len(t, ops, 200)
	for i := 1; i < len(ops); i++ {
		a, b := ops[i-1], ops[i]
		require.True(t, a.Call < b.Call || a.Call == b.Call && a.Client <= b.Client, "ops %d and %d out of order", i-1, i)
	}
	ops[0].Key = "changed"
	require.Empty(t, h.Ops()[0].Key, "Ops returns a copy")
}

// TestHistorySealed: a history longer than a chunk (sealed: encoded and
// compressed) gives back every operation as it was added, each field
// whole, in the order of their calls, ties in the order they were added.
func TestHistorySealed(t *testing.T) {
	var h checker.History
	var want []checker.Op
	const n = 3*4096 + 17 // three sealed chunks and part of a fourth
	for i := range n {
		op := checker.Op{Client: i % 7, Kind: checker.KindCheckout, Key: fmt.Sprintf("o%06d", i/3), Attempt: i%3 + 1,
			Input: sim.Checkout{Customer: fmt.Sprintf("c%03d", i%11), SKU: "sku-1", Qty: int64(i % 4), Amount: int64(i)},
			Call:  time.Duration(n-i/2) * time.Millisecond, Return: time.Duration(n+i) * time.Millisecond, Outcome: checker.OutcomeUnknown,
			Reason: fmt.Sprintf("timeout %d", i%5), AtRest: i%2 == 0}
		if i%4 == 0 {
			op.Kind, op.Outcome, op.State, op.Reason, op.Points = checker.KindBalance, checker.OutcomeOK, "", "", int64(i)
		}
		h.Add(op)
		want = append(want, op)
	}
	sort.SliceStable(want, func(i, j int) bool {
		if want[i].Call != want[j].Call {
			return want[i].Call < want[j].Call
		}
		return want[i].Client < want[j].Client
	})
	require.Equal(t, want, h.Ops())
	require.Equal(t, want, h.Ops(), "Ops gives the same operations again")
}
