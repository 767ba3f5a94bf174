package checker

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// balanceViolation explains how the balance read b disagrees with the
// bounds of its customer's orders, or returns "".
func (x *history) balanceViolation(b *Op, bb bounds) string {
	switch {
	case b.Points < bb.lower:
		return fmt.Sprintf("balance %d points at %s, but the clients had been told orders worth %d were confirmed (%s): %d missing",
			b.Points, at(b.Call), bb.lower, list(bb.sure, bb.nsure), bb.lower-b.Points)
	case b.Points > bb.upper:
		return fmt.Sprintf("balance %d points at %s, but the customer's orders are worth %d at most, leaving out those the clients were told failed: %d too many",
			b.Points, at(b.Call), bb.upper, b.Points-bb.upper)
	}
	return ""
}

// bounds are the least and the most a balance read may count: the amounts
// of the orders of its customer a client had seen confirmed before the
// read was sent (nsure of them, the first MaxExamples named in sure; the
// last of them first seen confirmed at known), and of those no client saw
// failed without also seeing them confirmed.
type bounds struct {
	lower, upper int64
	sure         []string
	nsure        int
	known        time.Duration
}

// balanceBounds are the bounds of the balance read b, from what client
// had been told (every client's answers when client is -1). Balance reads
// are taken at rest, after every event has been consumed; an order the
// clients never learned the fate of may count either way.
func (x *history) balanceBounds(b *Op, client int) bounds {
	var bb bounds
	for _, k := range x.customers[b.Key] {
		seenConfirmed, seenFailed := false, false
		var first time.Duration = -1 // the first return that showed k confirmed before b
		for _, i := range x.ops[k] {
			op := &x.h[i]
			switch got, ok := observed(op); {
			case ok && got == confirmed:
				seenConfirmed = true
				if op.Return < b.Call && (client < 0 || op.Client == client) && (first < 0 || op.Return < first) {
					first = op.Return
				}
			case ok && got == failed:
				seenFailed = true
			}
		}
		if first >= 0 {
			bb.lower += x.amount(k)
			if bb.nsure < MaxExamples {
				bb.sure = append(bb.sure, fmt.Sprintf("%s %d", k, x.amount(k)))
			}
			bb.nsure++
			bb.known = max(bb.known, first)
		}
		if seenConfirmed || !seenFailed {
			bb.upper += x.amount(k)
		}
	}
	return bb
}

// list joins up to MaxExamples items of n, saying how many more there are.
func list(items []string, n int) string {
	items = items[:min(len(items), MaxExamples)]
	if n <= len(items) {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items, ", "), n-len(items))
}

// customerOp is an operation of a customer's drawing: an order's
// checkout or read (order is its index among the customer's orders), or a
// balance read (order is -1) with the least and the most it may count.
type customerOp struct {
	op           *Op
	order        int
	lower, upper int64
}

// customerPartition is the model, the operations and their indexes in the
// history that draw customer c's balance reads with the orders they count.
// The model partitions them: each order's checkouts and reads against the
// order model, as the check judges them, and the balance reads, each
// legal when it lies within balanceBounds. (One model of all the orders
// at once would let a balance read judge the sum exactly, but porcupine
// would then try every subset of the orders in flight together.)
func (x *history) customerPartition(c string) (porcupine.Model, []porcupine.Operation, []int) {
	order := map[string]int{}
	var idx []int
	for j, k := range x.customers[c] {
		order[k] = j
		idx = append(idx, x.ops[k]...)
	}
	for _, i := range x.balances {
		if x.h[i].Key == c {
			idx = append(idx, i)
		}
	}
	sort.Ints(idx)
	if len(idx) == 0 {
		return porcupine.Model{}, nil, nil
	}
	input := func(op *Op) any {
		if op.Kind == KindBalance {
			bb := x.balanceBounds(op, -1)
			return customerOp{op, -1, bb.lower, bb.upper}
		}
		return customerOp{op: op, order: order[op.Key]}
	}
	model := porcupine.Model{
		Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
			byOrder := map[int][]porcupine.Operation{}
			var orders []int
			for _, op := range ops {
				j := op.Input.(customerOp).order
				if _, seen := byOrder[j]; !seen {
					orders = append(orders, j)
				}
				byOrder[j] = append(byOrder[j], op)
			}
			sort.Ints(orders)
			var out [][]porcupine.Operation
			for _, j := range orders {
				out = append(out, byOrder[j])
			}
			return out
		},
		Init: func() any { return absent },
		Step: func(state, input, _ any) (bool, any) {
			in := input.(customerOp)
			if in.order < 0 {
				return in.op.Outcome != OutcomeOK || in.lower <= in.op.Points && in.op.Points <= in.upper, state
			}
			return step(state.(status), in.op)
		},
		Hash: func(state any) uint64 { return uint64(state.(status)) },
		DescribeOperation: func(input, _ any) string {
			in := input.(customerOp)
			if in.order < 0 {
				return describe(in.op) + " points, " + allowed(in.lower, in.upper)
			}
			return in.op.Key + " " + describe(in.op)
		},
		DescribeState:             func(state any) string { return state.(status).String() },
		DescribeOperationMetadata: func(m any) string { return m.(string) },
	}
	return model, operations(x.h, idx, input, true), idx
}

// allowed says what a balance read may count, for porcupine's page.
func allowed(lower, upper int64) string {
	if lower == upper {
		return fmt.Sprintf("where its orders allow exactly %d", lower)
	}
	return fmt.Sprintf("where its orders allow %d to %d", lower, upper)
}
