package det

import (
	"fmt"

	"github.com/txchaos/txchaos/sim"
)

// sites is what the runtime knows of fault sites: the decisions of its
// schedule (Options.Schedule), the sites it has passed and the decisions
// it has taken, drawn or scheduled. Heal ends the faults a profile draws,
// not a schedule's: a schedule is finite, and its faults land wherever the
// run reaches their sites, before healing or after (during recovery).
type sites struct {
	schedule map[slotKey]sim.Decision
	passed   sim.Passes
	taken    []sim.Decision
	orders   map[string]orderID // the orders met so far, numbered (see order)
}

// orderID is an order's number in a run, from 0 in the order they were
// met: what the runtime's per-order site counters (counts) are indexed by. A run of 100,000 orders keeps a counter per
// order on every link and node it passes: keyed by the order's string,
// each a copy taken from its request, they held some 70 MB.
type orderID uint32

// order is the number of order, the same for every request about it; ""
// (about no order) is numbered too.
func (s *sites) order(order string) orderID {
	id, ok := s.orders[order]
	if !ok {
		if s.orders == nil {
			s.orders = map[string]orderID{}
		}
		id = orderID(len(s.orders))
		s.orders[order] = id
	}
	return id
}

// counts are per-order counters (a link's requests, a node's commits or
// visits to a crash point, each about an order): a slice indexed by the
// order's number, 4 bytes an order met, where a map of them held some 50
// (a run of 100,000 orders keeps one on every link and node it passes).
type counts []uint32

// next adds one to the count of order id and returns it.
func (c *counts) next(id orderID) uint64 {
	if int(id) >= len(*c) {
		*c = append(*c, make(counts, int(id)+1-len(*c))...)
	}
	(*c)[id]++
	return uint64((*c)[id])
}

// slotKey is one slot of one site.
type slotKey struct {
	site string
	slot sim.Slot
}

// newSites indexes a schedule by site and slot; it refuses a decision
// that is not a site fault and two decisions in one slot.
func newSites(schedule []sim.Decision) (*sites, error) {
	s := &sites{schedule: map[slotKey]sim.Decision{}}
	for _, d := range schedule {
		slot, ok := sim.SlotOf(d.Fault)
		if !ok {
			return nil, fmt.Errorf("schedule: %s: %q is not a fault decided at a site", d.Site, d.Fault)
		}
		k := slotKey{d.Site, slot}
		if prev, dup := s.schedule[k]; dup {
			return nil, fmt.Errorf("schedule: %s: %s and %s are both decided in its %s slot", d.Site, prev.Fault, d.Fault, slot)
		}
		s.schedule[k] = d
	}
	return s, nil
}

// pass records that the run reached site and asks for a decision in slot,
// and returns the pass's index in passed.
func (s *sites) pass(site string, slot sim.Slot) int {
	return s.passed.Add(site, slot)
}

// idle marks the passes of c idle when it is a request about no order
// that changed no database (see sim.Pass).
func (s *sites) idle(c *call, order string) {
	if order != "" || c.changed {
		return
	}
	for _, i := range c.passes {
		s.passed.SetIdle(i)
	}
}

// decision is the schedule's decision at site in slot, if any.
func (s *sites) decision(site string, slot sim.Slot) (sim.Decision, bool) {
	if len(s.schedule) == 0 {
		return sim.Decision{}, false
	}
	d, ok := s.schedule[slotKey{site, slot}]
	return d, ok
}

// take records a decision taken at the current virtual time.
func (r *Runtime) take(d sim.Decision, detail string) {
	d.At, d.Detail = r.elapsed(), detail
	r.sites.taken = append(r.sites.taken, d)
}

// Decisions returns every fault the runtime decided at a site so far,
// drawn from a profile's rates or taken from the schedule, in the order
// it took them, with their times and details: the run's schedule (the
// crashes and partitions a nemesis orders at moments are its own).
func (r *Runtime) Decisions() []sim.Decision { return append([]sim.Decision(nil), r.sites.taken...) }

// Passes returns every site the runtime passed, with the slot it asked a
// decision for, in order, healed or not: the sites where a scheduled fault
// could have landed.
func (r *Runtime) Passes() *sim.Passes { return r.sites.passed.Clone() }
