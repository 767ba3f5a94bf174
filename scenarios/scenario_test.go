package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/sim"
)

// valid is a complete scenario file; the error cases below change one line.
const valid = `name: lost
description: |
  Lost answers.
  More about them.
seed: 7
runtime: live
quiet: 4s
call_timeout: 900ms
workload:
  txns: 12
  concurrency: 3
  attempts: 2
  customers: 4
world:
  payments: {maturity: readable, reject_rate: 0.25}
  inventory: {maturity: opaque}
  shipping: {maturity: idempotent, reject_rate: 0}
  rewards_dedupe: false
  call_timeout: 250ms
  initial_stock: 500
faults: lost-response=orders-payments:0.2,partition=300ms
crash_points: after-local-commit:0.1
expect:
  leaked-resource: some
  stuck: any
`

func TestParse(t *testing.T) {
	s, err := Parse("lost.yaml", []byte(valid))
	require.NoError(t, err)
	require.Equal(t, "lost", s.Name)
	require.Equal(t, "Lost answers.", s.Summary())
	require.Equal(t, "lost.yaml", s.File())
	want := Config{
		Runtime: "live", Isolation: "none", Seed: 7, Quiet: 4 * time.Second, CallTimeout: 900 * time.Millisecond,
		Workload: Workload{Txns: 12, Concurrency: 3, Attempts: 2, Customers: 4},
		World: sim.Config{
			Payments:     sim.ResourceConfig{Maturity: sim.Readable, RejectRate: 0.25},
			Inventory:    sim.ResourceConfig{Maturity: sim.Opaque},
			Shipping:     sim.ResourceConfig{Maturity: sim.Idempotent},
			InitialStock: 500, CallTimeout: 250 * time.Millisecond,
			Broker: sim.BrokerLog,
		},
		Faults: "lost-response=orders-payments:0.2,partition=300ms",
	}
	require.Equal(t, want, s.Config)
	require.Equal(t, "after-local-commit:0.1", s.CrashPoints)
	require.Equal(t, Some, s.Expect.Of(checker.LeakedResource))
	require.Equal(t, Any, s.Expect.Of(checker.Stuck))
	require.Equal(t, Zero, s.Expect.Of(checker.LostEvent), "a class not named is expected zero")
}

// TestParseBroker: a scenario can run NATS JetStream as its broker, with
// or without its duplicate window, on the live runtime only.
func TestParseBroker(t *testing.T) {
	js := strings.Replace(valid, "  initial_stock: 500", "  initial_stock: 500\n  broker: jetstream", 1)
	s, err := Parse("lost.yaml", []byte(js))
	require.NoError(t, err)
	require.Equal(t, sim.BrokerJetStream, s.Config.World.Broker)
	require.Nil(t, s.Config.World.DedupeWindow, "JetStream's own window")
	require.Equal(t, sim.DefaultDedupeWindow, s.Config.World.Dedupe())

	s, err = Parse("lost.yaml", []byte(strings.Replace(js, "broker: jetstream", "broker: jetstream\n  dedupe_window: 0s", 1)))
	require.NoError(t, err)
	require.Zero(t, s.Config.World.Dedupe(), "off")

	_, err = Parse("lost.yaml", []byte(strings.Replace(js, "runtime: live", "runtime: det", 1)))
	require.ErrorContains(t, err, "lost.yaml:21: world.broker: jetstream runs on the live runtime only (runtime is det)")
}

// TestParseDefaults: a file with only a name and a description runs
// Default's configuration.
func TestParseDefaults(t *testing.T) {
	s, err := Parse("min.yaml", []byte("name: min\ndescription: The least a scenario says.\n"))
	require.NoError(t, err)
	want := Default()
	want.Pattern = ""
	require.Equal(t, want, s.Config)
	require.Empty(t, s.CrashPoints)
	require.Empty(t, s.Expect)
}

// TestParseErrors: every error names the file, the line, the field, the
// value and what is allowed.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		old, new string // replace old by new in valid
		want     string
	}{
		{"  txns: 12", "  txns: -3", "lost.yaml:10: workload.txns: -3 is not between 1 and 1000000"},
		{"  txns: 12", "  txns: many", `lost.yaml:10: workload.txns: "many" is not an integer`},
		{"  txns: 12", "  txns: 1.5", `lost.yaml:10: workload.txns: "1.5" is not an integer`},
		{"  txns: 12", "  txns:", "lost.yaml:10: workload.txns: empty is not an integer"},
		{"  txns: 12", "  txn: 12", "lost.yaml:10: workload.txn: unknown field (workload takes: txns, concurrency, attempts, customers, resubmit)"},
		{"  concurrency: 3", "  concurrency: 5000", "lost.yaml:11: workload.concurrency: 5000 is not between 1 and 1024"},
		{"  attempts: 2", "  attempts: 0", "lost.yaml:12: workload.attempts: 0 is not between 1 and 100"},
		{"  customers: 4", "  customers: 0", "lost.yaml:13: workload.customers: 0 must be at least 1"},
		{"  customers: 4", "  customers: 4\n  resubmit: 1.5", `lost.yaml:14: workload.resubmit: "1.5" is not a number between 0 and 1`},
		{"  customers: 4", "  customers: 4\n  resubmit: -0.5", `lost.yaml:14: workload.resubmit: "-0.5" is not a number between 0 and 1`},
		{"  customers: 4", "  customers: 4\n  resubmit: .nan", `lost.yaml:14: workload.resubmit: ".nan" is not a number between 0 and 1`},
		{"  customers: 4", "  customers: 4\n  resubmit: twice", `lost.yaml:14: workload.resubmit: "twice" is not a number between 0 and 1`},
		{"seed: 7", "seed: 99999999999999999999", "lost.yaml:5: seed: 99999999999999999999 is out of range (-9223372036854775808 to 9223372036854775807)"},
		{"runtime: live", "runtime: cloud", `lost.yaml:6: runtime: "cloud" is not one of [`},
		{"runtime: live", "runtime: live\nisolation: vm", `lost.yaml:7: isolation: "vm" is not one of [none process]`},
		{"runtime: live", "runtime: det\nisolation: process", `lost.yaml:7: isolation: process runs on the live runtime only (runtime is det)`},
		{"runtime: live", "runtime: live\nisolation: process", ""},
		{"quiet: 4s", "quiet: 4", `lost.yaml:7: quiet: "4" is not a duration such as 250ms or 5s`},
		{"quiet: 4s", "quiet: -1s", "lost.yaml:7: quiet: -1s must be positive"},
		{"call_timeout: 900ms", "call_timeout: 0s", "lost.yaml:8: call_timeout: 0s must be positive"},
		{"{maturity: readable, reject_rate: 0.25}", "{maturity: sometimes}", `lost.yaml:15: world.payments.maturity: "sometimes" is not one of idempotent, readable, opaque`},
		{"{maturity: readable, reject_rate: 0.25}", "{maturity: readable, reject_rate: 1.5}", `lost.yaml:15: world.payments.reject_rate: "1.5" is not a number between 0 and 1`},
		{"{maturity: readable, reject_rate: 0.25}", "{reject_rate: lots}", `lost.yaml:15: world.payments.reject_rate: "lots" is not a number between 0 and 1`},
		{"{maturity: readable, reject_rate: 0.25}", "{reject_rate: .nan}", `lost.yaml:15: world.payments.reject_rate: ".nan" is not a number between 0 and 1`},
		{"{maturity: readable, reject_rate: 0.25}", "{reject_rate: .NaN}", `lost.yaml:15: world.payments.reject_rate: ".NaN" is not a number between 0 and 1`},
		{"{maturity: readable, reject_rate: 0.25}", "{reject_rate: .inf}", `lost.yaml:15: world.payments.reject_rate: ".inf" is not a number between 0 and 1`},
		{"{maturity: readable, reject_rate: 0.25}", "{reject_rate: -.inf}", `lost.yaml:15: world.payments.reject_rate: "-.inf" is not a number between 0 and 1`},
		{"{maturity: readable, reject_rate: 0.25}", "{reject_rate: 1e400}", `lost.yaml:15: world.payments.reject_rate: "1e400" is not a number between 0 and 1`},
		{"faults: lost-response=orders-payments:0.2", "faults: lost-response=nan", `lost.yaml:21: faults: fault "lost-response=nan": rate "nan" is not a number between 0 and 1`},
		{"faults: lost-response=orders-payments:0.2", "faults: lost-response=orders-payments:NaN", `lost.yaml:21: faults: fault "lost-response=orders-payments:NaN": rate "NaN" is not a number between 0 and 1`},
		{"faults: lost-response=orders-payments:0.2", "faults: crash=payments:Inf", `lost.yaml:21: faults: fault "crash=payments:Inf": rate "Inf" is not a number between 0 and 1`},
		{"crash_points: after-local-commit:0.1", "crash_points: after-local-commit:nan", `lost.yaml:22: crash_points: "after-local-commit:nan": rate "nan" is not a number between 0 and 1`},
		{"crash_points: after-local-commit:0.1", `crash_points: "*:NaN"`, `lost.yaml:22: crash_points: "*:NaN": rate "NaN" is not a number between 0 and 1`},
		{"{maturity: readable, reject_rate: 0.25}", "{maturity: readable, reject: 0.25}", "lost.yaml:15: world.payments.reject: unknown field (world.payments takes: maturity, reject_rate, forget_empty_cancel)"},
		{"{maturity: readable, reject_rate: 0.25}", "[readable]", "lost.yaml:15: world.payments: a list is not a mapping of maturity, reject_rate"},
		{"rewards_dedupe: false", "rewards_dedupe: sometimes", `lost.yaml:18: world.rewards_dedupe: "sometimes" is not true or false`},
		{"  call_timeout: 250ms", "  call_timeout: -1s", "lost.yaml:19: world.call_timeout: -1s is negative"},
		{"initial_stock: 500", "initial_stock: -1", "lost.yaml:20: world.initial_stock: -1 is negative"},
		{"initial_stock: 500", "initial_stock: 500\n  broker: kafka", `lost.yaml:21: world.broker: "kafka" is not one of log, jetstream`},
		{"initial_stock: 500", "initial_stock: 500\n  dedupe_window: 1m", "lost.yaml:21: world.dedupe_window: 1m0s: only broker jetstream has a duplicate window (broker is log)"},
		{"initial_stock: 500", "initial_stock: 500\n  broker: jetstream\n  dedupe_window: 50ms", "lost.yaml:22: world.dedupe_window: 50ms is neither 0 (off) nor at least 100ms"},
		{"initial_stock: 500", "initial_stock: 500\n  broker: jetstream\n  dedupe_window: soon", `lost.yaml:22: world.dedupe_window: "soon" is not a duration`},
		{"faults: lost-response=orders-payments:0.2", "faults: lost-response=orders-payments:2", `lost.yaml:21: faults: fault "lost-response=orders-payments:2": rate "2" is not a number between 0 and 1`},
		{"faults: lost-response=orders-payments:0.2", "faults: tornado=1", `lost.yaml:21: faults: fault "tornado=1": unknown fault "tornado"`},
		{"faults: lost-response=orders-payments:0.2", "faults: lost-response=orders-bank:0.2", "lost.yaml:21: faults: fault lost-response=orders-bank:0.2: link orders->bank is not in this world"},
		{"faults: lost-response=orders-payments:0.2", "faults: crashpoint=after-local-commit:0.2", `lost.yaml:21: faults: "crashpoint=after-local-commit:0.2,partition=300ms": crash points belong to a pattern: name them in crash_points`},
		{"crash_points: after-local-commit:0.1", "crash_points: after-local-commit", `lost.yaml:22: crash_points: "after-local-commit" is not POINT:RATE, e.g. after-local-commit:0.2 or *:0.1`},
		{"crash_points: after-local-commit:0.1", "crash_points: after-local-commit:7", `lost.yaml:22: crash_points: "after-local-commit:7": rate "7" is not a number between 0 and 1`},
		{"  leaked-resource: some", "  leaked-resource: few", `lost.yaml:24: expect.leaked-resource: "few" is not one of zero, some, any`},
		{"  leaked-resource: some", "  leaks: some", "lost.yaml:24: expect.leaks: unknown anomaly class (expect takes: " + string(checker.Classes[0])},
		{"  stuck: any", "  leaked-resource: any", "lost.yaml:25: expect.leaked-resource: repeated (first at line 24)"},
		{"seed: 7", "seed: 7\nflavour: mild", "lost.yaml:6: flavour: unknown field (scenario takes: name, description, runtime, isolation, seed, quiet, call_timeout, workload, world, faults, crash_points, schedule, expect)"},
		{"runtime: live", "runtime: live\nschedule: |\n  request 1 of o000001 on orders->payments: lost-response", "lost.yaml:7: schedule: runtime is live: only the det runtime follows a schedule"},
		{"runtime: live", "runtime: det\nschedule: |\n  request 1 of o000001 on orders->payments: lost-response", "lost.yaml:7: schedule: given with faults or crash_points: a schedule names every fault of the run; give one or the other"},
		{"runtime: live", "runtime: det\nschedule: |\n  request first of o000001 on orders->payments: lost-response", `lost.yaml:7: schedule: schedule line 1 "request first of o000001 on orders->payments: lost-response": "request first of o000001 on orders->payments" is not a site`},
		{"runtime: live", "runtime: det\nschedule: [lost-response]", "lost.yaml:7: schedule: a list is not a string"},
		{"name: lost", "name: Lost Responses", `lost.yaml:1: name: "Lost Responses" is not lowercase letters, digits and dashes`},
		{"name: lost", "nom: lost", "lost.yaml:1: nom: unknown field"},
		{"name: lost\n", "", "lost.yaml:1: name: missing"},
		{"description: |\n  Lost answers.\n  More about them.\n", "description: ''\n", "lost.yaml:1: description: missing"},
		{"expect:", "expect: [leaked-resource]\nignored:", "lost.yaml:23: expect: a list is not a mapping of"},
		{"name: lost", "name: [lost]", `lost.yaml:1: name: a list is not a string`},
		{"world:", "world: &w", ""}, // an anchor is fine
		{"  stuck: any", "  stuck: any\n---\nname: second", "lost.yaml:26: a second YAML document: a file holds one scenario"},
		{"name: lost", "name: lost\n\tbad", "lost.yaml: yaml: line 2: found a tab character"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			require.Contains(t, valid, tt.old)
			_, err := Parse("lost.yaml", []byte(strings.Replace(valid, tt.old, tt.new, 1)))
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestParseNotAScenario(t *testing.T) {
	for input, want := range map[string]string{
		"":                   "x.yaml: empty file: a scenario needs at least a name and a description",
		"hello":              `x.yaml:1: scenario: "hello" is not a mapping of name, description`,
		"[1, 2]":             "x.yaml:1: scenario: a list is not a mapping of name",
		"? [a]\n: b\n":       "x.yaml:1: scenario: a key is a list, not a field",
		"a: &x 1\nb: *y\n":   `x.yaml: yaml: unknown anchor 'y' referenced`,
		"name: a\nname: b":   "x.yaml:2: name: repeated (first at line 1)",
		"# only a comment\n": "x.yaml: empty file",
	} {
		t.Run(want, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(input))
			require.Error(t, err)
			require.Contains(t, err.Error(), want)
		})
	}
}

func TestParseAlias(t *testing.T) {
	s, err := Parse("a.yaml", []byte(`name: a
description: aliases resolve
world:
  payments: &svc {maturity: readable, reject_rate: 0.1}
  inventory: *svc
`))
	require.NoError(t, err)
	require.Equal(t, sim.ResourceConfig{Maturity: sim.Readable, RejectRate: 0.1}, s.Config.World.Inventory)
}

func TestExpectationsCheck(t *testing.T) {
	report := func(counts map[checker.Class]int, unchecked ...checker.Class) checker.Report {
		r := checker.Report{Anomalies: map[checker.Class]checker.Finding{}, Unchecked: unchecked}
		for _, c := range checker.Classes {
			r.Anomalies[c] = checker.Finding{Count: counts[c]}
		}
		r.Anomalies[checker.LostEvent] = checker.Finding{Count: counts[checker.LostEvent], Examples: []string{"order o1: no credit"}}
		return r
	}
	e := Expectations{checker.LostEvent: Some, checker.Stuck: Any}
	require.Empty(t, e.Check(report(map[checker.Class]int{checker.LostEvent: 2, checker.Stuck: 3})))
	require.Empty(t, e.Check(report(map[checker.Class]int{checker.LostEvent: 1}, checker.Stuck)), "any accepts a class not judged")

	misses := e.Check(report(map[checker.Class]int{checker.LeakedResource: 1}))
	require.Len(t, misses, 2)
	require.Equal(t, "leaked-resource: want zero, found 1", misses[0].String())
	require.Equal(t, "lost-event: want some, found none\n    e.g. order o1: no credit", misses[1].String())

	misses = Expectations{}.Check(report(map[checker.Class]int{checker.LostEvent: 1}, checker.Stuck))
	require.Len(t, misses, 2)
	require.Equal(t, "lost-event: want zero, found 1\n    e.g. order o1: no credit", misses[0].String())
	require.Equal(t, "stuck: want zero, not judged", misses[1].String(), "zero needs the class judged")
}

// TestBuiltins: every built-in scenario parses, is named after its file,
// has a one-line summary, and fits every registered pattern.
func TestBuiltins(t *testing.T) {
	all := Builtins()
	require.GreaterOrEqual(t, len(all), 8)
	for _, s := range all {
		t.Run(s.Name, func(t *testing.T) {
			require.Equal(t, "builtin/"+s.Name+".yaml", s.File())
			require.NotEmpty(t, s.Summary())
			require.Less(t, len(s.Summary()), 130, "the summary is one line of `txchaos list`")
			require.Greater(t, len(s.Description), len(s.Summary()), "the description explains the summary")
			got, err := Builtin(s.Name)
			require.NoError(t, err)
			require.Equal(t, s.Name, got.Name)
			for _, spec := range patterns.All() {
				cfg, err := s.ConfigFor(spec)
				require.NoError(t, err, spec.Name)
				require.Equal(t, spec.Name, cfg.Pattern)
				require.Equal(t, s.Name, cfg.Scenario)
			}
		})
	}
	_, err := Builtin("nope")
	require.ErrorContains(t, err, `scenario "nope" is not built in (built-in: `)
}

func TestConfigForCrashPoints(t *testing.T) {
	spec := patterns.Spec{Name: "p", CrashPoints: []string{"after-a", "after-b"}, New: func() sim.Service { return nil }}
	bare := patterns.Spec{Name: "bare", New: func() sim.Service { return nil }}
	base := "name: c\ndescription: crash points\nfaults: lost-response=0.1\n"
	tests := []struct {
		points string
		spec   patterns.Spec
		want   string
		err    string
	}{
		{"", spec, "lost-response=0.1", ""},
		{"after-b:0.2", spec, "lost-response=0.1,crashpoint=after-b:0.2", ""},
		{"*:0.1", spec, "lost-response=0.1,crashpoint=after-a:0.1,crashpoint=after-b:0.1", ""},
		{"after-c:0.2", spec, "", `c.yaml:4: crash_points: "after-c:0.2": crash point "after-c" is not one of pattern p's: after-a, after-b (or * for each of them)`},
		{"*:0.1", bare, "", `c.yaml:4: crash_points: "*:0.1": pattern bare declares no crash points`},
	}
	for _, tt := range tests {
		t.Run(tt.points, func(t *testing.T) {
			data := base
			if tt.points != "" {
				data += "crash_points: \"" + tt.points + "\"\n"
			}
			s, err := Parse("c.yaml", []byte(data))
			require.NoError(t, err)
			cfg, err := s.ConfigFor(tt.spec)
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, cfg.Faults)
		})
	}
}

func TestLoadAndFind(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mine.yaml")
	require.NoError(t, os.WriteFile(file, []byte("name: mine\ndescription: my own\nworkload: {txns: 0}\n"), 0o644))
	_, err := Find(file)
	require.EqualError(t, err, file+":3: workload.txns: 0 is not between 1 and 1000000")

	require.NoError(t, os.WriteFile(file, []byte("name: mine\ndescription: my own\n"), 0o644))
	s, err := Find(file)
	require.NoError(t, err)
	require.Equal(t, "mine", s.Name)

	s, err = Find("lost-responses")
	require.NoError(t, err)
	require.Equal(t, "builtin/lost-responses.yaml", s.File())

	_, err = Find(filepath.Join(dir, "absent.yaml"))
	require.ErrorContains(t, err, "no such file")
}

// FuzzParse: no input makes Parse panic, and what it accepts is a valid
// scenario.
func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	for _, s := range Builtins() {
		data, err := builtinFS.ReadFile(s.File())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if !nameRE.MatchString(s.Name) || strings.TrimSpace(s.Description) == "" {
			t.Fatalf("accepted a scenario without a valid name and description: %+v", s)
		}
		standard := patterns.Spec{Name: "x", New: func() sim.Service { return nil }}
		if err := s.Config.validate(standard); err != nil {
			t.Fatalf("accepted an invalid configuration: %v", err)
		}
		w := s.Config.World
		for _, r := range []float64{w.Payments.RejectRate, w.Inventory.RejectRate, w.Shipping.RejectRate} {
			if !(r >= 0 && r <= 1) {
				t.Fatalf("accepted a reject rate of %v", r)
			}
		}
		p, err := faults.Parse(s.Config.Faults)
		if err != nil {
			t.Fatalf("accepted faults that do not parse: %v", err)
		}
		points, err := faults.Parse(expandAll(s.CrashPoints))
		if err != nil {
			t.Fatalf("accepted crash points that do not parse: %v", err)
		}
		for _, f := range append(p, points...) {
			if !(f.Rate >= 0 && f.Rate <= 1) || f.Duration < 0 {
				t.Fatalf("accepted fault %s", f)
			}
		}
	})
}

// expandAll is crash points "POINT:RATE,..." as crashpoint faults, "*"
// standing for a point of its own.
func expandAll(crashPoints string) string {
	if crashPoints == "" {
		return ""
	}
	var out []string
	for _, entry := range strings.Split(crashPoints, ",") {
		out = append(out, "crashpoint="+strings.TrimSpace(entry))
	}
	return strings.Join(out, ",")
}
