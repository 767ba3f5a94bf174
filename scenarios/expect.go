package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/patterns"
)

// Expect is an expectation of one anomaly class's count.
type Expect string

// The expectations.
const (
	// Zero: the class was judged and counts no anomaly.
	Zero Expect = "zero"
	// Some: the class counts at least one anomaly.
	Some Expect = "some"
	// Any: whatever the class counts, judged or not.
	Any Expect = "any"
)

// Expects lists the expectations, for help texts and validation.
var Expects = []Expect{Zero, Some, Any}

// Expectations are expectations by anomaly class. A class they do not
// name is expected Zero.
type Expectations map[checker.Class]Expect

// Of is the expectation of class c.
func (e Expectations) Of(c checker.Class) Expect {
	if x, ok := e[c]; ok {
		return x
	}
	return Zero
}

// Miss is an expectation a report did not meet.
type Miss struct {
	Class checker.Class
	Want  Expect
	// Finding is what the report found; Unchecked says the class could
	// not be judged at all.
	Finding   checker.Finding
	Unchecked bool
}

// String says what was expected and what was found, with the examples.
func (m Miss) String() string {
	var got string
	switch {
	case m.Unchecked:
		got = "not judged"
	case m.Finding.Count == 0:
		got = "found none"
	default:
		got = fmt.Sprintf("found %d", m.Finding.Count)
	}
	s := fmt.Sprintf("%s: want %s, %s", m.Class, m.Want, got)
	for _, ex := range m.Finding.Examples {
		s += "\n    e.g. " + ex
	}
	return s
}

// Check returns the expectations r does not meet, in the order of
// checker.Classes. A class r could not judge meets only Any.
func (e Expectations) Check(r checker.Report) []Miss {
	var out []Miss
	for _, c := range checker.Classes {
		want := e.Of(c)
		f := r.Anomalies[c]
		unchecked := slices.Contains(r.Unchecked, c)
		ok := want == Any ||
			(want == Zero && !unchecked && f.Count == 0) ||
			(want == Some && f.Count > 0)
		if !ok {
			out = append(out, Miss{Class: c, Want: want, Finding: f, Unchecked: unchecked})
		}
	}
	return out
}

// Allowed lists the classes e allows a run to show (expected some or
// any), in checker.Classes order: what a pattern may show under a
// scenario. A user's own suite reads them instead of copying them:
//
//	spec, _ := patterns.Lookup("fallback-queue")
//	sc, _ := scenarios.Builtin("crash-between-commit-and-publish")
//	want, err := sc.ExpectFor(spec)
//	... want.Allowed() // lost-event, not-conserved, stuck, unconverged-read
func (e Expectations) Allowed() []checker.Class {
	var out []checker.Class
	for _, c := range checker.Classes {
		if x := e.Of(c); x == Some || x == Any {
			out = append(out, c)
		}
	}
	return out
}

// ExpectFor is what spec is expected to show under s, for every class of
// checker.Classes: s's expectations (those of a pattern that survives it),
// overridden by spec.Expect's entry for s when it has one. For a
// registered pattern under a built-in scenario that entry is its line of
// the expectation matrix (patterns.ExpectationsFile). It fails on an
// entry that does not parse, naming the class or value and what is
// allowed.
func (s Scenario) ExpectFor(spec patterns.Spec) (Expectations, error) {
	line, ok := spec.Expect[s.Name]
	if !ok {
		line = "-"
	}
	e, err := resolveExpect(line, s.Expect)
	if err != nil {
		return nil, fmt.Errorf("pattern %s under scenario %s: %w", spec.Name, s.Name, err)
	}
	return e, nil
}

// resolveExpect reads a line of expectations ("CLASS=EXPECT ...", "*=EXPECT",
// "-") over base: every class of checker.Classes gets the line's entry,
// else its *=EXPECT, else base's expectation.
func resolveExpect(line string, base Expectations) (Expectations, error) {
	named := Expectations{}
	rest := Expect("")
	for _, f := range strings.Fields(line) {
		if f == "-" {
			continue
		}
		class, want, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not CLASS=EXPECT, *=EXPECT or -", f)
		}
		if !slices.Contains(Expects, Expect(want)) {
			return nil, fmt.Errorf("%q: %q is not one of zero, some, any", f, want)
		}
		if class == "*" {
			rest = Expect(want)
			continue
		}
		if !slices.Contains(checker.Classes, checker.Class(class)) {
			return nil, fmt.Errorf("%q: %q is not an anomaly class (classes: %s)", f, class, classList())
		}
		named[checker.Class(class)] = Expect(want)
	}
	out := Expectations{}
	for _, c := range checker.Classes {
		switch x, ok := named[c]; {
		case ok:
			out[c] = x
		case rest != "":
			out[c] = rest
		default:
			out[c] = base.Of(c)
		}
	}
	return out, nil
}

func classList() string {
	var names []string
	for _, c := range checker.Classes {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ")
}
