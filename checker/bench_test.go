package checker_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

// benchRun is a run of n orders as a det run of outbox under lost answers
// leaves it, built in memory: a client history (each order's checkout,
// retried when its answer is lost, a read of it, a neighbour's read, its
// read at rest, each customer's balance at rest) and the state as
// ReadState reads it (orders by key, resources by id, log rows by seq,
// events by offset, credits by id), with one order in 20 failed and
// compensated and one in 50 with an answer lost. The run is clean.
func benchRun(n int) ([]checker.Op, *checker.State) {
	const customers = 20
	s := &checker.State{
		Resources: map[string][]checker.ResourceRow{},
		Log:       map[string][]checker.LogRow{},
		Pending:   map[string][]string{"unsent outbox rows": {}},
	}
	var h []checker.Op
	points := map[string]int64{}
	reserved := map[string]int64{}
	seq := map[string]int64{}
	logRow := func(svc, op, key, order, outcome string, id int64, at time.Duration) {
		seq[svc]++
		s.Log[svc] = append(s.Log[svc], checker.LogRow{Seq: seq[svc], Op: op, Key: key, ResourceID: id, Order: order, Outcome: outcome, At: int64(at)})
	}
	var offset int64
	at := time.Duration(0)
	for i := 1; i <= n; i++ {
		key := fmt.Sprintf("o%06d", i)
		customer := fmt.Sprintf("c%03d", i%customers+1)
		sku := sim.SKUs[i%len(sim.SKUs)]
		co := sim.Checkout{Customer: customer, SKU: sku, Qty: 1, Amount: int64(i%20+1) * 5}
		state := sim.OrderConfirmed
		if i%20 == 0 {
			state = sim.OrderFailed
		}
		call := at
		at += 4 * time.Millisecond
		attempt := 1
		if i%50 == 0 { // the first answer lost; the retry answered
			h = append(h, checker.Op{Client: i % 8, Kind: checker.KindCheckout, Key: key, Attempt: 1, Input: co, Call: call, Return: call + time.Second,
				Outcome: checker.OutcomeUnknown, Reason: "Post \"http://orders/checkout\": context deadline exceeded"})
			attempt, call = 2, call+time.Second+100*time.Millisecond
		}
		op := checker.Op{Client: i % 8, Kind: checker.KindCheckout, Key: key, Attempt: attempt, Input: co, Call: call, Return: call + 3*time.Millisecond, Outcome: checker.OutcomeOK, State: state}
		if state == sim.OrderFailed {
			op.Outcome, op.State, op.Reason = checker.OutcomeRejected, sim.OrderFailed, "card_declined"
		}
		h = append(h, op)
		h = append(h, checker.Op{Client: i % 8, Kind: checker.KindGet, Key: key, Call: op.Return + time.Microsecond, Return: op.Return + time.Millisecond, Outcome: checker.OutcomeOK, State: state})
		if i > 1 {
			prev := fmt.Sprintf("o%06d", i-1)
			prevState := sim.OrderConfirmed
			if (i-1)%20 == 0 {
				prevState = sim.OrderFailed
			}
			h = append(h, checker.Op{Client: i % 8, Kind: checker.KindGet, Key: prev, Call: op.Return + 2*time.Millisecond, Return: op.Return + 3*time.Millisecond, Outcome: checker.OutcomeOK, State: prevState})
		}
		s.Orders = append(s.Orders, checker.OrderRow{Key: key, Customer: customer, SKU: sku, Qty: co.Qty, Amount: co.Amount, State: state, UpdatedAt: int64(op.Return)})
		for _, svc := range []string{sim.Payments, sim.Inventory, sim.Shipping} {
			if state == sim.OrderFailed && svc != sim.Payments {
				continue
			}
			id := int64(len(s.Resources[svc]) + 1)
			r := checker.ResourceRow{ID: id, Key: svc + ":" + key, Order: key, Customer: customer, State: sim.ResourceActive, CreatedAt: int64(call)}
			switch svc {
			case sim.Payments:
				r.Amount = co.Amount
			case sim.Inventory:
				r.SKU, r.Qty = sku, co.Qty
			}
			logRow(svc, "create", r.Key, key, "created", id, call)
			if state == sim.OrderFailed {
				r.State, r.Cancels, r.CancelledAt = sim.ResourceCancelled, 1, int64(call)+1
				logRow(svc, "cancel", r.Key, key, "cancelled", id, call+1)
			} else if svc == sim.Inventory {
				reserved[sku] += co.Qty
			}
			s.Resources[svc] = append(s.Resources[svc], r)
		}
		if state == sim.OrderConfirmed {
			offset++
			s.Events = append(s.Events, checker.EventRow{Offset: offset, Topic: sim.OrdersTopic, EventID: "order.confirmed:" + key, Type: sim.OrderConfirmedEvent,
				Order: key, Customer: customer, Amount: co.Amount, PublishedAt: int64(op.Return)})
			s.Credits = append(s.Credits, checker.CreditRow{ID: offset, EventID: "order.confirmed:" + key, Offset: offset, Order: key, Customer: customer, Points: co.Amount, At: int64(op.Return)})
			points[customer] += co.Amount
		}
	}
	s.Offsets = []checker.OffsetRow{{Topic: sim.OrdersTopic, Group: sim.RewardsGroup, Offset: offset}}
	for _, sku := range sim.SKUs {
		s.Stock = append(s.Stock, checker.StockRow{SKU: sku, Initial: int64(n), Available: int64(n) - reserved[sku]})
	}
	for i := 1; i <= n; i++ {
		key := fmt.Sprintf("o%06d", i)
		state := sim.OrderConfirmed
		if i%20 == 0 {
			state = sim.OrderFailed
		}
		h = append(h, checker.Op{Client: 8, Kind: checker.KindGet, Key: key, Call: at, Return: at + time.Millisecond, Outcome: checker.OutcomeOK, State: state, AtRest: true})
		at += 2 * time.Millisecond
	}
	for c := 1; c <= customers; c++ {
		customer := fmt.Sprintf("c%03d", c)
		h = append(h, checker.Op{Client: 8, Kind: checker.KindBalance, Key: customer, Call: at, Return: at + time.Millisecond, Outcome: checker.OutcomeOK, Points: points[customer], AtRest: true})
		at += 2 * time.Millisecond
	}
	return h, s
}

// BenchmarkCheck judges a clean run of 25,000 and of 100,000 orders
// (benchRun): the final state's checks alone (state), and the whole Check,
// history and state (all). It reports the cost per order: time, bytes and
// allocations, which should not grow with the orders (the checks are
// linear in them).
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{25_000, 100_000} {
		h, s := benchRun(n)
		if r := checker.Check(h, s, checker.Linearizable); r.Verdict != checker.VerdictClean {
			b.Fatalf("the bench run is not clean: %s", r)
		}
		for _, part := range []struct {
			name string
			h    []checker.Op
		}{{"state", nil}, {"all", h}} {
			b.Run(fmt.Sprintf("%s/orders=%d", part.name, n), func(b *testing.B) {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for b.Loop() {
					checker.Check(part.h, s, checker.Linearizable)
				}
				runtime.ReadMemStats(&after)
				per := float64(b.N) * float64(n)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/order")
				b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/per, "B/order")
				b.ReportMetric(float64(after.Mallocs-before.Mallocs)/per, "allocs/order")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
