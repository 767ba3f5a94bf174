// Package checker judges a txchaos run from a god's-eye view.
//
// After a run, ReadState opens every service's SQLite database read-only
// and reads what the services actually did — it never trusts what they
// answered. A History records what the clients saw. Check, a pure
// function, turns both into a Report: a count and up to MaxExamples
// examples for every anomaly class, client metrics, and a Verdict.
//
//	var h checker.History           // clients call h.Add(op) during the run
//	s, err := checker.ReadState(ctx, dbs, pattern.Pending)
//	rep := checker.Check(h.Ops(), s) // rep.Verdict: clean, anomalies or unknown
//
// State is plain JSON-tagged data, so a run record can store it and
// Check can judge it again later without the databases.
//
// # Anomaly classes
//
// Below, an order is a row of the orders table; a resource is a charge
// (payments), a reservation (inventory) or a shipment (shipping), and it is
// held while its state is active. Each class is one check, run on the
// final state after healing. Classes overlap on purpose: a leaked charge
// is also money not conserved; each class answers one seed claim.
//
// leaked-resource (checkLeakedResource) counts each held resource that no
// confirmed order owns: its order is absent from the orders table, failed,
// or not terminal. It tests seed 000's claim for the two-phase record
// with a caller-assigned key: "NO resource leak" ("if the response gets
// lost ... the first resource will be a leak"). Example: "payments charge
// 4 for order k-17: order failed". When the service's log shows the
// resource was created after a cancel for its order (a compensation that
// overtook its action), the example says so.
//
// partial-commit (checkPartialCommit) counts each order that breaks
// all-or-nothing: confirmed without a held resource at each of payments,
// inventory and shipping, or failed while something is still held for it.
// It tests seed 003's objective, "either all the operations are performed
// or none", and its saga claim: "will leave the resource in a consistent
// state always". Example: "order k-3: confirmed without a held shipment at
// shipping".
//
// duplicate-effect (checkDuplicateEffect) counts each (order, service)
// pair with more than one held resource — two charges for one order — and
// each resource cancelled more than once. It tests seed 002's idempotency
// key ("side effects occur only once", "safe retries") and seed 003's
// retry and read-validate-call claims ("safe to retry ... without causing
// any side effects"). Example: "order k-17: 2 active charges at payments
// (ids 4, 9)".
//
// lost-event (checkLostEvent) counts each confirmed order with no credit
// at rewards: its order.confirmed event was never published, never
// consumed or never applied. It tests seed 003's data-store-and-event
// claims (outbox, target-state republish, fallback queue, event sourcing):
// every committed state change is delivered as an event at least once, and
// seed 001's chain of custody ("a recipient service's ... guarantee it will
// not lose a message"). Example: "order k-5: confirmed, no credit at
// rewards: no order.confirmed event in the broker log".
//
// ghost-event (checkGhostEvent) counts each order with an order.confirmed
// event in the orders topic that is not confirmed in the orders database
// (absent, failed or pending): an event about a change that never
// committed. It tests the other half of seed 003's atomicity of "data store
// and event store", which a naive dual write breaks by publishing first.
// Example: "order k-8: order.confirmed event at offset 5, but order
// failed".
//
// duplicate-consumer-effect (checkDuplicateConsumerEffect) counts each
// order credited more than once at rewards. It tests seed 003's "will work
// in at least once semantics w.r.t events" (target-state republish) and
// seed 001's at-least-once delivery: a duplicate delivery or a republished
// event must not be applied twice. The event ids in the example tell a
// redelivery (same id) from a republish (new id). Example: "order k-4:
// credited 2 times at rewards (credit ids 3, 7; event ids e-4, e-4)".
//
// not-conserved (checkNotConserved) counts each account whose books
// disagree: per customer, the money held at payments against the value of
// the customer's confirmed orders, and the points credited at rewards
// against that same value; per SKU, inventory's initial stock against
// available plus the quantity of held reservations (the service's own
// books). It tests seed 001's "if substantial money ... is at stake then
// data need to be correct" and seed 003's objective that the final state
// be as if all or none of the operations were performed, measured in money,
// points and stock. Example: "customer c-2: 300 held at payments,
// confirmed orders worth 200".
//
// stuck (checkStuck) counts each order in a non-terminal state, each key a
// pattern's Pending query returns (outbox rows not sent, saga steps not
// compensated), and each event of the orders topic past the rewards
// group's committed offset — all after healing. It tests seed 000's
// "service will never lose track of the item ... one can easily recover
// from any given state" and seed 002's draining jobs: recovery finishes
// what was started. Example: "order k-2: pending after healing".
//
// non-linearizable (checkLinearizability) judges what the clients saw, not
// the databases: the history, partitioned by order key, is checked with
// porcupine against a model of the orders API. A checkout with a key
// creates its order at most once; the order is then decided once, for good:
// every retry with the key answers the same decision, and a read after a
// confirmed (or failed) answer sees it confirmed (failed). Before the
// decision a read may see the order absent (no checkout took effect yet) or
// pending (one did), and an answer of pending is allowed. A rejected
// checkout (4xx) is the order failed for good. An outcome the client could
// not know (a timeout, a lost response, a 503) is an open interval: the
// checkout may have taken effect at any point after its call, or never. The
// check also reads each customer's rewards balance at rest (balance reads,
// taken after every event has been consumed): it must count every order a
// client had been told was confirmed before the read, and no order a client
// was told failed and never confirmed; an order whose fate no client
// learned may count either way. It tests seed 002's idempotency key as the
// client sees it ("reintentos seguros", safe retries: a stored key answers
// its stored response) and seed 000's "the client will retry with same key
// and remote service will either create the item or realise it exist and
// just response ok"; it measures seed 003's caveat for event sourcing, that
// "applications must handle eventually consistent data", and seed 001's
// chain of custody as far as the consumer's books the client reads. Each
// failing order key or customer is listed in Report.Linearizability;
// Visualize draws its operations, porcupine's longest linearizations and
// the faults applied meanwhile as an HTML page, which the runner writes as
// history-<key>.html beside the record. An event-sourced pattern that
// serves reads from a lagging projection is honestly not linearizable here:
// its reads go back in time. Examples: "order o000012: get saw absent at
// 1.31s after checkout#1 answered confirmed at 1.25s
// (history-o000012.html)"; "customer c003: balance 40 points at 9.8s, but
// the clients had been told orders worth 55 were confirmed (...): 15
// missing (history-customer-c003.html)". A partition porcupine cannot
// decide in time leaves the class unjudged (the verdict unknown) unless
// another partition is an anomaly, never clean.
//
// # Verdicts
//
// Check answers VerdictAnomalies if any class counts one, VerdictUnknown
// if none does but a check could not be made (no State, or a database
// named in State.Missing), and VerdictClean otherwise. An unknown client
// outcome (a timeout) is never an anomaly by itself, and no check is
// skipped because faults were on.
package checker
