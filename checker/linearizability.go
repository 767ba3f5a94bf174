package checker

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/txchaos/txchaos/sim"
)

// linTimeout bounds porcupine's search on one partition. Partitions are
// one order key's few operations and take microseconds; one that does not
// finish in time leaves the class unjudged rather than clean.
var linTimeout = 10 * time.Second

// status is the model's state of one order.
type status uint8

// The order model's states: no checkout has taken effect; one has and the
// order is not decided; decided either way, for good.
const (
	absent status = iota
	pending
	confirmed
	failed
)

func (s status) String() string {
	return [...]string{StateAbsent, sim.OrderPending, sim.OrderConfirmed, sim.OrderFailed}[s]
}

// observed is the order status op reports, and false when it reports none
// (an unknown outcome, a balance). A rejected checkout reports the order
// failed; a checkout answered ok without a state reports it confirmed, as
// Metrics counts it; any state but confirmed, failed and absent is not yet
// decided.
func observed(op *Op) (status, bool) {
	switch {
	case op.Kind == KindCheckout && op.Outcome == OutcomeRejected:
		return failed, true
	case op.Kind != KindCheckout && op.Kind != KindGet, op.Outcome != OutcomeOK:
		return 0, false
	}
	switch op.State {
	case sim.OrderConfirmed:
		return confirmed, true
	case sim.OrderFailed:
		return failed, true
	case StateAbsent:
		return absent, op.Kind == KindGet
	case "":
		if op.Kind == KindCheckout {
			return confirmed, true
		}
	}
	return pending, true
}

// step is the order API's sequential specification, one order key at a
// time. A checkout that takes effect creates the order; the decision is
// the service's own step, taken at the latest when a client first sees it,
// and final. A checkout whose outcome is unknown may have created the
// order (its return is placed after every other operation, so "never" is
// the linearization that puts it last). A read sees absent only before any
// checkout took effect, pending only before the decision, and the
// decision after it. A checkout creates its order before it decides it, so
// a read may see pending before the checkout's linearization point: the
// model lets such a read create the order. What it gives up is catching
// a read that sees pending before any checkout was sent.
func step(s status, op *Op) (bool, status) {
	got, ok := observed(op)
	if !ok {
		if op.Kind == KindCheckout && s == absent {
			return true, pending
		}
		return true, s
	}
	if op.Kind == KindCheckout {
		switch got {
		case confirmed:
			return s != failed, confirmed
		case failed:
			return s != confirmed, failed
		default: // answered, not decided yet
			return s == absent || s == pending, pending
		}
	}
	switch got {
	case absent:
		return s == absent, s
	case pending: // a checkout in flight may have created the order
		return s == absent || s == pending, pending
	default: // a read sees the decision: it has been taken
		return s == pending || s == got, got
	}
}

// orderModel is step as a porcupine model; inputs are *Op, outputs unused.
var orderModel = porcupine.Model{
	Init: func() any { return absent },
	Step: func(state, input, _ any) (bool, any) {
		return step(state.(status), input.(*Op))
	},
	Hash:                      func(state any) uint64 { return uint64(state.(status)) },
	DescribeOperation:         func(input, _ any) string { return describe(input.(*Op)) },
	DescribeState:             func(state any) string { return state.(status).String() },
	DescribeOperationMetadata: func(m any) string { return m.(string) },
}

// open reports whether op's effect may fall anywhere after its call: its
// outcome is not known, or it is a read that learned nothing.
func open(op *Op) bool {
	if op.Kind == KindBalance {
		return op.Outcome != OutcomeOK
	}
	_, ok := observed(op)
	return !ok
}

// operations turns the ops of h at idx into porcupine operations. An open
// op returns after every other op of the partition. Client ids are
// renumbered densely and ops carry their metadata when draw is set (the
// visualization draws one row per id).
func operations(h []Op, idx []int, input func(*Op) any, draw bool) []porcupine.Operation {
	var end time.Duration
	for _, i := range idx {
		end = max(end, h[i].Call, h[i].Return)
	}
	clients := map[int]int{}
	out := make([]porcupine.Operation, len(idx))
	for j, i := range idx {
		op := &h[i]
		ret := max(op.Return, op.Call)
		if open(op) {
			ret = end + 1
		}
		client := op.Client
		if draw {
			c, ok := clients[client]
			if !ok {
				c = len(clients)
				clients[client] = c
			}
			client = c
		}
		out[j] = porcupine.Operation{ClientId: client, Input: input(op), Call: int64(op.Call), Return: int64(ret)}
		if draw {
			out[j].Metadata = metadata(op)
		}
	}
	return out
}

func self(op *Op) any { return op }

// fastPath lets checkLinearizability accept a partition without porcupine
// when its operations, taken in the order they were called, are a legal
// sequence of the model: that order respects real time (an op that
// returned before another was called was called before it), so it is a
// linearization. Most partitions are sequential and pass; porcupine
// searches the rest. Tests turn it off to measure porcupine alone.
var fastPath = true

// inCallOrder reports whether the ops of h at idx, taken by call time, are
// a legal sequence of the order model.
func inCallOrder(h []Op, idx []int) bool {
	if !slices.IsSortedFunc(idx, func(i, j int) int { return cmpDuration(h[i].Call, h[j].Call) }) {
		idx = slices.Clone(idx)
		slices.SortStableFunc(idx, func(i, j int) int { return cmpDuration(h[i].Call, h[j].Call) })
	}
	s := absent
	for _, i := range idx {
		var ok bool
		if ok, s = step(s, &h[i]); !ok {
			return false
		}
	}
	return true
}

func cmpDuration(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checkLinearizability judges the checkouts of the client history: each
// order key's checkouts, with the decision the order settled on (its reads
// at rest that show one: settles), with porcupine against the order model.
// The other reads are judged by judgeReads. It returns the finding, the
// partitions that failed or timed out, and, for those that timed out, why
// the check is incomplete.
func checkLinearizability(x *history) (Finding, []Partition, []string) {
	var f Finding
	var parts []Partition
	var timedOut []string
	h := x.h
	var buf []int
	for _, k := range x.keys {
		buf = buf[:0]
		for _, i := range x.ops[k] {
			if h[i].Kind == KindCheckout || settles(&h[i]) {
				buf = append(buf, i)
			}
		}
		idx := buf
		if why := x.staleAnswer(k); why != "" {
			p := Partition{Key: k, Verdict: VerdictAnomalies, File: fileName("history-", k)}
			p.show(NonLinearizable, why)
			parts = append(parts, p)
			f.add("order %s: %s (%s)", k, why, p.File)
			continue
		}
		if len(idx) == 0 || fastPath && inCallOrder(h, idx) {
			continue
		}
		ops := operations(h, idx, self, false)
		switch porcupine.CheckOperationsTimeout(orderModel, ops, linTimeout) {
		case porcupine.Illegal:
			p := Partition{Key: k, Verdict: VerdictAnomalies, File: fileName("history-", k)}
			why := explain(h, idx)
			p.show(NonLinearizable, why)
			parts = append(parts, p)
			f.add("order %s: %s (%s)", k, why, p.File)
		case porcupine.Unknown:
			p := Partition{Key: k, Verdict: VerdictUnknown, File: fileName("history-", k)}
			p.show(NonLinearizable, fmt.Sprintf("not judged: porcupine found no answer within %s", linTimeout))
			parts = append(parts, p)
			timedOut = append(timedOut, "order "+k)
		}
	}
	var why []string
	if len(timedOut) > 0 {
		why = append(why, fmt.Sprintf("%s: porcupine timed out after %s on %d partition(s): %s",
			NonLinearizable, linTimeout, len(timedOut), strings.Join(timedOut[:min(len(timedOut), MaxExamples)], ", ")))
	}
	return f, parts, why
}

// staleAnswer explains the first checkout answer of order k that shows an
// earlier state than a read had shown before the checkout was sent (a
// checkout answered pending after a read saw the order decided), or
// returns "". Answers that contradict each other, or the decision the order
// settled on, are porcupine's to find; a read that contradicts an answer
// is judged with the reads.
func (x *history) staleAnswer(k string) string {
	for _, i := range x.ops[k] {
		c := &x.h[i]
		sc, ok := observed(c)
		if c.Kind != KindCheckout || !ok {
			continue
		}
		for _, j := range x.ops[k] {
			o := &x.h[j]
			if so, ok := observed(o); o.Kind == KindGet && ok && o.Return < c.Call && level(sc) < level(so) {
				return fmt.Sprintf("checkout#%d answered %s at %s, after client %d's read saw %s at %s", c.Attempt, sc, at(c.Return), o.Client, so, at(o.Return))
			}
		}
	}
	return ""
}

// settles reports whether op is a read at rest that shows a decision: the
// decision the order settled on, against which the checkouts' answers are
// judged.
func settles(op *Op) bool {
	s, ok := observed(op)
	return op.Kind == KindGet && op.AtRest && ok && level(s) == 2
}

// explain says why the ops of h at idx, one order key's, do not linearize:
// the first pair of answers no order of the model reconciles, or the bare
// fact when no single pair shows it.
func explain(h []Op, idx []int) string {
	type seen struct {
		op *Op
		s  status
	}
	var all []seen
	for _, i := range idx {
		if s, ok := observed(&h[i]); ok {
			all = append(all, seen{&h[i], s})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].op.Return < all[j].op.Return })
	told := func(v seen) string {
		verb := "answered"
		if v.op.Kind == KindGet {
			verb = "saw"
		}
		name := v.op.Kind
		switch {
		case v.op.Kind == KindCheckout:
			name = fmt.Sprintf("checkout#%d", v.op.Attempt)
		case v.op.AtRest:
			name = "read at rest"
		}
		return fmt.Sprintf("%s %s %s at %s", name, verb, v.s, at(v.op.Return))
	}
	for _, a := range all {
		for _, b := range all {
			if a.s == confirmed && b.s == failed || a.s == failed && b.s == confirmed {
				first, second := a, b
				if b.op.Return < a.op.Return {
					first, second = b, a
				}
				return told(second) + ", but " + told(first)
			}
		}
	}
	for _, a := range all {
		for _, b := range all {
			if a.op.Return >= b.op.Call {
				continue
			}
			if a.s != absent && b.s == absent || (a.s == confirmed || a.s == failed) && b.s == pending {
				return told(b) + " after " + told(a)
			}
		}
	}
	for _, b := range all {
		if b.s != confirmed && b.s != failed || b.op.Kind != KindGet {
			continue
		}
		if !slices.ContainsFunc(idx, func(i int) bool { return h[i].Kind == KindCheckout && h[i].Call <= b.op.Return }) {
			return told(b) + " before any checkout was sent"
		}
	}
	return fmt.Sprintf("no order of its %d operations fits the order API", len(idx))
}
