package scenarios

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/results"
)

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
	if base.Runtime != results.RuntimeDet {
		return nil, fmt.Errorf("explore: runtime %q: explore runs seeds on the det runtime, whose runs replay", base.Runtime)
	}
	if opt.Seeds < 1 {
		return nil, fmt.Errorf("explore: seeds: %d must be at least 1", opt.Seeds)
	}
	if err := base.Validate(); err != nil {
		return nil, err
	}
	par := opt.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	var (
		mu    sync.Mutex
		exp   = &Exploration{}
		first = map[checker.Class]*FirstFailure{}
		errs  []error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, par)
	)
	for i := 0; i < opt.Seeds; i++ {
		seed := base.Seed + int64(i)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if ctx.Err() != nil {
				return
			}
			cfg := base
			cfg.Seed = seed
			res, err := Execute(ctx, cfg, "")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("explore: seed %d: %w", seed, err))
				return
			}
			exp.Runs++
			switch res.Report.Verdict {
			case checker.VerdictClean:
				exp.Clean++
			case checker.VerdictUnknown:
				exp.Unknown++
			}
			for _, c := range checker.Classes {
				if res.Report.Anomalies[c].Count == 0 {
					continue
				}
				f := first[c]
				if f == nil {
					f = &FirstFailure{Class: c, Seed: seed}
					first[c] = f
				}
				f.Seeds++
				if seed <= f.Seed {
					f.Seed, f.Result = seed, res
				}
			}
			if opt.Progress != nil {
				opt.Progress(ExploreRun{Seed: seed, Result: res})
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return exp, errs[0]
	}
	if err := ctx.Err(); err != nil {
		return exp, fmt.Errorf("explore: interrupted after %d runs: %w", exp.Runs, err)
	}
	for _, c := range checker.Classes {
		if f := first[c]; f != nil {
			exp.Failures = append(exp.Failures, *f)
		}
	}
	return exp, nil
}
