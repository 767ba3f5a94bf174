package scenarios

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/txchaos/txchaos/faults"
)

// ddmin is delta debugging (Zeller and Hildebrandt, "Simplifying and
// Isolating Failure-Inducing Input", 2002) over the faults of cfg's
// schedule: it tries the run with no fault at all, then with each of n
// parts of the faults alone and without each part, keeping the first that
// still fails and splitting finer when none does, until no single fault
// can be taken out: a 1-minimal schedule. Each run that fails also drops
// the faults it never reached.
func (s *shrinker) ddmin(cfg Config) (Config, bool, error) {
	c, err := faults.ParseSchedule(cfg.Schedule)
	if err != nil || len(c) == 0 {
		return cfg, false, err
	}
	shrunk := false
	try := func(part faults.Schedule, change string) (bool, error) {
		next := cfg
		next.Schedule = part.String()
		fails, err := s.try(next, change)
		if err != nil || !fails {
			return false, err
		}
		cfg, shrunk = s.best, true
		c, err = faults.ParseSchedule(cfg.Schedule)
		return true, err
	}
	if fails, err := try(nil, "no fault at all"); err != nil || fails {
		return cfg, shrunk, err
	}
	for n := 2; len(c) >= 2 && !s.spent(); {
		parts := split(c, n)
		reduced := false
		for i, p := range parts {
			fails, err := try(p, fmt.Sprintf("%d of %d faults (part %d of %d)", len(p), len(c), i+1, n))
			if err != nil {
				return cfg, shrunk, err
			}
			if fails {
				n, reduced = 2, true
				break
			}
		}
		for i := 0; !reduced && n > 2 && i < len(parts); i++ {
			rest := without(parts, i)
			fails, err := try(rest, fmt.Sprintf("%d of %d faults (without part %d of %d)", len(rest), len(c), i+1, n))
			if err != nil {
				return cfg, shrunk, err
			}
			if fails {
				n, reduced = max(n-1, 2), true
			}
		}
		if !reduced {
			if n >= len(c) {
				break
			}
			n = min(2*n, len(c))
		}
	}
	return cfg, shrunk, nil
}

// split cuts c into n parts of nearly equal length, in order.
func split(c faults.Schedule, n int) []faults.Schedule {
	parts := make([]faults.Schedule, 0, n)
	for i := 0; i < n; i++ {
		from, to := i*len(c)/n, (i+1)*len(c)/n
		if to > from {
			parts = append(parts, c[from:to])
		}
	}
	return parts
}

// without is every part but the i-th, joined.
func without(parts []faults.Schedule, i int) faults.Schedule {
	var out faults.Schedule
	for j, p := range parts {
		if j != i {
			out = append(out, p...)
		}
	}
	return out
}

// orderKey matches the key of a workload's order (see orders).
var orderKey = regexp.MustCompile(`^o(\d{6})$`)

// siteNumber reads a site's number: request K, visit M, commit N.
var siteNumber = regexp.MustCompile(`^(copy of )?(request|visit|commit) (\d+) (.*)$`)

// earlier moves faults to earlier orders and earlier sites, keeping each
// move that still fails: every fault about one order to an earlier order
// (o000001 first) at once, then each fault to an earlier request, visit or
// commit of its kind. A failure needing the 37th order's charge to be lost
// is often there at the first's, and the orders pass can then cut the run
// to one order.
func (s *shrinker) earlier(cfg Config) (Config, bool, error) {
	shrunk := false
	move := func(next faults.Schedule, change string) (bool, error) {
		if _, err := faults.ParseSchedule(next.String()); err != nil {
			return false, nil // two faults in one slot of a site
		}
		c := cfg
		c.Schedule = next.String()
		fails, err := s.try(c, change)
		if err != nil || !fails {
			return false, err
		}
		cfg, shrunk = s.best, true
		return true, nil
	}
	c, err := faults.ParseSchedule(cfg.Schedule)
	if err != nil {
		return cfg, false, err
	}
	for _, order := range ordersOf(c) {
		k, _ := strconv.Atoi(order[1:])
		for _, j := range candidates(k, 1) {
			to := fmt.Sprintf("o%06d", j)
			if slices.Contains(ordersOf(c), to) || s.spent() {
				continue
			}
			next := renameOrder(c, order, to)
			moved, err := move(next, fmt.Sprintf("the faults of %s at %s", order, to))
			if err != nil {
				return cfg, shrunk, err
			}
			if moved {
				if c, err = faults.ParseSchedule(cfg.Schedule); err != nil {
					return cfg, shrunk, err
				}
				break
			}
		}
	}
	for i := 0; i < len(c) && !s.spent(); i++ {
		m := siteNumber.FindStringSubmatch(c[i].Decision.Site)
		if c[i].Moment != nil || m == nil {
			continue
		}
		k, _ := strconv.Atoi(m[3])
		for _, j := range candidates(k, 1) {
			next := append(faults.Schedule(nil), c...)
			next[i].Decision.Site = fmt.Sprintf("%s%s %d %s", m[1], m[2], j, m[4])
			moved, err := move(next, fmt.Sprintf("%s → %s", c[i].Decision.Site, next[i].Decision.Site))
			if err != nil {
				return cfg, shrunk, err
			}
			if moved {
				if c, err = faults.ParseSchedule(cfg.Schedule); err != nil {
					return cfg, shrunk, err
				}
				i = -1 // the schedule changed: from its first fault again
				break
			}
		}
	}
	// A moment's fault lands on whatever the run is doing then: earlier,
	// it meets the first orders, and the faults that only slowed the run
	// until the moment came can go.
	for i := 0; i < len(c) && !s.spent(); i++ {
		m := c[i].Moment
		if m == nil || m.At == 0 {
			continue
		}
		for _, at := range []time.Duration{0, (m.At / 4).Round(time.Millisecond), (m.At / 2).Round(time.Millisecond)} {
			if at >= m.At {
				continue
			}
			next := append(faults.Schedule(nil), c...)
			moved := *m
			moved.At = at
			next[i].Moment = &moved
			ok, err := move(next, fmt.Sprintf("%s → at %s", m, at))
			if err != nil {
				return cfg, shrunk, err
			}
			if ok {
				if c, err = faults.ParseSchedule(cfg.Schedule); err != nil {
					return cfg, shrunk, err
				}
				break
			}
		}
	}
	return cfg, shrunk, nil
}

// ordersOf lists the orders a schedule's sites name, last first.
func ordersOf(c faults.Schedule) []string {
	var out []string
	for _, e := range c {
		for _, w := range strings.Fields(e.Decision.Site) {
			if orderKey.MatchString(w) && !slices.Contains(out, w) {
				out = append(out, w)
			}
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// renameOrder is c with every site about order from made about order to.
func renameOrder(c faults.Schedule, from, to string) faults.Schedule {
	next := append(faults.Schedule(nil), c...)
	for i := range next {
		w := strings.Fields(next[i].Decision.Site)
		for j := range w {
			if w[j] == from {
				w[j] = to
			}
		}
		if next[i].Moment == nil {
			next[i].Decision.Site = strings.Join(w, " ")
		}
	}
	return next
}
