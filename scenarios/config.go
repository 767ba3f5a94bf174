// Package scenarios composes a run: the world, a pattern, the nemesis, the
// client workload and the checker. Execute runs one configuration and
// returns its verdict and the record to store.
//
// # Evidence
//
// A clean verdict under a fault that never landed says nothing about that
// fault. Each run's Result.Evidence (a results.Evidence, stored in the
// record) says, for each fault of its profile, how many the runtime
// applied and how many landed while an order they affected was still
// open; the faults that never landed are not exercised.
//
// An order is open from the call of its first checkout attempt until it
// is at rest: the later of the answer to its last attempt and the last
// change any service made for it (its row in the orders table, a charge,
// reservation or shipment and their log rows, its event at the broker, its
// credit at rewards). An order not at rest when the run ends — not
// terminal, or listed by one of the pattern's pending queries — is open to
// the end.
//
// A fault affects the order its request names (sim.OrderHeader: a
// checkout, a read, a create or cancel, a publish). A fault that names no
// order — a crash at a crash point or one the nemesis orders, a request
// such as a broker poll that serves every order, any call to a JetStream
// broker (its protocol carries no such header) — affects every order open
// at that moment: a crashed node drops whatever it was doing for each of
// them.
//
// An applied fault belongs to the profile entry of its kind and target (a
// link, a node, a crash point; an entry without a link covers every
// link). When two entries could have caused it, it is the later one's:
// the nemesis applies entries in order, and the later setting holds.
// Restarts follow crashes and are not faults of their own.
package scenarios

import (
	"fmt"
	"time"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/live"
)

// Workload is the clients' part of a run.
type Workload struct {
	// Txns is how many checkouts (distinct order keys) the clients place.
	Txns int `json:"txns" yaml:"txns"`
	// Concurrency is how many clients place them at once.
	Concurrency int `json:"concurrency" yaml:"concurrency"`
	// Attempts is how many times a client tries one order while the outcome
	// stays unknown (a timeout, a 5xx), always with the same key.
	Attempts int `json:"attempts" yaml:"attempts"`
	// Customers is how many distinct customers the orders spread over.
	Customers int `json:"customers" yaml:"customers"`
	// Resubmit is the share of orders, from 0 to 1, that their client sends
	// once more, with the same key, after it was answered definitively and
	// every order was placed: a double submit (a user clicking twice, a
	// client library retrying on its own, an app re-sending after a
	// reconnect). Which orders are drawn from the seed apart from the
	// orders themselves, so the same seed places the same orders whatever
	// the share. 0, the default, sends none.
	Resubmit float64 `json:"resubmit,omitempty" yaml:"resubmit"`
}

// Config is everything a run depends on. Two runs of the same Config on the
// deterministic runtime are the same run.
type Config struct {
	Scenario string `json:"scenario,omitempty"`
	Pattern  string `json:"pattern"`
	Runtime  string `json:"runtime"`
	// Isolation is where the live runtime runs the services' code: none
	// ("" means it too), in the runner's process, or process, each
	// service an OS process of its own, killed with SIGKILL when it
	// crashes (see NodeMain).
	Isolation string     `json:"isolation,omitempty"`
	Seed      int64      `json:"seed"`
	Workload  Workload   `json:"workload"`
	World     sim.Config `json:"world"`
	// Faults is the fault profile (see package faults).
	Faults string `json:"faults"`
	// Schedule is a det run's faults named one by one, each at its site
	// or moment, in the text of faults.Schedule (one fault a line), in
	// place of a profile: the run gets exactly these faults.
	Schedule string `json:"schedule,omitempty"`
	// Quiet bounds the fault-free period after healing in which recovery
	// must bring the world to rest; what is not at rest then is stuck.
	Quiet time.Duration `json:"quiet"`
	// CallTimeout bounds one client request.
	CallTimeout time.Duration `json:"call_timeout"`
}

// Runtimes are the runtimes a run can use.
var Runtimes = []string{"live", "det"}

// Isolations are the isolations a run can use (Config.Isolation).
var Isolations = live.Isolations

// IsolationName is the isolation the run uses: Isolation, or none when
// empty.
func (c Config) IsolationName() string {
	if c.Isolation == "" {
		return live.IsolationNone
	}
	return c.Isolation
}

// Default is the configuration of `txchaos run` without flags.
func Default() Config {
	return Config{
		Pattern:     "naive-dual-write",
		Runtime:     "live",
		Isolation:   live.IsolationNone,
		Seed:        1,
		Workload:    Workload{Txns: 200, Concurrency: 8, Attempts: 3, Customers: 20},
		World:       sim.DefaultConfig(),
		Quiet:       10 * time.Second,
		CallTimeout: sim.DefaultCallTimeout,
	}
}

// Validate checks every field and names the first bad one, its value and
// what is allowed.
func (c Config) Validate() error {
	spec, err := patterns.Lookup(c.Pattern)
	if err != nil {
		return fmt.Errorf("pattern: %w", err)
	}
	return c.validate(spec)
}

func (c Config) validate(spec patterns.Spec) error {
	if !contains(Runtimes, c.Runtime) {
		return fmt.Errorf("runtime: %q is not one of %v", c.Runtime, Runtimes)
	}
	switch iso := c.IsolationName(); {
	case !contains(Isolations, iso):
		return fmt.Errorf("isolation: %q is not one of %v", c.Isolation, Isolations)
	case iso == live.IsolationProcess && c.Runtime != "live":
		return fmt.Errorf("isolation: %s runs on the live runtime only (runtime is %s): the %s runtime schedules every node in one process", iso, c.Runtime, c.Runtime)
	case iso == live.IsolationProcess && c.World.BrokerName() == sim.BrokerJetStream:
		return fmt.Errorf("isolation: %s cannot run broker %s: the JetStream server and its clients' connections run inside the runner's process (use isolation %s)", iso, sim.BrokerJetStream, live.IsolationNone)
	}
	if !spec.Reads.Valid() {
		return fmt.Errorf("pattern %s: Reads: %q is not a read model (%v)", spec.Name, spec.Reads, checker.ReadModels)
	}
	w := c.Workload
	switch {
	case w.Txns < 1 || w.Txns > 1_000_000:
		return fmt.Errorf("txns: %d is not between 1 and 1000000", w.Txns)
	case w.Concurrency < 1 || w.Concurrency > 1024:
		return fmt.Errorf("concurrency: %d is not between 1 and 1024", w.Concurrency)
	case w.Attempts < 1 || w.Attempts > 100:
		return fmt.Errorf("attempts: %d is not between 1 and 100", w.Attempts)
	case w.Customers < 1:
		return fmt.Errorf("customers: %d must be at least 1", w.Customers)
	case !(w.Resubmit >= 0 && w.Resubmit <= 1): // NaN too
		return fmt.Errorf("resubmit: %g is not a share between 0 and 1", w.Resubmit)
	case c.Quiet <= 0:
		return fmt.Errorf("quiet: %s must be positive", c.Quiet)
	case c.CallTimeout <= 0:
		return fmt.Errorf("call_timeout: %s must be positive", c.CallTimeout)
	}
	if err := c.World.Validate(); err != nil {
		return fmt.Errorf("world: %w", err)
	}
	if b := c.World.BrokerName(); b == sim.BrokerJetStream && c.Runtime != "live" {
		return fmt.Errorf("world: broker: %s runs on the live runtime only (runtime is %s): the NATS server keeps its own goroutines and clock, which the %s runtime can neither schedule nor replay", b, c.Runtime, c.Runtime)
	}
	p, err := faults.Parse(c.Faults)
	if err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	world := spec.World(c.World)
	if err := p.Validate(world.Links, world.Nodes(), spec.CrashPoints); err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	if c.Schedule == "" {
		return nil
	}
	switch {
	case c.Runtime != "det":
		return fmt.Errorf("schedule: the %s runtime cannot follow a schedule: its sites are numbered by a seeded run, which only the det runtime replays (runtime is %s)", c.Runtime, c.Runtime)
	case len(p) > 0:
		return fmt.Errorf("schedule: given with faults %q: a schedule names every fault of the run and a profile draws faults at random; give one or the other", c.Faults)
	}
	sched, err := faults.ParseSchedule(c.Schedule)
	if err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	if err := sched.Validate(world.Links, world.Nodes(), spec.CrashPoints); err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
