package scenarios

import (
	"time"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/sim"
)

// evidenceOf computes the evidence of a run (see the package doc) that
// started at start on the runtime's clock and lasted end.
func evidenceOf(profile faults.Profile, applied []sim.Applied, history []checker.Op, st *checker.State, start time.Time, end time.Duration) *results.Evidence {
	ev := &results.Evidence{Faults: make([]results.FaultEvidence, len(profile)), NotExercised: []string{}}
	for i, f := range profile {
		ev.Faults[i].Fault = f.String()
	}
	open := openWindows(history, st, start, end)
	for _, a := range applied {
		i := entryOf(profile, a)
		if i < 0 {
			continue
		}
		fe := &ev.Faults[i]
		fe.Applied++
		landed := open.landed(a)
		if landed {
			fe.Landed++
		}
		if spansTargets(profile[i]) {
			if fe.Targets == nil {
				fe.Targets = map[string]results.Count{}
			}
			c := fe.Targets[a.Target]
			c.Applied++
			if landed {
				c.Landed++
			}
			fe.Targets[a.Target] = c
		}
	}
	for _, fe := range ev.Faults {
		if fe.Landed == 0 {
			ev.NotExercised = append(ev.NotExercised, fe.Fault)
		}
	}
	return ev
}

// spansTargets reports whether f's applied faults can hit several
// targets: a link fault naming no link.
func spansTargets(f faults.Fault) bool {
	return f.Link == nil && f.Node == "" && f.Point == ""
}

// appliedKind is the profile kind of an applied fault's name ("" for a
// restart, which follows a crash).
func appliedKind(fault string) string {
	switch fault {
	case "crash-point":
		return "crashpoint"
	case "restart", "restart-failed":
		return ""
	}
	return fault
}

// entryOf is the index of the profile entry a caused, or -1: the last
// entry of a's kind whose target matches.
func entryOf(p faults.Profile, a sim.Applied) int {
	kind := appliedKind(a.Fault)
	if kind == "crash" && a.Detail == "" { // a crash the nemesis ordered: a timed one
		kind = "kill"
	}
	for i := len(p) - 1; i >= 0; i-- {
		f := p[i]
		if f.Kind != kind {
			continue
		}
		switch {
		case f.Point != "":
			if a.Detail == f.Point {
				return i
			}
		case f.Link != nil:
			if a.Target == f.Link.String() {
				return i
			}
		case f.Node != "":
			if a.Target == f.Node || f.Node == faults.AnyNode {
				return i
			}
		default:
			return i
		}
	}
	return -1
}

// window is when an order was open, since the run's start.
type window struct{ from, to time.Duration }

func (w window) contains(t time.Duration) bool { return w.from <= t && t <= w.to }

// windows are the orders' open windows by key.
type windows map[string]window

// landed reports whether a hit an order it affected while that order was
// open.
func (ws windows) landed(a sim.Applied) bool {
	if a.Order != "" {
		w, ok := ws[a.Order]
		return ok && w.contains(a.At)
	}
	for _, w := range ws {
		if w.contains(a.At) {
			return true
		}
	}
	return false
}

// openWindows finds when each order the clients placed was open.
func openWindows(history []checker.Op, st *checker.State, start time.Time, end time.Duration) windows {
	ws := windows{}
	for _, op := range history {
		if op.Kind != checker.KindCheckout {
			continue
		}
		w, ok := ws[op.Key]
		if !ok {
			w = window{from: op.Call, to: op.Return}
		}
		w.from, w.to = min(w.from, op.Call), max(w.to, op.Return)
		ws[op.Key] = w
	}
	if st == nil {
		return ws
	}
	// Every change a service made for an order, on the runtime's clock.
	touch := func(order string, unixNano int64) {
		w, ok := ws[order]
		if !ok || unixNano <= 0 {
			return
		}
		w.to = max(w.to, time.Unix(0, unixNano).Sub(start))
		ws[order] = w
	}
	atRest := map[string]bool{}
	for _, o := range st.Orders {
		touch(o.Key, o.UpdatedAt)
		atRest[o.Key] = o.State == sim.OrderConfirmed || o.State == sim.OrderFailed
	}
	for _, rows := range st.Resources {
		for _, r := range rows {
			touch(r.Order, r.CreatedAt)
			touch(r.Order, r.CancelledAt)
		}
	}
	for _, rows := range st.Log {
		for _, l := range rows {
			touch(l.Order, l.At)
		}
	}
	for _, e := range st.Events {
		touch(e.Order, e.PublishedAt)
	}
	for _, c := range st.Credits {
		touch(c.Order, c.At)
	}
	for _, keys := range st.Pending {
		for _, k := range keys {
			atRest[k] = false
		}
	}
	for key, w := range ws {
		if rested, known := atRest[key]; known && !rested {
			w.to = max(w.to, end)
			ws[key] = w
		}
	}
	return ws
}

// scheduleEvidence is the evidence of a run of a schedule: for each of its
// faults (one line each), whether the runtime applied it (a partition
// counts the requests it dropped) and whether it landed while an order it
// affected was open. A fault whose site the run never reached was never
// applied.
func scheduleEvidence(sched faults.Schedule, got faults.Schedule, applied []sim.Applied, history []checker.Op, st *checker.State, start time.Time, end time.Duration) *results.Evidence {
	ev := &results.Evidence{Faults: make([]results.FaultEvidence, len(sched)), NotExercised: []string{}}
	open := openWindows(history, st, start, end)
	for i, e := range sched {
		fe := &ev.Faults[i]
		fe.Fault = e.String()
		for _, a := range applied {
			if !scheduled(e, a) {
				continue
			}
			fe.Applied++
			if open.landed(a) {
				fe.Landed++
			}
			if e.Moment != nil && e.Moment.Fault == faults.MomentKill {
				break // one crash
			}
		}
		if fe.Landed == 0 {
			ev.NotExercised = append(ev.NotExercised, fe.Fault)
		}
	}
	return ev
}

// scheduled reports whether a is the fault schedule entry e caused.
func scheduled(e faults.Entry, a sim.Applied) bool {
	if m := e.Moment; m != nil {
		if m.Fault == faults.MomentKill {
			return a.Fault == "crash" && a.Detail == "" && a.Target == m.Node && a.At >= m.At
		}
		return a.Fault == "partition" && a.Target == m.Link.String() && a.At >= m.At && a.At <= m.At+m.For
	}
	return a.Site == e.Decision.Site && appliedKind(a.Fault) == e.Decision.Fault
}
