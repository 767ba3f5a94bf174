package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

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

// Shrink searches for a smaller run than cfg that shows anomaly class c:
// fewer orders, fewer clients, fewer attempts, fewer faults (profile
// entries dropped, link faults narrowed to one link), lower rates, shorter
// windows and latencies, no business rejections, no re-submits, fewer
// customers. Fewer
// orders come first: a rate is raised when that lets fewer orders fail. cfg must be a det run
// that shows c; every candidate is run on the det runtime with cfg's seed,
// and a change is kept when the candidate still shows c. The search is
// greedy and repeats until no change helps or the run budget is spent, as
// QuickCheck's shrinkers do; what it returns is a local minimum, and a
// failing run of it, not the smallest run that fails.
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
		return cfg, nil, fmt.Errorf("shrink: runtime %q: only a det run can be shrunk (its schedule is the seed's; a live run's was the machine's): run it with --runtime det first", cfg.Runtime)
	}
	if !isClass(c) {
		return cfg, nil, fmt.Errorf("shrink: %q is not an anomaly class (classes: %s)", c, classNames())
	}
	cfg.Faults = canonicalFaults(cfg.Faults)
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
	for changed := true; changed && !s.spent(); {
		changed = false
		for _, pass := range []func(Config) (Config, bool, error){s.faults, s.txns, s.concurrency, s.attempts, s.links, s.rates, s.boost, s.rejections, s.resubmits, s.customers} {
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
// becomes the best so far. A configuration tried before is not run again.
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
		var next Config
		found := false
		for _, v := range candidates(cur, least) {
			c := cfg
			set(&c, v)
			fails, err := s.try(c, fmt.Sprintf("%s %d → %d", what, cur, v))
			if err != nil {
				return cfg, shrunk, err
			}
			if fails {
				next, cur, found = c, v, true
				break
			}
		}
		if !found {
			break
		}
		cfg, shrunk = next, true
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

// faults first tries each profile entry alone, then drops entries one at a
// time. A fault matters more than orders: when the run no longer fails
// without one, it tries again with as many orders as the run as recorded
// had (the txns pass then takes them off again), since with few orders
// left the faults that remain may have needed each other only by chance.
func (s *shrinker) faults(cfg Config) (Config, bool, error) {
	shrunk := false
	p, _ := faults.Parse(cfg.Faults)
	for i := 0; i < len(p) && len(p) > 1 && !s.spent(); i++ {
		c := cfg
		c.Faults = faults.Profile{p[i]}.String()
		fails, err := s.try(c, p[i].String()+" alone")
		if err != nil {
			return cfg, shrunk, err
		}
		if fails {
			return c, true, nil
		}
	}
	for i := 0; i < len(p) && !s.spent(); {
		rest := append(append(faults.Profile(nil), p[:i]...), p[i+1:]...)
		c := cfg
		c.Faults = rest.String()
		fails, err := s.try(c, "without "+p[i].String())
		if err == nil && !fails && c.Workload.Txns < s.orig.Workload.Txns {
			c.Workload.Txns = s.orig.Workload.Txns
			fails, err = s.try(c, fmt.Sprintf("without %s, with txns %d → %d", p[i], cfg.Workload.Txns, c.Workload.Txns))
		}
		if err != nil {
			return cfg, shrunk, err
		}
		if fails {
			cfg, p, shrunk = c, rest, true
			continue
		}
		i++
	}
	return cfg, shrunk, nil
}

// links narrows a fault on every link to one link.
func (s *shrinker) links(cfg Config) (Config, bool, error) {
	shrunk := false
	p, _ := faults.Parse(cfg.Faults)
	world := s.spec.World(cfg.World)
	for i := range p {
		if !linkKind(p[i].Kind) || p[i].Link != nil {
			continue
		}
		for _, l := range world.Links {
			if s.spent() {
				return cfg, shrunk, nil
			}
			q := append(faults.Profile(nil), p...)
			q[i].Link = &l
			c := cfg
			c.Faults = q.String()
			fails, err := s.try(c, fmt.Sprintf("%s on %s only", p[i], l))
			if err != nil {
				return cfg, shrunk, err
			}
			if fails {
				cfg, p, shrunk = c, q, true
				break
			}
		}
	}
	return cfg, shrunk, nil
}

// linkKind reports whether a fault kind targets links.
func linkKind(kind string) bool {
	for _, k := range faults.Kinds() {
		if k.Name == kind {
			return strings.Contains(k.Syntax, "LINK")
		}
	}
	return false
}

// rates lowers each entry's rate or duration: to a quarter, a half, three
// quarters of it. A timed fault's interval grows instead (fewer moments),
// and a fault with a rate and a delay lowers its rate.
func (s *shrinker) rates(cfg Config) (Config, bool, error) {
	shrunk := false
	p, _ := faults.Parse(cfg.Faults)
	for i := range p {
		for _, k := range []float64{0.25, 0.5, 0.75} {
			if s.spent() {
				return cfg, shrunk, nil
			}
			q := append(faults.Profile(nil), p...)
			kind, _ := faults.Lookup(q[i].Kind)
			switch {
			case kind.Timed: // a longer interval: fewer moments
				q[i].Duration = scaleDuration(q[i].Duration, 1/k)
				if q[i].Duration == p[i].Duration {
					continue
				}
			case q[i].Duration > 0 && !kind.RateAndDuration:
				q[i].Duration = scaleDuration(q[i].Duration, k)
				if q[i].Duration <= 0 || q[i].Duration == p[i].Duration {
					continue
				}
			default:
				q[i].Rate = roundRate(q[i].Rate * k)
				if q[i].Rate <= 0 || q[i].Rate == p[i].Rate {
					continue
				}
			}
			c := cfg
			c.Faults = q.String()
			fails, err := s.try(c, fmt.Sprintf("%s → %s", p[i], q[i]))
			if err != nil {
				return cfg, shrunk, err
			}
			if fails {
				cfg, p, shrunk = c, q, true
				break
			}
		}
	}
	return cfg, shrunk, nil
}

// boost trades a rate for orders: it raises one fault's rate (to 1, 0.5
// or 0.2) when that lets a run with fewer orders still fail, as a crash at
// the 40th order at 2.5% becomes a crash at the first order at 100%. Fewer
// orders come before lower rates: the run a reader follows is shorter.
func (s *shrinker) boost(cfg Config) (Config, bool, error) {
	p, _ := faults.Parse(cfg.Faults)
	for i := range p {
		if kind, _ := faults.Lookup(p[i].Kind); (p[i].Duration > 0 && !kind.RateAndDuration) || p[i].Rate <= 0 {
			continue
		}
		room := 1.0 // a link drops or loses at most every request
		if sharesLinkRate(p[i].Kind) {
			for j := range p {
				if j != i && sharesLinkRate(p[j].Kind) {
					room -= p[j].Rate
				}
			}
		}
		for _, r := range []float64{1, 0.5, 0.2} {
			r = min(r, roundRate(room-0.005))
			if r <= p[i].Rate {
				continue
			}
			q := append(faults.Profile(nil), p...)
			q[i].Rate = r
			for _, v := range candidates(cfg.Workload.Txns, 1) {
				if s.spent() {
					return cfg, false, nil
				}
				c := cfg
				c.Faults, c.Workload.Txns = q.String(), v
				fails, err := s.try(c, fmt.Sprintf("%s → %s with txns %d → %d", p[i], q[i], cfg.Workload.Txns, v))
				if err != nil {
					return cfg, false, err
				}
				if fails {
					return c, true, nil
				}
			}
		}
	}
	return cfg, false, nil
}

// sharesLinkRate reports whether a fault kind's rate adds up with the
// others' on a link (dropped and lost requests: at most all of them).
func sharesLinkRate(kind string) bool { return kind == "drop-request" || kind == "lost-response" }

// scaleDuration is d×k, rounded to the millisecond (the microsecond below
// a millisecond).
func scaleDuration(d time.Duration, k float64) time.Duration {
	x := time.Duration(float64(d) * k)
	if x >= time.Millisecond {
		return x.Round(time.Millisecond)
	}
	return x.Round(time.Microsecond)
}

// roundRate keeps two significant digits of a rate.
func roundRate(r float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(r, 'g', 2, 64), 64)
	return v
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
			cfg, shrunk = c, true
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
	return c, true, nil
}

// canonicalFaults is a profile with its crash points last, the order a
// scenario file's crash_points give them.
func canonicalFaults(profile string) string {
	p, err := faults.Parse(profile)
	if err != nil {
		return profile
	}
	var out, points faults.Profile
	for _, f := range p {
		if f.Kind == "crashpoint" {
			points = append(points, f)
		} else {
			out = append(out, f)
		}
	}
	return append(out, points...).String()
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
	if _, err := Parse(name+".yaml", []byte(b.String())); err != nil {
		return fmt.Errorf("the scenario does not read back: %w", err)
	}
	_, err = io.WriteString(w, b.String())
	return err
}
