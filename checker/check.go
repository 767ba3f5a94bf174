package checker

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/txchaos/txchaos/sim"
)

// Class names an anomaly class. The package doc says what each means.
type Class string

// The anomaly classes, in the order of Classes.
const (
	LeakedResource          Class = "leaked-resource"
	PartialCommit           Class = "partial-commit"
	DuplicateEffect         Class = "duplicate-effect"
	LostEvent               Class = "lost-event"
	GhostEvent              Class = "ghost-event"
	DuplicateConsumerEffect Class = "duplicate-consumer-effect"
	NotConserved            Class = "not-conserved"
	Stuck                   Class = "stuck"
	NonLinearizable         Class = "non-linearizable"
	StaleRead               Class = "stale-read"
	SessionStaleRead        Class = "session-stale-read"
	UnconvergedRead         Class = "unconverged-read"
)

// Classes lists every anomaly class in report order.
var Classes = []Class{
	LeakedResource, PartialCommit, DuplicateEffect, HangingAction, EmptyCompensation, LostEvent,
	GhostEvent, DuplicateConsumerEffect, NotConserved, Stuck,
	NonLinearizable, StaleRead, SessionStaleRead, UnconvergedRead,
}

// MaxExamples is how many examples a Finding keeps.
const MaxExamples = 5

// Finding is what one check found: how many anomalies, and up to
// MaxExamples of them, each a key or id with a short explanation.
type Finding struct {
	Count    int      `json:"count"`
	Examples []string `json:"examples,omitempty"`
	// Witness is the story of the first example's subject, when there is
	// one (see Witness).
	Witness *Witness `json:"witness,omitempty"`
}

// add counts one anomaly, keeping its explanation if there is room.
func (f *Finding) add(format string, args ...any) {
	f.Count++
	if len(f.Examples) < MaxExamples {
		f.Examples = append(f.Examples, fmt.Sprintf(format, args...))
	}
}

// Verdict is a run's overall judgement. The CLI exits 0, 1 or 2 on
// VerdictClean, VerdictAnomalies or VerdictUnknown.
type Verdict string

// The verdicts. A found anomaly outweighs a check that could not be made:
// each anomaly counted rests only on data that was read.
const (
	VerdictClean     Verdict = "clean"     // every check made, none found anything
	VerdictAnomalies Verdict = "anomalies" // at least one anomaly
	VerdictUnknown   Verdict = "unknown"   // no anomaly, but some check could not be made
)

// Report is the checker's judgement of a run.
type Report struct {
	Verdict Verdict `json:"verdict"`
	// Reason says why some checks, or some partitions of the
	// non-linearizable check, could not be made; empty when all were.
	Reason string `json:"reason,omitempty"`
	// Anomalies holds every class of Classes, zeros included. A read
	// class whose model the pattern does not promise counts zero here:
	// what its reads showed is in Reads.Unpromised.
	Anomalies map[Class]Finding `json:"anomalies"`
	// Unchecked lists the classes that could not be judged (their count
	// is zero), in the order of Classes.
	Unchecked []Class `json:"unchecked,omitempty"`
	Metrics   Metrics `json:"metrics"`
	// Linearizability lists the partitions of the history (an order key,
	// or a customer's balance) that did not linearize or could not be
	// judged in time, in report order: the checkouts that are
	// non-linearizable, then the reads that are an anomaly under the
	// pattern's read promise. Visualize draws each.
	Linearizability []Partition `json:"linearizability,omitempty"`
	// Reads is what the reads showed: the read models they held, the
	// stale reads, what they broke beyond the promise.
	Reads Reads `json:"reads"`
}

// String summarises r on one line: the verdict, then each class with
// anomalies and its first example. It is meant for test failures.
func (r Report) String() string {
	var b strings.Builder
	b.WriteString(string(r.Verdict))
	sep := ": "
	for _, c := range Classes {
		f := r.Anomalies[c]
		if f.Count == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s%s=%d", sep, c, f.Count)
		if len(f.Examples) > 0 {
			fmt.Fprintf(&b, " (%s)", f.Examples[0])
		}
		sep = "; "
	}
	if r.Reason != "" {
		fmt.Fprintf(&b, "%s%s", sep, r.Reason)
	}
	return b.String()
}

// check is one anomaly class's check: the nodes whose databases it needs
// and the function that judges the state.
type check struct {
	class Class
	needs []string
	run   func(w *world) Finding
}

var checks = []check{
	{LeakedResource, []string{sim.Orders, sim.Payments, sim.Inventory, sim.Shipping}, checkLeakedResource},
	{PartialCommit, []string{sim.Orders, sim.Payments, sim.Inventory, sim.Shipping}, checkPartialCommit},
	{DuplicateEffect, []string{sim.Payments, sim.Inventory, sim.Shipping}, checkDuplicateEffect},
	{HangingAction, []string{sim.Payments, sim.Inventory, sim.Shipping}, checkHangingAction},
	{EmptyCompensation, []string{sim.Payments, sim.Inventory, sim.Shipping}, checkEmptyCompensation},
	{LostEvent, []string{sim.Orders, sim.Rewards}, checkLostEvent},
	{GhostEvent, []string{sim.Orders, sim.Broker}, checkGhostEvent},
	{DuplicateConsumerEffect, []string{sim.Rewards}, checkDuplicateConsumerEffect},
	{NotConserved, []string{sim.Orders, sim.Payments, sim.Inventory, sim.Rewards}, checkNotConserved},
	{Stuck, []string{sim.Orders, sim.Broker, sim.Payments, sim.Inventory, sim.Shipping}, checkStuck},
}

// Check judges a run: the anomalies of the final state s, the
// linearizability of the checkouts of the client history h, its reads
// against the read model the pattern promises (the zero ReadModel, and one
// not in ReadModels, is judged as Linearizable, the strongest), and its
// metrics. It does no I/O and changes neither
// argument. A nil s, or one whose Missing names a database a check needs,
// leaves that check unjudged (see Verdict); the checks of the history need
// only h.
func Check(h []Op, s *State, reads ReadModel) Report {
	r := Report{Anomalies: make(map[Class]Finding, len(Classes)), Metrics: metrics(h)}
	for _, c := range Classes {
		r.Anomalies[c] = Finding{}
	}
	var w *world
	if s != nil {
		w = newWorld(s)
	}
	var why []string
	for _, c := range checks {
		if s == nil {
			r.Unchecked = append(r.Unchecked, c.class)
			continue
		}
		if lack := lacking(s, c); len(lack) > 0 {
			r.Unchecked = append(r.Unchecked, c.class)
			why = append(why, lack...)
			continue
		}
		r.Anomalies[c.class] = c.run(w)
	}
	x := indexHistory(h)
	lin, parts, linWhy := checkLinearizability(x)
	r.Anomalies[NonLinearizable], r.Linearizability = lin, parts
	judgeReadModels(&r, x, reads)
	if len(linWhy) > 0 && lin.Count == 0 {
		r.Unchecked = append(r.Unchecked, NonLinearizable)
		slices.SortStableFunc(r.Unchecked, func(a, b Class) int { return slices.Index(Classes, a) - slices.Index(Classes, b) })
	}
	attachWitnesses(&r, h, w)
	anomalies := false
	for _, f := range r.Anomalies {
		anomalies = anomalies || f.Count > 0
	}
	if len(r.Unchecked) > 0 {
		names := make([]string, len(r.Unchecked))
		for i, c := range r.Unchecked {
			names[i] = string(c)
		}
		if s == nil {
			why = append(why, "no state was read")
		}
		r.Reason = "not judged: " + strings.Join(names, ", ") + ": " + strings.Join(dedupe(append(why, linWhy...)), "; ")
	} else if len(linWhy) > 0 {
		r.Reason = "not judged in full: " + strings.Join(linWhy, "; ")
	}
	switch {
	case anomalies:
		r.Verdict = VerdictAnomalies
	case len(r.Unchecked) > 0:
		r.Verdict = VerdictUnknown
	default:
		r.Verdict = VerdictClean
	}
	return r
}

// CheckStuck is the stuck check of Check alone: what in s is unfinished
// (see Stuck), and whether it could be judged (s holds every database it
// needs). A runner asks it of the state it read at rest, to confirm what
// a Watch found.
func CheckStuck(s *State) (f Finding, judged bool) {
	for _, c := range checks {
		if c.class == Stuck {
			if s == nil || len(lacking(s, c)) > 0 {
				return Finding{}, false
			}
			return c.run(newRows(s)), true // checkStuck reads no more
		}
	}
	panic("checker: no stuck check")
}

// lacking explains each part of the state check c needs that s lacks.
func lacking(s *State, c check) []string {
	var out []string
	for _, n := range c.needs {
		if why, ok := s.Missing[n]; ok {
			out = append(out, n+" not read ("+why+")")
		}
	}
	if c.class == Stuck {
		var keys []string
		for k := range s.Missing {
			if strings.HasPrefix(k, "pending ") {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, k+" failed ("+s.Missing[k]+")")
		}
	}
	return out
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// downstream are the services that hold resources for an order, in the
// order checks report them.
var downstream = []string{sim.Payments, sim.Inventory, sim.Shipping}

// noun names a resource of service.
func noun(service string) string {
	switch service {
	case sim.Payments:
		return "charge"
	case sim.Inventory:
		return "reservation"
	case sim.Shipping:
		return "shipment"
	}
	return "resource"
}

func ids[T any](rows []T, id func(T) int64) string {
	s := make([]string, len(rows))
	for i, r := range rows {
		s[i] = fmt.Sprint(id(r))
	}
	return strings.Join(s, ", ")
}

// checkLeakedResource counts each held resource that no confirmed order
// owns: its order is absent from the orders table, failed, or not terminal.
func checkLeakedResource(w *world) Finding {
	var f Finding
	for _, svc := range downstream {
		v := w.svc[svc]
		var arrival *arrivals
		for _, r := range v.res {
			if r.State != sim.ResourceActive {
				continue
			}
			if o, ok := w.lookup(r.Order); ok && o.State == sim.OrderConfirmed {
				continue
			}
			if arrival == nil {
				arrival = newArrivals(v.log)
			}
			late := ""
			if c, ok := arrival.firstCancel[r.Order]; ok && arrival.created[r.ID] > c {
				late = fmt.Sprintf("; created after a cancel for its order (log seq %d > %d)", arrival.created[r.ID], c)
			}
			f.add("%s %s %d for order %s: %s%s", svc, noun(svc), r.ID, r.Order, w.orderState(r.Order), late)
		}
	}
	return f
}

// arrivals is the arrival order at a service, which tells a resource
// created after a cancel for its order (a compensation that overtook its
// action): the log seq each resource was created at, and the first cancel
// of each order.
type arrivals struct {
	created     map[int64]int64
	firstCancel map[string]int64
}

func newArrivals(log []LogRow) *arrivals {
	a := &arrivals{created: map[int64]int64{}, firstCancel: map[string]int64{}}
	for _, l := range log {
		switch {
		case l.Op == "create" && l.Outcome == "created":
			a.created[l.ResourceID] = l.Seq
		case l.Op == "cancel" && l.Order != "":
			if s, ok := a.firstCancel[l.Order]; !ok || l.Seq < s {
				a.firstCancel[l.Order] = l.Seq
			}
		}
	}
	return a
}

// checkPartialCommit counts each order that breaks all-or-nothing: confirmed
// without a held resource at each of payments, inventory and shipping, or
// failed while something is still held for it.
func checkPartialCommit(w *world) Finding {
	var f Finding
	for _, o := range w.orders {
		switch o.State {
		case sim.OrderConfirmed:
			var lack []string
			for _, svc := range downstream {
				if !w.svc[svc].held.has(o.Key) {
					lack = append(lack, noun(svc)+" at "+svc)
				}
			}
			if len(lack) > 0 {
				f.add("order %s: confirmed without a held %s", o.Key, strings.Join(lack, ", "))
			}
		case sim.OrderFailed:
			var holds []string
			for _, svc := range downstream {
				if !w.svc[svc].held.has(o.Key) {
					continue
				}
				for _, r := range w.heldFor(svc, o.Key) {
					holds = append(holds, fmt.Sprintf("%s %d at %s", noun(svc), r.ID, svc))
				}
			}
			if len(holds) > 0 {
				f.add("order %s: failed but holds %s", o.Key, strings.Join(holds, ", "))
			}
		}
	}
	return f
}

// checkDuplicateEffect counts each (order, service) pair with more than one
// held resource, and each resource cancelled more than once (by its cancels
// column or by the cancels its service's log records as applied).
func checkDuplicateEffect(w *world) Finding {
	var f Finding
	for _, svc := range downstream {
		held := w.svc[svc].held
		var keys []string
		for k := range held.first {
			if held.many(k) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			rs := w.heldFor(svc, k)
			f.add("order %s: %d active %ss at %s (ids %s)", k, len(rs), noun(svc), svc, ids(rs, resourceID))
		}
	}
	for _, svc := range downstream {
		applied := cancelsApplied(w, svc)
		for _, r := range w.svc[svc].res {
			if n := max(r.Cancels, applied[r.ID]); n > 1 {
				f.add("%s %s %d for order %s: cancelled %d times", svc, noun(svc), r.ID, r.Order, n)
			}
		}
	}
	return f
}

// checkLostEvent counts each confirmed order with no credit at rewards.
func checkLostEvent(w *world) Finding {
	var f Finding
	_, brokerMissing := w.s.Missing[sim.Broker]
	var events map[string]EventRow // built at the first lost event
	for _, o := range w.orders {
		if o.State != sim.OrderConfirmed || w.credit.has(o.Key) {
			continue
		}
		if events == nil {
			events = map[string]EventRow{}
			for _, e := range w.events {
				if _, ok := events[e.Order]; !ok {
					events[e.Order] = e
				}
			}
		}
		e, published := events[o.Key]
		switch {
		case brokerMissing:
			f.add("order %s: confirmed, no credit at rewards", o.Key)
		case !published:
			f.add("order %s: confirmed, no credit at rewards: no %s event in the broker log", o.Key, sim.OrderConfirmedEvent)
		case e.Offset > w.committed:
			f.add("order %s: confirmed, no credit at rewards: event at offset %d not consumed (committed offset %d)", o.Key, e.Offset, w.committed)
		default:
			f.add("order %s: confirmed, no credit at rewards: event at offset %d consumed but not applied", o.Key, e.Offset)
		}
	}
	return f
}

// checkGhostEvent counts each order with an order.confirmed event in the
// orders topic that is not confirmed in the orders database.
func checkGhostEvent(w *world) Finding {
	var f Finding
	first := map[string]EventRow{} // the ghosts' first events
	var keys []string
	for _, e := range w.events {
		if o, ok := w.lookup(e.Order); ok && o.State == sim.OrderConfirmed {
			continue
		}
		if _, ok := first[e.Order]; !ok {
			first[e.Order] = e
			keys = append(keys, e.Order)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		f.add("order %s: %s event at offset %d, but %s", k, sim.OrderConfirmedEvent, first[k].Offset, w.orderState(k))
	}
	return f
}

// checkDuplicateConsumerEffect counts each order credited more than once at
// rewards.
func checkDuplicateConsumerEffect(w *world) Finding {
	var f Finding
	var keys []string
	for k := range w.credit.first {
		if w.credit.many(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		cs := w.creditsOf(k)
		events := make([]string, len(cs))
		for i, c := range cs {
			events[i] = c.EventID
		}
		f.add("order %s: credited %d times at rewards (credit ids %s; event ids %s)",
			k, len(cs), ids(cs, creditID), strings.Join(events, ", "))
	}
	return f
}

// checkNotConserved counts each account whose books disagree: per customer,
// the money held at payments and the points credited at rewards against the
// value of the customer's confirmed orders; per SKU, inventory's initial
// stock against what is available plus what held reservations take.
func checkNotConserved(w *world) Finding {
	var f Finding
	value, money, points := map[string]int64{}, map[string]int64{}, map[string]int64{}
	customers := map[string]bool{}
	for _, o := range w.s.Orders {
		if o.State == sim.OrderConfirmed {
			value[o.Customer] += o.Amount
			customers[o.Customer] = true
		}
	}
	for _, r := range w.s.Resources[sim.Payments] {
		if r.State == sim.ResourceActive {
			money[r.Customer] += r.Amount
			customers[r.Customer] = true
		}
	}
	for _, c := range w.s.Credits {
		points[c.Customer] += c.Points
		customers[c.Customer] = true
	}
	sorted := sortedKeys(customers)
	for _, c := range sorted {
		if money[c] != value[c] {
			f.add("customer %s: %d held at payments, confirmed orders worth %d", c, money[c], value[c])
		}
	}
	for _, c := range sorted {
		if points[c] != value[c] {
			f.add("customer %s: %d points at rewards, confirmed orders worth %d", c, points[c], value[c])
		}
	}
	initial, available, reserved := map[string]int64{}, map[string]int64{}, map[string]int64{}
	skus := map[string]bool{}
	for _, s := range w.s.Stock {
		initial[s.SKU] += s.Initial
		available[s.SKU] += s.Available
		skus[s.SKU] = true
	}
	for _, r := range w.s.Resources[sim.Inventory] {
		if r.State == sim.ResourceActive {
			reserved[r.SKU] += r.Qty
			skus[r.SKU] = true
		}
	}
	for _, s := range sortedKeys(skus) {
		if initial[s] != available[s]+reserved[s] {
			f.add("sku %s: initial stock %d, but available %d + reserved %d = %d",
				s, initial[s], available[s], reserved[s], available[s]+reserved[s])
		}
	}
	return f
}

// checkStuck counts each order in a non-terminal state, each key a Pending
// query returned, each event of the orders topic past the rewards group's
// committed offset, and each request a service refused more than
// MaxRejections times (checkRetriedRefusals).
func checkStuck(w *world) Finding {
	var f Finding
	for _, o := range w.orders {
		if !isTerminal(o.State) {
			f.add("order %s: %s after healing", o.Key, o.State)
		}
	}
	var names []string
	for n := range w.s.Pending {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, k := range w.s.Pending[n] {
			f.add("%s: %s unfinished after healing", n, k)
		}
	}
	for _, e := range sortedBy(w.s.Events, byOffset) {
		if e.Topic == sim.OrdersTopic && e.Offset > w.committed {
			f.add("event at offset %d (%s for order %s): not consumed by %s (committed offset %d)",
				e.Offset, e.Type, e.Order, sim.RewardsGroup, w.committed)
		}
	}
	checkRetriedRefusals(w, &f)
	return f
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
