// Package faults names the faults txchaos injects and turns a fault profile
// and a seed into a schedule over a run (Jepsen's nemesis).
//
// A profile is a comma-separated list of NAME=ARG, for example
//
//	lost-response=0.1,crash=orders:0.02,partition=orders-payments:1s
//
// Each fault kind is one file in this package that registers itself: its
// name, a one-line summary, its argument syntax, a parser, what it does to
// the world and how Swarm draws it. Every rate is a per-request (per
// commit, per crash point reached) probability, decided by the runtime for
// each request, never per connection. The older kinds draw from per-link
// and per-node seeded streams; late, duplicate, reorder, crash-commit and
// kill decide each site — the k-th request about an order on a link, the
// k-th commit of a node for an order, the k-th moment of a timed crash — by
// (seed, fault, site) alone (sim.Chance). Every fault records its site in
// sim.Applied.
//
// A Schedule names a det run's faults one by one instead, each at its site
// or moment: the text a det run records of the faults it got, and what
// txchaos run --schedule FILE follows.
//
// Swarm draws a random profile per seed from every registered kind, for
// swarm exploration.
package faults

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// Kind is a named kind of fault.
type Kind struct {
	// Name is what a profile calls it: drop-request, lost-response, ...
	Name string
	// Summary is a one-line description for `txchaos list`.
	Summary string
	// Syntax shows the argument, e.g. "[LINK:]RATE".
	Syntax string
	// Parse reads the argument into a Fault.
	Parse func(arg string) (Fault, error)
	// Effect adds what an active fault does to the world to e.
	Effect func(f Fault, e *Effect)
	// Windowed faults come and go in windows of f.Duration over the run
	// (a partition); the others hold from the start of the run to healing.
	Windowed bool
	// Timed faults act at moments of the run the nemesis draws, about
	// every f.Duration (a node killed whatever it is doing); Effect is nil.
	Timed bool
	// RateAndDuration: the argument is a rate with an optional duration
	// after it (RATE[:DELAY]), and a profile shows both.
	RateAndDuration bool
	// Draw draws a random fault of the kind within a world, for swarm
	// exploration (see Swarm); ok is false when the world offers it no
	// target (no crash point).
	Draw func(r *rand.Rand, w Space) (f Fault, ok bool)
	// Doc explains the fault for `txchaos explain`: what it models, what
	// it does to a run, and the anomalies it exposes.
	Doc string
}

var kinds = map[string]Kind{}

// Register adds a fault kind. It panics on a duplicate name: that is a
// programming error, found at start-up.
func Register(k Kind) {
	if _, dup := kinds[k.Name]; dup {
		panic("faults: kind " + k.Name + " registered twice")
	}
	kinds[k.Name] = k
}

// Kinds lists every registered kind by name.
func Kinds() []Kind {
	var out []Kind
	for _, k := range kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func kindNames() string {
	var names []string
	for _, k := range Kinds() {
		names = append(names, k.Name)
	}
	return strings.Join(names, ", ")
}

// Fault is one parsed entry of a profile.
type Fault struct {
	Kind string `json:"kind"`
	// Link is the targeted link, if any; nil means every link.
	Link *sim.Link `json:"link,omitempty"`
	// Node is the targeted node, or the crash point's name for crashpoint.
	Node string `json:"node,omitempty"`
	// Point is a crash point's name.
	Point string `json:"point,omitempty"`
	// Rate is a per-request (or per crash point reached) probability.
	Rate float64 `json:"rate,omitempty"`
	// Duration is a latency, or the length of a partition window.
	Duration time.Duration `json:"duration,omitempty"`
}

// String is the fault as a profile entry.
func (f Fault) String() string {
	var target, value string
	switch {
	case f.Link != nil:
		target = f.Link.From + "-" + f.Link.To + ":"
	case f.Point != "":
		target = f.Point + ":"
	case f.Node != "":
		target = f.Node + ":"
	}
	switch {
	case kinds[f.Kind].RateAndDuration:
		value = strconv.FormatFloat(f.Rate, 'g', -1, 64)
		if f.Duration != 0 {
			value += ":" + f.Duration.String()
		}
	case f.Duration != 0:
		value = f.Duration.String()
	default:
		value = strconv.FormatFloat(f.Rate, 'g', -1, 64)
	}
	return f.Kind + "=" + target + value
}

// Profile is a parsed fault profile.
type Profile []Fault

// String is the profile in the syntax Parse reads.
func (p Profile) String() string {
	var parts []string
	for _, f := range p {
		parts = append(parts, f.String())
	}
	return strings.Join(parts, ",")
}

// Lookup is the registered kind named name.
func Lookup(name string) (Kind, bool) {
	k, ok := kinds[name]
	return k, ok
}

// Parse reads a profile: comma-separated NAME=ARG entries. An empty string
// or "none" is the empty profile. Errors name the entry, the value and what
// is allowed.
func Parse(s string) (Profile, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return nil, nil
	}
	var p Profile
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		name, arg, ok := strings.Cut(entry, "=")
		if !ok || arg == "" {
			return nil, fmt.Errorf("fault %q: want NAME=ARG, e.g. lost-response=0.1 (faults: %s)", entry, kindNames())
		}
		k, ok := kinds[name]
		if !ok {
			return nil, fmt.Errorf("fault %q: unknown fault %q (faults: %s)", entry, name, kindNames())
		}
		f, err := k.Parse(arg)
		if err != nil {
			return nil, fmt.Errorf("fault %q: %w (syntax: %s=%s)", entry, err, name, k.Syntax)
		}
		f.Kind = name
		p = append(p, f)
	}
	return p, nil
}

// Validate checks the profile against a world: links and nodes must exist,
// crash points must be among those the pattern declares.
func (p Profile) Validate(links []sim.Link, nodes []string, crashPoints []string) error {
	for _, f := range p {
		if f.Link != nil && !hasLink(links, *f.Link) {
			return fmt.Errorf("fault %s: link %s is not in this world (links: %s)", f, f.Link, linkNames(links))
		}
		if f.Node != "" && f.Node != AnyNode && !contains(nodes, f.Node) {
			return fmt.Errorf("fault %s: node %q is not in this world (nodes: %s)", f, f.Node, strings.Join(nodes, ", "))
		}
		if f.Point != "" && !contains(crashPoints, f.Point) {
			if len(crashPoints) == 0 {
				return fmt.Errorf("fault %s: this pattern declares no crash points", f)
			}
			return fmt.Errorf("fault %s: crash point %q is not one of this pattern's: %s", f, f.Point, strings.Join(crashPoints, ", "))
		}
	}
	return nil
}

func hasLink(links []sim.Link, l sim.Link) bool {
	for _, x := range links {
		if x == l {
			return true
		}
	}
	return false
}

func linkNames(links []sim.Link) string {
	var names []string
	for _, l := range links {
		names = append(names, l.From+"-"+l.To)
	}
	return strings.Join(names, ", ")
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// parseRate reads a probability in [0,1]. ParseFloat reads "NaN" and
// "Inf" too: the range check is written so that neither passes.
func parseRate(s string) (float64, error) {
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || !(r >= 0 && r <= 1) {
		return 0, fmt.Errorf("rate %q is not a number between 0 and 1", s)
	}
	return r, nil
}

// parseDuration reads a positive duration such as 50ms or 2s.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("duration %q is not a positive duration such as 50ms or 2s", s)
	}
	return d, nil
}

// parseLink reads FROM-TO or FROM->TO.
func parseLink(s string) (*sim.Link, error) {
	from, to, ok := strings.Cut(s, "->")
	if !ok {
		from, to, ok = strings.Cut(s, "-")
	}
	if !ok || from == "" || to == "" {
		return nil, fmt.Errorf("link %q is not FROM-TO, e.g. orders-payments", s)
	}
	return &sim.Link{From: from, To: to}, nil
}

// splitTarget splits "TARGET:VALUE" or "VALUE".
func splitTarget(arg string) (target, value string) {
	if i := strings.LastIndex(arg, ":"); i >= 0 {
		return arg[:i], arg[i+1:]
	}
	return "", arg
}

// linkRate parses [LINK:]RATE.
func linkRate(arg string) (Fault, error) {
	target, value := splitTarget(arg)
	var f Fault
	if target != "" {
		l, err := parseLink(target)
		if err != nil {
			return f, err
		}
		f.Link = l
	}
	r, err := parseRate(value)
	f.Rate = r
	return f, err
}

// linkDuration parses [LINK:]DURATION.
func linkDuration(arg string) (Fault, error) {
	target, value := splitTarget(arg)
	var f Fault
	if target != "" {
		l, err := parseLink(target)
		if err != nil {
			return f, err
		}
		f.Link = l
	}
	d, err := parseDuration(value)
	f.Duration = d
	return f, err
}

// nodeRate parses NODE:RATE.
func nodeRate(arg string) (Fault, error) {
	target, value := splitTarget(arg)
	if target == "" {
		return Fault{}, fmt.Errorf("%q names no node: want NODE:RATE, e.g. orders:0.02", arg)
	}
	r, err := parseRate(value)
	return Fault{Node: target, Rate: r}, err
}

// linkRateDelay parses [LINK:]RATE[:DURATION].
func linkRateDelay(arg string) (Fault, error) {
	var f Fault
	parts := strings.Split(arg, ":")
	n := len(parts)
	if n > 3 {
		return f, fmt.Errorf("%q is not [LINK:]RATE[:DURATION], e.g. orders-payments:0.3:1s", arg)
	}
	if _, err := time.ParseDuration(parts[n-1]); n == 3 || (n == 2 && err == nil) {
		d, err := parseDuration(parts[n-1])
		if err != nil {
			return f, err
		}
		f.Duration, parts = d, parts[:n-1]
	}
	if len(parts) == 2 {
		l, err := parseLink(parts[0])
		if err != nil {
			return f, err
		}
		f.Link, parts = l, parts[1:]
	}
	r, err := parseRate(parts[0])
	f.Rate = r
	return f, err
}
