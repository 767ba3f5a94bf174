package scenarios_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/scenarios"
)

// A suite of one's own reads what a pattern may show under a scenario
// from the expectation matrix instead of copying it.
func ExampleScenario_ExpectFor() {
	spec, _ := patterns.Lookup("fallback-queue")
	sc, _ := scenarios.Builtin("crash-between-commit-and-publish")
	want, err := sc.ExpectFor(spec)
	if err != nil {
		panic(err)
	}
	fmt.Println("may show:", want.Allowed())
	fmt.Println("lost-event:", want.Of(checker.LostEvent), "leaked-resource:", want.Of(checker.LeakedResource))
	// Output:
	// may show: [lost-event not-conserved stuck unconverged-read]
	// lost-event: some leaked-resource: zero
}

func TestExpectFor(t *testing.T) {
	builtin := func(name string) scenarios.Scenario {
		sc, err := scenarios.Builtin(name)
		require.NoError(t, err)
		return sc
	}
	outbox, err := patterns.Lookup("outbox")
	require.NoError(t, err)
	naive, err := patterns.Lookup("naive-dual-write")
	require.NoError(t, err)

	// A line of "-": what the scenario expects of a pattern that survives it.
	want, err := builtin("duplicate-delivery").ExpectFor(outbox)
	require.NoError(t, err)
	require.Equal(t, []checker.Class{checker.DuplicateConsumerEffect, checker.NotConserved, checker.UnconvergedRead}, want.Allowed())
	require.Equal(t, scenarios.Some, want.Of(checker.DuplicateConsumerEffect))
	require.Len(t, want, len(checker.Classes), "every class resolved")

	// Named classes, and *=any for the rest.
	want, err = builtin("lost-responses").ExpectFor(naive)
	require.NoError(t, err)
	require.Equal(t, scenarios.Some, want.Of(checker.LeakedResource))
	require.Equal(t, scenarios.Any, want.Of(checker.GhostEvent))
	require.Equal(t, checker.Classes, want.Allowed())

	// A pattern of one's own: its Expect, or the scenario's.
	mine := patterns.Spec{Name: "mine", Expect: map[string]string{"lost-responses": "stuck=any"}}
	want, err = builtin("lost-responses").ExpectFor(mine)
	require.NoError(t, err)
	require.Equal(t, []checker.Class{checker.Stuck}, want.Allowed())
	want, err = builtin("broker-outage").ExpectFor(mine)
	require.NoError(t, err)
	require.Empty(t, want.Allowed())

	for line, msg := range map[string]string{
		"stuck":          `"stuck" is not CLASS=EXPECT, *=EXPECT or -`,
		"stuck=often":    `"stuck=often": "often" is not one of zero, some, any`,
		"tornado=some":   `"tornado=some": "tornado" is not an anomaly class (classes: leaked-resource, `,
		"lost-event=any": "",
	} {
		bad := patterns.Spec{Name: "mine", Expect: map[string]string{"lost-responses": line}}
		_, err := builtin("lost-responses").ExpectFor(bad)
		if msg == "" {
			require.NoError(t, err)
			continue
		}
		require.ErrorContains(t, err, "pattern mine under scenario lost-responses: "+msg)
	}
}
