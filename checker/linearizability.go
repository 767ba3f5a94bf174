package checker

import (
	"fmt"
	"io"
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

// Partition is a part of the client history that the non-linearizable
// check found not linearizable, or could not judge in time: the checkouts
// and reads of one order key, or the balance reads of one customer with
// the orders they count. Visualize draws it.
type Partition struct {
	// Key is the order's key, or the customer when Balance is set.
	Key string `json:"key"`
	// Balance marks a customer's partition: a balance read at rest that
	// disagrees with what the clients were told about the customer's
	// orders.
	Balance bool `json:"balance,omitempty"`
	// Verdict is VerdictAnomalies when no linearization exists and
	// VerdictUnknown when porcupine's search timed out.
	Verdict Verdict `json:"verdict"`
	// File is the name of the partition's visualization beside the run's
	// record: history-<key>.html, or history-customer-<key>.html for a
	// balance (characters other than letters, digits, '.', '_' and '-'
	// become '_').
	File string `json:"file"`
}

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

// describe is one line for op in a visualization: what was asked and what
// the client learned.
func describe(op *Op) string {
	name := op.Kind
	switch op.Kind {
	case KindCheckout:
		name = fmt.Sprintf("checkout#%d", op.Attempt)
	case KindBalance:
		name = "balance " + op.Key
	}
	switch {
	case op.Outcome == OutcomeUnknown:
		return name + " → unknown"
	case op.Kind == KindBalance:
		return fmt.Sprintf("%s → %d", name, op.Points)
	case op.Outcome == OutcomeRejected:
		return name + " → rejected"
	}
	return name + " → " + op.State
}

// metadata is the tooltip of op in a visualization: who, when, and why.
func metadata(op *Op) string {
	s := fmt.Sprintf("%s %s · client %d · called %s · returned %s", keyNoun(op), op.Key, op.Client, at(op.Call), at(op.Return))
	if open(op) {
		s += " (outcome unknown: drawn open to the end)"
	}
	if op.Reason != "" {
		s += " · " + op.Reason
	}
	return s
}

// keyNoun names what op's Key is.
func keyNoun(op *Op) string {
	if op.Kind == KindBalance {
		return "customer"
	}
	return "order"
}

func at(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }

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

// history indexes h for the check: the ops of each order key, the orders
// of each customer, the balance reads.
type history struct {
	h    []Op
	keys []string         // order keys, sorted
	ops  map[string][]int // order key → its checkouts and reads, in h's order
	// first maps an order key to its first checkout, in h: its customer
	// and amount.
	first     map[string]int
	customers map[string][]string // customer → its order keys, sorted
	balances  []int               // balance reads answered ok
}

func indexHistory(h []Op) *history {
	x := &history{h: h, ops: map[string][]int{}, first: map[string]int{}, customers: map[string][]string{}}
	// Count each key's ops, then hand each key its part of one array:
	// a slice per key, not a slice grown per key.
	n := map[string]int{}
	for i := range h {
		if op := &h[i]; op.Kind == KindCheckout || op.Kind == KindGet {
			if n[op.Key] == 0 {
				x.keys = append(x.keys, op.Key)
			}
			n[op.Key]++
		}
	}
	all := make([]int, 0, len(h))
	for _, k := range x.keys {
		x.ops[k] = all[len(all) : len(all) : len(all)+n[k]]
		all = all[:len(all)+n[k]]
	}
	for i := range h {
		op := &h[i]
		switch op.Kind {
		case KindCheckout, KindGet:
			x.ops[op.Key] = append(x.ops[op.Key], i)
			if _, known := x.first[op.Key]; op.Kind == KindCheckout && !known {
				x.first[op.Key] = i
				x.customers[op.Input.Customer] = append(x.customers[op.Input.Customer], op.Key)
			}
		case KindBalance:
			if op.Outcome == OutcomeOK {
				x.balances = append(x.balances, i)
			}
		}
	}
	sort.Strings(x.keys)
	for _, ks := range x.customers {
		sort.Strings(ks)
	}
	return x
}

// amount is the amount of order k's first checkout.
func (x *history) amount(k string) int64 {
	i, ok := x.first[k]
	if !ok {
		return 0
	}
	return x.h[i].Input.Amount
}

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
			parts = append(parts, p)
			f.add("order %s: %s (%s)", k, explain(h, idx), p.File)
		case porcupine.Unknown:
			parts = append(parts, Partition{Key: k, Verdict: VerdictUnknown, File: fileName("history-", k)})
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

// balanceViolation explains how the balance read b disagrees with the
// bounds of its customer's orders, or returns "".
func (x *history) balanceViolation(b *Op, bb bounds) string {
	switch {
	case b.Points < bb.lower:
		return fmt.Sprintf("balance %d points at %s, but the clients had been told orders worth %d were confirmed (%s): %d missing",
			b.Points, at(b.Call), bb.lower, list(bb.sure, bb.nsure), bb.lower-b.Points)
	case b.Points > bb.upper:
		return fmt.Sprintf("balance %d points at %s, more than the %d its orders not answered failed are worth: %d too many",
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

// fileName is prefix + key + ".html" with every character of key other
// than a letter, a digit, '.', '_' and '-' replaced by '_'.
func fileName(prefix, key string) string {
	b := []byte(key)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return prefix + string(b) + ".html"
}

// maxAnnotations caps the faults drawn on one visualization.
const maxAnnotations = 200

// Visualize writes porcupine's HTML visualization of partition p of the
// history h to w: the partition's operations on a timeline (an operation
// whose outcome is unknown is drawn open to the end), the longest
// linearizations porcupine found and where they break, and the faults of
// applied that happened while one of them was in flight, one row per link
// or node. A customer's partition (Balance) is drawn as the customer's
// orders, each against the order model, and the balance reads, each
// labelled with what it may count and illegal outside that. applied's At must be on h's clock (durations since the run
// started). p need not come from the same Report: only its Key and
// Balance are used, so a history read back from a record can be drawn
// again.
func Visualize(w io.Writer, h []Op, p Partition, applied []sim.Applied) error {
	x := indexHistory(h)
	var model porcupine.Model
	var ops []porcupine.Operation
	var idx []int
	if p.Balance {
		model, ops, idx = x.customerPartition(p.Key)
	} else {
		var ok bool
		if idx, ok = x.ops[p.Key]; !ok {
			return fmt.Errorf("visualize: order key %q has no checkout or read in the history", p.Key)
		}
		model, ops = orderModel, operations(h, idx, self, true)
	}
	if len(ops) == 0 {
		return fmt.Errorf("visualize: customer %q has no balance read or order in the history", p.Key)
	}
	_, info := porcupine.CheckOperationsVerbose(model, ops, linTimeout)
	info.AddAnnotations(annotations(h, idx, applied))
	if err := porcupine.Visualize(model, info, w); err != nil {
		return fmt.Errorf("visualize %s: %w", p.Key, err)
	}
	return nil
}

// annotations are the faults of applied that happened while an operation
// of h at idx was in flight, from its call to its return (the client's
// timeout, for an outcome it never learned), leaving out requests for
// another order's URL: at most maxAnnotations, the earliest.
func annotations(h []Op, idx []int, applied []sim.Applied) []porcupine.Annotation {
	keys := map[string]bool{}
	for _, i := range idx {
		keys[h[i].Key] = true
	}
	var out []porcupine.Annotation
	for _, a := range applied {
		if len(out) == maxAnnotations {
			break
		}
		if !slices.ContainsFunc(idx, func(i int) bool { return h[i].Call <= a.At && a.At <= max(h[i].Return, h[i].Call) }) {
			continue
		}
		if _, key, ok := strings.Cut(a.Detail, "/orders/"); ok && !keys[key] {
			continue
		}
		ann := porcupine.Annotation{
			Tag:         a.Target,
			Start:       int64(a.At),
			Description: a.Fault,
			Details:     strings.TrimSpace(fmt.Sprintf("%s %s at %s %s", a.Fault, a.Target, at(a.At), a.Detail)),
		}
		switch a.Fault {
		case "crash", "crash-point":
			ann.BackgroundColor = "#f4b6b6"
		case "restart":
			ann.BackgroundColor = "#b6e3b6"
		default:
			ann.BackgroundColor = "#f6dfa4"
		}
		out = append(out, ann)
	}
	return out
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
				return fmt.Sprintf("%s (may count %d to %d)", describe(in.op), in.lower, in.upper)
			}
			return in.op.Key + " " + describe(in.op)
		},
		DescribeState:             func(state any) string { return state.(status).String() },
		DescribeOperationMetadata: func(m any) string { return m.(string) },
	}
	return model, operations(x.h, idx, input, true), idx
}
