package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/sim"
)

// ShrinkOptions configures Shrink.
type ShrinkOptions struct {
	// MaxRuns bounds the runs the search makes, the first (which checks
	// that cfg fails) included: DefaultShrinkRuns when zero.
	MaxRuns int
	// Progress, when set, is called after each run.
	Progress func(ShrinkStep)
}

// DefaultShrinkRuns is how many runs Shrink makes at most by default.
const DefaultShrinkRuns = 300

// ShrinkStep is one run of the search: the change it tried and whether
// the run still showed the anomaly class (then the change is kept).
type ShrinkStep struct {
	Run    int
	Change string
	Fails  bool
	Config Config
}

// Shrink searches for a smaller run than cfg that shows anomaly class c,
// over the faults the run got, one by one at their sites: its schedule
// (see faults.Schedule). cfg must be a det run that shows c, under a
// fault profile or a schedule. Shrink runs it, takes the faults it got as
// a schedule (the same run), then repeats these passes until none helps
// or the run budget is spent:
//
//   - fewer orders: every fault about a later order goes with them, and a
//     run of fewer orders is cheaper, so this comes first;
//   - fewer clients;
//   - delta debugging (Zeller and Hildebrandt's ddmin) over the faults,
//     so that what is left is 1-minimal: without any one of them the run
//     no longer shows c;
//   - each order's faults moved to an earlier order, each fault to an
//     earlier request, visit or commit of its order, and each moment
//     (a kill, a partition) earlier, the run's start first, so that fewer
//     orders and faults are needed;
//   - fewer attempts, no business rejections, no re-submits, fewer
//     customers.
//
// Every candidate runs on the det runtime with cfg's seed; a change is
// kept when the run still shows c, and the faults that run never reached
// are dropped (the run is the same without them). A fault's site, not a
// random stream, decides what it hits: removing one fault leaves the
// others on the requests, visits and commits they name, though what a
// removed fault caused (a retry, a recovery, a slower run) is gone with
// it, so faults can be needed jointly. What Shrink returns is a local
// minimum and a failing run of it, not the smallest run that fails; its
// Config names no profile and holds the schedule left.
func Shrink(ctx context.Context, cfg Config, c checker.Class, opt ShrinkOptions) (Config, *Result, error) {
	spec, err := patterns.Lookup(cfg.Pattern)
	if err != nil {
		return cfg, nil, fmt.Errorf("shrink: %w", err)
	}
	return ShrinkSpec(ctx, spec, cfg, c, opt)
}

// ShrinkSpec is Shrink for a pattern given by its Spec: a user's own,
// which need not be registered. cfg.Pattern is set to spec.Name.
func ShrinkSpec(ctx context.Context, spec patterns.Spec, cfg Config, c checker.Class, opt ShrinkOptions) (Config, *Result, error) {
	cfg.Pattern = spec.Name
	if cfg.Runtime != results.RuntimeDet {
		return cfg, nil, fmt.Errorf("shrink: runtime %q: only a det run can be shrunk (its faults are decided at sites it replays; a live run's were the machine's): run it with --runtime det first", cfg.Runtime)
	}
	if !isClass(c) {
		return cfg, nil, fmt.Errorf("shrink: %q is not an anomaly class (classes: %s)", c, classNames())
	}
	s := &shrinker{ctx: ctx, spec: spec, class: c, opt: opt, tried: map[string]bool{}, orig: cfg}
	if s.opt.MaxRuns <= 0 {
		s.opt.MaxRuns = DefaultShrinkRuns
	}
	fails, err := s.try(cfg, "the run as recorded")
	if err != nil {
		return cfg, nil, err
	}
	if !fails {
		return cfg, nil, fmt.Errorf("shrink: the run shows no %s: nothing to shrink (does it replay? see txchaos replay)", c)
	}
	if cfg.Faults != "" {
		sc := s.best
		sc.Faults, sc.Schedule = "", s.bestRes.Schedule.String()
		fails, err := s.try(sc, fmt.Sprintf("the run's %d faults as a schedule", len(s.bestRes.Schedule)))
		if err != nil {
			return s.best, s.bestRes, err
		}
		if !fails {
			return cfg, nil, fmt.Errorf("shrink: the faults the run got, run as a schedule, show no %s: the det runtime did not replay its own run; please report this", c)
		}
	}
	for changed := true; changed && !s.spent(); {
		changed = false
		for _, pass := range []func(Config) (Config, bool, error){s.txns, s.concurrency, s.ddmin, s.earlier, s.attempts, s.rejections, s.resubmits, s.customers} {
			next, ok, err := pass(s.best)
			if err != nil {
				return s.best, s.bestRes, err
			}
			if ok {
				s.best, changed = next, true
			}
		}
	}
	return s.best, s.bestRes, nil
}

// shrinker is the state of one search.
type shrinker struct {
	ctx     context.Context
	spec    patterns.Spec
	class   checker.Class
	opt     ShrinkOptions
	runs    int
	tried   map[string]bool
	orig    Config // the run as recorded
	best    Config
	bestRes *Result
}

func (s *shrinker) spent() bool { return s.runs >= s.opt.MaxRuns }

// try runs cfg and reports whether it shows the class; a run that does
// becomes the best so far, its schedule cut to the faults the run reached
// (the same run). A configuration tried before is not run again.
func (s *shrinker) try(cfg Config, change string) (bool, error) {
	key, err := json.Marshal(cfg)
	if err != nil {
		return false, err
	}
	if s.tried[string(key)] || s.spent() {
		return false, nil
	}
	s.tried[string(key)] = true
	s.runs++
	res, err := ExecuteSpec(s.ctx, s.spec, cfg, "")
	if err != nil {
		return false, fmt.Errorf("shrink: run %d (%s): %w", s.runs, change, err)
	}
	fails := res.Report.Anomalies[s.class].Count > 0
	if fails {
		if cfg.Schedule != "" {
			cfg.Schedule = res.Schedule.String()
			res.Config.Schedule = cfg.Schedule
		}
		s.best, s.bestRes = cfg, res
	}
	if s.opt.Progress != nil {
		s.opt.Progress(ShrinkStep{Run: s.runs, Change: change, Fails: fails, Config: cfg})
	}
	return fails, nil
}

// smaller tries the values below cur, smallest first, and keeps the first
// that fails; it repeats from there until none does.
func (s *shrinker) smaller(cfg Config, cur, least int, what string, set func(*Config, int)) (Config, bool, error) {
	shrunk := false
	for !s.spent() {
		found := false
		for _, v := range candidates(cur, least) {
			c := cfg
			set(&c, v)
			fails, err := s.try(c, fmt.Sprintf("%s %d → %d", what, cur, v))
			if err != nil {
				return cfg, shrunk, err
			}
			if fails {
				cur, found = v, true
				break
			}
		}
		if !found {
			break
		}
		cfg, shrunk = s.best, true
	}
	return cfg, shrunk, nil
}

// candidates are the values to try below cur, smallest first.
func candidates(cur, least int) []int {
	var out []int
	for _, v := range []int{least, least + 1, cur / 4, cur / 2, cur * 3 / 4, cur - 1} {
		if v >= least && v < cur && (len(out) == 0 || v > out[len(out)-1]) {
			out = append(out, v)
		}
	}
	return out
}

func (s *shrinker) txns(cfg Config) (Config, bool, error) {
	return s.smaller(cfg, cfg.Workload.Txns, 1, "txns", func(c *Config, v int) { c.Workload.Txns = v })
}

func (s *shrinker) concurrency(cfg Config) (Config, bool, error) {
	return s.smaller(cfg, cfg.Workload.Concurrency, 1, "concurrency", func(c *Config, v int) { c.Workload.Concurrency = v })
}

func (s *shrinker) attempts(cfg Config) (Config, bool, error) {
	return s.smaller(cfg, cfg.Workload.Attempts, 1, "attempts", func(c *Config, v int) { c.Workload.Attempts = v })
}

func (s *shrinker) customers(cfg Config) (Config, bool, error) {
	return s.smaller(cfg, cfg.Workload.Customers, 1, "customers", func(c *Config, v int) { c.Workload.Customers = v })
}

// rejections turns each service's business rejections off.
func (s *shrinker) rejections(cfg Config) (Config, bool, error) {
	shrunk := false
	for _, svc := range []struct {
		name string
		rate func(c *Config) *float64
	}{
		{"payments", func(c *Config) *float64 { return &c.World.Payments.RejectRate }},
		{"inventory", func(c *Config) *float64 { return &c.World.Inventory.RejectRate }},
		{"shipping", func(c *Config) *float64 { return &c.World.Shipping.RejectRate }},
	} {
		if *svc.rate(&cfg) == 0 || s.spent() {
			continue
		}
		c := cfg
		*svc.rate(&c) = 0
		fails, err := s.try(c, svc.name+" rejects nothing")
		if err != nil {
			return cfg, shrunk, err
		}
		if fails {
			cfg, shrunk = s.best, true
		}
	}
	return cfg, shrunk, nil
}

// resubmits turns the clients' re-submits off.
func (s *shrinker) resubmits(cfg Config) (Config, bool, error) {
	if cfg.Workload.Resubmit == 0 || s.spent() {
		return cfg, false, nil
	}
	c := cfg
	c.Workload.Resubmit = 0
	fails, err := s.try(c, "no re-submits")
	if err != nil || !fails {
		return cfg, false, err
	}
	return s.best, true, nil
}

func isClass(c checker.Class) bool {
	for _, x := range checker.Classes {
		if x == c {
			return true
		}
	}
	return false
}

func classNames() string {
	var names []string
	for _, c := range checker.Classes {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ")
}

// WriteScenario writes cfg as a scenario file (see Parse) named name,
// whose description is description; `txchaos run --pattern P --scenario
// FILE` runs it again. Crash point faults go to its crash_points. It names
// no expectation, so every class is expected zero: a run that shows an
// anomaly fails it. It fails when the scenario would not read back (a fault
// on a link of the pattern's own, which a scenario file cannot name).
func WriteScenario(w io.Writer, name, description string, cfg Config) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("scenario name %q is not lowercase letters, digits and dashes (at most 63)", name)
	}
	p, err := faults.Parse(cfg.Faults)
	if err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	var rest, points []string
	for _, f := range p {
		if f.Kind == "crashpoint" {
			points = append(points, f.Point+":"+strconv.FormatFloat(f.Rate, 'g', -1, 64))
		} else {
			rest = append(rest, f.String())
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\n", name)
	b.WriteString("description: |\n")
	for _, line := range strings.Split(strings.TrimRight(description, "\n"), "\n") {
		b.WriteString(strings.TrimRight("  "+line, " ") + "\n")
	}
	fmt.Fprintf(&b, "seed: %d\n", cfg.Seed)
	fmt.Fprintf(&b, "runtime: %s\n", cfg.Runtime)
	fmt.Fprintf(&b, "quiet: %s\n", cfg.Quiet)
	fmt.Fprintf(&b, "call_timeout: %s\n", cfg.CallTimeout)
	wl := cfg.Workload
	fmt.Fprintf(&b, "workload: {txns: %d, concurrency: %d, attempts: %d, customers: %d", wl.Txns, wl.Concurrency, wl.Attempts, wl.Customers)
	if wl.Resubmit != 0 {
		fmt.Fprintf(&b, ", resubmit: %s", strconv.FormatFloat(wl.Resubmit, 'g', -1, 64))
	}
	b.WriteString("}\n")
	wc := cfg.World
	b.WriteString("world:\n")
	for _, r := range []struct {
		name string
		rc   sim.ResourceConfig
	}{{"payments", wc.Payments}, {"inventory", wc.Inventory}, {"shipping", wc.Shipping}} {
		forget := ""
		if r.rc.ForgetEmptyCancel {
			forget = ", forget_empty_cancel: true"
		}
		fmt.Fprintf(&b, "  %s: {maturity: %s, reject_rate: %s%s}\n", r.name, r.rc.Maturity, strconv.FormatFloat(r.rc.RejectRate, 'g', -1, 64), forget)
	}
	fmt.Fprintf(&b, "  rewards_dedupe: %t\n", wc.RewardsDedupe)
	if wc.RewardsSplitInbox {
		b.WriteString("  rewards_split_inbox: true\n")
	}
	fmt.Fprintf(&b, "  call_timeout: %s\n", wc.CallTimeout)
	fmt.Fprintf(&b, "  initial_stock: %d\n", wc.InitialStock)
	fmt.Fprintf(&b, "faults: %s\n", strconv.Quote(strings.Join(rest, ",")))
	if len(points) > 0 {
		fmt.Fprintf(&b, "crash_points: %s\n", strconv.Quote(strings.Join(points, ",")))
	}
	if cfg.Schedule != "" {
		b.WriteString("schedule: |\n")
		for _, line := range strings.Split(strings.TrimRight(cfg.Schedule, "\n"), "\n") {
			b.WriteString("  " + line + "\n")
		}
	}
	if _, err := Parse(name+".yaml", []byte(b.String())); err != nil {
		return fmt.Errorf("the scenario does not read back: %w", err)
	}
	_, err = io.WriteString(w, b.String())
	return err
}
