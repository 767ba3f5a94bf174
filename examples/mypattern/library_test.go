package mypattern_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/examples/mypattern"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/scenarios"
	"github.com/txchaos/txchaos/sim"
)

// TestEagerOutboxOnDet: one call, Scenario.Det, makes a built-in scenario
// run on the det runtime with a seed — a fraction of a second a run, and
// the same run again from the same seed.
func TestEagerOutboxOnDet(t *testing.T) {
	for _, name := range []string{"lost-responses", "crash-between-commit-and-publish", "broker-outage"} {
		t.Run(name, func(t *testing.T) {
			sc, err := scenarios.Builtin(name)
			require.NoError(t, err)
			require.Equal(t, "live", sc.Config.Runtime, "built-in scenarios are live unless made det")
			res := scenarios.Run(t, mypattern.Spec(), sc.Det(7))
			require.Equal(t, "det", res.Config.Runtime)
			require.EqualValues(t, 7, res.Config.Seed)
			again := scenarios.Run(t, mypattern.Spec(), sc.Det(7))
			require.Equal(t, res.History, again.History, "same seed, same run")
		})
	}
}

// TestServicesReplaceAStandardNode plugs a broken participant into the
// world through Spec.Services: payments, made from the run's world
// configuration, that lost its idempotency in a release — it still
// declines the cards the configured reject rate declines, but no longer
// recognises a caller's key. The pattern trusts the key, so a retry after
// a lost answer charges again: scenarios.Run catches it as
// duplicate-effect, where the standard payments shows none.
func TestServicesReplaceAStandardNode(t *testing.T) {
	var made []sim.Config
	spec := mypattern.Spec()
	spec.Services = map[string]func(sim.Config) sim.Service{
		sim.Payments: func(cfg sim.Config) sim.Service {
			made = append(made, cfg)
			c := cfg.Payments
			c.Maturity = sim.Readable // the release's regression: keys ignored
			return sim.NewResourceService(sim.Payments, c, cfg.Seed, 0)
		},
	}
	sc, err := scenarios.Builtin("lost-responses")
	require.NoError(t, err)
	sc = sc.Det(3)
	sc.Config.Faults = "lost-response=orders-payments:0.5"

	rec := &recorder{TB: t}
	res := scenarios.Run(rec, spec, sc)
	dup := res.Report.Anomalies[checker.DuplicateEffect]
	require.Positive(t, dup.Count, res.Report.String())
	require.Len(t, rec.errors, 1)
	require.Contains(t, rec.errors[0], "duplicate-effect: want zero, found")
	require.Positive(t, res.Report.Metrics.Rejected, "the replacement declines cards as configured")

	require.NotEmpty(t, made)
	want := sc.Config.World
	want.Seed = 3
	for _, cfg := range made {
		require.Equal(t, want, cfg, "the constructor gets the run's world configuration, its seed included")
	}

	clean := scenarios.Run(t, mypattern.Spec(), sc) // the standard payments: the same run shows no duplicate
	require.Zero(t, clean.Report.Anomalies[checker.DuplicateEffect].Count)
}

// TestRegisterInTestsReturnsAnError: a user's tests that register their
// pattern — in a loop, or in two tests of one binary — get an error to
// check, not a panic.
func TestRegisterInTestsReturnsAnError(t *testing.T) {
	spec := mypattern.Spec()
	spec.Name = "eager-outbox-registered-by-a-test"
	require.NoError(t, patterns.Register(spec))
	for range 2 {
		require.ErrorIs(t, patterns.Register(spec), patterns.ErrRegistered)
	}
	got, err := patterns.Lookup(spec.Name)
	require.NoError(t, err)
	require.Equal(t, spec.Summary, got.Summary)
}
