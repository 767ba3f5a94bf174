package patterns

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/sim"
)

// TestExpectationMatrixLines reads the embedded matrix: every line has a
// pattern, a scenario and expectations, and a repeated cell is refused.
func TestExpectationMatrixLines(t *testing.T) {
	lines := ExpectationMatrix()
	require.NotEmpty(t, lines)
	for _, e := range lines {
		require.NotEmpty(t, e.Pattern)
		require.NotEmpty(t, e.Scenario)
		require.NotEmpty(t, e.Classes, "%s:%d", ExpectationsFile, e.Line)
	}
	got := mustReadExpectations("# header\np s  lost-event=some  # why\n\nq s -\n")
	require.Equal(t, []Expectation{
		{Pattern: "p", Scenario: "s", Classes: "lost-event=some", Why: "why", Line: 2},
		{Pattern: "q", Scenario: "s", Classes: "-", Line: 4},
	}, got)
	require.PanicsWithValue(t, ExpectationsFile+":2: p × s already at line 1", func() { mustReadExpectations("p s -\np s -\n") })
	require.PanicsWithValue(t, ExpectationsFile+":1: want PATTERN SCENARIO EXPECTATIONS (or -)", func() { mustReadExpectations("p s\n") })
}

// TestRegisterTakesExpectFromTheMatrix: a registered pattern's Expect is
// its lines of the matrix, and one that brings its own is refused.
func TestRegisterTakesExpectFromTheMatrix(t *testing.T) {
	name := matrix[0].Pattern
	defer func(s Spec, ok bool) {
		if ok {
			registry[name] = s
		} else {
			delete(registry, name)
		}
	}(registry[name], registry[name].Name != "")
	delete(registry, name)
	s := Spec{Name: name, Summary: "s", New: func() sim.Service { return nil }}
	Register(s)
	got, err := Lookup(name)
	require.NoError(t, err)
	require.Equal(t, expectOf(name), got.Expect)
	require.Equal(t, matrix[0].Classes, got.Expect[matrix[0].Scenario])

	delete(registry, name)
	s.Expect = map[string]string{"lost-responses": "-"}
	require.PanicsWithValue(t, "patterns: "+name+" sets Expect: a registered pattern's expectations are its lines of "+ExpectationsFile, func() { Register(s) })
}
