package explore_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/explore"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/scenarios"
)

// baselines are the patterns that promise nothing (patterns/README.md):
// every scenario breaks them.
var baselines = []string{"naive-dual-write", "blind-retry"}

// TestDetExhaustiveAgreesWithPromises holds every shipped pattern's
// exhaustive exploration of one order under every single fault to what
// the expectation matrix (patterns/expectations.txt) says of it: a
// pattern that survives every built-in scenario is clean; a baseline has
// a counterexample; any other shows only classes its lines allow. A clean
// one was tried at every working site of its fault-free run, with more
// than one fault kind at each (every pair of faults takes minutes:
// patterns/README.md gives them, measured). Under
// the race detector it explores a sample (make test runs it in full
// without).
func TestDetExhaustiveAgreesWithPromises(t *testing.T) {
	for _, s := range patterns.All() {
		if raceDetector && !slices.Contains([]string{"naive-dual-write", "fallback-queue"}, s.Name) {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			survives, allowed := promise(t, s)
			res, err := explore.Exhaustive(t.Context(), s, explore.Bound{Orders: 1, MaxFaults: 1}, explore.Options{Parallel: 1})
			require.NoError(t, err)
			t.Log(res.Summary())
			assert.Zero(t, res.Unknown)
			ce := res.Counterexample
			switch {
			case survives:
				assert.Nil(t, ce, "%s survives every built-in scenario: it must be clean within the bound", s.Name)
				assert.Equal(t, []int{1, res.Runs - 1}, res.Levels)
				assert.Greater(t, res.Levels[1], res.Sites-res.Idle, "more than one fault kind per working site")
				assert.Equal(t, res.Sites-res.Idle, res.Tried, "a fault at every working site of the fault-free run")
			case slices.Contains(baselines, s.Name):
				assert.NotNil(t, ce, "a baseline must fail within the bound")
			}
			if ce != nil {
				for _, c := range ce.Classes {
					assert.True(t, allowed[c], "%s shows %s under %v: no line of the expectation matrix allows it", s.Name, c, ce.Schedule.Lines(false))
				}
			}
		})
	}
}

// promise reads the expectation matrix for s: whether it survives every
// built-in scenario (each line is what the scenario itself expects), and
// the classes some line allows it to show beyond what the scenario
// expects of a pattern that survives it.
func promise(t *testing.T, s patterns.Spec) (survives bool, allowed map[checker.Class]bool) {
	t.Helper()
	survives, allowed = true, map[checker.Class]bool{}
	for _, e := range patterns.ExpectationMatrix() {
		if e.Pattern != s.Name {
			continue
		}
		sc, err := scenarios.Builtin(e.Scenario)
		require.NoError(t, err)
		if e.Classes != "-" {
			survives = false
		}
		want, err := sc.ExpectFor(s)
		require.NoError(t, err)
		own, err := sc.ExpectFor(patterns.Spec{Name: "(a pattern that survives it)"})
		require.NoError(t, err)
		ownAllowed := own.Allowed()
		for _, c := range want.Allowed() {
			if !slices.Contains(ownAllowed, c) {
				allowed[c] = true
			}
		}
	}
	return survives, allowed
}

// A broken participant is caught: a consumer that commits its inbox row
// and its credit in two transactions loses the event when it crashes
// between them, which an outbox otherwise survives. Its exploration takes
// tens of seconds under the race detector: it is left to make test's pass
// without.
func TestDetExhaustiveCatchesBrokenConsumer(t *testing.T) {
	if raceDetector {
		t.Skip("tens of seconds under -race: make test runs it without")
	}
	cfg := explore.Default()
	cfg.World.RewardsSplitInbox = true
	res, err := explore.Exhaustive(t.Context(), spec(t, "outbox"), explore.Bound{Orders: 1, MaxFaults: 1}, explore.Options{Config: &cfg})
	require.NoError(t, err)
	ce := res.Counterexample
	require.NotNil(t, ce, res.Summary())
	assert.Contains(t, ce.Classes, checker.LostEvent)
	require.Len(t, ce.Schedule, 1)
	assert.Regexp(t, `^commit \d+ of rewards: crash-commit after$`, ce.Schedule[0].String())
}
