package explore

import "github.com/txchaos/txchaos/sim"

// Kinds are the faults explored at a site's slot, in the order they are
// tried: every fault kind that applies there, each with its default
// delay (late: just after the caller gave up; duplicate: the copy at
// once; reorder: held until a later request on its link is answered, or
// 100ms). An idle site (sim.Pass) gets none.
//
// Latency is not among them: its delay is a continuum, a latency the
// caller does not outwait is a drop-request (explored), and a shorter
// one only moves when the request lands. Faults at moments (kill NODE,
// partition LINK) are not either: a crash is explored at every request a
// node serves (before and after handling it), at every commit (before
// and after it) and at every crash point its code reaches, and a
// partition is a run of dropped requests.
func Kinds(p sim.Pass) []sim.Decision {
	if p.Idle {
		return nil
	}
	d := func(fault string, after bool) sim.Decision {
		return sim.Decision{Site: p.Site, Fault: fault, After: after}
	}
	switch p.Slot {
	case sim.SlotNet:
		return []sim.Decision{
			d(sim.FaultDropRequest, false), d(sim.FaultLostResponse, false),
			d(sim.FaultLate, false), d(sim.FaultDuplicate, false), d(sim.FaultReorder, false),
		}
	case sim.SlotServe:
		return []sim.Decision{d(sim.FaultError, false), d(sim.FaultCrash, false), d(sim.FaultCrash, true)}
	case sim.SlotVisit:
		return []sim.Decision{d(sim.FaultCrashPoint, false)}
	case sim.SlotCommit:
		return []sim.Decision{d(sim.FaultCrashCommit, false), d(sim.FaultCrashCommit, true)}
	}
	return nil
}
