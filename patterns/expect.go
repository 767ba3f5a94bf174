package patterns

import (
	_ "embed"
	"fmt"
	"strings"
)

// ExpectationsFile is the expectation matrix, in the repository: what
// every registered pattern is expected to show under every built-in
// scenario, one line per pattern and scenario. It is embedded in the
// binary; Register fills each pattern's Spec.Expect from it, and package
// scenarios resolves and asserts it. Its comment header says how to read
// a line.
const ExpectationsFile = "patterns/expectations.txt"

//go:embed expectations.txt
var expectationsText string

// Expectation is one line of the expectation matrix.
type Expectation struct {
	Pattern, Scenario string
	// Classes is the line's expectations as written: CLASS=EXPECT
	// entries, *=EXPECT for every class it does not name, or "-" for
	// none (the pattern shows what the scenario expects).
	Classes string
	// Why is the line's comment, Line its line in ExpectationsFile.
	Why  string
	Line int
}

// matrix is the expectation matrix, read once.
var matrix = mustReadExpectations(expectationsText)

// ExpectationMatrix lists every line of the expectation matrix, in the
// file's order.
func ExpectationMatrix() []Expectation { return append([]Expectation(nil), matrix...) }

// mustReadExpectations reads the matrix's lines. It panics on a line that
// is not PATTERN SCENARIO EXPECTATIONS or repeats a pattern and scenario:
// the file is part of the binary and tested. The classes and expectations
// themselves are checked by package scenarios, which knows them.
func mustReadExpectations(text string) []Expectation {
	var out []Expectation
	seen := map[[2]string]int{}
	for n, line := range strings.Split(text, "\n") {
		body, why, _ := strings.Cut(line, "#")
		fields := strings.Fields(body)
		if len(fields) == 0 {
			continue
		}
		at := fmt.Sprintf("%s:%d", ExpectationsFile, n+1)
		if len(fields) < 3 {
			panic(at + ": want PATTERN SCENARIO EXPECTATIONS (or -)")
		}
		key := [2]string{fields[0], fields[1]}
		if first, dup := seen[key]; dup {
			panic(fmt.Sprintf("%s: %s × %s already at line %d", at, key[0], key[1], first))
		}
		seen[key] = n + 1
		out = append(out, Expectation{Pattern: fields[0], Scenario: fields[1], Classes: strings.Join(fields[2:], " "),
			Why: strings.TrimSpace(why), Line: n + 1})
	}
	return out
}

// expectOf is pattern's lines of the matrix as a Spec.Expect; nil when it
// has none.
func expectOf(pattern string) map[string]string {
	var out map[string]string
	for _, e := range matrix {
		if e.Pattern != pattern {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[e.Scenario] = e.Classes
	}
	return out
}
