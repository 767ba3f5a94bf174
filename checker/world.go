package checker

import (
	"cmp"
	"slices"

	"github.com/txchaos/txchaos/sim"
)

// world indexes a State for the checks, once: each check then reads it in
// one pass, so that judging a state costs time linear in its rows (but
// for sorting rows ReadState did not sort) and a few words of memory per
// row, none of them copies of a row.
type world struct {
	s *State
	// orders are the orders by key, and order maps a key to its index.
	orders []OrderRow
	order  map[string]int32
	// svc holds payments, inventory and shipping.
	svc map[string]*service
	// events are the order.confirmed events of the orders topic, by offset.
	events []EventRow
	// credits are the credits at rewards by id, and credit lists each
	// order's.
	credits []CreditRow
	credit  chain
	// committed is the rewards group's committed offset in the orders topic.
	committed int64
}

// service indexes a resource service's tables.
type service struct {
	res []ResourceRow // by id
	log []LogRow      // by seq
	// held lists each order's active resources, indexes into res.
	held chain
	// byKey maps a resource key to its index in res, built when first
	// needed: only log rows that name no order look a key up.
	byKey map[string]int32
}

// chain lists, for each key, indexes into a slice, in the slice's order:
// first[key], then next[i] until -1. It costs a map entry per key and a
// word per row, where a map of slices costs a slice per key.
type chain struct {
	first map[string]int32
	next  []int32
}

// newChain chains the rows of a slice of n rows for which key returns ok,
// by their key.
func newChain(n int, key func(i int) (string, bool)) chain {
	c := chain{first: make(map[string]int32), next: make([]int32, n)}
	for i := n - 1; i >= 0; i-- { // backwards: each row goes in front
		k, ok := key(i)
		if !ok {
			c.next[i] = -1
			continue
		}
		if f, seen := c.first[k]; seen {
			c.next[i] = f
		} else {
			c.next[i] = -1
		}
		c.first[k] = int32(i)
	}
	return c
}

// of returns the indexes chained under key, in order.
func (c chain) of(key string) []int32 {
	f, ok := c.first[key]
	if !ok {
		return nil
	}
	var out []int32
	for i := f; i >= 0; i = c.next[i] {
		out = append(out, i)
	}
	return out
}

// has reports whether key chains any row.
func (c chain) has(key string) bool {
	_, ok := c.first[key]
	return ok
}

// many reports whether key chains more than one row.
func (c chain) many(key string) bool {
	f, ok := c.first[key]
	return ok && c.next[f] >= 0
}

// sortedBy returns rows sorted by cmp: rows itself when it already is,
// as ReadState reads them, else a sorted copy.
func sortedBy[T any](rows []T, cmp func(a, b T) int) []T {
	if slices.IsSortedFunc(rows, cmp) {
		return rows
	}
	out := slices.Clone(rows)
	slices.SortStableFunc(out, cmp)
	return out
}

func byKey(a, b OrderRow) int        { return cmp.Compare(a.Key, b.Key) }
func byID(a, b ResourceRow) int      { return cmp.Compare(a.ID, b.ID) }
func bySeq(a, b LogRow) int          { return cmp.Compare(a.Seq, b.Seq) }
func byOffset(a, b EventRow) int     { return cmp.Compare(a.Offset, b.Offset) }
func byCreditID(a, b CreditRow) int  { return cmp.Compare(a.ID, b.ID) }
func resourceID(r ResourceRow) int64 { return r.ID }
func creditID(c CreditRow) int64     { return c.ID }
func isTerminal(state string) bool   { return state == sim.OrderConfirmed || state == sim.OrderFailed }
func confirmedEvent(e EventRow) bool {
	return e.Topic == sim.OrdersTopic && e.Type == sim.OrderConfirmedEvent
}
func (w *world) svcOf(name string) *service { return w.svc[name] }

// newWorld indexes s for every check.
func newWorld(s *State) *world {
	w := newRows(s)
	w.credits = sortedBy(s.Credits, byCreditID)
	w.order = make(map[string]int32, len(w.orders))
	for i, o := range w.orders {
		w.order[o.Key] = int32(i) // keys are unique; else the last row of one counts
	}
	for _, name := range downstream {
		v := w.svc[name]
		v.held = newChain(len(v.res), func(i int) (string, bool) { return v.res[i].Order, v.res[i].State == sim.ResourceActive })
	}
	for _, e := range sortedBy(s.Events, byOffset) {
		if confirmedEvent(e) {
			w.events = append(w.events, e)
		}
	}
	w.credit = newChain(len(w.credits), func(i int) (string, bool) { return w.credits[i].Order, true })
	return w
}

// newRows is the part of a world the stuck check reads (CheckStuck builds
// no more, while a runner holds the world's databases too): the orders,
// each service's resources and log, sorted, and the committed offset.
func newRows(s *State) *world {
	w := &world{s: s, orders: sortedBy(s.Orders, byKey), svc: map[string]*service{}}
	for _, name := range downstream {
		w.svc[name] = &service{res: sortedBy(s.Resources[name], byID), log: sortedBy(s.Log[name], bySeq)}
	}
	for _, o := range s.Offsets {
		if o.Topic == sim.OrdersTopic && o.Group == sim.RewardsGroup && o.Offset > w.committed {
			w.committed = o.Offset
		}
	}
	return w
}

// lookup returns the order with key.
func (w *world) lookup(key string) (OrderRow, bool) {
	i, ok := w.order[key]
	if !ok {
		return OrderRow{}, false
	}
	return w.orders[i], true
}

// heldFor returns the resources svc holds for an order, by id.
func (w *world) heldFor(svc, order string) []ResourceRow {
	v := w.svc[svc]
	var out []ResourceRow
	for _, i := range v.held.of(order) {
		out = append(out, v.res[i])
	}
	return out
}

// creditsOf returns an order's credits at rewards, by id.
func (w *world) creditsOf(order string) []CreditRow {
	var out []CreditRow
	for _, i := range w.credit.of(order) {
		out = append(out, w.credits[i])
	}
	return out
}

// resource returns the resource with id.
func (v *service) resource(id int64) (ResourceRow, bool) {
	if i := id - 1; i >= 0 && i < int64(len(v.res)) && v.res[i].ID == id { // ids count from 1, rows rarely go
		return v.res[i], true
	}
	i, ok := slices.BinarySearchFunc(v.res, id, func(r ResourceRow, id int64) int { return cmp.Compare(r.ID, id) })
	if !ok {
		return ResourceRow{}, false
	}
	return v.res[i], true
}

// keyOrder returns the order of the resource holding key.
func (v *service) keyOrder(key string) (string, bool) {
	if v.byKey == nil {
		v.byKey = map[string]int32{}
		for i, r := range v.res {
			if r.Key != "" {
				v.byKey[r.Key] = int32(i)
			}
		}
	}
	i, ok := v.byKey[key]
	if !ok {
		return "", false
	}
	return v.res[i].Order, true
}

// orderState describes the state of the order with key for an example.
func (w *world) orderState(key string) string {
	o, ok := w.lookup(key)
	if !ok {
		return "no such order"
	}
	return "order " + o.State
}
