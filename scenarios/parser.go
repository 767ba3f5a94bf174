package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// maxFileSize bounds a scenario file.
const maxFileSize = 1 << 20

// Load reads a scenario file from disk.
func Load(file string) (Scenario, error) {
	f, err := os.Open(file)
	if err != nil {
		return Scenario{}, fmt.Errorf("scenario: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return Scenario{}, fmt.Errorf("scenario: %w", err)
	}
	return Parse(file, data)
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Parse reads a scenario from YAML; file names it in errors. Every field
// but name and description is optional and defaults to Default's value;
// unknown fields are errors. An error names the file, the line, the field,
// the value and what is allowed, e.g.
//
//	lost.yaml:7: workload.txns: -3 is not between 1 and 1000000
//
// A scenario file looks like this:
//
//	name: lost-responses
//	description: |
//	  One line that says what the scenario teaches.
//	  More lines that explain it.
//	seed: 1
//	runtime: live
//	isolation: none         # or process: each service an OS process (live only)
//	quiet: 5s               # fault-free time after healing to come to rest
//	call_timeout: 1s        # the client's timeout for one request
//	workload: {txns: 40, concurrency: 6, attempts: 3, customers: 10, resubmit: 0}
//	world:
//	  payments: {maturity: idempotent, reject_rate: 0.05}
//	  inventory: {maturity: idempotent, reject_rate: 0}
//	  shipping: {maturity: idempotent, reject_rate: 0, forget_empty_cancel: false}  # true: a broken saga participant
//	  rewards_dedupe: true
//	  rewards_split_inbox: false   # a broken consumer: inbox and credit in two commits
//	  call_timeout: 250ms   # a node's timeout for one request to another
//	  initial_stock: 1000000
//	  broker: log           # or jetstream (live runtime only)
//	  dedupe_window: 2m     # jetstream's duplicate window; 0 turns it off
//	faults: lost-response=0.2      # a fault profile, see package faults
//	crash_points: "*:0.05"         # see Scenario.CrashPoints
//	schedule: |                    # or, on the det runtime, the faults one by one (faults.Schedule)
//	  request 1 of o000001 on orders->payments: lost-response
//	expect:                        # per anomaly class: zero, some or any
//	  stuck: any
//
// Faults are checked against the standard checkout world (sim.StandardLinks
// and its nodes); ConfigFor checks them again against a pattern's world.
func Parse(file string, data []byte) (Scenario, error) {
	p := &parser{file: file, lines: map[string]int{}}
	s, err := p.parse(data)
	if err != nil {
		return Scenario{}, err
	}
	return s, nil
}

type parser struct {
	file  string
	lines map[string]int
}

// errorf is an error about field at node n's line.
func (p *parser) errorf(n *yaml.Node, field, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", p.file, n.Line, field, fmt.Sprintf(format, args...))
}

func (p *parser) parse(data []byte) (Scenario, error) {
	if len(data) > maxFileSize {
		return Scenario{}, fmt.Errorf("%s: %d bytes is over the limit of %d", p.file, len(data), maxFileSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Scenario{}, fmt.Errorf("%s: empty file: a scenario needs at least a name and a description", p.file)
		}
		return Scenario{}, fmt.Errorf("%s: %v", p.file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			return Scenario{}, fmt.Errorf("%s: %v", p.file, err)
		}
		return Scenario{}, fmt.Errorf("%s:%d: a second YAML document: a file holds one scenario", p.file, line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}

	s := Scenario{Config: Default(), file: p.file, lines: p.lines}
	s.Config.Pattern = ""
	var nameNode *yaml.Node
	err := p.mapping(root, "", []field{
		{"name", func(n *yaml.Node, f string) error { nameNode = n; return p.str(n, f, &s.Name) }},
		{"description", func(n *yaml.Node, f string) error { return p.str(n, f, &s.Description) }},
		{"runtime", func(n *yaml.Node, f string) error { return p.str(n, f, &s.Config.Runtime) }},
		{"isolation", func(n *yaml.Node, f string) error { return p.str(n, f, &s.Config.Isolation) }},
		{"seed", func(n *yaml.Node, f string) error { return p.int64(n, f, &s.Config.Seed) }},
		{"quiet", func(n *yaml.Node, f string) error { return p.duration(n, f, &s.Config.Quiet) }},
		{"call_timeout", func(n *yaml.Node, f string) error { return p.duration(n, f, &s.Config.CallTimeout) }},
		{"workload", func(n *yaml.Node, f string) error { return p.workload(n, f, &s.Config.Workload) }},
		{"world", func(n *yaml.Node, f string) error { return p.world(n, f, &s.Config.World) }},
		{"faults", func(n *yaml.Node, f string) error { return p.str(n, f, &s.Config.Faults) }},
		{"crash_points", func(n *yaml.Node, f string) error { return p.str(n, f, &s.CrashPoints) }},
		{"schedule", func(n *yaml.Node, f string) error { return p.str(n, f, &s.Config.Schedule) }},
		{"expect", func(n *yaml.Node, f string) error { return p.expect(n, f, &s.Expect) }},
	})
	if err != nil {
		return Scenario{}, err
	}
	switch {
	case nameNode == nil:
		return Scenario{}, fmt.Errorf("%s:%d: name: missing: a scenario needs a name", p.file, root.Line)
	case !nameRE.MatchString(s.Name):
		return Scenario{}, p.errorf(nameNode, "name", "%q is not lowercase letters, digits and dashes (at most 63), e.g. lost-responses", s.Name)
	case strings.TrimSpace(s.Description) == "":
		return Scenario{}, fmt.Errorf("%s:%d: description: missing: a scenario needs a description, whose first line is its summary", p.file, root.Line)
	}
	if f := s.Config.Faults; strings.Contains(f, "crashpoint") {
		return Scenario{}, s.errorAt("faults", fmt.Sprintf("%q: crash points belong to a pattern: name them in crash_points (POINT:RATE, or *:RATE for each of the pattern's)", f))
	}
	if s.CrashPoints != "" {
		if err := checkCrashPoints(s.CrashPoints); err != nil {
			return Scenario{}, s.errorAt("crash_points", err.Error())
		}
	}
	// The standard checkout world, with a stand-in on orders and no crash
	// points: ConfigFor checks again with the pattern.
	standard := patterns.Spec{Name: "(any pattern)", New: func() sim.Service { return nil }}
	c := s.Config
	c.Schedule = "" // its crash points are the pattern's
	if err := c.validate(standard); err != nil {
		return Scenario{}, s.configError(err)
	}
	if s.Config.Schedule != "" {
		sched, err := faults.ParseSchedule(s.Config.Schedule)
		switch {
		case err != nil:
			return Scenario{}, s.errorAt("schedule", err.Error())
		case s.Config.Runtime != "det":
			return Scenario{}, s.errorAt("schedule", fmt.Sprintf("runtime is %s: only the det runtime follows a schedule", s.Config.Runtime))
		case s.Config.Faults != "" || s.CrashPoints != "":
			return Scenario{}, s.errorAt("schedule", "given with faults or crash_points: a schedule names every fault of the run; give one or the other")
		}
		s.Config.Schedule = sched.String()
	}
	return s, nil
}

// field is one field of a mapping and how to decode its value; f is its
// full path, e.g. workload.txns.
type field struct {
	key    string
	decode func(n *yaml.Node, f string) error
}

// mapping decodes the mapping n, whose path is at, field by field. Unknown
// and repeated fields are errors.
func (p *parser) mapping(n *yaml.Node, at string, fields []field) error {
	return p.mappingOf(n, at, fields, "field")
}

// mappingOf is mapping whose keys are a kind of thing other than fields,
// for errors: "unknown anomaly class".
func (p *parser) mappingOf(n *yaml.Node, at string, fields []field, noun string) error {
	n = resolve(n)
	name := at
	if name == "" {
		name = "scenario"
	}
	if n.Kind != yaml.MappingNode {
		return p.errorf(n, name, "%s is not a mapping of %s", describe(n), keys(fields))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return p.errorf(k, name, "a key is %s, not a %s (%s takes: %s)", describe(k), noun, name, keys(fields))
		}
		path := k.Value
		if at != "" {
			path = at + "." + k.Value
		}
		if seen[k.Value] {
			return p.errorf(k, path, "repeated (first at line %d)", p.lines[path])
		}
		seen[k.Value] = true
		i := slices.IndexFunc(fields, func(f field) bool { return f.key == k.Value })
		if i < 0 {
			return p.errorf(k, path, "unknown %s (%s takes: %s)", noun, name, keys(fields))
		}
		p.lines[path] = k.Line
		if err := fields[i].decode(resolve(v), path); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) workload(n *yaml.Node, at string, w *Workload) error {
	return p.mapping(n, at, []field{
		{"txns", func(n *yaml.Node, f string) error { return p.int(n, f, &w.Txns) }},
		{"concurrency", func(n *yaml.Node, f string) error { return p.int(n, f, &w.Concurrency) }},
		{"attempts", func(n *yaml.Node, f string) error { return p.int(n, f, &w.Attempts) }},
		{"customers", func(n *yaml.Node, f string) error { return p.int(n, f, &w.Customers) }},
		{"resubmit", func(n *yaml.Node, f string) error { return p.rate(n, f, &w.Resubmit) }},
	})
}

func (p *parser) world(n *yaml.Node, at string, c *sim.Config) error {
	resource := func(rc *sim.ResourceConfig) func(n *yaml.Node, f string) error {
		return func(n *yaml.Node, at string) error {
			return p.mapping(n, at, []field{
				{"maturity", func(n *yaml.Node, f string) error {
					var s string
					if err := p.str(n, f, &s); err != nil {
						return err
					}
					m, err := sim.ParseMaturity(s)
					if err != nil {
						return p.errorf(n, f, "%q is not one of %s", s, maturities())
					}
					rc.Maturity = m
					return nil
				}},
				{"reject_rate", func(n *yaml.Node, f string) error { return p.rate(n, f, &rc.RejectRate) }},
				{"forget_empty_cancel", func(n *yaml.Node, f string) error { return p.bool(n, f, &rc.ForgetEmptyCancel) }},
			})
		}
	}
	return p.mapping(n, at, []field{
		{"payments", resource(&c.Payments)},
		{"inventory", resource(&c.Inventory)},
		{"shipping", resource(&c.Shipping)},
		{"rewards_dedupe", func(n *yaml.Node, f string) error { return p.bool(n, f, &c.RewardsDedupe) }},
		{"rewards_split_inbox", func(n *yaml.Node, f string) error { return p.bool(n, f, &c.RewardsSplitInbox) }},
		{"call_timeout", func(n *yaml.Node, f string) error { return p.duration(n, f, &c.CallTimeout) }},
		{"initial_stock", func(n *yaml.Node, f string) error { return p.int64(n, f, &c.InitialStock) }},
		{"broker", func(n *yaml.Node, f string) error { return p.str(n, f, &c.Broker) }},
		{"dedupe_window", func(n *yaml.Node, f string) error {
			var d time.Duration
			if err := p.duration(n, f, &d); err != nil {
				return err
			}
			c.DedupeWindow = &d
			return nil
		}},
	})
}

// expect decodes the expectations: anomaly class: zero, some or any. The
// classes are checker.Classes, read at run time.
func (p *parser) expect(n *yaml.Node, at string, e *Expectations) error {
	var fields []field
	*e = Expectations{}
	for _, c := range checker.Classes {
		fields = append(fields, field{string(c), func(n *yaml.Node, f string) error {
			var s string
			if err := p.str(n, f, &s); err != nil {
				return err
			}
			if !slices.Contains(Expects, Expect(s)) {
				return p.errorf(n, f, "%q is not one of zero, some, any", s)
			}
			(*e)[c] = Expect(s)
			return nil
		}})
	}
	return p.mappingOf(n, at, fields, "anomaly class")
}

func keys(fields []field) string {
	var ks []string
	for _, f := range fields {
		ks = append(ks, f.key)
	}
	return strings.Join(ks, ", ")
}

func maturities() string {
	var ms []string
	for _, m := range sim.Maturities {
		ms = append(ms, string(m))
	}
	return strings.Join(ms, ", ")
}
