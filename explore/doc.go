// Package explore checks a pattern exhaustively within a small scope: it
// runs the pattern on the det runtime under every schedule of at most K
// faults (see faults.Schedule) for N orders, and reports the first
// schedule whose run shows an anomaly, or that none does within the
// bound. Where a sample of seeds says nothing about the schedules it did
// not draw, a clean exhaustive exploration is a statement: "clean for one
// order under every combination of at most two faults".
//
//	res, err := explore.Exhaustive(ctx, outbox.Spec(), explore.Bound{Orders: 1, MaxFaults: 2}, explore.Options{})
//
// and, in a pattern's own tests,
//
//	explore.Clean(t, mypattern.Spec(), explore.Bound{Orders: 1, MaxFaults: 2})
//
// `txchaos explore --exhaustive --orders N --max-faults K --pattern P` is
// the same from the command line.
//
// # The bound
//
// A run places N orders, each by a client of its own, all at once, with
// the seed of Options.Config (its interleaving, its business rejections):
// one seed, one interleaving. A fault is a decision at a site the run
// passes (sim.Pass) — a request on a link, the copy of a duplicated
// request, a visit of a crash point, a commit — of a kind that applies
// there (Kinds): drop-request, lost-response, late, duplicate and
// reorder at a request's network slot; error, crash before and crash
// after at its target; crashpoint at a visit; crash-commit before and
// after at a commit. Sites count from the first request until the state
// the run is judged on is read: faults land during recovery, after
// healing, too.
//
// The exploration runs the fault-free run, then every single fault at
// every site it passed, then every second fault at every site each of
// those runs passed after its first fault's, and so on up to K. A faulted
// run passes sites the fault-free run never reaches (a retry, a
// recovery, a redelivery), and they are explored as any other. Schedules
// run fewest faults first, then by the order their sites were reached;
// the first that shows an anomaly is the counterexample, so a
// counterexample has as few faults as any within the bound.
//
// Idle sites get no fault: a poll that found nothing, a request its
// target refused, a commit that changed no row (sim.Pass.Idle). A fault
// there interrupts no work: it can only delay a poller, or take a node
// down while it does nothing — a crash the exploration makes at the
// node's next request and next commit. A consumer polls every few
// milliseconds while a caller waits out a timeout, so idle sites are
// most of a faulted run's sites; leaving them out is part of the bound,
// not a claim that they cannot matter.
//
// Not explored: latency (a continuum; a latency the caller does not
// outwait is a drop-request, a shorter one only moves when the request
// lands), faults at moments (kill, partition: a crash is explored at
// every request, commit and crash point of every node, a partition is a
// run of drops), other seeds and more orders.
//
// # What is skipped, and why it is sound
//
// A det run decides a scheduled fault only when it reaches the fault's
// site, and until then does exactly what the run without that fault
// does: the same processes in the same order, the same random draws.
// Hence:
//
//   - a fault at a site the run never reaches gives the run without it:
//     such schedules are never made;
//   - a schedule is made once, in the order its run reaches its faults:
//     from the run of its faults but the last reached, by adding the last
//     at a site that run passes after the others. Adding a fault at a
//     site passed before the last fault already there would make a
//     schedule that is made, and run, from its other order. Two faults
//     cannot take two orders, as site names are unique within a run
//     (requests are numbered per order and link, visits and commits per
//     node).
//
// So every schedule of at most K faults at non-idle sites of the given
// kinds either is run or gives the same run as one that is.
package explore
