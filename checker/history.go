package checker

import (
	"sort"
	"sync"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// Outcome is what a client learned from one operation.
type Outcome string

// The three outcomes of a client operation. A client that cannot know what
// happened records OutcomeUnknown, never OutcomeRejected.
const (
	// OutcomeOK is a definitive answer: the order in Op.State.
	OutcomeOK Outcome = "ok"
	// OutcomeRejected is a definitive business failure (4xx): card
	// declined, out of stock, a conflicting key.
	OutcomeRejected Outcome = "rejected"
	// OutcomeUnknown is a timeout, a lost response or a 5xx: the operation
	// may or may not have taken effect.
	OutcomeUnknown Outcome = "unknown"
)

// Definitive reports whether o is a definitive answer (ok or rejected).
func (o Outcome) Definitive() bool { return o == OutcomeOK || o == OutcomeRejected }

// The kinds of client operation.
const (
	KindCheckout = "checkout" // POST /checkout
	KindGet      = "get"      // GET /orders/{key}; State "absent" on a 404
	KindBalance  = "balance"  // GET /balance/{customer} at rewards; Key is the customer, Points the answer
)

// StateAbsent is the State a read records when the order does not exist.
const StateAbsent = "absent"

// Op is one client operation: its invocation, its completion and what the
// client learned. Call and Return are durations since the run started on
// the runtime's clock, in integer nanoseconds in JSON.
type Op struct {
	Client  int           `json:"client"`
	Kind    string        `json:"kind"`    // KindCheckout, KindGet or KindBalance
	Key     string        `json:"key"`     // the order's Idempotency-Key
	Attempt int           `json:"attempt"` // 1 for the first try, 2.. for client retries with the same key
	Input   sim.Checkout  `json:"input"`
	Call    time.Duration `json:"call"`
	Return  time.Duration `json:"return"`
	Outcome Outcome       `json:"outcome"`
	State   string        `json:"state,omitempty"`  // order state answered (confirmed, failed, pending...)
	Reason  string        `json:"reason,omitempty"` // rejection reason or error text
	Points  int64         `json:"points,omitempty"` // a balance read's answer
	// AtRest marks a read taken once the faults were healed and the world
	// was at rest: the reads that show whether reads converge (Eventual).
	AtRest bool `json:"at_rest,omitempty"`
}

// History records the client operations of a run. It is safe for
// concurrent use; its zero value is an empty history ready to use.
//
// It keeps the operations in chunks of a fixed size, not one growing
// slice: a run of 100,000 orders records some 300,000 operations, and a
// slice doubling would hold both its old and its new array at each growth.
type History struct {
	mu     sync.Mutex
	chunks [][]Op
	n      int
}

// historyChunk is the number of operations a chunk of a History holds.
const historyChunk = 4096

// Add records a completed operation.
func (h *History) Add(op Op) {
	h.mu.Lock()
	if len(h.chunks) == 0 || len(h.chunks[len(h.chunks)-1]) == historyChunk {
		h.chunks = append(h.chunks, make([]Op, 0, historyChunk))
	}
	last := &h.chunks[len(h.chunks)-1]
	*last = append(*last, op)
	h.n++
	h.mu.Unlock()
}

// Ops returns a copy of the recorded operations sorted by Call, then
// Client (operations that tie keep the order they were added in).
func (h *History) Ops() []Op {
	h.mu.Lock()
	var ops []Op // nil when empty
	if h.n > 0 {
		ops = make([]Op, 0, h.n)
	}
	for _, c := range h.chunks {
		ops = append(ops, c...)
	}
	h.mu.Unlock()
	sort.SliceStable(ops, func(i, j int) bool {
		if ops[i].Call != ops[j].Call {
			return ops[i].Call < ops[j].Call
		}
		return ops[i].Client < ops[j].Client
	})
	return ops
}
