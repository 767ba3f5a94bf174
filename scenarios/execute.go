package scenarios

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync/atomic"
	"time"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/live"
)

// Result is what a run produced.
type Result struct {
	Config  Config
	Report  checker.Report
	History []checker.Op
	State   *checker.State
	// Steps is what the nemesis did; Applied is every fault the runtime
	// actually applied, request by request, timed from the run's start as
	// the history is.
	Steps   []faults.Step
	Applied []sim.Applied
	// Schedule is the faults a det run got, each at its site or moment,
	// in order (the decisions with the times and requests they were
	// taken at): run as Config.Schedule, it is the same run. Passes are
	// the sites the run passed until the state it judged was read, during
	// recovery too (see sim.Pass), kept compact (a long run passes
	// millions): where a scheduled fault could have landed and changed the
	// verdict. Both are nil on the live runtime.
	Schedule faults.Schedule
	Passes   *sim.Passes
	// healedAt is how many of Passes the run passed before healing: the
	// record counts those (as it did before a schedule's faults landed
	// after healing), so that an older record replays.
	healedAt int
	// Converged reports whether the world came to rest after healing, and
	// Converge how long that took on the runtime's clock.
	Converged bool
	Converge  time.Duration
	// Duration is the run's length on the runtime's clock, from the first
	// request to rest.
	Duration time.Duration
	Started  time.Time
	// Evidence is, for each fault of the profile, how many were applied
	// and how many landed while an order they affected was open (see the
	// package doc).
	Evidence *results.Evidence
	// Slowness is how many times slower than the wall clock the live
	// runtime's clock ran, measured when it started (see sim/live); 0 on
	// the det runtime, whose clock is virtual.
	Slowness float64
}

// Execute runs cfg: it starts the world with the pattern on orders, runs
// the nemesis while the clients place their orders, heals the world, lets
// recovery run until the world is at rest or cfg.Quiet passes, reads the
// state of every database then (what is unfinished at that deadline is
// stuck), has a client read every order and balance, stops the world and
// checks the history and that state. dir holds the nodes' databases; when
// empty a temporary directory is used and removed (one that a killed run
// left is removed by the next run: see newWorkDir).
func Execute(ctx context.Context, cfg Config, dir string) (*Result, error) {
	spec, err := patterns.Lookup(cfg.Pattern)
	if err != nil {
		return nil, fmt.Errorf("pattern: %w", err)
	}
	return ExecuteSpec(ctx, spec, cfg, dir)
}

// ExecuteSpec is Execute for a pattern given by its Spec rather than its
// registered name: a user's own pattern, in their own package. cfg.Pattern
// is set to spec.Name.
func ExecuteSpec(ctx context.Context, spec patterns.Spec, cfg Config, dir string) (*Result, error) {
	cfg.Pattern = spec.Name
	if err := cfg.validate(spec); err != nil {
		return nil, err
	}
	profile, _ := faults.Parse(cfg.Faults)         // validated
	sched, _ := faults.ParseSchedule(cfg.Schedule) // validated
	scratch := dir == ""
	switch {
	case scratch && cfg.Runtime == results.RuntimeDet:
		dir = scratchDir() // the databases stay in memory: it only names them
	case scratch:
		tmp, release, err := newWorkDir()
		if err != nil {
			return nil, err
		}
		defer release()
		dir = tmp
	}
	wcfg := cfg.World
	wcfg.Seed = cfg.Seed
	world := spec.World(wcfg)

	res := &Result{Config: cfg, Started: time.Now()}
	var desc []byte
	if cfg.IsolationName() == live.IsolationProcess {
		desc = describeWorld(spec.Name, wcfg)
	}
	rt, err := runtimes[cfg.Runtime](ctx, world, dir, scratch, cfg, desc)
	if err != nil {
		return nil, fmt.Errorf("start the world: %w", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			rt.Stop()
		}
	}()

	if l, ok := rt.(liveRuntime); ok {
		res.Slowness = l.Slowness()
	}
	pending := checkerPending(spec.Pending)
	nem := faults.NewNemesis(profile, sched.Moments(), world.Links, world.Nodes(), rt, rt, cfg.Seed)
	var history checker.History
	var sealed *checker.SealedState // the state judged, while the world runs on
	// The run proper is the runtime's main process: on the det runtime the
	// nemesis, the clients and everything they start are its processes.
	var start time.Time
	err = rt.Main(ctx, func(ctx context.Context) error {
		start = rt.Now()
		if err := nem.Start(); err != nil { // steady faults are on from the first request
			return err
		}
		nemCtx, stopNemesis := context.WithCancel(ctx)
		var nemErr error
		nemDone := spawn(rt, "nemesis", func() { nemErr = nem.Run(nemCtx) })

		runWorkload(ctx, rt, cfg, start, &history)

		stopNemesis()
		join(ctx, rt, nemDone, 1)
		if nemErr != nil {
			return nemErr
		}
		if st, ok := rt.(siteRecorder); ok { // the record counts the sites passed until healing
			res.healedAt = st.Passes().Len()
		}
		if err := nem.Heal(ctx); err != nil {
			return fmt.Errorf("heal: %w", err)
		}
		healed := rt.Now()
		var err error
		// The state read at rest, or at the quiet period's deadline, is
		// the one judged: work the final reads give time to finish was
		// not done in time, and is stuck.
		res.Converged, res.State, err = awaitRest(ctx, rt, cfg.Quiet, world.Nodes(), pending)
		if err != nil {
			return err
		}
		if sealed, err = sealLong(res.State); err != nil {
			return err
		}
		if sealed != nil {
			res.State = nil // unsealed once Stop has freed the databases
			// Collect the state now, while nothing else runs (the det
			// runtime runs one process at a time): left to the collector's
			// pace, the final reads' garbage would pile on it first.
			runtime.GC()
		}
		if st, ok := rt.(siteRecorder); ok { // the sites before the judged state; the final reads' are not
			res.Passes = st.Passes()
		}
		res.Converge = rt.Now().Sub(healed)
		finalReads(ctx, rt.Node(sim.Client), cfg, start, &history)
		res.Duration = rt.Now().Sub(start)
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Applied = rt.Applied()
	if st, ok := rt.(siteRecorder); ok {
		decisions := st.Decisions()
		for i := range decisions { // count from the run's start, as the history does
			decisions[i].At -= start.Sub(rt.Epoch())
		}
		res.Schedule = faults.Recorded(decisions, nem.Moments())
	}
	for _, a := range res.Applied {
		if a.Fault == "exited" { // isolation process: a node's own bug, no fault
			return nil, fmt.Errorf("node %s: its process exited by itself, which no fault does: %s", a.Target, a.Detail)
		}
	}
	for i := range res.Applied { // count from the run's start, as the history does
		res.Applied[i].At -= start.Sub(rt.Epoch())
	}
	res.Steps = nem.Steps()
	stopped = true
	if err := rt.Stop(); err != nil {
		return nil, fmt.Errorf("stop the world: %w", err)
	}
	rt, nem = nil, nil // what they still hold (a long run's sites, decisions, processes and history) is not needed to judge it
	if ctx.Err() != nil {
		return nil, fmt.Errorf("run interrupted: %w", ctx.Err())
	}
	if sealed != nil {
		if res.State, err = sealed.State(); err != nil {
			return nil, err
		}
		sealed = nil
	}

	res.History = history.Ops()
	res.Report = checker.Check(res.History, res.State, spec.Reads)
	if len(sched) > 0 {
		res.Evidence = scheduleEvidence(sched, res.Schedule, res.Applied, res.History, res.State, start, res.Duration)
	} else {
		res.Evidence = evidenceOf(profile, res.Applied, res.History, res.State, start, res.Duration)
	}
	return res, nil
}

// siteRecorder is a runtime that records the sites it passed and the
// decisions it took there: the det runtime.
type siteRecorder interface {
	Decisions() []sim.Decision
	Passes() *sim.Passes
}

func checkerPending(ps []patterns.Pending) []checker.Pending {
	var out []checker.Pending
	for _, p := range ps {
		out = append(out, checker.Pending{Node: p.Node, Name: p.Name, SQL: p.SQL})
	}
	return out
}

// order is one checkout the workload places.
type order struct {
	key string
	co  sim.Checkout
	// resubmit: the client sends it once more after a definitive answer
	// (see runWorkload).
	resubmit bool
}

// orders derives the workload's checkouts from the seed. Which of them
// are re-submitted is drawn from a stream of its own, so that the orders
// do not depend on cfg.Workload.Resubmit.
func orders(cfg Config) []order {
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x776f726b6c6f6164))
	again := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x72657375626d6974))
	out := make([]order, cfg.Workload.Txns)
	for i := range out {
		out[i] = order{
			key: fmt.Sprintf("o%06d", i+1),
			co: sim.Checkout{
				Customer: fmt.Sprintf("c%03d", rng.IntN(cfg.Workload.Customers)+1),
				SKU:      sim.SKUs[rng.IntN(len(sim.SKUs))],
				Qty:      int64(rng.IntN(3) + 1),
				Amount:   int64(rng.IntN(20)+1) * 5,
			},
			resubmit: again.Float64() < cfg.Workload.Resubmit,
		}
	}
	return out
}

// runWorkload has cfg.Workload.Concurrency clients place every order,
// retrying an order with the same key while its outcome is unknown. After
// each order a client reads it back, then reads the order its neighbour
// (the next client) was last answered about: reads of one's own orders and
// of others' tell read-your-writes from linearizable reads. Once every
// order is placed, each client sends again, once and with the same key,
// those of its orders that were answered definitively and drawn for
// re-submission (cfg.Workload.Resubmit), and reads each back: a client
// re-sending what it was already answered, as an app does after a
// reconnect. The faults are still on.
func runWorkload(ctx context.Context, rt Runtime, cfg Config, start time.Time, h *checker.History) {
	all := orders(cfg)
	var next atomic.Int64
	client := rt.Node(sim.Client)
	client.SetCallTimeout(cfg.CallTimeout) // the client waits its own time, not the services'

	n := cfg.Workload.Concurrency
	answered := make([]atomic.Int64, n) // per client, 1 + the index of its last order answered definitively
	again := make([][]resubmit, n)      // per client, what it sends again; each written by its client only
	done := new(atomic.Int64)
	for c := 0; c < n; c++ {
		spawnInto(rt, fmt.Sprintf("client %d", c), done, func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(all) || ctx.Err() != nil {
					return
				}
				if attempt := place(ctx, client, cfg, c, all[i], start, h); attempt > 0 {
					answered[c].Store(int64(i) + 1)
					if all[i].resubmit {
						again[c] = append(again[c], resubmit{all[i], attempt + 1})
					}
				}
				if j := answered[(c+1)%n].Load() - 1; n > 1 && j >= 0 && ctx.Err() == nil {
					read(ctx, client, cfg, c, all[j].key, start, h, false)
				}
			}
		})
	}
	join(ctx, rt, done, n)
	if cfg.Workload.Resubmit == 0 {
		return
	}
	done = new(atomic.Int64)
	for c := 0; c < n; c++ {
		spawnInto(rt, fmt.Sprintf("client %d re-submitting", c), done, func() {
			for _, r := range again[c] {
				if ctx.Err() != nil {
					return
				}
				checkout(ctx, client, cfg, c, r.order, r.attempt, start, h) // the same key: the same answer is due
				read(ctx, client, cfg, c, r.key, start, h, false)
			}
		})
	}
	join(ctx, rt, done, n)
}

// resubmit is an order a client sends again, and the attempt it will be.
type resubmit struct {
	order
	attempt int
}

// spawn runs fn as a process of the client node, the workload's, and
// returns the counter it adds one to when fn ends.
func spawn(rt Runtime, name string, fn func()) *atomic.Int64 {
	return spawnInto(rt, name, new(atomic.Int64), fn)
}

// spawnInto is spawn with a counter shared by several processes.
func spawnInto(rt Runtime, name string, done *atomic.Int64, fn func()) *atomic.Int64 {
	rt.Go(sim.Client, name, func(context.Context) {
		defer done.Add(1)
		fn()
	})
	return done
}

// joinPoll is how often join looks at its counter.
const joinPoll = 5 * time.Millisecond

// join waits on the runtime's clock until n processes have added to done.
// It polls: a sync.WaitGroup would block the det runtime's scheduler,
// which runs one process at a time.
func join(ctx context.Context, rt Runtime, done *atomic.Int64, n int) {
	for done.Load() < int64(n) {
		rt.Sleep(context.WithoutCancel(ctx), joinPoll)
	}
}

// clientBackoff is a client's wait before its second try of an order whose
// outcome is unknown; it doubles at each further try. Three tries span
// 300 ms, longer than a crashed node's default downtime (200 ms), so a
// client that meets a node down does not spend its tries on it at once.
const clientBackoff = 100 * time.Millisecond

// place runs one order's attempts, then reads the order back. It returns
// the attempt answered definitively, or 0 when none was.
func place(ctx context.Context, n *sim.Node, cfg Config, client int, o order, start time.Time, h *checker.History) int {
	answered := 0
	for attempt := 1; attempt <= cfg.Workload.Attempts; attempt++ {
		if checkout(ctx, n, cfg, client, o, attempt, start, h).Definitive() {
			answered = attempt
			break
		}
		if ctx.Err() != nil {
			break
		}
		if n.Sleep(ctx, clientBackoff<<(attempt-1)) != nil {
			return 0
		}
	}
	read(ctx, n, cfg, client, o.key, start, h, false)
	return answered
}

// checkout records one attempt of order o and returns its outcome.
func checkout(ctx context.Context, n *sim.Node, cfg Config, client int, o order, attempt int, start time.Time, h *checker.History) checker.Outcome {
	op := checker.Op{Client: client, Kind: checker.KindCheckout, Key: o.key, Attempt: attempt, Input: o.co, Call: n.Now().Sub(start)}
	callCtx, cancel := n.WithTimeout(ctx, cfg.CallTimeout)
	got, err := n.Orders().Checkout(callCtx, o.key, o.co)
	cancel()
	op.Return = n.Now().Sub(start)
	switch {
	case err == nil:
		op.Outcome, op.State = checker.OutcomeOK, got.State
	case sim.IsRejected(err):
		var rej *sim.Rejected
		errors.As(err, &rej)
		op.Outcome, op.State, op.Reason = checker.OutcomeRejected, sim.OrderFailed, rej.Reason
	default:
		op.Outcome, op.Reason = checker.OutcomeUnknown, err.Error()
	}
	h.Add(op)
	return op.Outcome
}

// read records a client's GET /orders/{key}, taken at rest or not.
func read(ctx context.Context, n *sim.Node, cfg Config, client int, key string, start time.Time, h *checker.History, atRest bool) {
	op := checker.Op{Client: client, Kind: checker.KindGet, Key: key, Call: n.Now().Sub(start), AtRest: atRest}
	callCtx, cancel := n.WithTimeout(ctx, cfg.CallTimeout)
	got, err := n.Orders().Get(callCtx, key)
	cancel()
	op.Return = n.Now().Sub(start)
	switch {
	case err == nil:
		op.Outcome, op.State = checker.OutcomeOK, got.State
	case sim.NotFound(err):
		op.Outcome, op.State = checker.OutcomeOK, checker.StateAbsent
	default:
		op.Outcome, op.Reason = checker.OutcomeUnknown, err.Error()
	}
	h.Add(op)
}

// finalReads reads every order and every customer's rewards balance once
// the world is at rest: what a client sees after healing.
func finalReads(ctx context.Context, n *sim.Node, cfg Config, start time.Time, h *checker.History) {
	client := cfg.Workload.Concurrency // a client of its own
	seen := map[string]bool{}
	var customers []string
	for _, o := range orders(cfg) {
		read(ctx, n, cfg, client, o.key, start, h, true)
		if !seen[o.co.Customer] {
			seen[o.co.Customer] = true
			customers = append(customers, o.co.Customer)
		}
	}
	sort.Strings(customers)
	for _, c := range customers {
		op := checker.Op{Client: client, Kind: checker.KindBalance, Key: c, Call: n.Now().Sub(start), AtRest: true}
		callCtx, cancel := n.WithTimeout(ctx, cfg.CallTimeout)
		b, err := n.Rewards().Balance(callCtx, c)
		cancel()
		op.Return = n.Now().Sub(start)
		if err == nil {
			op.Outcome, op.Points = checker.OutcomeOK, b.Points
		} else {
			op.Outcome, op.Reason = checker.OutcomeUnknown, err.Error()
		}
		h.Add(op)
	}
}
