package checker

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// Witness is the story of one anomaly, the minimal one a reader needs to
// see why it is one: everything the run left about the subject of a
// Finding's first example — the clients' operations on it (from the
// history) and its rows in every database (the order, each service's
// resources and log, the broker's events, the credits at rewards, the
// pending work).
type Witness struct {
	// Subject is what the story is about: "order o000017", "customer
	// c004" or "sku sku-2".
	Subject string `json:"subject"`
	// Story is one fact a line, in the order: client operations by call
	// time, then orders, payments, inventory, shipping (resources, then
	// log rows by seq), broker, rewards, pending work. Each line starts
	// with where it comes from.
	Story []string `json:"story"`
}

// String is the story, one line each, under its subject.
func (w *Witness) String() string {
	if w == nil {
		return ""
	}
	return w.Subject + ":\n  " + strings.Join(w.Story, "\n  ")
}

// Caps keep a story short: a section lists at most this many rows.
const (
	maxStoryOps  = 12
	maxStoryRows = 12
)

var (
	orderSubject    = regexp.MustCompile(`\border ([^\s:;,()]+)`)
	customerSubject = regexp.MustCompile(`^customer ([^\s:;,()]+)`)
	skuSubject      = regexp.MustCompile(`^sku ([^\s:;,()]+)`)
	pendingSubject  = regexp.MustCompile(`^.+: (\S+) unfinished after healing$`)
	seqCited        = regexp.MustCompile(`\bseq (\d+)`)
)

// noStateKey marks, in the Missing of the empty State attachWitnesses
// stands in for a nil one, that no state was read.
const noStateKey = "state"

// attachWitnesses gives each class with anomalies, and each read class
// beyond the promise that found some, the witness of its first example. w is nil when no state was read: the story is then the
// history's alone.
func attachWitnesses(r *Report, h []Op, w *world) {
	if w == nil {
		w = newWorld(&State{Missing: map[string]string{noStateKey: "no state was read"}})
	}
	for _, m := range []map[Class]Finding{r.Anomalies, r.Reads.Unpromised} {
		for c, f := range m {
			if f.Count == 0 || len(f.Examples) == 0 {
				continue
			}
			f.Witness = w.witness(h, f.Examples[0])
			m[c] = f
		}
	}
}

// witness tells the story of an example's subject: the first order it
// names ("order K", "for order K"), else the customer or SKU it starts
// with, else the order behind a pending key ("K" or "prefix:K"). It is nil
// when the example names none of these.
func (w *world) witness(h []Op, example string) *Witness {
	if key, ok := w.orderSubject(h, example); ok {
		return &Witness{Subject: "order " + key, Story: w.orderStory(h, key, citedSeqs(example))}
	}
	if m := customerSubject.FindStringSubmatch(example); m != nil {
		return &Witness{Subject: "customer " + m[1], Story: w.customerStory(h, m[1])}
	}
	if m := skuSubject.FindStringSubmatch(example); m != nil {
		return &Witness{Subject: "sku " + m[1], Story: w.skuStory(m[1])}
	}
	return nil
}

// orderSubject finds the order an example is about: the first "order K"
// whose K the run knows, else the first "order K" at all, else a pending
// key (or its part after the last colon) the run knows as an order.
func (w *world) orderSubject(h []Op, example string) (string, bool) {
	known := func(k string) bool {
		if _, ok := w.order[k]; ok {
			return true
		}
		for _, op := range h {
			if op.Key == k && op.Kind != KindBalance {
				return true
			}
		}
		for _, rows := range w.s.Resources {
			for _, r := range rows {
				if r.Order == k {
					return true
				}
			}
		}
		for _, e := range w.s.Events {
			if e.Order == k {
				return true
			}
		}
		return false
	}
	ms := orderSubject.FindAllStringSubmatch(example, -1)
	for _, m := range ms {
		if known(m[1]) {
			return m[1], true
		}
	}
	if len(ms) > 0 {
		return ms[0][1], true
	}
	if m := pendingSubject.FindStringSubmatch(example); m != nil {
		k := m[1]
		if i := strings.LastIndex(k, ":"); i >= 0 && !known(k) {
			k = k[i+1:]
		}
		if known(k) {
			return k, true
		}
	}
	return "", false
}

// section appends the lines of rows to story, at most max of them, and a
// line counting the rest.
func section[T any](story []string, rows []T, max int, line func(T) string, more string) []string {
	for i, r := range rows {
		if i == max {
			return append(story, fmt.Sprintf("%s … %d more", more, len(rows)-max))
		}
		story = append(story, line(r))
	}
	return story
}

func roundMs(d time.Duration) string { return d.Round(time.Millisecond).String() }

// opLine is a client operation: who, what, when and what they learned.
func opLine(op Op) string {
	what := op.Kind
	if op.Kind == KindCheckout {
		what = fmt.Sprintf("checkout attempt %d", op.Attempt)
	}
	got := string(op.Outcome)
	switch {
	case op.Kind == KindBalance && op.Outcome == OutcomeOK:
		got += fmt.Sprintf(" %d points", op.Points)
	case op.State != "":
		got += " " + op.State
	}
	if op.Reason != "" {
		got += " (" + op.Reason + ")"
	}
	return fmt.Sprintf("client %d: %s %s→%s: %s", op.Client, what, roundMs(op.Call), roundMs(op.Return), got)
}

// opsOf returns h's operations of kinds on key, by call time.
func opsOf(h []Op, key string, balance bool) []Op {
	var out []Op
	for _, op := range h {
		if op.Key == key && (op.Kind == KindBalance) == balance {
			out = append(out, op)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Call < out[j].Call })
	return out
}

func resourceLine(svc string, r ResourceRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %d", svc, noun(svc), r.ID)
	if r.Key != "" {
		fmt.Fprintf(&b, " key %s", r.Key)
	}
	fmt.Fprintf(&b, " for order %s", r.Order)
	switch svc {
	case sim.Payments:
		fmt.Fprintf(&b, " amount %d", r.Amount)
	case sim.Inventory:
		fmt.Fprintf(&b, " %s×%d", r.SKU, r.Qty)
	}
	fmt.Fprintf(&b, ": %s", r.State)
	switch {
	case r.Cancels == 1:
		b.WriteString(" (1 cancel applied)")
	case r.Cancels > 1:
		fmt.Fprintf(&b, " (%d cancels applied)", r.Cancels)
	}
	return b.String()
}

func logLine(svc string, l LogRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s log seq %d: %s", svc, l.Seq, l.Op)
	if l.Key != "" {
		fmt.Fprintf(&b, " key %s", l.Key)
	}
	fmt.Fprintf(&b, " → %s", l.Outcome)
	if l.ResourceID != 0 {
		fmt.Fprintf(&b, " (%s %d)", noun(svc), l.ResourceID)
	}
	return b.String()
}

// citedSeqs are the log seqs an example names ("log seq 5", "seq 4").
func citedSeqs(example string) map[int64]bool {
	cited := map[int64]bool{}
	for _, m := range seqCited.FindAllStringSubmatch(example, -1) {
		var n int64
		if _, err := fmt.Sscan(m[1], &n); err == nil {
			cited[n] = true
		}
	}
	return cited
}

// maxListed is how many resources of one service a story lists one a
// line; more are summed up by state.
const maxListed = 4

// resourceLines tells svc's resources for the order.
func resourceLines(svc, order string, res []ResourceRow) []string {
	if len(res) <= maxListed {
		out := make([]string, len(res))
		for i, r := range res {
			out[i] = resourceLine(svc, r)
		}
		return out
	}
	var states []string
	ids := map[string][]string{}
	for _, r := range res {
		if ids[r.State] == nil {
			states = append(states, r.State)
		}
		ids[r.State] = append(ids[r.State], fmt.Sprint(r.ID))
	}
	parts := make([]string, len(states))
	for i, st := range states {
		list := ids[st]
		if len(list) > 8 {
			list = append(list[:8:8], "…")
		}
		parts[i] = fmt.Sprintf("%s ×%d (ids %s)", st, len(ids[st]), strings.Join(list, ", "))
	}
	return []string{fmt.Sprintf("%s: %d %ss for order %s: %s", svc, len(res), noun(svc), order, strings.Join(parts, "; "))}
}

// logLines tells svc's log rows for the order in seq order: all of them
// when they are few, else the cited ones and the first others, up to
// maxStoryRows, and a line counting the rest.
func logLines(svc string, log []LogRow, cited map[int64]bool) []string {
	keep := map[int64]bool{}
	room := maxStoryRows
	for _, l := range log {
		if cited[l.Seq] && room > 0 {
			keep[l.Seq] = true
			room--
		}
	}
	for _, l := range log {
		if room == 0 {
			break
		}
		if !keep[l.Seq] {
			keep[l.Seq] = true
			room--
		}
	}
	var out []string
	for _, l := range log {
		if keep[l.Seq] {
			out = append(out, logLine(svc, l))
		}
	}
	if n := len(log) - len(out); n > 0 {
		out = append(out, fmt.Sprintf("%s log: … %d more rows", svc, n))
	}
	return out
}

// orderStory is everything the run left about the order with key.
//
// A service's resources for the order are listed one a line when there
// are few, and summed up by state when there are many; its log rows are
// listed up to maxStoryRows, always including those the example cites by
// seq.
func (w *world) orderStory(h []Op, key string, cited map[int64]bool) []string {
	var story []string
	ops := opsOf(h, key, false)
	if len(ops) == 0 {
		story = append(story, "client: no operation on this key")
	}
	story = section(story, ops, maxStoryOps, opLine, "client:")
	if story, none := w.noState(story); none {
		return story
	}
	story = w.missingLine(story, sim.Orders)
	if o, ok := w.lookup(key); ok {
		line := fmt.Sprintf("orders: order %s customer %s %s×%d amount %d: %s", o.Key, o.Customer, o.SKU, o.Qty, o.Amount, o.State)
		if o.Reason != "" {
			line += " (" + o.Reason + ")"
		}
		story = append(story, line)
	} else if _, missing := w.s.Missing[sim.Orders]; !missing {
		story = append(story, "orders: no such order")
	}
	for _, svc := range downstream {
		story = w.missingLine(story, svc)
		if _, missing := w.s.Missing[svc]; missing {
			continue
		}
		st := newSteps(w, svc)
		var res []ResourceRow
		for _, r := range w.svc[svc].res {
			if r.Order == key {
				res = append(res, r)
			}
		}
		var log []LogRow
		for _, l := range w.svc[svc].log {
			if st.of(l) == key {
				log = append(log, l)
			}
		}
		if len(res) == 0 && len(log) == 0 {
			story = append(story, fmt.Sprintf("%s: no %s, no request reached it", svc, noun(svc)))
			continue
		}
		story = append(story, resourceLines(svc, key, res)...)
		story = append(story, logLines(svc, log, cited)...)
	}
	story = w.missingLine(story, sim.Broker)
	if _, missing := w.s.Missing[sim.Broker]; !missing {
		var events []EventRow
		for _, e := range w.s.Events {
			if e.Order == key {
				events = append(events, e)
			}
		}
		sort.SliceStable(events, func(i, j int) bool { return events[i].Offset < events[j].Offset })
		if len(events) == 0 {
			story = append(story, "broker: no event for this order")
		}
		story = section(story, events, maxStoryRows, func(e EventRow) string {
			consumed := "consumed"
			if e.Topic != sim.OrdersTopic || e.Offset > w.committed {
				consumed = "not consumed"
			}
			return fmt.Sprintf("broker: offset %d %s %s event %s amount %d: %s by %s (committed offset %d)",
				e.Offset, e.Topic, e.Type, e.EventID, e.Amount, consumed, sim.RewardsGroup, w.committed)
		}, "broker:")
	}
	story = w.missingLine(story, sim.Rewards)
	if _, missing := w.s.Missing[sim.Rewards]; !missing {
		cs := w.creditsOf(key)
		if len(cs) == 0 {
			story = append(story, "rewards: no credit for this order")
		}
		story = section(story, cs, maxStoryRows, func(c CreditRow) string {
			return fmt.Sprintf("rewards: credit %d for event %s (offset %d): %d points to %s", c.ID, c.EventID, c.Offset, c.Points, c.Customer)
		}, "rewards:")
	}
	return w.pendingLines(story, key)
}

// pendingLines adds each pending query that returned key (or a key ending
// in ":key"), and each that could not be run.
func (w *world) pendingLines(story []string, key string) []string {
	var names []string
	for n := range w.s.Pending {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, k := range w.s.Pending[n] {
			if k == key || strings.HasSuffix(k, ":"+key) {
				story = append(story, fmt.Sprintf("pending: %s: %s unfinished", n, k))
			}
		}
	}
	return story
}

// missingLine adds a line when node's database was not read.
func (w *world) missingLine(story []string, node string) []string {
	if why, ok := w.s.Missing[node]; ok {
		return append(story, fmt.Sprintf("%s: not read (%s)", node, why))
	}
	return story
}

// noState reports whether no state was read at all (see attachWitnesses),
// and if so ends story with a line that says so: no database fact can be
// told.
func (w *world) noState(story []string) ([]string, bool) {
	why, ok := w.s.Missing[noStateKey]
	if ok {
		story = append(story, "state: not read ("+why+")")
	}
	return story, ok
}

// customerStory is a customer's books: their balance reads, their orders,
// the money held for them at payments and the points credited at rewards.
func (w *world) customerStory(h []Op, customer string) []string {
	story := section(nil, opsOf(h, customer, true), maxStoryOps, opLine, "client:")
	if story, none := w.noState(story); none {
		return story
	}
	story = w.missingLine(story, sim.Orders)
	var orders []OrderRow
	for _, o := range w.orders {
		if o.Customer == customer {
			orders = append(orders, o)
		}
	}
	story = section(story, orders, maxStoryRows, func(o OrderRow) string {
		return fmt.Sprintf("orders: order %s amount %d: %s", o.Key, o.Amount, o.State)
	}, "orders:")
	story = w.missingLine(story, sim.Payments)
	var held []ResourceRow
	for _, r := range w.svc[sim.Payments].res {
		if r.Customer == customer && r.State == sim.ResourceActive {
			held = append(held, r)
		}
	}
	if len(held) == 0 {
		story = append(story, "payments: no charge held")
	}
	story = section(story, held, maxStoryRows, func(r ResourceRow) string { return resourceLine(sim.Payments, r) }, "payments:")
	story = w.missingLine(story, sim.Rewards)
	var credits []CreditRow
	for _, c := range w.s.Credits {
		if c.Customer == customer {
			credits = append(credits, c)
		}
	}
	sort.SliceStable(credits, func(i, j int) bool { return credits[i].ID < credits[j].ID })
	if len(credits) == 0 {
		story = append(story, "rewards: no credit")
	}
	return section(story, credits, maxStoryRows, func(c CreditRow) string {
		return fmt.Sprintf("rewards: credit %d for order %s (event %s): %d points", c.ID, c.Order, c.EventID, c.Points)
	}, "rewards:")
}

// skuStory is a SKU's books at inventory: its stock row, the reservations
// held for it and their orders.
func (w *world) skuStory(sku string) []string {
	story, none := w.noState(nil)
	if none {
		return story
	}
	story = w.missingLine(story, sim.Inventory)
	for _, s := range w.s.Stock {
		if s.SKU == sku {
			story = append(story, fmt.Sprintf("inventory: stock %s initial %d, available %d", s.SKU, s.Initial, s.Available))
		}
	}
	var held []ResourceRow
	for _, r := range w.svc[sim.Inventory].res {
		if r.SKU == sku && r.State == sim.ResourceActive {
			held = append(held, r)
		}
	}
	if len(held) == 0 {
		story = append(story, "inventory: no reservation held")
	}
	return section(story, held, maxStoryRows, func(r ResourceRow) string {
		line := resourceLine(sim.Inventory, r)
		if o, ok := w.lookup(r.Order); ok {
			line += "; order " + o.State
		}
		return line
	}, "inventory:")
}
