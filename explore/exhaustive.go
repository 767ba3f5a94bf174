package explore

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/scenarios"
	"github.com/txchaos/txchaos/sim"
)

// Bound is the scope of an exhaustive exploration.
type Bound struct {
	// Orders is how many orders the run places, each by a client of its
	// own, all at once.
	Orders int
	// MaxFaults is the most faults a schedule holds.
	MaxFaults int
}

// Limits on a bound: the number of schedules grows as the number of
// sites to the power MaxFaults.
const (
	MaxOrders    = 8
	MaxMaxFaults = 4
)

// Validate names the first field of b out of range and what is allowed.
func (b Bound) Validate() error {
	switch {
	case b.Orders < 1 || b.Orders > MaxOrders:
		return fmt.Errorf("orders: %d is not between 1 and %d", b.Orders, MaxOrders)
	case b.MaxFaults < 0 || b.MaxFaults > MaxMaxFaults:
		return fmt.Errorf("max faults: %d is not between 0 and %d", b.MaxFaults, MaxMaxFaults)
	}
	return nil
}

// String is the bound in words, e.g. "1 order, at most 2 faults".
func (b Bound) String() string {
	orders := "orders"
	if b.Orders == 1 {
		orders = "order"
	}
	faults := "faults"
	if b.MaxFaults == 1 {
		faults = "fault"
	}
	return fmt.Sprintf("%d %s, at most %d %s", b.Orders, orders, b.MaxFaults, faults)
}

// Options configures Exhaustive.
type Options struct {
	// Config is the run every schedule changes: its seed, world, timeouts
	// and quiet period. Nil means Default(). Its workload's orders and
	// clients are set from the bound; it names no fault profile and no
	// schedule (each run gets one of the exploration's).
	Config *scenarios.Config
	// Parallel is how many runs go at once: GOMAXPROCS when zero. The
	// result does not depend on it.
	Parallel int
	// Progress, when set, is called after each run, from one goroutine at
	// a time.
	Progress func(Progress)
}

// Progress is how far an exploration has got.
type Progress struct {
	// Faults is the size of the schedules being run; Done of Total of
	// them have run.
	Faults, Done, Total int
	// Runs counts every run so far, the fault-free one included.
	Runs int
}

// Default is the run an exhaustive exploration changes unless told
// otherwise: explore's (scenarios.ExploreDefault), seed 1.
func Default() scenarios.Config { return scenarios.ExploreDefault() }

// Result is what Exhaustive found.
type Result struct {
	Bound Bound
	// Config is the run each schedule changed (its Schedule empty).
	Config scenarios.Config
	// Runs counts the schedules run, the fault-free one included; Levels
	// counts them by number of faults (Levels[0] is 1, the fault-free
	// run).
	Runs   int
	Levels []int
	// Sites counts the sites the fault-free run passed until the state it
	// was judged on was read (a request's net and serve slots each count), and Idle
	// the idle ones among them, which get no fault (see Kinds).
	Sites, Idle int
	// Tried counts the distinct sites a fault was tried at, and New those
	// among them the fault-free run never passed: reached only by faulted
	// runs (a retry, a recovery, a redelivery).
	Tried, New int
	// IdlePasses counts the idle sites of every run explored at which a
	// further fault could have gone but did not.
	IdlePasses int
	// Unknown counts the runs whose verdict was unknown; FirstUnknown is
	// the first of them.
	Unknown      int
	FirstUnknown faults.Schedule
	// Elapsed is the wall-clock time the exploration took.
	Elapsed time.Duration
	// Counterexample is the first schedule whose run showed an anomaly,
	// in the order of exploration (fewest faults first, then earliest
	// sites), or nil: no counterexample within the bound.
	Counterexample *Counterexample
}

// Counterexample is a schedule whose run shows an anomaly.
type Counterexample struct {
	// Schedule is its faults, as the run recorded them: when each was
	// taken, and on what.
	Schedule faults.Schedule
	// Run is its run: Run.Config, with Run.Config.Schedule, is the same
	// run again.
	Run *scenarios.Result
	// Classes are the anomaly classes it shows.
	Classes []checker.Class
}

// Exhaustive runs spec under every schedule of at most b.MaxFaults
// faults at the sites its runs of b.Orders orders pass, with every fault
// kind that applies at each site (Kinds), and stops at the first
// schedule whose run shows an anomaly.
//
// It runs the fault-free run first, then each single fault at each site
// that run passed, then, for each of those runs, a second fault at each
// site it passed after its first fault's, and so on up to b.MaxFaults: a
// faulted run passes sites the fault-free run never reaches (a retry, a
// recovery), and they are explored too. A det run is the same run as
// the one without a schedule's last fault until it reaches that fault's
// site, so adding a fault at a site the run never reaches, or at one it
// passed before the faults already there, would give a run already
// explored (see the package doc).
func Exhaustive(ctx context.Context, spec patterns.Spec, b Bound, opt Options) (*Result, error) {
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("exhaustive: %w", err)
	}
	cfg := Default()
	if opt.Config != nil {
		cfg = *opt.Config
	}
	cfg.Pattern = spec.Name
	cfg.Workload.Txns, cfg.Workload.Concurrency = b.Orders, b.Orders
	switch {
	case cfg.Runtime != results.RuntimeDet:
		return nil, fmt.Errorf("exhaustive: runtime %q: schedules run on the det runtime, whose sites are the same from run to run", cfg.Runtime)
	case cfg.Faults != "":
		return nil, fmt.Errorf("exhaustive: faults %q: the schedules name every fault; give no profile", cfg.Faults)
	case cfg.Schedule != "":
		return nil, fmt.Errorf("exhaustive: a schedule is given: exhaustive exploration makes its own")
	}
	e := &explorer{ctx: ctx, spec: spec, cfg: cfg, bound: b, par: opt.Parallel, progress: opt.Progress, free: map[[2]string]bool{}, tried: map[[2]string]bool{}}
	if e.par <= 0 {
		e.par = runtime.GOMAXPROCS(0)
	}
	began := time.Now()
	res := &Result{Bound: b, Config: cfg}
	e.res = res
	defer func() { res.Elapsed = time.Since(began) }()

	level := []*node{{}}
	for k := 0; k <= b.MaxFaults; k++ {
		if k > 0 {
			level = e.expand(level)
		}
		if len(level) == 0 {
			break
		}
		if err := e.run(level, k); err != nil {
			return res, err
		}
		if k == 0 {
			res.Sites = len(level[0].passes)
			for _, p := range level[0].passes {
				e.free[[2]string{p.Site, string(p.Slot)}] = true
				if p.Idle {
					res.Idle++
				}
			}
		}
		if res.Counterexample != nil {
			break
		}
	}
	return res, nil
}

// node is a schedule of the exploration tree: its faults in the order
// its run reaches them, and the sites that run passed.
type node struct {
	faults []sim.Decision
	// passes are the sites its run passed until its judged state was
	// read, and next the index of the first one after its last fault's: where
	// a further fault can go. Kept only while its children are made.
	passes []sim.Pass
	next   int
}

// schedule is the node's faults as a schedule.
func (n *node) schedule() faults.Schedule {
	s := make(faults.Schedule, len(n.faults))
	for i, d := range n.faults {
		s[i] = faults.Entry{Decision: d}
	}
	return s
}

type explorer struct {
	ctx      context.Context
	spec     patterns.Spec
	cfg      scenarios.Config
	bound    Bound
	par      int
	progress func(Progress)
	res      *Result
	// free holds the sites the fault-free run passed, tried those a fault
	// was tried at, by site and slot.
	free, tried map[[2]string]bool
}

// expand makes the children of every node of a level, in order: each
// node's schedule with one more fault, at each site its run passed after
// its last fault's, of each kind that applies there.
func (e *explorer) expand(level []*node) []*node {
	var out []*node
	for _, parent := range level {
		for j := parent.next; j < len(parent.passes); j++ {
			p := parent.passes[j]
			for _, d := range Kinds(p) {
				out = append(out, &node{faults: append(slices.Clip(parent.faults), d)})
			}
			if p.Idle {
				e.res.IdlePasses++
			}
		}
		parent.passes = nil // its children are made
	}
	return out
}

// run runs the schedules of one level, keeping the sites each passed for
// the next, and stops at the first that shows an anomaly: no schedule
// after the earliest failing one found so far is started, and every one
// before it is run to its end, so that the counterexample, and every
// count, is the same whatever order the runs finish in.
func (e *explorer) run(level []*node, k int) error {
	var (
		mu       sync.Mutex
		next     int
		first    = -1 // the index of the earliest failing schedule so far
		verdicts = make([]checker.Verdict, len(level))
		runs     = make([]*scenarios.Result, len(level)) // the failing ones'
		errs     []error
		done     int
		wg       sync.WaitGroup
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		i := next
		if i >= len(level) || (first >= 0 && i > first) || len(errs) > 0 || e.ctx.Err() != nil {
			return 0, false
		}
		next++
		return i, true
	}
	for w := 0; w < min(e.par, len(level)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i, ok := take()
				if !ok {
					return
				}
				n := level[i]
				cfg := e.cfg
				cfg.Schedule = n.schedule().String()
				r, err := scenarios.ExecuteSpec(e.ctx, e.spec, cfg, "")
				mu.Lock()
				if err != nil {
					if e.ctx.Err() == nil {
						errs = append(errs, fmt.Errorf("exhaustive: schedule %q: %w", strings.Join(n.schedule().Lines(false), "; "), err))
					}
					mu.Unlock()
					return
				}
				if k < e.bound.MaxFaults || k == 0 { // its children are made from them (and the fault-free run's are counted)
					n.passes = slices.Collect(r.Passes.All())
					n.next = after(n.passes, n.faults)
				}
				verdicts[i] = r.Report.Verdict
				if r.Report.Verdict == checker.VerdictAnomalies && (first < 0 || i < first) {
					first, runs[i] = i, r
				}
				done++
				if e.progress != nil {
					e.progress(Progress{Faults: k, Done: done, Total: len(level), Runs: e.res.Runs + done})
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	if err := e.ctx.Err(); err != nil {
		return fmt.Errorf("exhaustive: interrupted after %d runs: %w", e.res.Runs+done, err)
	}
	last := len(level) - 1
	if first >= 0 {
		last = first // runs after it, started before it was known, do not count
	}
	for i, v := range verdicts[:last+1] {
		if v == checker.VerdictUnknown {
			e.res.Unknown++
			if e.res.FirstUnknown == nil {
				e.res.FirstUnknown = level[i].schedule()
			}
		}
	}
	for _, n := range level[:last+1] {
		if len(n.faults) == 0 {
			continue
		}
		d := n.faults[len(n.faults)-1]
		if k := [2]string{d.Site, string(d.Slot())}; !e.tried[k] {
			e.tried[k] = true
			e.res.Tried++
			if !e.free[k] {
				e.res.New++
			}
		}
	}
	e.res.Runs += last + 1
	e.res.Levels = append(e.res.Levels, last+1)
	if first >= 0 {
		r := runs[first]
		e.res.Counterexample = &Counterexample{Schedule: r.Schedule, Run: r, Classes: found(r.Report)}
	}
	return nil
}

// found lists the anomaly classes a report counts, in checker.Classes'
// order.
func found(r checker.Report) []checker.Class {
	var out []checker.Class
	for _, c := range checker.Classes {
		if r.Anomalies[c].Count > 0 {
			out = append(out, c)
		}
	}
	return out
}

// after is the index in passes just after the site of the last of
// faults, or len(passes) when the run did not pass it before coming to
// rest: a fault after it lands on a world at rest.
func after(passes []sim.Pass, faults []sim.Decision) int {
	if len(faults) == 0 {
		return 0
	}
	last := faults[len(faults)-1]
	for i, p := range passes {
		if p.Site == last.Site && p.Slot == last.Slot() {
			return i + 1
		}
	}
	return len(passes)
}
