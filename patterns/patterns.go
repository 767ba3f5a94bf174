// Package patterns is the registry of distributed-transaction patterns
// txchaos runs, and the small helpers their code shares. Each pattern is
// one subpackage that registers itself; patterns/all imports every one.
//
// A pattern is the orders service: it serves the client API
// (POST /checkout with an Idempotency-Key, GET /orders/{key}), keeps the
// orders table (sim.OrdersSchema), calls payments, inventory, shipping and
// the broker through its sim.Node, and runs its own recovery processes. It
// takes everything nondeterministic from the node — clock, sleep,
// randomness, HTTP clients, processes — so both runtimes run it unchanged.
//
// What each registered pattern is expected to show under each built-in
// scenario is the expectation matrix, expectations.txt in this directory:
// the one place that says it. Register puts a pattern's lines in its
// Spec.Expect.
package patterns

import (
	"fmt"
	"sort"
	"strings"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

// Spec describes a registered pattern.
type Spec struct {
	// Name is the pattern's registry name: naive-dual-write, outbox, ...
	Name string
	// Summary is one line for `txchaos list`.
	Summary string
	// Source names the seed document and section it comes from.
	Source string
	// CrashPoints are the named points in its code where a crashpoint fault
	// can kill the coordinator.
	CrashPoints []string
	// Reads is the consistency model the pattern promises the reads of
	// its orders and of the rewards balances (the zero value is
	// checker.Linearizable: a read after an answer shows what it said).
	// The checker judges the reads against it: reads weaker than the
	// promise are an anomaly, reads stronger than it information.
	Reads checker.ReadModel
	// Pending are queries over the orders database that return the keys of
	// unfinished work (unsent outbox rows, unfinished sagas); after healing
	// every key they return is stuck.
	Pending []Pending
	// New returns the orders service running the pattern.
	New func() sim.Service
	// Services are extra nodes the pattern needs (a fallback queue), by
	// name, and Links the extra links to and from them.
	Services map[string]func() sim.Service
	Links    []sim.Link
	// Expect is what the pattern is expected to show under each scenario,
	// by scenario name, written as a line of the expectation matrix
	// writes it: "lost-event=some stuck=any", "*=any" for every class not
	// named, "-" for what the scenario itself expects. A scenario it does
	// not name expects what the scenario expects of a pattern that
	// survives it (see scenarios.Scenario.ExpectFor). A registered
	// pattern's comes from the expectation matrix (ExpectationsFile), the
	// one place that says it: Register fills it in.
	Expect map[string]string
}

// Pending is a named query returning one TEXT column of keys of
// unfinished work, run on Node's database (sim.Orders when empty).
type Pending struct {
	Node string
	Name string
	SQL  string
}

// World is the checkout world with this pattern on orders and its extra
// services and links.
func (s Spec) World(cfg sim.Config) sim.World {
	w := sim.NewWorld(cfg, s.New())
	for name, svc := range s.Services {
		w.Services[name] = svc()
	}
	w.Links = append(w.Links, s.Links...)
	return w
}

var registry = map[string]Spec{}

// Register adds a pattern, with its Expect from the expectation matrix.
// It panics on a duplicate or incomplete spec, or one that sets Expect
// itself: that is a programming error, found at start-up.
func Register(s Spec) {
	if s.Name == "" || s.New == nil || s.Summary == "" {
		panic("patterns: Register needs a Name, a Summary and New")
	}
	if !s.Reads.Valid() {
		panic(fmt.Sprintf("patterns: %s: Reads %q is not a read model (%v)", s.Name, s.Reads, checker.ReadModels))
	}
	if _, dup := registry[s.Name]; dup {
		panic("patterns: " + s.Name + " registered twice")
	}
	if s.Expect != nil {
		panic("patterns: " + s.Name + " sets Expect: a registered pattern's expectations are its lines of " + ExpectationsFile)
	}
	s.Expect = expectOf(s.Name)
	registry[s.Name] = s
}

// Lookup finds a registered pattern by name.
func Lookup(name string) (Spec, error) {
	s, ok := registry[name]
	if !ok {
		return Spec{}, fmt.Errorf("pattern %q is not registered (patterns: %s)", name, strings.Join(Names(), ", "))
	}
	return s, nil
}

// All lists the registered patterns by name.
func All() []Spec {
	var out []Spec
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names lists the registered patterns' names.
func Names() []string {
	var out []string
	for _, s := range All() {
		out = append(out, s.Name)
	}
	return out
}
