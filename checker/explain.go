package checker

// Doc explains an anomaly class to a reader: what one anomaly is, which
// claim of the sources txchaos tests (docs/sources.md) the class tests,
// an example, how it comes about and one command that shows it. The
// package doc says the same in prose; a test keeps the two in step.
type Doc struct {
	Class Class `json:"class"`
	// Summary is what the class counts, in one line.
	Summary string `json:"summary"`
	// Meaning says what one anomaly is and why it is one.
	Meaning string `json:"meaning"`
	// Source is the section of docs/sources.md whose claim the class
	// tests ("docs/sources.md#domain-transactions"), and Claim the claim,
	// in txchaos's words.
	Source string `json:"source"`
	Claim  string `json:"claim"`
	// Example is an example as Check reports it.
	Example string `json:"example"`
	// Expected says how the class comes about: what a pattern does that
	// shows it, under which faults or settings. It names no pattern:
	// which patterns are expected to show it under which scenario is the
	// expectation matrix's to say (patterns/expectations.txt; `txchaos
	// explain` prints both).
	Expected string `json:"expected"`
	// Reproduce is one txchaos command that shows it.
	Reproduce string `json:"reproduce"`
}

// The sections of docs/sources.md, one per source document.
const (
	sourceKey       = "docs/sources.md#caller-assigned-key"
	sourceMessaging = "docs/sources.md#reliable-messaging"
	sourceIdemKeys  = "docs/sources.md#idempotency-keys"
	sourceDomain    = "docs/sources.md#domain-transactions"
)

// Explain returns the Doc of class c, and false for a class this package
// does not know.
func Explain(c Class) (Doc, bool) {
	d, ok := docs[c]
	d.Class = c
	return d, ok
}

var docs = map[Class]Doc{
	LeakedResource: {
		Summary: "a resource held that no confirmed order owns",
		Meaning: "A charge, reservation or shipment is still held (active) at the end, but its order is absent, failed or " +
			"not terminal: money or stock taken for nothing, which nobody will give back. It is what a lost response " +
			"leaves when the caller cannot name what it created: it tries again, and the first resource is forgotten.",
		Source:  sourceKey,
		Claim:   "No resource is leaked: the caller names every resource it creates by its own key, so a lost response leaves nothing behind.",
		Example: "payments charge 4 for order k-17: order failed",
		Expected: "A caller that cannot name what it created: a call whose answer was lost is given up on or tried " +
			"again as a new request, and the first resource is never undone. Below the idempotent level " +
			"(--payments readable), a compensation cannot name an action whose answer was lost. A caller-assigned " +
			"key at an idempotent service prevents it.",
		Reproduce: "txchaos run --pattern naive-dual-write --faults lost-response=orders-payments:0.3 --attempts 1",
	},
	PartialCommit: {
		Summary: "an order confirmed without every resource, or failed while holding one",
		Meaning: "All-or-nothing is broken: the order is confirmed but payments, inventory or shipping holds nothing " +
			"for it, or the order failed and something is still held. The checkout stopped half way and nothing " +
			"finished or undid it.",
		Source:  sourceDomain,
		Claim:   "A transaction leaves all or nothing, whatever fails: every operation performed, or none.",
		Example: "order k-3: confirmed without a held shipment at shipping",
		Expected: "A checkout that commits the order and then calls the services (or calls them one by one) with no " +
			"durable record that recovery could finish or undo from, when the coordinator crashes in between.",
		Reproduce: "txchaos run --pattern naive-dual-write --faults crashpoint=after-local-commit:0.2 --attempts 1",
	},
	DuplicateEffect: {
		Summary: "a side effect made twice: two resources held for one order at a service, or a compensation applied twice",
		Meaning: "A retry was not recognised as the same request: the service charged, reserved or shipped again, or " +
			"cancelled one resource more than once. Retries are only safe when the service can tell them apart.",
		Source:  sourceIdemKeys,
		Claim:   "A retried request, with the same key, has its side effects once.",
		Example: "order k-17: 2 active charges at payments (ids 4, 9)",
		Expected: "A retry the service cannot recognise: a retry under a fresh request (no caller-assigned key), a " +
			"service that cannot take a key (--payments opaque), or two drivers of one order that both read " +
			"\"nothing held\" and both call.",
		Reproduce: "txchaos run --pattern blind-retry --faults lost-response=orders-payments:0.3",
	},
	HangingAction: {
		Summary: "an action that took effect after its compensation and still holds its resource",
		Meaning: "A create reached a service and took effect after a cancel for the same step (order, or key) had " +
			"already reached it, and nothing released it since: the saga compensated, then the late action hung on " +
			"(Seata's TCC calls it suspension). An idempotent service prevents it: the early cancel leaves a " +
			"tombstone and the late create is refused. A late action that a later compensation released is not counted.",
		Source:  sourceDomain,
		Claim:   "A saga undoes the steps taken before the one that failed, leaving the old state, never one in between.",
		Example: "shipping shipment 4 for order k-4: created at log seq 5, after its cancel at seq 4 (not-found), and still held",
		Expected: "Compensation below the idempotent level (--inventory readable) when two drivers of one order " +
			"overlap (a slow request and recovery): one compensates, the other's retry of the action lands after " +
			"it. At an idempotent service the early cancel leaves a tombstone and the late create is refused.",
		Reproduce: "txchaos run --pattern saga --inventory readable --faults latency=orders-inventory:1500ms,lost-response=orders-inventory:0.9 --call-timeout 10s --txns 20",
	},
	EmptyCompensation: {
		Summary: "a compensation that arrived before its action, was not recorded, and let the action through",
		Meaning: "An empty compensation (Seata's \"empty rollback\") is a cancel for an action that has not taken effect. " +
			"It must be answered as done and remembered, so that the action, arriving later, is refused. Counted " +
			"when the service answered not-found and recorded nothing, and the action then took effect and is still " +
			"held. The idempotent service's tombstone (cancel before create, then refused-after-cancel) is the " +
			"correct handling and counts nothing; so does an empty compensation whose action never comes.",
		Source:  sourceDomain,
		Claim:   "A saga needs a compensating action for every action it takes.",
		Example: "shipping: cancel for order k-4 at log seq 4 answered not-found before any shipment existed, leaving no tombstone; shipment 4 was created at seq 5 and is still held",
		Expected: "Compensation below the idempotent level, when an action's answers are lost: its compensation " +
			"has no id to cancel by, and a retry of the action lands after it (every empty compensation counted " +
			"is also a hanging action, seen from the cancel's side). Never at an idempotent service.",
		Reproduce: "txchaos run --pattern saga --inventory readable --faults latency=orders-inventory:1500ms,lost-response=orders-inventory:0.9 --call-timeout 10s --txns 20",
	},
	LostEvent: {
		Summary: "a confirmed order the event consumer never credited",
		Meaning: "The order committed but its order.confirmed event was never published, never consumed or never " +
			"applied at rewards: the chain of custody dropped a message.",
		Source:  sourceMessaging,
		Claim:   "A chain of custody loses no message: a receiver acknowledges a message only once it has recorded it or handed it on.",
		Example: "order k-5: confirmed, no credit at rewards: no order.confirmed event in the broker log",
		Expected: "An event published in a second step after the order commits, with nothing that publishes it " +
			"again: the coordinator crashes between the commit and the publish, the broker is down longer than " +
			"the publish's retries, or the only copy of the event is in memory. An event committed with the " +
			"order and relayed from there is not lost.",
		Reproduce: "txchaos run --pattern naive-dual-write --faults crashpoint=before-publish:0.2 --attempts 1",
	},
	GhostEvent: {
		Summary: "an order.confirmed event for an order that is not confirmed",
		Meaning: "The broker carries an event about a change the orders database does not hold (the order is absent, " +
			"failed or pending): the event and the state it announces were not written atomically.",
		Source:  sourceDomain,
		Claim:   "Saving the resource and its events in one atomic write means no event announces a change that was not committed.",
		Example: "order k-8: order.confirmed event at offset 5, but order failed",
		Expected: "An event published before the order is decided for good: a client's retry of a confirmed " +
			"order (its answer lost) fails the order after the first attempt published.",
		Reproduce: "txchaos run --pattern naive-dual-write --faults lost-response=client-orders:0.5,drop-request=orders-payments:0.5 --txns 60",
	},
	DuplicateConsumerEffect: {
		Summary: "an order credited more than once at rewards",
		Meaning: "An event delivered again (at-least-once delivery) or published again (a republish under a new id) " +
			"was applied again by the consumer. The event ids say which: the same id is a redelivery, new ids a " +
			"republish.",
		Source:  sourceDomain,
		Claim:   "Republishing the target state may publish an event more than once: it holds only where events are delivered at least once and applied once.",
		Example: "order k-4: credited 2 times at rewards (credit ids 3, 7; event ids e-4, e-4)",
		Expected: "An event published again under a new id (a republish) reaches a consumer that de-duplicates " +
			"by id; or any event delivered or published again reaches a consumer that does not de-duplicate " +
			"(--dedupe=false).",
		Reproduce: "txchaos run --pattern target-state-republish --dedupe=false --faults lost-response=orders-broker:0.3 --txns 60",
	},
	NotConserved: {
		Summary: "money, points or stock that do not add up",
		Meaning: "Per customer, the money held at payments or the points credited at rewards differ from the value " +
			"of the customer's confirmed orders; per SKU, initial stock differs from available plus reserved.",
		Source:  sourceMessaging,
		Claim:   "Where money is at stake the data must be right, and a reconciliation process must find and repair what is wrong.",
		Example: "customer c-2: 300 held at payments, confirmed orders worth 200",
		Expected: "It follows every leak, duplicate or loss: a leaked or doubled charge, a lost or doubled " +
			"credit. Its cause's class says why.",
		Reproduce: "txchaos run --pattern blind-retry --faults lost-response=orders-payments:0.3",
	},
	Stuck: {
		Summary: "work left unfinished after healing, or a request retried forever on a non-transient error",
		Meaning: "After the faults stopped and the quiet period passed, an order is still not terminal, a pattern's " +
			"pending query still lists work (outbox rows, saga steps), an event is not consumed, or a service " +
			"refused the same request more than 10 times with an error retrying cannot fix.",
		Source:  sourceKey,
		Claim:   "The caller can recover from any state it recorded: nothing is left half done.",
		Example: "order k-2: pending after healing",
		Expected: "Recovery that takes longer than the quiet period (--quiet; recovery re-drives work only once it " +
			"is older than the call timeout), work whose only record was lost in a crash, or a request retried " +
			"on an error retrying cannot fix.",
		Reproduce: "txchaos run --pattern saga --faults crashpoint=after-reservation:0.2 --quiet 200ms --txns 60",
	},
	// The classes of the history are judged from it alone (see
	// checkLinearizability and judgeReads).
	NonLinearizable: {
		Summary: "what the checkouts answered cannot be explained by any order of them and the decision the order settled on",
		Meaning: "The checkouts of one order key (its attempts and re-submits with the same key), with the decision the order settled on " +
			"(what it reads at rest), have no linearization under the model of the orders API: a checkout with a key " +
			"takes effect at most once and the order is decided once, for good. Two answers with different decisions, " +
			"an answer the order did not settle on, or an answer of pending after a read saw the order decided break " +
			"it. The reads are judged apart: stale-read, session-stale-read, unconverged-read.",
		Source:  sourceKey,
		Claim:   "A retry with the caller's key is recognised: the service creates the item, or finds it already there and answers as before.",
		Example: "order o000002: checkout#2 answered failed at 21.2ms, but checkout#1 answered confirmed at 5.6ms (history-o000002.html)",
		Expected: "A checkout that, asked again under a key it has already answered, runs again instead of answering " +
			"what it decided: a client sends an order it was answered about once more (a double submit: the " +
			"double-submit scenario, --resubmit), and when the stock is gone by then or a step fails this time the " +
			"order is marked failed after it was answered confirmed, and the second answer says so. A service that " +
			"keeps its decision under the caller's key answers a re-submit the same. Without re-submits a key is " +
			"asked again only while its outcome is unknown, so it gets one definitive answer and the class is rarely reached",
		Reproduce: "txchaos run --pattern naive-dual-write --scenario double-submit",
	},
	StaleRead: {
		Summary: "a read older than what another client had already been told (linearizable reads broken)",
		Meaning: "During the run, a read showed an order (or a balance) older than what some client had been shown " +
			"before the read was called — absent or pending after an answer showed it decided — or the other " +
			"decision, or a decision no checkout had been sent for; its own client's knowledge it did respect. Such " +
			"reads are an anomaly only for a pattern that promises linearizable reads; for one that promises less " +
			"they are reported as information, with the stale-read figures.",
		Source:  sourceMessaging,
		Claim:   "Readers that expect immediate updates are let down by a service that does not promise them.",
		Example: "order o000001: client 4 read absent at 5.5ms, 1.2ms after client 5's checkout#1 answered confirmed at 4.3ms",
		Expected: "Reads served from a copy that lags the writes (a projection, a replica, a cache), by a client other than " +
			"the writer: an anomaly where the pattern promises linearizable reads, information where it promises " +
			"less. A pattern that reads the table its checkout writes does not show it",
		Reproduce: "txchaos run --pattern event-sourcing --txns 60",
	},
	SessionStaleRead: {
		Summary: "a read older than what its own client had been told (read-your-writes or monotonic reads broken)",
		Meaning: "During the run, a client read an order (or a balance) older than what it had itself been shown before: " +
			"its checkout answered confirmed and its read right after found the order absent (read-your-writes), or " +
			"it had read the order confirmed and then read it pending (monotonic reads). An anomaly for a pattern that " +
			"promises session or linearizable reads; information for one that promises eventual reads.",
		Source:  sourceMessaging,
		Claim:   "Serving stale data is a trade-off a design may choose, and how stale is part of the choice.",
		Example: "order o000004: client 0 read absent at 4.3ms, 1ns after its own checkout#1 answered confirmed at 4.3ms",
		Expected: "A client reading its own order right after its checkout, or again, from a copy that lags the writes: an " +
			"anomaly where the pattern promises session or linearizable reads, information where it promises eventual " +
			"reads. scenarios' TestReadPromiseBroken catches a pattern that promises read-your-writes over a lagging " +
			"replica",
		Reproduce: "txchaos run --pattern event-sourcing --txns 60",
	},
	UnconvergedRead: {
		Summary: "a read at rest, after healing, that has not caught up with what the clients were told",
		Meaning: "Once the faults were healed and the world was at rest, a read still showed less than the clients had " +
			"been told: an order absent or pending after an answer showed it further on, a balance short of orders " +
			"a client was told were confirmed (an event lost on the way to the consumer), or a balance counting more " +
			"than the customer's orders are worth, leaving out those the clients were told failed (a failed order credited). Every pattern promises at least " +
			"eventual reads, so it is always an anomaly.",
		Source:  sourceDomain,
		Claim:   "Event sourcing answers queries from a separate read model, so its reads are eventually consistent: they converge.",
		Example: "customer c003: balance 40 points at 9.8s, but the clients had been told orders worth 55 were confirmed (o000002 15, o000007 40): 15 missing (history-customer-c003.html)",
		Expected: "An event lost on its way to the consumer (the balance at rest misses the order), a failed order " +
			"credited, or a copy that never catches up. Every pattern promises at least that reads converge, so it is " +
			"always an anomaly; a copy that lags and then catches up does not show it",
		Reproduce: "txchaos run --pattern naive-dual-write --faults crashpoint=before-publish:0.2 --attempts 1",
	},
}
