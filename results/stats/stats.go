// Package stats aggregates the runs of one cell of a sweep — a pattern
// under a fault kind at a rate, over several seeds — and puts 95%
// intervals on what they measured:
//
//   - runs with anomalies among the runs, a proportion: the Wilson score
//     interval, which stays inside [0, 1] and is sound for few runs and
//     for 0 or all of them;
//   - anomalies per 100 checkouts, a rate: the exact (Garwood) Poisson
//     interval on the anomaly count, divided by the checkouts. It takes
//     anomalies to occur independently; they do not quite (one crash can
//     leave a partial commit, a lost event and books that do not balance,
//     and runs differ more than one Poisson process would), so read it as
//     the narrowest honest interval, not a guarantee.
//
// A record stands for one run; a Cell sums a cell's records.
package stats

import (
	"math"
	"slices"
	"sort"

	"github.com/txchaos/txchaos/results"
)

// z is the standard normal quantile of 0.975: a two-sided 95% interval.
const z = 1.959963984540054

// Interval is an estimate and its 95% interval, Lo <= Est <= Hi. An
// interval over nothing (no runs, no checkouts) is all NaN.
type Interval struct{ Est, Lo, Hi float64 }

// Valid reports whether the interval rests on any data.
func (i Interval) Valid() bool { return !math.IsNaN(i.Est) }

// Scale is the interval times f.
func (i Interval) Scale(f float64) Interval { return Interval{i.Est * f, i.Lo * f, i.Hi * f} }

var none = Interval{math.NaN(), math.NaN(), math.NaN()}

// Wilson is the Wilson score interval at 95% for k successes in n trials.
func Wilson(k, n int) Interval {
	if n <= 0 || k < 0 || k > n {
		return none
	}
	p, nf := float64(k)/float64(n), float64(n)
	den := 1 + z*z/nf
	center := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	lo, hi := math.Max(0, center-half), math.Min(1, center+half)
	if k == 0 {
		lo = 0
	}
	if k == n {
		hi = 1
	}
	return Interval{Est: p, Lo: lo, Hi: hi}
}

// Poisson is the exact (Garwood) 95% interval on the mean of a Poisson
// variable observed as k: the means under which k or more, and k or
// fewer, are each at least 2.5% likely.
func Poisson(k int) Interval {
	if k < 0 {
		return none
	}
	lo := 0.0
	if k > 0 {
		// P(X >= k | lo) = 0.025, i.e. P(X <= k-1 | lo) = 0.975.
		lo = solve(func(m float64) float64 { return poissonCDF(k-1, m) - 0.975 }, 0, float64(k))
	}
	// P(X <= k | hi) = 0.025.
	hi := solve(func(m float64) float64 { return poissonCDF(k, m) - 0.025 }, float64(k), float64(k)+10+10*math.Sqrt(float64(k)+1))
	return Interval{Est: float64(k), Lo: lo, Hi: hi}
}

// poissonCDF is P(X <= k) for X Poisson with mean m.
func poissonCDF(k int, m float64) float64 {
	if m <= 0 {
		return 1
	}
	// The terms e^-m m^i / i!, in log space and scaled by the largest (at
	// i = min(k, m)), so that they neither under- nor overflow.
	mode := min(k, int(m))
	lg, _ := math.Lgamma(float64(mode) + 1)
	top := -m + float64(mode)*math.Log(m) - lg
	sum, l, lm := 0.0, -m, math.Log(m)
	for i := 0; i <= k; i++ {
		if i > 0 {
			l += lm - math.Log(float64(i))
		}
		sum += math.Exp(l - top)
	}
	return math.Min(1, math.Exp(top)*sum)
}

// solve finds the root of the decreasing f in [lo, hi] by bisection.
func solve(f func(float64) float64, lo, hi float64) float64 {
	for f(hi) > 0 {
		hi *= 2
	}
	for range 200 {
		mid := (lo + hi) / 2
		if f(mid) > 0 {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo < 1e-12*math.Max(1, hi) {
			break
		}
	}
	return (lo + hi) / 2
}

// Cell is the runs of one sweep cell, summed.
type Cell struct {
	// Runs counts the records; Anomalous those with verdict anomalies,
	// Unknown those whose verdict is unknown.
	Runs, Anomalous, Unknown int
	// Checkouts are the checkouts placed over all runs, Anomalies the
	// anomalies found (every class), and ByClass by class.
	Checkouts, Anomalies int
	ByClass              map[string]int
	// Seeds are the runs' seeds and Runtimes their runtimes, sorted.
	Seeds    []int64
	Runtimes []string
	// Faults says, per fault of the runs' profiles, in how many runs it
	// was and in how many it landed (results.Evidence). Runs whose record
	// holds no evidence count in NoEvidence instead.
	Faults     []Fault
	NoEvidence int
}

// Fault is one fault of a cell's profile across its runs.
type Fault struct {
	Fault        string
	Runs, Landed int
}

// Summarize sums records into a Cell.
func Summarize(recs []*results.Record) Cell {
	c := Cell{ByClass: map[string]int{}}
	faults := map[string]*Fault{}
	for _, r := range recs {
		c.Runs++
		switch r.Verdict {
		case results.VerdictAnomalies:
			c.Anomalous++
		case results.VerdictUnknown:
			c.Unknown++
		}
		if v, ok := r.Figure("checkouts"); ok {
			c.Checkouts += int(v)
		}
		for class, n := range r.Anomalies {
			c.Anomalies += n
			c.ByClass[class] += n
		}
		if !slices.Contains(c.Seeds, r.Seed) {
			c.Seeds = append(c.Seeds, r.Seed)
		}
		if !slices.Contains(c.Runtimes, r.Runtime) {
			c.Runtimes = append(c.Runtimes, r.Runtime)
		}
		if r.Evidence == nil {
			c.NoEvidence++
			continue
		}
		for _, f := range r.Evidence.Faults {
			x := faults[f.Fault]
			if x == nil {
				x = &Fault{Fault: f.Fault}
				faults[f.Fault] = x
				c.Faults = append(c.Faults, Fault{Fault: f.Fault})
			}
			x.Runs++
			if f.Landed > 0 {
				x.Landed++
			}
		}
	}
	for i := range c.Faults {
		c.Faults[i] = *faults[c.Faults[i].Fault]
	}
	slices.Sort(c.Seeds)
	sort.Strings(c.Runtimes)
	return c
}

// RunsWithAnomalies is the share of runs that found anomalies, with its
// Wilson interval.
func (c Cell) RunsWithAnomalies() Interval { return Wilson(c.Anomalous, c.Runs) }

// Per100 is anomalies of class (every class for "") per 100 checkouts,
// with the exact Poisson interval on the count.
func (c Cell) Per100(class string) Interval {
	if c.Checkouts <= 0 {
		return none
	}
	n := c.Anomalies
	if class != "" {
		n = c.ByClass[class]
	}
	return Poisson(n).Scale(100 / float64(c.Checkouts))
}

// NotExercised lists the faults that landed in none of the cell's runs:
// a clean cell says nothing about them.
func (c Cell) NotExercised() []string {
	var out []string
	for _, f := range c.Faults {
		if f.Landed == 0 {
			out = append(out, f.Fault)
		}
	}
	return out
}
