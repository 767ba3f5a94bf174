package report

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/results/stats"
)

// reading says in a few sentences what the numbers of a pattern say:
// the anomalies under each fault kind at its highest rate, availability
// with and without faults, and whether the world came to rest.
func (d *data) reading(pattern string) string {
	var sentences []string
	base := d.groups[[3]string{pattern, "none", "0"}]
	if base != nil {
		if v := base.per100(""); v.Est > 0 {
			sentences = append(sentences, fmt.Sprintf("Anomalies even without faults: %s (%s per 100 checkouts)", d.classesOf([]*group{base}), withInterval(v)))
		}
	}
	var cleanKinds []string
	for _, k := range d.kinds {
		var gs []*group
		for _, r := range d.rates(k) {
			if g := d.groups[[3]string{pattern, k, r}]; g != nil {
				gs = append(gs, g)
			}
		}
		if len(gs) == 0 {
			continue
		}
		if s := d.anomalyReading(k, gs); s != "" {
			sentences = append(sentences, s)
		} else {
			cleanKinds = append(cleanKinds, k)
		}
	}
	if len(cleanKinds) > 0 {
		clean := "No anomalies " + d.cleanText(cleanKinds, "at any rate of ")
		if len(sentences) > 0 && strings.HasPrefix(sentences[0], "Anomalies even without faults") {
			clean = "None " + d.cleanText(cleanKinds, "at rates above 0 of ")
			sentences = append(sentences[:1], append([]string{clean}, sentences[1:]...)...)
		} else {
			sentences = append([]string{clean}, sentences...)
		}
	}
	if a := d.availabilityReading(pattern, base); a != "" {
		sentences = append(sentences, a)
	}
	if c := d.convergeReading(pattern); c != "" {
		sentences = append(sentences, c)
	}
	if n := d.count(pattern, func(r *run) bool { return r.verdict == results.VerdictUnknown }); n > 0 {
		sentences = append(sentences, fmt.Sprintf("Verdict unknown in %d runs: some check could not be made", n))
	}
	return strings.Join(sentences, ". ") + "."
}

// anomalyReading names the classes found under kind, largest first, each
// at its peak rate, and the rate the first was seen at; "" when none was.
func (d *data) anomalyReading(kind string, gs []*group) string {
	type found struct {
		class      string
		peak       float64
		at         stats.Interval
		peakRate   string
		firstIndex int
	}
	var fs []found
	first := len(gs)
	for _, c := range d.classes {
		f := found{class: c, firstIndex: -1}
		for i, g := range gs {
			if v := g.per100(c); v.Est > 0 {
				if f.firstIndex < 0 {
					f.firstIndex = i
				}
				if v.Est >= f.peak {
					f.peak, f.at, f.peakRate = v.Est, v, g.rate
				}
			}
		}
		if f.firstIndex >= 0 {
			fs = append(fs, f)
			first = min(first, f.firstIndex)
		}
	}
	if len(fs) == 0 {
		return ""
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].peak > fs[j].peak })
	shown := fs[:min(3, len(fs))]
	samePeak := true
	for _, f := range shown {
		samePeak = samePeak && f.peakRate == shown[0].peakRate
	}
	var parts []string
	for _, f := range shown {
		if samePeak {
			parts = append(parts, fmt.Sprintf("%s %s", f.class, withInterval(f.at)))
		} else {
			parts = append(parts, fmt.Sprintf("%s %s at %s", f.class, withInterval(f.at), f.peakRate))
		}
	}
	s := "Under " + d.kindText(kind)
	if samePeak {
		s = "Under " + d.cellText(kind, shown[0].peakRate)
	}
	s += ": " + strings.Join(parts, ", ") + " per 100 checkouts"
	if len(fs) > 3 {
		s += fmt.Sprintf(" (and %d more %s)", len(fs)-3, plural(len(fs)-3, "class", "classes"))
	}
	if r := gs[first].rate; !samePeak || r != shown[0].peakRate {
		s += ", first seen at " + r
	}
	return s
}

// cleanText says under which kinds a pattern showed nothing: sweep's
// kinds after rates ("at any rate of lost-response or crashpoint"), and
// whole profiles by their faults ("under drop-request=orders-broker:1,
// crash=broker:0.05").
func (d *data) cleanText(kinds []string, rates string) string {
	var swept, profiles []string
	for _, k := range kinds {
		if profileKind(k) || len(d.scenarios[k]) > 0 {
			profiles = append(profiles, d.kindText(k))
		} else {
			swept = append(swept, k)
		}
	}
	var parts []string
	if len(swept) > 0 {
		parts = append(parts, rates+joinOr(swept))
	}
	if len(profiles) > 0 {
		parts = append(parts, "under "+joinOr(profiles))
	}
	return strings.Join(parts, ", nor ")
}

// classesOf lists the classes found in gs with their counts.
func (d *data) classesOf(gs []*group) string {
	var out []string
	for _, c := range d.classes {
		k := 0
		for _, g := range gs {
			for _, r := range g.runs {
				k += r.anom[c]
			}
		}
		if k > 0 {
			out = append(out, fmt.Sprintf("%s %d", c, k))
		}
	}
	return strings.Join(out, ", ")
}

// availabilityReading compares availability at each kind's highest rate
// with the fault-free run.
func (d *data) availabilityReading(pattern string, base *group) string {
	avail := func(g *group) float64 { return g.mean(func(r *run) float64 { return 100 * r.fig("availability") }) }
	var at []string
	for _, k := range d.kinds {
		rates := d.rates(k)
		if len(rates) == 0 {
			continue
		}
		g := d.groups[[3]string{pattern, k, rates[len(rates)-1]}]
		if g == nil || math.IsNaN(avail(g)) {
			continue
		}
		at = append(at, fmt.Sprintf("%s under %s", pct(avail(g)/100), d.cellText(k, g.rate)))
	}
	if len(at) == 0 {
		return ""
	}
	// A whole profile has commas of its own: the list is cut by semicolons.
	if base != nil && !math.IsNaN(avail(base)) {
		return fmt.Sprintf("Availability %s without faults; %s", pct(avail(base)/100), strings.Join(at, "; "))
	}
	return "Availability " + strings.Join(at, "; ")
}

// convergeReading says whether the pattern's runs came to rest.
func (d *data) convergeReading(pattern string) string {
	total, stuck := 0, 0
	worst := 0.0
	for _, r := range d.runs {
		if r.pattern != pattern {
			continue
		}
		total++
		if conv, ok := r.converged(); ok && !conv {
			stuck++
			continue
		}
		if v := r.fig("converge_ms"); v > worst {
			worst = v
		}
	}
	switch {
	case total == 0:
		return ""
	case stuck > 0:
		return fmt.Sprintf("Did not come to rest after healing in %d of %d runs", stuck, total)
	default:
		return fmt.Sprintf("Every run came to rest within %s of healing", msText(worst))
	}
}

func (d *data) count(pattern string, f func(*run) bool) int {
	n := 0
	for _, r := range d.runs {
		if r.pattern == pattern && f(r) {
			n++
		}
	}
	return n
}

// converged reads the metrics' converged flag.
func (r *run) converged() (bool, bool) {
	var m struct {
		Converged *bool `json:"converged"`
	}
	if err := json.Unmarshal(r.rec.Metrics, &m); err != nil || m.Converged == nil {
		return false, false
	}
	return *m.Converged, true
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return num(100*v) + "%"
}

func msOrDash(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return num(v)
}

func msText(ms float64) string {
	if ms >= 1000 {
		return num(ms/1000) + " s"
	}
	return num(ms) + " ms"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func joinOr(xs []string) string  { return join(xs, "or") }
func joinAnd(xs []string) string { return join(xs, "and") }

func join(xs []string, word string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	default:
		return strings.Join(xs[:len(xs)-1], ", ") + " " + word + " " + xs[len(xs)-1]
	}
}
