package scenarios

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
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

// Det is the scenario on the det runtime with the given seed: the same
// services and patterns in one process under a seeded scheduler and a
// virtual clock, so that a run takes a fraction of a second and replays
// from its seed. Built-in scenarios run on the live runtime unless made
// det:
//
//	sc, err := scenarios.Builtin("lost-responses")
//	...
//	scenarios.Run(t, mypattern.Spec(), sc.Det(7))
//
// A scenario the det runtime cannot run (the JetStream broker) is refused
// by ConfigFor, naming the field.
func (s Scenario) Det(seed int64) Scenario {
	s.Config.Runtime = "det"
	s.Config.Seed = seed
	return s
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
