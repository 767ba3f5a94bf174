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
//	rep := checker.Check(h.Ops(), s, pattern.Reads) // rep.Verdict: clean, anomalies or unknown
//
// State is plain JSON-tagged data, so a run record can store it and
// Check can judge it again later without the databases.
//
// Each class with anomalies carries a Witness: the story of its first
// example's order (or customer, or SKU) — the clients' operations on it
// from the history, its rows in every database — so that a reader sees
// why it is an anomaly, as Elle prints a minimal witness.
//
// # Anomaly classes
//
// Below, an order is a row of the orders table; a resource is a charge
// (payments), a reservation (inventory) or a shipment (shipping), and it is
// held while its state is active. Each class is one check, run on the
// final state after healing. Classes overlap on purpose: a leaked charge
// is also money not conserved; each class answers one seed claim. Each
// class's text, with the seed line it tests, an example, how it comes
// about and a command that shows it, is also in Explain (and `txchaos
// explain CLASS`, which adds who is expected to show it, from the
// expectation matrix); a test keeps the two in step.
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
// or none", and its saga claim: "Will leave the resource in a consistent
// state always. either it will be new state/old state but wont be in
// intermediate states." Example: "order k-3: confirmed without a held
// shipment at shipping".
//
// duplicate-effect (checkDuplicateEffect) counts each (order, service)
// pair with more than one held resource — two charges for one order — and
// each resource cancelled more than once, by its cancels column or by the
// cancels its service's log records with outcome cancelled: a compensation
// is applied at most once (a repeated cancel must be answered
// already-cancelled, Seata's idempotent Cancel). It tests seed 002's
// idempotency key ("Side effects ocurren solo una vez.": side effects
// occur only once; "reintentos seguros": safe retries) and seed 003's
// retry and read-validate-call claims: "Given the idempotent nature of
// the resource, it is safe to retry these calls without causing any side
// effects on the dependent resource state." Example: "order k-17: 2
// active charges at payments (ids 4, 9)".
//
// hanging-action (checkHangingAction) counts each action that took effect
// after its compensation and still holds its resource: a create logged
// with outcome created at a service after a cancel for the same step (a
// step is one order's resource at one service; its requests name the
// order, or the key of a resource that does) had already reached it,
// whose resource is still held at the end. The saga literature calls it
// a hanging action, or suspension (Seata's TCC mode: a Try that arrives
// after its Cancel reserves what nobody will release). An idempotent
// service prevents it: a cancel that finds nothing leaves a tombstone
// under the caller's key, and the late create is refused
// (refused-after-cancel). A late action that a later compensation did
// release is not counted: nothing hangs. It tests seed 003's saga: "The
// idea is to revert all actions that were taken before the failed step,
// to ensure is the system is left in clean state." Example: "shipping
// shipment 4 for order k-4: created at log seq 5, after its cancel at seq
// 4 (not-found), and still held".
//
// empty-compensation (checkEmptyCompensation) counts each step whose
// compensation arrived before its action and was not accounted for. In
// the saga literature an empty compensation (Seata's "empty rollback") is
// a cancel for an action that has not taken effect — its request was
// lost, is late, or was never sent; a correct service recognises it,
// answers success and records it, so that the action, if it arrives
// later, is refused. Here it is a cancel logged with outcome not-found —
// the service found nothing to undo and recorded nothing: a
// non-idempotent service, given an id it does not know or none at all
// (the action's answer was lost) — after which a create of the same step
// took effect and its resource is still held at the end (one count per
// step). Creates before the cancel do not matter here: what it missed is
// a leak or a duplicate, counted by those classes. The
// idempotent service's tombstone path (cancel before create leaves a
// tombstone; the late create is refused-after-cancel) is the correct
// handling and counts nothing, and so does an empty compensation whose
// action never arrives: there is nothing to release. Each empty
// compensation counted is also a hanging action seen from the other side:
// one class blames the cancel nobody recorded, the other the create
// nobody stopped. It tests seed 003's saga prerequisite: "Prerequisite is
// Compensatory actions for every actions is needed in terms of API / DB
// calls". Example: "shipping: cancel for order k-4 at log seq 4 answered
// not-found before any shipment existed, leaving no tombstone; shipment 4
// was created at seq 5 and is still held".
//
// lost-event (checkLostEvent) counts each confirmed order with no credit
// at rewards: its order.confirmed event was never published, never
// consumed or never applied. It tests seed 003's data-store-and-event
// claims (outbox, target-state republish, fallback queue, event sourcing):
// every committed state change is delivered as an event at least once, and
// seed 001's chain of custody: "The chain of custody is a recipient
// service’s acknowledgement and guarantee it will not lose a message."
// Example: "order k-5: confirmed, no credit at rewards: no
// order.confirmed event in the broker log".
//
// ghost-event (checkGhostEvent) counts each order with an order.confirmed
// event in the orders topic that is not confirmed in the orders database
// (absent, failed or pending): an event about a change that never
// committed. It tests the other half of seed 003's atomicity of "data store
// and event store": "Saving event & resource is a single operation, it is
// inherently atomic." A naive dual write breaks it when a retry undoes
// the order after its first attempt published. Example: "order k-8: order.confirmed event at offset 5, but order
// failed".
//
// duplicate-consumer-effect (checkDuplicateConsumerEffect) counts each
// order credited more than once at rewards. It tests seed 003's
// target-state republish, "This might result in duplicate events if
// retried many times. Will work in atleast once semantics w.r.t events.", and
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
// books). It tests seed 001's "If substantial money or market credibility
// is at stake then data need to be correct, and a process to detect and
// rectify incorrect data (i.e. reconciliation) needs to be present as
// well." and seed 003's objective that the final state
// be as if all or none of the operations were performed, measured in money,
// points and stock. Example: "customer c-2: 300 held at payments,
// confirmed orders worth 200".
//
// stuck (checkStuck) counts each order in a non-terminal state, each key a
// pattern's Pending query returns (outbox rows not sent, saga steps not
// compensated), and each event of the orders topic past the rewards
// group's committed offset — all after healing. It also counts each
// request retried forever on a non-transient error, which never
// converges however long the quiet period: the same create or cancel (by
// key, or by order and operation when it has none) refused at a service
// more than MaxRejections (10) times — outcomes rejected, key-conflict,
// not-found, or already-cancelled at a non-idempotent service (an
// idempotent one answers a repeated cancel with success) in its log. A
// create refused after its cancel (refused-after-cancel) is not counted:
// it is an action that arrived after its compensation, a late or
// duplicated copy the network delivered, refused as it must be. Seed 003
// says retrying those is pointless: "Non transient errors: [ cannot be
// recovered ]". The log cannot tell a refusal the caller never heard (its
// answer lost or late, so it retried as it should) nor a copy the network
// made: that takes eleven such answers in a row, p^11 at a rate p of lost
// or late answers. It tests seed 000's "service will never lose track of the
// item ... One can easily recover from the any given state." and seed
// 002's draining jobs: recovery finishes what was started. Example:
// "order k-2: pending after healing".
//
// non-linearizable (checkLinearizability) judges what the checkouts told
// the clients, not the databases: the checkouts of the history,
// partitioned by order key, with the decision each order settled on (its
// reads at rest that show one), are checked with porcupine against a model
// of the orders API. A checkout with a key creates its order at most once;
// the order is then decided once, for good: every retry with the key
// answers the same decision, and the order settles on it. An answer of
// pending (not decided yet) is allowed before the decision. A rejected
// checkout (4xx) is the order failed for good. An outcome the client could
// not know (a timeout, a lost response, a 503) is an open interval: the
// checkout may have taken effect at any point after its call, or never.
// A checkout that answers an earlier state than a read had shown before it
// was sent (pending after the order was read decided) is counted too. The
// other reads are judged apart, against the pattern's read promise
// (below). It tests seed 002's
// idempotency key as the client sees it ("reintentos seguros", safe
// retries: a stored key answers its stored response) and seed 000's "the
// client will retry with same key and remote service will either create
// the item or realise it exist and just response ok". Each failing order
// key is listed in Report.Linearizability; Visualize draws its operations
// (its reads too), porcupine's longest linearizations and the faults
// applied meanwhile as an HTML page, which the runner writes as
// history-<key>.html beside the record. Example: "order o000002:
// checkout#2 answered failed at 21.2ms, but checkout#1 answered confirmed
// at 5.6ms (history-o000002.html)": the client sent the order again after
// its answer (a double submit, the workload's re-submits) and a pattern
// that runs the checkout again decided it again. A key asked again only
// while its outcome is unknown rarely shows it. A partition porcupine
// cannot decide in time leaves the class unjudged (the verdict unknown)
// unless another partition is an anomaly, never clean.
//
// # Reads
//
// The reads of orders (GET /orders/{key}) and of rewards balances are
// judged against three consistency models, as Jepsen reports which models
// a history satisfies; they nest, strongest first (ReadModels):
// Linearizable — every read shows at least what any client had been told
// before it was called (by a checkout's answer or an earlier read), and no
// decision before a checkout for it was sent; Session — read-your-writes
// and monotonic reads: every read shows at least what its own client had
// been told before; and reads converge, as Eventual says; Eventual — once
// the faults are healed and the world is at rest, every read (Op.AtRest)
// shows the state the checkouts settled on: each order at least as far as
// a client was told, and each balance counts the orders a client was told
// were confirmed and none it was told failed (an order whose fate no
// client learned may count either way). "Shows at least" orders an
// order's states: absent, then pending, then decided; a read of the other
// decision goes back too, unless it shows the decision the order settled
// on — then the answer it contradicts is non-linearizable. A balance is
// judged by the same rule against the amounts of its customer's orders.
//
// A pattern declares the model it promises (patterns.Spec.Reads, given to
// Check). Each read that breaks a model is counted once, under the weakest
// model it breaks, in that model's class below: an anomaly when the
// pattern promises the model, information (Report.Reads.Unpromised) when
// it promises less. Report.Reads says which models held, and counts the
// stale reads — reads that missed a state a client had been shown before
// they were called — with the least staleness of the stalest: from the
// first answer that showed what it missed to its call. The workload has
// each client read its order back after its checkout, then the order its
// neighbour was last answered about, and reads every order and balance
// again at rest; the consumer of events is asynchronous in every pattern,
// so balances are read at rest only.
//
// stale-read (judgeReads) counts each read, during the run, that breaks
// linearizability but neither its own client's session nor convergence: it
// shows an order (or a balance) older than what another client had been
// told before the read was called, or the other decision, or a decision no
// checkout had been sent for. It is an anomaly for a pattern that promises
// linearizable reads (every pattern but event-sourcing reads the table its
// checkout writes). It tests seed 001's "User-interface designs expecting
// immediate data updates are frustrating to end-users when a service makes
// no such guarantee regarding immediacy." Example: "order o000001: client
// 4 read absent at 5.5ms, 1.2ms after client 5's checkout#1 answered
// confirmed at 4.3ms".
//
// session-stale-read (judgeReads) counts each read, during the run, that
// goes back on what its own client had been told: its checkout answered
// confirmed and its read right after finds the order absent
// (read-your-writes broken), or it had read the order confirmed and now
// reads it pending (monotonic reads broken). It is an anomaly for a
// pattern that promises session or linearizable reads. It tests seed
// 001's "The option to serve stale data, and how acceptably stale the data
// can be, allows a system’s uptime not to be completely reliant on the
// uptime of a dependent service, as well." Example: "order o000004:
// client 0 read absent at 4.3ms, 1ns after its own checkout#1 answered
// confirmed at 4.3ms".
//
// unconverged-read (judgeReads) counts each read taken at rest, after
// healing, that has not caught up with what the clients were told: an
// order absent or pending after an answer showed it further on; a balance
// short of an order a client was told was confirmed (an event lost on the
// way), or counting more than the orders not answered failed are worth.
// It is an anomaly for every pattern: each promises at least that reads
// converge. It tests
// seed 003's caveat for event sourcing: "As a result, the application must
// use CQRS to implement queries. This in turn means that applications must
// handle eventually consistent data." Example: "customer c003: balance 40
// points at 9.8s, but the clients had been told orders worth 55 were
// confirmed (o000002 15, o000007 40): 15 missing
// (history-customer-c003.html)". Reads that are an anomaly are listed in
// Report.Linearizability, and Visualize draws their key's (or customer's)
// history.
//
// # Verdicts
//
// Check answers VerdictAnomalies if any class counts one, VerdictUnknown
// if none does but a check could not be made (no State, or a database
// named in State.Missing), and VerdictClean otherwise. An unknown client
// outcome (a timeout) is never an anomaly by itself, and no check is
// skipped because faults were on.
package checker
