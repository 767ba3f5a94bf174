package scenarios

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
)

// Sweep is a grid of runs: every pattern under every fault kind at every
// rate, each with seeds 1 to Seeds, all with Base's workload and world.
//
// A fault kind is written KIND, KIND:TARGET, or several joined with "+"
// (lost-response+crashpoint); at rate R it becomes the profile KIND=R,
// KIND=TARGET:R, ... (see package faults):
//
//   - lost-response, drop-request: R is the per-request probability, on
//     every link, or on one with lost-response:orders-payments;
//   - crash and error need a node: crash:payments;
//   - crashpoint alone crashes the coordinator at each of the pattern's
//     crash points with probability R; crashpoint:after-local-commit at
//     that one point (every pattern of the sweep must declare it);
//   - latency and partition take durations: R is a duration such as 50ms,
//     or a bare number of seconds (0.1 is 100ms).
//
// A zero rate is the same run for every kind: it is run once per pattern
// and seed, as the cell with faults "none", and stands for rate 0 of every
// kind.
type Sweep struct {
	Patterns []string `json:"patterns"`
	Faults   []string `json:"faults"`
	Rates    []string `json:"rates"`
	Seeds    int      `json:"seeds"`
	// Base is every cell's configuration but its pattern, faults and seed.
	Base Config `json:"base"`
	// Shard, when set, runs one slice of the cells (see Shard); Merge
	// combines the shards' directories into the whole sweep's.
	Shard *Shard `json:"shard,omitempty"`
}

// Cell is one run of a sweep.
type Cell struct {
	// ID names the cell's directory: pattern_faults_rate_seedN, with ":"
	// in the faults written "@".
	ID      string `json:"id"`
	Pattern string `json:"pattern"`
	// Faults is the fault kind as the sweep names it, "none" for the
	// zero-rate cell.
	Faults string `json:"faults"`
	// Rate is the rate as the sweep names it ("0" for faults "none").
	Rate string `json:"rate"`
	Seed int64  `json:"seed"`
	// Profile is the fault profile the cell runs (Config.Faults).
	Profile string `json:"profile"`
}

// Config is the cell's run configuration.
func (s Sweep) config(c Cell) Config {
	cfg := s.Base
	cfg.Pattern, cfg.Faults, cfg.Seed = c.Pattern, c.Profile, c.Seed
	return cfg
}

// normalized is s with what the cells set cleared from Base, as stored.
func (s Sweep) normalized() Sweep {
	s.Base.Pattern, s.Base.Faults, s.Base.Seed = "", "", 0
	s.Base.World.Broker = s.Base.World.BrokerName() // a sweep stored before brokers had a name ran the log
	s.Base.Isolation = s.Base.IsolationName()       // and one stored before isolations, none
	return s
}

// Cells lists the sweep's cells in the order they run: seed by seed, so
// that an interrupted sweep holds whole grids; within a seed pattern by
// pattern, the zero-rate cell first, then kind by kind and rate by rate.
// With a Shard, only the shard's cells. Every cell's configuration is
// validated, the other shards' too; errors name the cell.
func (s Sweep) Cells() ([]Cell, error) {
	all, err := s.allCells()
	if err != nil || s.Shard == nil {
		return all, err
	}
	if err := s.Shard.validate(); err != nil {
		return nil, err
	}
	var out []Cell
	for _, c := range all {
		if s.Shard.Has(c.ID) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s Sweep) allCells() ([]Cell, error) {
	switch {
	case len(s.Patterns) == 0:
		return nil, errors.New("patterns: none given")
	case len(s.Faults) == 0:
		return nil, errors.New("faults: none given (a fault kind such as lost-response)")
	case len(s.Rates) == 0:
		return nil, errors.New("rates: none given (e.g. 0,0.1,0.2)")
	case s.Seeds < 1 || s.Seeds > 10_000:
		return nil, fmt.Errorf("seeds: %d is not between 1 and 10000", s.Seeds)
	}
	if d := firstDup(s.Patterns); d != "" {
		return nil, fmt.Errorf("patterns: %s is listed twice", d)
	}
	if d := firstDup(s.Faults); d != "" {
		return nil, fmt.Errorf("faults: %s is listed twice", d)
	}
	var specs []patterns.Spec
	for _, name := range s.Patterns {
		spec, err := patterns.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("patterns: %w", err)
		}
		specs = append(specs, spec)
	}
	kinds := make([][]kindPart, len(s.Faults))
	for i, f := range s.Faults {
		parts, err := parseKind(f)
		if err != nil {
			return nil, fmt.Errorf("faults: %w", err)
		}
		kinds[i] = parts
	}
	zero := false
	for _, r := range s.Rates {
		z, err := isZeroRate(r)
		if err != nil {
			return nil, fmt.Errorf("rates: %w", err)
		}
		zero = zero || z
	}
	var cells []Cell
	seen := map[string]bool{}
	add := func(c Cell) error {
		c.ID = cellID(c)
		if seen[c.ID] {
			return fmt.Errorf("rates: %s is listed twice (or written two ways)", c.Rate)
		}
		seen[c.ID] = true
		if err := s.config(c).Validate(); err != nil {
			return fmt.Errorf("cell %s: %w", c.ID, err)
		}
		cells = append(cells, c)
		return nil
	}
	for seed := int64(1); seed <= int64(s.Seeds); seed++ {
		for _, spec := range specs {
			if zero {
				if err := add(Cell{Pattern: spec.Name, Faults: "none", Rate: "0", Seed: seed}); err != nil {
					return nil, err
				}
			}
			for i, parts := range kinds {
				for _, r := range s.Rates {
					if z, _ := isZeroRate(r); z {
						continue
					}
					profile, err := profileFor(parts, r, spec)
					if err != nil {
						return nil, fmt.Errorf("faults %s at rate %s for %s: %w", s.Faults[i], r, spec.Name, err)
					}
					if err := add(Cell{Pattern: spec.Name, Faults: s.Faults[i], Rate: r, Seed: seed, Profile: profile}); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return cells, nil
}

func firstDup(xs []string) string {
	seen := map[string]bool{}
	for _, x := range xs {
		if seen[x] {
			return x
		}
		seen[x] = true
	}
	return ""
}

func cellID(c Cell) string {
	f := strings.NewReplacer(":", "@", "/", "-", " ", "").Replace(c.Faults)
	return fmt.Sprintf("%s_%s_%s_seed%d", c.Pattern, f, c.Rate, c.Seed)
}

// kindPart is one kind of a sweep's fault kind: KIND or KIND:TARGET.
type kindPart struct {
	kind     faults.Kind
	target   string
	duration bool
}

func parseKind(s string) ([]kindPart, error) {
	var out []kindPart
	for _, part := range strings.Split(s, "+") {
		name, target, _ := strings.Cut(strings.TrimSpace(part), ":")
		var k faults.Kind
		var names []string
		for _, x := range faults.Kinds() {
			names = append(names, x.Name)
			if x.Name == name {
				k = x
			}
		}
		if k.Name == "" {
			return nil, fmt.Errorf("%q: unknown fault kind %q (kinds: %s; write KIND, KIND:TARGET or KIND+KIND)", s, name, strings.Join(names, ", "))
		}
		if target == "" && k.Name != "crashpoint" && strings.HasPrefix(k.Syntax, "NODE:") {
			return nil, fmt.Errorf("%q: %s needs a node, e.g. %s:payments", s, name, name)
		}
		out = append(out, kindPart{kind: k, target: target, duration: k.Timed || strings.HasSuffix(k.Syntax, "DURATION")})
	}
	return out, nil
}

// isZeroRate reports whether a rate is zero; it must be a finite number at
// least 0 or a duration at least 0.
func isZeroRate(r string) (bool, error) {
	if f, err := strconv.ParseFloat(r, 64); err == nil && f >= 0 && !math.IsInf(f, 0) {
		return f == 0, nil
	}
	d, err := time.ParseDuration(r)
	if err != nil || d < 0 {
		return false, fmt.Errorf("%q is neither a rate between 0 and 1 nor a duration such as 50ms (or seconds: 0.05)", r)
	}
	return d == 0, nil
}

// maxSeconds bounds a duration rate given in seconds: a day.
const maxSeconds = 24 * 60 * 60

// profileFor is the fault profile of parts at rate r for the pattern.
func profileFor(parts []kindPart, r string, spec patterns.Spec) (string, error) {
	var entries []string
	for _, p := range parts {
		var value string
		if p.duration {
			d, err := time.ParseDuration(r)
			if err != nil {
				secs, ferr := strconv.ParseFloat(r, 64)
				if ferr != nil || !(secs >= 0 && secs <= maxSeconds) {
					return "", fmt.Errorf("rate %q is not a duration for %s: give one such as 50ms, or seconds from 0 to %d", r, p.kind.Name, maxSeconds)
				}
				d = time.Duration(secs * float64(time.Second))
			}
			value = d.String()
		} else {
			f, err := strconv.ParseFloat(r, 64)
			if err != nil || f > 1 {
				return "", fmt.Errorf("rate %q is not a probability between 0 and 1, which %s takes", r, p.kind.Name)
			}
			value = strconv.FormatFloat(f, 'g', -1, 64)
		}
		targets := []string{p.target}
		if p.kind.Name == "crashpoint" && p.target == "" {
			if len(spec.CrashPoints) == 0 {
				return "", errors.New("the pattern declares no crash points")
			}
			targets = spec.CrashPoints
		}
		for _, t := range targets {
			if t == "" {
				entries = append(entries, p.kind.Name+"="+value)
			} else {
				entries = append(entries, p.kind.Name+"="+t+":"+value)
			}
		}
	}
	return strings.Join(entries, ","), nil
}
