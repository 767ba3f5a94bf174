package scenarios

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// Scenario is a named run of a pattern: a workload, a world and a fault
// profile, with the teaching point it makes and what a pattern that
// survives it must show. Scenarios are YAML files (see Parse); the
// built-in ones are embedded in the binary (see Builtins).
//
// A scenario names no pattern: ConfigFor turns it into the Config of one
// pattern's run.
type Scenario struct {
	// Name is the scenario's name: lowercase letters, digits and dashes.
	Name string
	// Description is the teaching point. Its first line is a one-line
	// summary (see Summary).
	Description string
	// Config is the run's configuration. Its Pattern is empty and its
	// Faults holds no crashpoint fault: see CrashPoints.
	Config Config
	// CrashPoints crashes the coordinator at named points of the pattern's
	// code: "POINT:RATE,...", where POINT is one of the pattern's crash
	// points or "*", each of the pattern's crash points. Crash points
	// belong to a pattern, so they are resolved per pattern by ConfigFor.
	CrashPoints string
	// Expect is what a pattern that survives the scenario shows, by
	// anomaly class; a class it does not name is expected zero.
	Expect Expectations

	// file is where the scenario was read from; lines maps each field's
	// path (workload.txns) to its line there.
	file  string
	lines map[string]int
}

// Summary is the first line of the description.
func (s Scenario) Summary() string {
	line, _, _ := strings.Cut(strings.TrimSpace(s.Description), "\n")
	return strings.TrimSpace(line)
}

// File is the file the scenario was read from ("builtin/NAME.yaml" for a
// built-in one), or "" when it was built in Go.
func (s Scenario) File() string { return s.file }

// ConfigFor is the configuration of spec's run of the scenario: the
// scenario's Config with Pattern set, and a crashpoint fault added to
// Faults for each of spec's crash points CrashPoints names. It fails when
// CrashPoints names a point spec does not declare, or the faults do not
// fit spec's world.
func (s Scenario) ConfigFor(spec patterns.Spec) (Config, error) {
	cfg := s.Config
	cfg.Pattern, cfg.Scenario = spec.Name, s.Name
	crash, err := expandCrashPoints(s.CrashPoints, spec)
	if err != nil {
		return cfg, s.errorAt("crash_points", err.Error())
	}
	if crash != "" {
		if cfg.Faults != "" {
			cfg.Faults += ","
		}
		cfg.Faults += crash
	}
	if err := cfg.validate(spec); err != nil {
		return cfg, s.configError(err)
	}
	return cfg, nil
}

// errorAt is an error about field path, at its line when known.
func (s Scenario) errorAt(field, msg string) error {
	where := s.file
	if where == "" {
		where = "scenario " + s.Name
	}
	if line, ok := s.lines[field]; ok {
		where += ":" + strconv.Itoa(line)
	}
	return fmt.Errorf("%s: %s: %s", where, field, msg)
}

// configError places an error of Config.validate ("txns: ...", "world:
// payments.reject_rate: ...", "faults: ...") at its scenario field.
func (s Scenario) configError(err error) error {
	msg := err.Error()
	field, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return fmt.Errorf("%s: %w", s.file, err)
	}
	switch field {
	case "txns", "concurrency", "attempts", "customers", "resubmit":
		field = "workload." + field
	case "world":
		if sub, r, ok := strings.Cut(rest, ": "); ok {
			field, rest = "world."+sub, r
		}
	case "faults":
		if strings.Contains(rest, "crashpoint=") {
			field = "crash_points"
		}
	}
	return s.errorAt(field, rest)
}

// expandCrashPoints turns "POINT:RATE,..." into crashpoint faults of spec.
func expandCrashPoints(s string, spec patterns.Spec) (string, error) {
	if s == "" {
		return "", nil
	}
	var out []string
	for _, entry := range strings.Split(s, ",") {
		point, rate, _ := strings.Cut(strings.TrimSpace(entry), ":")
		switch {
		case point == "*" && len(spec.CrashPoints) == 0:
			return "", fmt.Errorf("%q: pattern %s declares no crash points", entry, spec.Name)
		case point == "*":
			for _, p := range spec.CrashPoints {
				out = append(out, "crashpoint="+p+":"+rate)
			}
		case !slices.Contains(spec.CrashPoints, point):
			return "", fmt.Errorf("%q: crash point %q is not one of pattern %s's: %s (or * for each of them)",
				entry, point, spec.Name, strings.Join(spec.CrashPoints, ", "))
		default:
			out = append(out, "crashpoint="+point+":"+rate)
		}
	}
	return strings.Join(out, ","), nil
}

// checkCrashPoints checks the syntax of a crash_points value.
func checkCrashPoints(s string) error {
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		point, _, ok := strings.Cut(entry, ":")
		if !ok || point == "" {
			return fmt.Errorf("%q is not POINT:RATE, e.g. after-local-commit:0.2 or *:0.1", entry)
		}
		if _, err := faults.Parse("crashpoint=" + entry); err != nil {
			return fmt.Errorf("%q: %v", entry, errors.Unwrap(err))
		}
	}
	return nil
}

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

//go:embed builtin/*.yaml
var builtinFS embed.FS

// Builtins lists the built-in scenarios, by name. It panics if one does
// not parse: they are part of the binary and tested.
func Builtins() []Scenario {
	entries, err := fs.ReadDir(builtinFS, "builtin")
	if err != nil {
		panic(err)
	}
	var out []Scenario
	for _, e := range entries {
		file := path.Join("builtin", e.Name())
		data, err := builtinFS.ReadFile(file)
		if err != nil {
			panic(err)
		}
		s, err := Parse(file, data)
		if err != nil {
			panic("scenarios: built-in " + err.Error())
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// BuiltinNames lists the built-in scenarios' names.
func BuiltinNames() []string {
	var names []string
	for _, s := range Builtins() {
		names = append(names, s.Name)
	}
	return names
}

// Builtin is the built-in scenario of that name.
func Builtin(name string) (Scenario, error) {
	for _, s := range Builtins() {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, fmt.Errorf("scenario %q is not built in (built-in: %s)", name, strings.Join(BuiltinNames(), ", "))
}

// Find is the built-in scenario called nameOrFile or, if it names a YAML
// file (it ends in .yaml or .yml, or contains a path separator), the
// scenario in that file.
func Find(nameOrFile string) (Scenario, error) {
	if strings.HasSuffix(nameOrFile, ".yaml") || strings.HasSuffix(nameOrFile, ".yml") || strings.ContainsRune(nameOrFile, os.PathSeparator) || strings.Contains(nameOrFile, "/") {
		return Load(nameOrFile)
	}
	return Builtin(nameOrFile)
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

func (p *parser) scalar(n *yaml.Node, f, want string) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return p.errorf(n, f, "%s is not %s", describe(n), want)
	}
	return nil
}

func (p *parser) str(n *yaml.Node, f string, dst *string) error {
	if err := p.scalar(n, f, "a string"); err != nil {
		return err
	}
	*dst = n.Value
	return nil
}

func (p *parser) int64(n *yaml.Node, f string, dst *int64) error {
	if err := p.scalar(n, f, "an integer"); err != nil {
		return err
	}
	if n.Tag != "!!int" {
		if _, err := strconv.ParseInt(n.Value, 10, 64); errors.Is(err, strconv.ErrRange) {
			return p.errorf(n, f, "%s is out of range (%d to %d)", n.Value, int64(math.MinInt64), int64(math.MaxInt64))
		}
		return p.errorf(n, f, "%q is not an integer", n.Value)
	}
	var v int64
	if err := n.Decode(&v); err != nil {
		return p.errorf(n, f, "%s is out of range (%d to %d)", n.Value, int64(math.MinInt64), int64(math.MaxInt64))
	}
	*dst = v
	return nil
}

func (p *parser) int(n *yaml.Node, f string, dst *int) error {
	var v int64
	if err := p.int64(n, f, &v); err != nil {
		return err
	}
	if int64(int(v)) != v {
		return p.errorf(n, f, "%d is out of range", v)
	}
	*dst = int(v)
	return nil
}

// rate reads a probability: a number between 0 and 1 (.nan and .inf,
// which YAML reads as numbers, are not).
func (p *parser) rate(n *yaml.Node, f string, dst *float64) error {
	const want = "a number between 0 and 1"
	if err := p.scalar(n, f, want); err != nil {
		return err
	}
	var v float64
	if n.Tag != "!!int" && n.Tag != "!!float" || n.Decode(&v) != nil || !(v >= 0 && v <= 1) {
		return p.errorf(n, f, "%q is not %s", n.Value, want)
	}
	*dst = v
	return nil
}

func (p *parser) bool(n *yaml.Node, f string, dst *bool) error {
	if err := p.scalar(n, f, "true or false"); err != nil {
		return err
	}
	if n.Tag != "!!bool" {
		return p.errorf(n, f, "%q is not true or false", n.Value)
	}
	return n.Decode(dst)
}

func (p *parser) duration(n *yaml.Node, f string, dst *time.Duration) error {
	if err := p.scalar(n, f, "a duration"); err != nil {
		return err
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		return p.errorf(n, f, "%q is not a duration such as 250ms or 5s", n.Value)
	}
	*dst = d
	return nil
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// describe names what a node is, for errors.
func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return "empty"
	case n.Kind == yaml.ScalarNode:
		return strconv.Quote(n.Value)
	default:
		return "nothing"
	}
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
