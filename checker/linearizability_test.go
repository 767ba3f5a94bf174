package checker_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

const ms = time.Millisecond

// checkout is a checkout attempt of key k by client c from call to ret
// (milliseconds) with its outcome and answered state. Every order is
// alice's, worth 10.
func checkout(c int, k string, attempt int, call, ret int, outcome checker.Outcome, state string) checker.Op {
	return checker.Op{
		Client: c, Kind: checker.KindCheckout, Key: k, Attempt: attempt,
		Input: sim.Checkout{Customer: "alice", SKU: "sku-1", Qty: 1, Amount: 10},
		Call:  time.Duration(call) * ms, Return: time.Duration(ret) * ms, Outcome: outcome, State: state,
	}
}

// get is a read of key k by client c.
func get(c int, k string, call, ret int, outcome checker.Outcome, state string) checker.Op {
	return checker.Op{Client: c, Kind: checker.KindGet, Key: k, Call: time.Duration(call) * ms, Return: time.Duration(ret) * ms, Outcome: outcome, State: state}
}

// balance is a read of customer's points at rest.
func balance(c int, customer string, call, ret int, points int64) checker.Op {
	return checker.Op{Client: c, Kind: checker.KindBalance, Key: customer, Call: time.Duration(call) * ms, Return: time.Duration(ret) * ms, Outcome: checker.OutcomeOK, Points: points, AtRest: true}
}

const (
	ok       = checker.OutcomeOK
	rejected = checker.OutcomeRejected
	unknown  = checker.OutcomeUnknown
	absent   = checker.StateAbsent
	pending  = sim.OrderPending
	conf     = sim.OrderConfirmed
	failed   = sim.OrderFailed
)

// atRest marks a read as taken at rest.
func atRest(op checker.Op) checker.Op {
	op.AtRest = true
	return op
}

// TestLinearizability judges histories of checkouts and reads under the
// strongest read promise: non-linearizable for what the checkouts
// answered, and the weakest read model each bad read broke for the reads.
func TestLinearizability(t *testing.T) {
	tests := []struct {
		name string
		h    []checker.Op
		// class is the class found (none when empty), want its count and
		// example a substring of its first example.
		class   checker.Class
		want    int
		example string
	}{
		{
			name: "a confirmed checkout, then a read that sees it",
			h:    []checker.Op{checkout(0, "k1", 1, 0, 10, ok, conf), get(0, "k1", 11, 12, ok, conf)},
		},
		{
			name: "a lost response, then a retry answered confirmed",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 500, unknown, ""), checkout(0, "k1", 2, 550, 560, ok, conf),
				get(0, "k1", 561, 562, ok, conf),
			},
		},
		{
			name: "a lost response, then a read before the order exists and a retry that creates it",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 500, unknown, ""), get(0, "k1", 510, 511, ok, absent),
				checkout(0, "k1", 2, 550, 560, ok, conf), get(0, "k1", 561, 562, ok, conf),
			},
		},
		{
			name: "a lost response whose checkout failed, seen by the read",
			h:    []checker.Op{checkout(0, "k1", 1, 0, 500, unknown, ""), get(0, "k1", 510, 511, ok, failed)},
		},
		{
			name: "a retry answered failed after a confirmed answer",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 10, ok, conf), checkout(0, "k1", 2, 20, 30, rejected, failed),
			},
			class: checker.NonLinearizable, want: 1,
			example: "order k1: checkout#2 answered failed at 30ms, but checkout#1 answered confirmed at 10ms (history-k1.html)",
		},
		{
			name:  "a read that sees absent after its own checkout answered confirmed",
			h:     []checker.Op{checkout(0, "k1", 1, 0, 10, ok, conf), get(0, "k1", 11, 12, ok, absent)},
			class: checker.SessionStaleRead, want: 1,
			example: "order k1: client 0 read absent at 11ms, 1ms after its own checkout#1 answered confirmed at 10ms (history-k1.html)",
		},
		{
			name:  "a read that sees absent after another client's checkout answered confirmed",
			h:     []checker.Op{checkout(0, "k1", 1, 0, 10, ok, conf), get(1, "k1", 11, 12, ok, absent)},
			class: checker.StaleRead, want: 1,
			example: "order k1: client 1 read absent at 11ms, 1ms after client 0's checkout#1 answered confirmed at 10ms (history-k1.html)",
		},
		{
			name: "a read that sees pending before the decision",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 500, unknown, "in_progress"), get(0, "k1", 510, 511, ok, pending),
				checkout(0, "k1", 2, 600, 610, ok, conf), get(0, "k1", 611, 612, ok, conf),
			},
		},
		{
			name: "a read that sees pending after the decision",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 10, rejected, failed), get(0, "k1", 11, 12, ok, pending),
			},
			class: checker.SessionStaleRead, want: 1,
			example: "client 0 read pending at 11ms, 1ms after its own checkout#1 answered failed at 10ms",
		},
		{
			name: "concurrent reads, one before and one after the decision",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 100, ok, conf),
				get(1, "k1", 10, 60, ok, conf), get(2, "k1", 20, 50, ok, pending), get(3, "k1", 30, 40, ok, absent),
			},
		},
		{
			name: "sequential reads of two clients that see the decision undone",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 100, ok, conf),
				get(1, "k1", 10, 20, ok, conf), get(2, "k1", 30, 40, ok, pending),
			},
			class: checker.StaleRead, want: 1,
			example: "client 2 read pending at 30ms, 10ms after client 1's read saw confirmed at 20ms",
		},
		{
			name: "a client's reads that go back: monotonic reads broken",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 100, ok, conf),
				get(1, "k1", 10, 20, ok, conf), get(1, "k1", 30, 40, ok, pending),
			},
			class: checker.SessionStaleRead, want: 1,
			example: "client 1 read pending at 30ms, 10ms after its own read saw confirmed at 20ms",
		},
		{
			name: "a read overlapping the checkout sees its decision before the answer",
			h:    []checker.Op{get(1, "k1", 0, 100, ok, conf), checkout(0, "k1", 1, 10, 50, ok, conf)},
		},
		{
			name:  "a read that sees an order no checkout was sent for",
			h:     []checker.Op{get(1, "k1", 0, 10, ok, conf), checkout(0, "k1", 1, 20, 50, ok, conf)},
			class: checker.StaleRead, want: 1,
			example: "client 1 read confirmed at 0s before any checkout was sent",
		},
		{
			name: "a read that sees the other decision while the checkout is in flight",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 100, ok, conf), get(1, "k1", 10, 20, ok, failed),
			},
			class: checker.StaleRead, want: 1,
			example: "client 1 read failed at 10ms, but checkout#1 answered confirmed at 100ms",
		},
		{
			name: "a rejected checkout, then a read that sees it failed",
			h:    []checker.Op{checkout(0, "k1", 1, 0, 10, rejected, failed), get(0, "k1", 11, 12, ok, failed)},
		},
		{
			name:  "a rejected checkout, then a read that finds no order",
			h:     []checker.Op{checkout(0, "k1", 1, 0, 10, rejected, failed), get(0, "k1", 11, 12, ok, absent)},
			class: checker.SessionStaleRead, want: 1,
			example: "client 0 read absent at 11ms, 1ms after its own checkout#1 answered failed at 10ms",
		},
		{
			name: "a read whose outcome is unknown says nothing",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 10, ok, conf), get(0, "k1", 11, 500, unknown, ""),
				get(0, "k1", 501, 502, ok, conf),
			},
		},
		{
			name: "keys are judged apart",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 10, ok, conf), checkout(1, "k2", 1, 0, 10, ok, conf),
				get(0, "k1", 11, 12, ok, conf), get(1, "k2", 11, 12, ok, absent),
				checkout(2, "k3", 1, 0, 10, rejected, failed), get(2, "k3", 11, 12, ok, conf),
			},
			class: checker.SessionStaleRead, want: 2,
			example: "order k2: client 1 read absent",
		},
		{
			name: "a read at rest that finds a confirmed order absent has not converged",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 10, ok, conf), get(0, "k1", 11, 12, ok, conf),
				atRest(get(5, "k1", 900, 901, ok, absent)),
			},
			class: checker.UnconvergedRead, want: 1,
			example: "order k1: read absent at rest at 900ms, 890ms after client 0's checkout#1 answered confirmed at 10ms",
		},
		{
			name: "a balance at rest counts every confirmed order",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 10, ok, conf), checkout(0, "k2", 1, 20, 30, rejected, failed),
				checkout(0, "k3", 1, 40, 540, unknown, ""), get(0, "k3", 600, 601, ok, conf),
				balance(1, "alice", 700, 701, 20),
			},
		},
		{
			name: "a balance at rest that misses a confirmed order",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 10, ok, conf), checkout(0, "k2", 1, 20, 30, ok, conf),
				balance(1, "alice", 700, 701, 10),
			},
			class: checker.UnconvergedRead, want: 1,
			example: "customer alice: balance 10 points at 700ms, but the clients had been told orders worth 20 were confirmed (k1 10, k2 10): 10 missing (history-customer-alice.html)",
		},
		{
			name: "a balance at rest that counts a failed order or one twice",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 10, ok, conf), checkout(0, "k2", 1, 20, 30, rejected, failed),
				balance(1, "alice", 700, 701, 20),
			},
			class: checker.UnconvergedRead, want: 1,
			example: "customer alice: balance 20 points at 700ms, more than the 10 its orders not answered failed are worth: 10 too many",
		},
		{
			name: "a balance during the run that misses its own client's confirmed order",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 10, ok, conf), checkout(1, "k2", 1, 0, 10, ok, conf),
				{Client: 0, Kind: checker.KindBalance, Key: "alice", Call: 20 * ms, Return: 21 * ms, Outcome: ok, Points: 0},
			},
			class: checker.SessionStaleRead, want: 1,
			example: "customer alice: balance 0 points at 20ms, but the clients had been told orders worth 20 were confirmed (k1 10, k2 10): 20 missing",
		},
		{
			name: "a balance during the run that misses only another client's confirmed order",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 10, ok, conf), checkout(1, "k2", 1, 0, 10, ok, conf),
				{Client: 0, Kind: checker.KindBalance, Key: "alice", Call: 20 * ms, Return: 21 * ms, Outcome: ok, Points: 10},
			},
			class: checker.StaleRead, want: 1,
			example: "customer alice: balance 10 points at 20ms, but the clients had been told orders worth 20 were confirmed (k1 10, k2 10): 10 missing",
		},
		{
			name: "an order whose fate no client learned may count either way",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 10, ok, conf), checkout(0, "k2", 1, 20, 520, unknown, ""),
				get(0, "k2", 600, 900, unknown, ""),
				balance(1, "alice", 1000, 1001, 20), balance(1, "alice", 1002, 1003, 10),
			},
		},
		{
			name: "a balance read before the confirmation need not count it",
			h: []checker.Op{
				checkout(0, "k1", 1, 0, 100, ok, conf), balance(1, "alice", 50, 60, 0),
			},
		},
	}
	for _, fast := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/fast-path=%t", tt.name, fast), func(t *testing.T) {
				defer checker.SetFastPath(fast)()
				r := checker.Check(tt.h, nil, checker.Linearizable)
				require.NotContains(t, r.Unchecked, checker.NonLinearizable, "the history alone judges it")
				for _, c := range []checker.Class{checker.NonLinearizable, checker.StaleRead, checker.SessionStaleRead, checker.UnconvergedRead} {
					if c != tt.class {
						require.Zero(t, r.Anomalies[c].Count, "%s: %v", c, r.Anomalies[c].Examples)
					}
				}
				require.Empty(t, r.Reads.Unpromised, "a linearizable promise promises every read model")
				if tt.class == "" {
					require.Empty(t, r.Linearizability)
					require.Equal(t, checker.ReadModels, r.Reads.Held)
					return
				}
				f := r.Anomalies[tt.class]
				require.Equal(t, tt.want, f.Count, "%v", f.Examples)
				require.Contains(t, f.Examples[0], tt.example)
				require.NotEmpty(t, r.Linearizability)
				for _, p := range r.Linearizability {
					require.Equal(t, checker.VerdictAnomalies, p.Verdict)
					require.Contains(t, strings.Join(f.Examples, "\n"), "("+p.File+")", "every failing partition's file is named in an example")
				}
			})
		}
	}
}

func TestLinearizabilityVerdicts(t *testing.T) {
	h := []checker.Op{checkout(0, "k1", 1, 0, 10, ok, conf), checkout(1, "k1", 2, 11, 12, rejected, failed)}
	t.Run("not linearizable is an anomaly, with or without state", func(t *testing.T) {
		r := checker.Check(h, &checker.State{}, checker.Linearizable)
		require.Equal(t, checker.VerdictAnomalies, r.Verdict)
		require.Equal(t, []checker.Partition{{Key: "k1", Verdict: checker.VerdictAnomalies, File: "history-k1.html"}}, r.Linearizability)
		require.Contains(t, r.String(), "non-linearizable=1 (order k1: checkout#2 answered failed")
	})
	t.Run("the report's partitions survive JSON", func(t *testing.T) {
		r := checker.Check(h, nil, checker.Linearizable)
		b, err := json.Marshal(r)
		require.NoError(t, err)
		require.Contains(t, string(b), `"linearizability":[{"key":"k1","verdict":"anomalies","file":"history-k1.html"}]`)
		var back checker.Report
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, r.Linearizability, back.Linearizability)
	})
	t.Run("a partition that times out leaves the class unjudged, never clean", func(t *testing.T) {
		defer checker.SetLinTimeout(20 * ms)()
		r := checker.Check(hardPartition("k9", 40), &checker.State{}, checker.Linearizable)
		require.Equal(t, checker.VerdictUnknown, r.Verdict, r.String())
		require.Equal(t, []checker.Class{checker.NonLinearizable}, r.Unchecked)
		require.Zero(t, r.Anomalies[checker.NonLinearizable].Count)
		require.Contains(t, r.Reason, "not judged: non-linearizable: non-linearizable: porcupine timed out after 20ms on 1 partition(s): order k9")
		require.Equal(t, []checker.Partition{{Key: "k9", Verdict: checker.VerdictUnknown, File: "history-k9.html"}}, r.Linearizability)
	})
	t.Run("a timeout beside an anomaly: anomalies, and the reason says what was not judged", func(t *testing.T) {
		defer checker.SetLinTimeout(20 * ms)()
		r := checker.Check(append(hardPartition("k9", 40), h...), &checker.State{}, checker.Linearizable)
		require.Equal(t, checker.VerdictAnomalies, r.Verdict, r.String())
		require.Equal(t, 1, r.Anomalies[checker.NonLinearizable].Count)
		require.Empty(t, r.Unchecked)
		require.Contains(t, r.Reason, "not judged in full: non-linearizable: porcupine timed out")
		require.Len(t, r.Linearizability, 2)
	})
	t.Run("the same hard partition is judged given time", func(t *testing.T) {
		r := checker.Check(hardPartition("k9", 8), nil, checker.Linearizable)
		require.Equal(t, 1, r.Anomalies[checker.NonLinearizable].Count, r.String())
	})
}

// hardPartition is a key's checkouts that are not linearizable, but only
// after porcupine has tried every subset of n concurrent attempts whose
// outcome is unknown: a search exponential in n.
func hardPartition(k string, n int) []checker.Op {
	h := []checker.Op{checkout(0, k, 1, 0, 10, ok, conf)}
	for i := range n {
		h = append(h, checkout(1+i, k, 1, 1, 1000, unknown, ""))
	}
	return append(h, checkout(0, k, 2, 20, 30, rejected, failed))
}

func TestVisualize(t *testing.T) {
	h := []checker.Op{
		checkout(0, "o-17", 1, 0, 500, unknown, ""), checkout(0, "o-17", 2, 550, 560, ok, conf),
		get(3, "o-17", 600, 601, ok, absent),
		checkout(1, "o-18", 1, 0, 10, ok, conf),
		balance(4, "alice", 700, 701, 10),
	}
	applied := []sim.Applied{
		{At: 200 * ms, Fault: "lost-response", Target: "client->orders", Detail: "POST /checkout"},
		{At: 300 * ms, Fault: "drop-request", Target: "client->orders", Detail: "GET /orders/o-18"}, // another order's
		{At: 555 * ms, Fault: "crash", Target: "orders"},
		{At: 580 * ms, Fault: "latency", Target: "orders->payments"},         // while no op of o-17 was in flight
		{At: 60 * time.Second, Fault: "partition", Target: "orders->broker"}, // long after
	}
	r := checker.Check(h, nil, checker.Linearizable)
	require.Equal(t, 1, r.Anomalies[checker.StaleRead].Count, r.String())
	require.Equal(t, 1, r.Anomalies[checker.UnconvergedRead].Count, r.String())
	require.Len(t, r.Linearizability, 2)

	var b bytes.Buffer
	require.NoError(t, checker.Visualize(&b, h, r.Linearizability[0], applied))
	html := b.String()
	require.True(t, strings.HasPrefix(html, "<!doctype html>"), html[:min(len(html), 100)])
	// The data is JSON in the page: '>' is written \u003e.
	for _, want := range []string{
		"order o-17", "checkout#2 → confirmed", "get → absent", "outcome unknown",
		`lost-response client-\u003eorders at 200ms POST /checkout`, "crash orders at 555ms",
	} {
		require.True(t, strings.Contains(html, want), "the page lacks %q", want)
	}
	for _, not := range []string{"GET /orders/o-18", `latency orders-\u003epayments`, `partition orders-\u003ebroker`} {
		require.False(t, strings.Contains(html, not), "the page draws %q: only faults while the key's operations were in flight, and not another order's requests", not)
	}

	p := r.Linearizability[1]
	require.Equal(t, checker.Partition{Key: "alice", Balance: true, Verdict: checker.VerdictAnomalies, File: "history-customer-alice.html"}, p)
	b.Reset()
	require.NoError(t, checker.Visualize(&b, h, p, nil))
	require.True(t, strings.Contains(b.String(), "balance alice → 10 (may count 20 to 20)"))
	require.True(t, strings.Contains(b.String(), "o-18 checkout#1 → confirmed"))

	require.ErrorContains(t, checker.Visualize(&b, h, checker.Partition{Key: "nope"}, nil), `order key "nope" has no checkout or read`)
	require.ErrorContains(t, checker.Visualize(&b, h, checker.Partition{Key: "bob", Balance: true}, nil), `customer "bob" has no balance read or order`)
}

// A customer's drawing stays quick with dozens of orders in flight at
// once, each with a first attempt whose answer was lost: porcupine must
// not try every subset of them (drawn as one model of all the orders, it
// would).
func TestVisualizeBusyCustomer(t *testing.T) {
	defer checker.SetLinTimeout(time.Minute)()
	var h []checker.Op
	for i := range 40 {
		k := fmt.Sprintf("k%02d", i)
		h = append(h, checkout(i, k, 1, i, 500+i, unknown, ""), checkout(i, k, 2, 600+i, 610+i, ok, conf), get(40, k, 1000+i, 1000+i, ok, conf))
	}
	h = append(h, balance(41, "alice", 2000, 2001, 410)) // 40 orders worth 10: one credited twice
	r := checker.Check(h, nil, checker.Linearizable)
	require.Equal(t, 1, r.Anomalies[checker.UnconvergedRead].Count, r.String())
	start := time.Now()
	var b bytes.Buffer
	require.NoError(t, checker.Visualize(&b, h, r.Linearizability[0], nil))
	// Trying every subset of 40 orders would run into the minute of
	// SetLinTimeout above; well under it, however busy the machine, shows
	// it did not.
	require.Less(t, time.Since(start), 30*time.Second)
	require.True(t, strings.Contains(b.String(), "balance alice → 410 (may count 400 to 400)"))
}

func TestPartitionFileNames(t *testing.T) {
	h := []checker.Op{checkout(0, "a/b c", 1, 0, 10, ok, conf), get(0, "a/b c", 11, 12, ok, absent)}
	r := checker.Check(h, nil, checker.Linearizable)
	require.Equal(t, "history-a_b_c.html", r.Linearizability[0].File)
}

// benchHistory is n keys' client history, about four operations each, as
// the workload makes them under faults: a read before the order exists or
// a checkout whose response is lost (a tenth), a checkout with the same
// key, a read after it, a read at rest; a tenth of the keys rejected, and
// a twentieth with a read racing the checkout.
func benchHistory(n int) []checker.Op {
	rng := rand.New(rand.NewPCG(1, 2))
	h := make([]checker.Op, 0, 4*n)
	for i := range n {
		k := fmt.Sprintf("o%06d", i)
		c := i % 16
		t0 := i * 3
		final := conf
		if rng.IntN(10) == 0 {
			final = failed
		}
		if rng.IntN(10) == 0 {
			h = append(h, checkout(c, k, 1, t0, t0+500, unknown, ""))
			t0 += 550
		} else {
			h = append(h, get(c, k, t0, t0+1, ok, absent))
		}
		if final == failed {
			h = append(h, checkout(c, k, 2, t0+2, t0+12, rejected, failed))
		} else {
			h = append(h, checkout(c, k, 2, t0+2, t0+12, ok, conf))
		}
		if rng.IntN(20) == 0 {
			// A read racing the checkout sees its decision: linearizable,
			// but not in call order, so porcupine searches it.
			h = append(h, get(17, k, t0+1, t0+13, ok, final))
		}
		h = append(h, get(c, k, t0+13, t0+14, ok, final), atRest(get(16, k, 1_000_000+i, 1_000_000+i+1, ok, final)))
	}
	return h
}

// BenchmarkLinearizability checks about 100k client operations (25k keys
// × 4) for linearizability, with the call-order fast path and with
// porcupine on every partition, and for a baseline a clean final state of
// the same orders through every other check: ns/op is per history, ops/s
// per client operation.
func BenchmarkLinearizability(b *testing.B) {
	h := benchHistory(25_000)
	for _, fast := range []bool{true, false} {
		name := "fast-path+porcupine"
		if !fast {
			name = "porcupine-every-partition"
		}
		b.Run(name, func(b *testing.B) {
			defer checker.SetFastPath(fast)()
			for b.Loop() {
				r := checker.Check(h, nil, checker.Linearizable)
				if len(r.Reads.Held) != len(checker.ReadModels) || r.Anomalies[checker.NonLinearizable].Count != 0 {
					b.Fatal(r.String())
				}
			}
			b.ReportMetric(float64(len(h)*b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
	b.Run("baseline-state-checks", func(b *testing.B) {
		s := benchState(h)
		for b.Loop() {
			checker.Check(nil, s, checker.Linearizable)
		}
		b.ReportMetric(float64(len(h)*b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}

// benchState is the final state a clean run of h leaves behind.
func benchState(h []checker.Op) *checker.State {
	s := &checker.State{Resources: map[string][]checker.ResourceRow{}}
	done := map[string]bool{}
	var id int64
	for _, op := range h {
		if op.Kind != checker.KindGet || op.Client != 16 || done[op.Key] {
			continue
		}
		done[op.Key] = true
		id++
		s.Orders = append(s.Orders, checker.OrderRow{Key: op.Key, Customer: "alice", SKU: "sku-1", Qty: 1, Amount: 10, State: op.State})
		if op.State != conf {
			continue
		}
		for _, svc := range []string{sim.Payments, sim.Inventory, sim.Shipping} {
			s.Resources[svc] = append(s.Resources[svc], checker.ResourceRow{ID: id, Order: op.Key, Customer: "alice", SKU: "sku-1", Qty: 1, Amount: 10, State: sim.ResourceActive})
		}
		s.Events = append(s.Events, checker.EventRow{Offset: id, Topic: sim.OrdersTopic, EventID: fmt.Sprint("e", id), Type: sim.OrderConfirmedEvent, Order: op.Key, Customer: "alice", Amount: 10})
		s.Credits = append(s.Credits, checker.CreditRow{ID: id, EventID: fmt.Sprint("e", id), Offset: id, Order: op.Key, Customer: "alice", Points: 10})
	}
	s.Offsets = []checker.OffsetRow{{Topic: sim.OrdersTopic, Group: sim.RewardsGroup, Offset: id}}
	return s
}
