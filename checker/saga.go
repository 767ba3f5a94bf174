package checker

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/txchaos/txchaos/sim"
)

// The saga ordering classes: an action and its compensation arriving at a
// service in the wrong order (see the package doc).
const (
	HangingAction     Class = "hanging-action"
	EmptyCompensation Class = "empty-compensation"
)

// MaxRejections is how many times a service may refuse one request — the
// same create or cancel, by key, or by order when it has none — with a
// non-transient error before the caller's retries count as stuck: a
// request retried on an error that retrying cannot fix.
const MaxRejections = 10

// The operations and outcomes of a resource service's log (sim.ResourceSchema).
const (
	opCreate = "create"
	opCancel = "cancel"

	outCreated            = "created"
	outRejected           = "rejected"
	outRefusedAfterCancel = "refused-after-cancel"
	outKeyConflict        = "key-conflict"
	outCancelled          = "cancelled"
	outAlreadyCancelled   = "already-cancelled"
	outNotFound           = "not-found"
)

// refusal reports whether a log row is a non-transient refusal: an answer
// that the same request, sent again, gets again. An already-cancelled
// answer is one at a non-idempotent service (409); an idempotent service
// (its rows carry the key) answers a repeated cancel with success. A create
// refused after its cancel (a tombstone) is no caller's retry: it is an
// action that arrived after its compensation — a late or duplicated copy
// the network delivered, or a driver that had not yet heard — refused as
// it must be; a caller that kept retrying it would leave its work
// unfinished, which the pending queries count.
//
// refusalOutcomes are the outcomes it may say yes to.
func refusal(l LogRow) bool {
	switch l.Outcome {
	case outRejected, outKeyConflict, outNotFound:
		return true
	case outAlreadyCancelled:
		return l.Key == ""
	}
	return false
}

var refusalOutcomes = []string{outRejected, outKeyConflict, outNotFound, outAlreadyCancelled}

// steps names the steps of one service's log rows. A step is one order's
// resource at the service: every create and cancel for it names the order
// (or, for a cancel that names none, the key of a resource that does).
type steps struct{ v *service }

func newSteps(w *world, svc string) steps { return steps{w.svc[svc]} }

// of names the step a log row is about: its order, or failing that the
// order of the resource with its key, or failing that its key.
func (s steps) of(l LogRow) string {
	if l.Order != "" {
		return l.Order
	}
	if o, ok := s.v.keyOrder(l.Key); ok && o != "" {
		return o
	}
	return "key " + l.Key
}

// held reports whether the resource with id is still held at the end of
// the run.
func (s steps) held(id int64) bool {
	r, ok := s.v.resource(id)
	return ok && r.State == sim.ResourceActive
}

// checkHangingAction counts each create that took effect (outcome created)
// at a service after a cancel for the same step had already reached it, and
// whose resource is still held at the end: an action that arrived after its
// compensation and holds a resource nobody will release. A late action that
// a later compensation did release is not counted.
func checkHangingAction(w *world) Finding {
	var f Finding
	for _, svc := range downstream {
		st := newSteps(w, svc)
		cancel := map[string]LogRow{} // step → its first cancel
		for _, l := range w.svc[svc].log {
			step := st.of(l)
			switch {
			case l.Op == opCancel:
				if _, ok := cancel[step]; !ok {
					cancel[step] = l
				}
			case l.Op == opCreate && l.Outcome == outCreated:
				c, ok := cancel[step]
				if !ok || !st.held(l.ResourceID) {
					continue
				}
				f.add("%s %s %d for order %s: created at log seq %d, after its cancel at seq %d (%s), and still held",
					svc, noun(svc), l.ResourceID, step, l.Seq, c.Seq, c.Outcome)
			}
		}
	}
	return f
}

// checkEmptyCompensation counts each step whose compensation reached a
// service and found nothing to undo there, was not accounted for — the
// service answered not-found and recorded nothing, where an idempotent
// service leaves a tombstone — and whose action then took effect and is
// still held at the end: the compensation arrived before its action and
// did not stop it. One count per step, for its first such cancel.
func checkEmptyCompensation(w *world) Finding {
	var f Finding
	for _, svc := range downstream {
		st := newSteps(w, svc)
		empty := map[string]LogRow{}  // steps with an unrecorded empty cancel
		reported := map[string]bool{} // steps already counted
		for _, l := range w.svc[svc].log {
			step := st.of(l)
			switch {
			case l.Op == opCancel && l.Outcome == outNotFound:
				if _, ok := empty[step]; !ok {
					empty[step] = l
				}
			case l.Op == opCreate && l.Outcome == outCreated:
				c, ok := empty[step]
				if !ok || reported[step] || !st.held(l.ResourceID) {
					continue
				}
				reported[step] = true
				f.add("%s: cancel for order %s at log seq %d found nothing to undo (not-found) and left no tombstone; %s %d was created after it, at seq %d, and is still held",
					svc, step, c.Seq, noun(svc), l.ResourceID, l.Seq)
			}
		}
	}
	return f
}

// cancelsApplied counts, per resource id, the cancels the service's log
// says took effect (outcome cancelled): a compensation is applied at most
// once, so more than one is a duplicate effect.
func cancelsApplied(w *world, svc string) map[int64]int64 {
	n := map[int64]int64{}
	for _, l := range w.svc[svc].log {
		if l.Op == opCancel && l.Outcome == outCancelled {
			n[l.ResourceID]++
		}
	}
	return n
}

// checkRetriedRefusals adds to f each request a service refused with a
// non-transient error more than MaxRejections times: the same create or
// cancel (same key, or same order when it has no key) retried as if the
// error were transient.
func checkRetriedRefusals(w *world, f *Finding) {
	for _, svc := range downstream {
		st := newSteps(w, svc)
		var r refusals
		for _, l := range w.svc[svc].log {
			if refusal(l) {
				r.add(l, st.of(l))
			}
		}
		r.report(svc, f)
	}
}

// refusals counts the non-transient refusals of one service's requests,
// log row by log row (checkRetriedRefusals, and a Watch's cursor over the
// log).
type refusals struct {
	count    map[request]int
	outcomes map[request]map[string]int
	seen     []request // in order of first refusal
}

// request is a create or cancel at a service: its operation, its key
// (" by key K", or "" when it has none) and its step.
type request struct{ op, id, order string }

// add counts l, a log row about step, if it is a refusal.
func (r *refusals) add(l LogRow, step string) {
	if !refusal(l) {
		return
	}
	q := request{l.Op, "", step}
	if l.Key != "" {
		q.id = " by key " + l.Key
	}
	if r.count == nil {
		r.count, r.outcomes = map[request]int{}, map[request]map[string]int{}
	}
	if r.count[q] == 0 {
		r.seen = append(r.seen, q)
		r.outcomes[q] = map[string]int{}
	}
	r.count[q]++
	r.outcomes[q][l.Outcome]++
}

// retried reports whether a request was refused more than MaxRejections
// times.
func (r *refusals) retried() bool {
	for _, q := range r.seen {
		if r.count[q] > MaxRejections {
			return true
		}
	}
	return false
}

// report adds to f each request of svc refused more than MaxRejections
// times.
func (r *refusals) report(svc string, f *Finding) {
	for _, q := range r.seen {
		if r.count[q] <= MaxRejections {
			continue
		}
		var by []string
		for _, o := range slices.Sorted(maps.Keys(r.outcomes[q])) {
			by = append(by, fmt.Sprintf("%s ×%d", o, r.outcomes[q][o]))
		}
		f.add("%s: %s%s for order %s refused %d times (%s): retried on a non-transient error",
			svc, q.op, q.id, q.order, r.count[q], strings.Join(by, ", "))
	}
}
