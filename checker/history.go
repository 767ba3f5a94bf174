package checker

import (
	"bytes"
	"compress/flate"
	"encoding/gob"
	"fmt"
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
// slice (a slice doubling would hold both its old and its new array at
// each growth), and each full chunk encoded and compressed: a run of
// 100,000 orders records some 400,000 operations, about 80 MB as Ops
// but a tenth of that sealed, held while the run goes on beside the
// world's databases. Ops decodes them once, when the run is judged.
type History struct {
	mu     sync.Mutex
	sealed [][]byte // the full chunks, each sealed by seal
	last   []Op     // the chunk being filled
	n      int
}

// historyChunk is the number of operations a chunk of a History holds.
const historyChunk = 4096

// Add records a completed operation.
func (h *History) Add(op Op) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last == nil {
		h.last = make([]Op, 0, historyChunk)
	}
	h.last = append(h.last, op)
	h.n++
	if len(h.last) == historyChunk {
		h.sealed = append(h.sealed, seal(h.last))
		h.last = h.last[:0]
	}
}

// Ops returns a copy of the recorded operations sorted by Call, then
// Client (operations that tie keep the order they were added in). The
// strings of the operations it returns are shared among them: one copy
// of each distinct key, state or reason.
func (h *History) Ops() []Op {
	h.mu.Lock()
	var ops []Op // nil when empty
	if h.n > 0 {
		ops = make([]Op, 0, h.n)
	}
	strs := map[string]string{}
	for _, b := range h.sealed {
		ops = unseal(ops, b, strs)
	}
	ops = append(ops, h.last...)
	h.mu.Unlock()
	sort.SliceStable(ops, func(i, j int) bool {
		if ops[i].Call != ops[j].Call {
			return ops[i].Call < ops[j].Call
		}
		return ops[i].Client < ops[j].Client
	})
	return ops
}

// seal encodes a chunk of operations (gob) and compresses it (flate).
func seal(ops []Op) []byte {
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.BestSpeed) // a valid level: no error
	if err := gob.NewEncoder(zw).Encode(ops); err != nil {
		panic(fmt.Sprintf("checker: seal a history chunk: %v", err)) // Op's fields all encode
	}
	if err := zw.Close(); err != nil {
		panic(fmt.Sprintf("checker: seal a history chunk: %v", err)) // a bytes.Buffer does not fail
	}
	return bytes.Clone(buf.Bytes())
}

// unseal appends the operations of a chunk seal sealed to ops, each of
// their strings replaced by its copy in strs (added when new).
func unseal(ops []Op, b []byte, strs map[string]string) []Op {
	var chunk []Op
	if err := gob.NewDecoder(flate.NewReader(bytes.NewReader(b))).Decode(&chunk); err != nil {
		panic(fmt.Sprintf("checker: unseal a history chunk: %v", err)) // seal wrote it
	}
	share := func(s *string) {
		if c, ok := strs[*s]; ok {
			*s = c
		} else {
			strs[*s] = *s
		}
	}
	for i := range chunk {
		op := &chunk[i]
		for _, s := range []*string{&op.Kind, &op.Key, &op.Input.Customer, &op.Input.SKU, (*string)(&op.Outcome), &op.State, &op.Reason} {
			share(s)
		}
	}
	return append(ops, chunk...)
}

// history indexes h for the check: the ops of each order key, the orders
// of each customer, the balance reads.
type history struct {
	h    []Op
	keys []string         // order keys, sorted
	ops  map[string][]int // order key → its checkouts and reads, in h's order
	// first maps an order key to its first checkout, in h: its customer
	// and amount.
	first     map[string]int
	customers map[string][]string // customer → its order keys, sorted
	balances  []int               // balance reads answered ok
}

func indexHistory(h []Op) *history {
	x := &history{h: h, ops: map[string][]int{}, first: map[string]int{}, customers: map[string][]string{}}
	// Count each key's ops, then hand each key its part of one array:
	// a slice per key, not a slice grown per key.
	n := map[string]int{}
	for i := range h {
		if op := &h[i]; op.Kind == KindCheckout || op.Kind == KindGet {
			if n[op.Key] == 0 {
				x.keys = append(x.keys, op.Key)
			}
			n[op.Key]++
		}
	}
	all := make([]int, 0, len(h))
	for _, k := range x.keys {
		x.ops[k] = all[len(all) : len(all) : len(all)+n[k]]
		all = all[:len(all)+n[k]]
	}
	for i := range h {
		op := &h[i]
		switch op.Kind {
		case KindCheckout, KindGet:
			x.ops[op.Key] = append(x.ops[op.Key], i)
			if _, known := x.first[op.Key]; op.Kind == KindCheckout && !known {
				x.first[op.Key] = i
				x.customers[op.Input.Customer] = append(x.customers[op.Input.Customer], op.Key)
			}
		case KindBalance:
			if op.Outcome == OutcomeOK {
				x.balances = append(x.balances, i)
			}
		}
	}
	sort.Strings(x.keys)
	for _, ks := range x.customers {
		sort.Strings(ks)
	}
	return x
}

// amount is the amount of order k's first checkout.
func (x *history) amount(k string) int64 {
	i, ok := x.first[k]
	if !ok {
		return 0
	}
	return x.h[i].Input.Amount
}
