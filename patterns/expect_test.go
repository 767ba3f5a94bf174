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
	require.NoError(t, Register(s))
	got, err := Lookup(name)
	require.NoError(t, err)
	require.Equal(t, expectOf(name), got.Expect)
	require.Equal(t, matrix[0].Classes, got.Expect[matrix[0].Scenario])

	delete(registry, name)
	s.Expect = map[string]string{"lost-responses": "-"}
	require.EqualError(t, Register(s), "patterns: Register: pattern "+name+" sets Expect, but its expectations are its lines of "+ExpectationsFile)
}

// TestRegisterReturnsErrors: registering a name twice — a user's test that
// registers its pattern in a loop, or in two tests of one binary — is an
// error to check (ErrRegistered), not a panic; so are an incomplete spec
// and one whose Services name orders. A pattern the matrix does not know
// keeps its own Expect.
func TestRegisterReturnsErrors(t *testing.T) {
	const name = "my-own-pattern"
	defer delete(registry, name)
	s := Spec{Name: name, Summary: "a user's pattern", New: func() sim.Service { return nil },
		Expect: map[string]string{"lost-responses": "duplicate-effect=any"}}
	for i := range 3 {
		err := Register(s)
		if i == 0 {
			require.NoError(t, err)
			continue
		}
		require.ErrorIs(t, err, ErrRegistered)
		require.EqualError(t, err, "patterns: Register: pattern my-own-pattern: already registered (a pattern need not be registered to be run: scenarios.Run and scenarios.ExecuteSpec take its Spec)")
	}
	got, err := Lookup(name)
	require.NoError(t, err)
	require.Equal(t, s.Expect, got.Expect, "a pattern the matrix has no line for keeps its own expectations")

	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{Name: "x", Summary: "s"}, `patterns: Register: pattern "x" needs a Name, a Summary and New`},
		{Spec{Name: "x", Summary: "s", New: s.New, Reads: "sometimes"}, `patterns: Register: pattern x: Reads "sometimes" is not a read model`},
		{Spec{Name: "x", Summary: "s", New: s.New, Services: map[string]func(sim.Config) sim.Service{sim.Orders: nil}}, "patterns: Register: pattern x: Services names orders, which is New's"},
	}
	for _, tt := range tests {
		err := Register(tt.spec)
		require.ErrorContains(t, err, tt.want)
		require.NotErrorIs(t, err, ErrRegistered)
	}
	_, err = Lookup("x")
	require.Error(t, err, "nothing refused is registered")
	require.Panics(t, func() { MustRegister(s) }, "MustRegister, for init functions, panics on the error")
}
