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
	"errors"
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
	// Source names the section of docs/sources.md it comes from, and the
	// part of it.
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
	// Services are nodes the pattern brings, by name, each made from the
	// run's world configuration (its seed, the services' maturity levels
	// and reject rates, the initial stock, the consumer's de-duplication):
	// an extra node the pattern needs (a fallback queue), with Links the
	// extra links to and from it; or, under the name of a standard node
	// (sim.Payments, sim.Inventory, sim.Shipping, sim.Broker, sim.Rewards),
	// a service that replaces it. A replacement is how a test plugs in a
	// broken or custom participant; it must keep the tables of the node it
	// replaces, which the checker reads, so the simplest one wraps the
	// standard service (sim.NewResourceService, sim.BrokerService,
	// sim.RewardsService). Orders is New's, and Services may not name it.
	Services map[string]func(sim.Config) sim.Service
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
		if name != sim.Orders {
			w.Services[name] = svc(cfg)
		}
	}
	w.Links = append(w.Links, s.Links...)
	return w
}

var registry = map[string]Spec{}

// ErrRegistered is the error Register returns for a name already taken.
var ErrRegistered = errors.New("already registered")

// Register adds a pattern to the registry, by which `txchaos` and
// scenarios.Execute find it by name. A pattern the expectation matrix
// has lines for takes its Expect from them, and may not set its own; any
// other keeps the Expect it has. Register refuses an incomplete spec, and
// a name already taken (ErrRegistered). A pattern need not be registered
// to be tested: scenarios.Run and scenarios.ExecuteSpec take its Spec.
func Register(s Spec) error {
	if s.Name == "" || s.New == nil || s.Summary == "" {
		return fmt.Errorf("patterns: Register: pattern %q needs a Name, a Summary and New", s.Name)
	}
	if !s.Reads.Valid() {
		return fmt.Errorf("patterns: Register: pattern %s: Reads %q is not a read model (%v)", s.Name, s.Reads, checker.ReadModels)
	}
	if _, ok := s.Services[sim.Orders]; ok {
		return fmt.Errorf("patterns: Register: pattern %s: Services names %s, which is New's", s.Name, sim.Orders)
	}
	if _, dup := registry[s.Name]; dup {
		return fmt.Errorf("patterns: Register: pattern %s: %w (a pattern need not be registered to be run: scenarios.Run and scenarios.ExecuteSpec take its Spec)", s.Name, ErrRegistered)
	}
	if m := expectOf(s.Name); m != nil {
		if s.Expect != nil {
			return fmt.Errorf("patterns: Register: pattern %s sets Expect, but its expectations are its lines of %s", s.Name, ExpectationsFile)
		}
		s.Expect = m
	}
	registry[s.Name] = s
	return nil
}

// MustRegister is Register for a pattern's init function: it panics on
// Register's error, a programming error found at start-up.
func MustRegister(s Spec) {
	if err := Register(s); err != nil {
		panic(err)
	}
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
