package scenarios

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/results"
)

// ExploreDefault is the run explore makes of each seed unless told
// otherwise: the det runtime, 50 orders from 8 clients, services that wait
// 300ms for one another and clients 1s for the coordinator (as the
// built-in scenarios do), a 5s quiet period, and no fault profile: with
// ExploreOptions.Swarm each seed draws its own.
func ExploreDefault() Config {
	d := Default()
	d.Runtime = results.RuntimeDet
	d.Workload.Txns = 50
	d.World.CallTimeout = 300 * time.Millisecond
	d.CallTimeout = time.Second
	d.Quiet = 5 * time.Second
	return d
}

// Swarm is the fault profile swarm exploration draws for cfg.Seed in the
// world of spec's run of cfg: faults.Swarm over its links, its nodes, the
// pattern's crash points and its services' call timeout. It is explore's
// default profile (ExploreOptions.Swarm); the record of each run holds the
// profile drawn, so that the run replays as any other.
func Swarm(spec patterns.Spec, cfg Config) string {
	w := spec.World(cfg.World)
	return faults.Swarm(cfg.Seed, faults.Space{
		Links: w.Links, Nodes: w.Nodes(), CrashPoints: spec.CrashPoints, CallTimeout: w.Config.CallTimeout,
	}).String()
}

// ExploreOptions configures Explore.
type ExploreOptions struct {
	// Seeds is how many seeds to run: base.Seed, base.Seed+1, ...
	Seeds int
	// Parallel is how many runs go at once: GOMAXPROCS when zero. Each run
	// is deterministic whatever runs beside it.
	Parallel int
	// Progress, when set, is called after each run, from one goroutine at
	// a time, in no particular order of seeds.
	Progress func(ExploreRun)
	// Swarm draws each seed's fault profile (see Swarm) in place of the
	// base configuration's Faults: swarm testing.
	Swarm bool
	// StopAtFirst stops at the first failing seed: no seed above the
	// lowest that shows an anomaly is started, and every seed below it is
	// run to its end, whatever order the runs finish in.
	StopAtFirst bool
}

// ExploreRun is one seed's run.
type ExploreRun struct {
	Seed   int64
	Result *Result
}

// FirstFailure is the first seed that showed an anomaly class.
type FirstFailure struct {
	Class checker.Class
	// Seed is the lowest seed whose run shows the class, and Result that
	// run; Seeds counts the seeds that show it.
	Seed   int64
	Result *Result
	Seeds  int
}

// Exploration is what Explore found.
type Exploration struct {
	Runs int
	// Clean counts the runs judged clean, Unknown the runs whose verdict
	// is unknown.
	Clean, Unknown int
	// Failures has an entry per anomaly class some run showed, in the
	// order of checker.Classes.
	Failures []FirstFailure
}

// Explore runs base on the det runtime with opt.Seeds seeds from base.Seed
// and reports, for each anomaly class, the first seed that shows it (the
// lowest, whatever order the runs finish in) and how many do, as
// TigerBeetle's VOPR does. Every failing seed replays exactly.
func Explore(ctx context.Context, base Config, opt ExploreOptions) (*Exploration, error) {
	spec, err := patterns.Lookup(base.Pattern)
	if err != nil {
		return nil, fmt.Errorf("explore: %w", err)
	}
	return ExploreSpec(ctx, spec, base, opt)
}

// ExploreSpec is Explore for a pattern given by its Spec: a user's own,
// which need not be registered. base.Pattern is set to spec.Name.
func ExploreSpec(ctx context.Context, spec patterns.Spec, base Config, opt ExploreOptions) (*Exploration, error) {
	base.Pattern = spec.Name
	if base.Runtime != results.RuntimeDet {
		return nil, fmt.Errorf("explore: runtime %q: explore runs seeds on the det runtime, whose runs replay", base.Runtime)
	}
	if opt.Seeds < 1 {
		return nil, fmt.Errorf("explore: seeds: %d must be at least 1", opt.Seeds)
	}
	if err := base.validate(spec); err != nil {
		return nil, err
	}
	par := opt.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	var (
		mu   sync.Mutex
		stop = int64(-1) // with StopAtFirst, the lowest failing seed so far
		runs []seedRun
		// first holds, per class, the run of the lowest seed showing it.
		first = map[checker.Class]ExploreRun{}
		errs  []error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, par)
	)
	for i := 0; i < opt.Seeds; i++ {
		seed := base.Seed + int64(i)
		sem <- struct{}{}
		mu.Lock()
		stopped := stop >= 0 && seed > stop
		mu.Unlock()
		if stopped {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if ctx.Err() != nil {
				return
			}
			cfg := base
			cfg.Seed = seed
			if opt.Swarm {
				cfg.Faults = Swarm(spec, cfg)
			}
			res, err := ExecuteSpec(ctx, spec, cfg, "")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("explore: seed %d: %w", seed, err))
				return
			}
			run := seedRun{seed: seed, verdict: res.Report.Verdict}
			for _, c := range checker.Classes {
				if res.Report.Anomalies[c].Count == 0 {
					continue
				}
				run.classes = append(run.classes, c)
				if f, ok := first[c]; !ok || seed < f.Seed {
					first[c] = ExploreRun{Seed: seed, Result: res}
				}
			}
			runs = append(runs, run)
			if opt.StopAtFirst && len(run.classes) > 0 && (stop < 0 || seed < stop) {
				stop = seed
			}
			if opt.Progress != nil {
				opt.Progress(ExploreRun{Seed: seed, Result: res})
			}
		}()
	}
	wg.Wait()
	exp := tally(runs, first, stop)
	if len(errs) > 0 {
		return exp, errs[0]
	}
	if err := ctx.Err(); err != nil {
		return exp, fmt.Errorf("explore: interrupted after %d runs: %w", exp.Runs, err)
	}
	return exp, nil
}

// seedRun is what one seed's run showed.
type seedRun struct {
	seed    int64
	verdict checker.Verdict
	classes []checker.Class
}

// tally sums the runs up; with a stop (not -1), runs of seeds above it
// (started before it was known) do not count.
func tally(runs []seedRun, first map[checker.Class]ExploreRun, stop int64) *Exploration {
	exp := &Exploration{}
	count := map[checker.Class]int{}
	for _, r := range runs {
		if stop >= 0 && r.seed > stop {
			continue
		}
		exp.Runs++
		switch r.verdict {
		case checker.VerdictClean:
			exp.Clean++
		case checker.VerdictUnknown:
			exp.Unknown++
		}
		for _, c := range r.classes {
			count[c]++
		}
	}
	for _, c := range checker.Classes {
		if f, ok := first[c]; ok && count[c] > 0 {
			exp.Failures = append(exp.Failures, FirstFailure{Class: c, Seed: f.Seed, Result: f.Result, Seeds: count[c]})
		}
	}
	return exp
}
