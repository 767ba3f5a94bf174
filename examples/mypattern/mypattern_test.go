package mypattern_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/examples/mypattern"
	"github.com/txchaos/txchaos/explore"
	"github.com/txchaos/txchaos/scenarios"
)

// TestMain serves a node when a run with isolation process started this
// test binary as one: it must know the pattern, which is not registered.
// Otherwise it runs the tests and checks that no run leaves a goroutine
// behind.
func TestMain(m *testing.M) {
	scenarios.NodeMain(mypattern.Spec())
	goleak.VerifyTestMain(m)
}

// TestEagerOutbox is how a pattern written outside txchaos is tested: one
// scenarios.Run per built-in scenario its design claims to survive. Run
// fails the test with the classes the pattern missed and their examples.
func TestEagerOutbox(t *testing.T) {
	for _, name := range []string{"lost-responses", "crash-between-commit-and-publish", "broker-outage"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc, err := scenarios.Builtin(name)
			require.NoError(t, err)
			scenarios.Run(t, mypattern.Spec(), sc)
		})
	}
}

// TestEagerOutboxInProcesses runs the pattern with every service an OS
// process of its own (orders, the pattern's code, among them): a crash is
// SIGKILL and a restart a new process on the same files. The outbox
// survives it as it survives a crash in one process.
func TestEagerOutboxInProcesses(t *testing.T) {
	sc, err := scenarios.Builtin("crash-between-commit-and-publish")
	require.NoError(t, err)
	sc.Config.Isolation = "process"
	res := scenarios.Run(t, mypattern.Spec(), sc)
	require.Positive(t, res.Faults().Counts["crash-point orders"], "orders was killed at its crash point")
}

// TestBrokenRelayIsCaught plants a bug — the relay skips every 10th
// event — and checks that scenarios.Run fails the test for it, naming the
// right class: lost-event.
func TestBrokenRelayIsCaught(t *testing.T) {
	sc, err := scenarios.Builtin("business-rejections") // no faults: the bug alone
	require.NoError(t, err)
	rec := &recorder{TB: t}
	res := scenarios.Run(rec, mypattern.Broken(10), sc)

	lost := res.Report.Anomalies[checker.LostEvent]
	require.Positive(t, lost.Count, res.Report.String())
	require.Len(t, rec.errors, 1, "Run failed the test once, for the missed expectations")
	msg := rec.errors[0]
	require.Contains(t, msg, "pattern eager-outbox-broken under scenario business-rejections missed")
	require.Contains(t, msg, fmt.Sprintf("lost-event: want zero, found %d", lost.Count))
	require.Contains(t, msg, "e.g. "+lost.Examples[0], "the failure shows the checker's examples")
	require.Contains(t, msg, "histories (kept with go test -artifacts): ", "the customer short of points has a porcupine history to open")
	for _, c := range []checker.Class{checker.LeakedResource, checker.PartialCommit, checker.DuplicateEffect} {
		require.NotContains(t, msg, string(c)+": want", "only the bug's classes fail")
	}
	t.Logf("what Run reported:\n%s", msg)
}

// recorder is a testing.TB that records the failures it is given instead
// of failing the test, so that a test can check what Run reports.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// FailNow is an unexpected stop (a run that did not complete): fail the
// real test with what was recorded.
func (r *recorder) FailNow() {
	r.TB.Fatalf("stopped: %s", strings.Join(r.errors, "\n"))
}

// TestExploreAndShrinkUnregistered explores and shrinks a pattern that is
// not registered, by its Spec: swarm exploration on det finds the planted
// bug, and shrinking keeps it while making the run smaller.
func TestExploreAndShrinkUnregistered(t *testing.T) {
	spec := mypattern.Broken(10)
	base := scenarios.ExploreDefault()
	base.Workload.Txns = 30
	exp, err := scenarios.ExploreSpec(t.Context(), spec, base, scenarios.ExploreOptions{Seeds: 3, Swarm: true, StopAtFirst: true})
	require.NoError(t, err)
	var lost *scenarios.FirstFailure
	for i, f := range exp.Failures {
		if f.Class == checker.LostEvent {
			lost = &exp.Failures[i]
		}
	}
	require.NotNil(t, lost, "explore finds the lost events: %+v", exp.Failures)
	require.Equal(t, spec.Name, lost.Result.Config.Pattern)
	require.NotEmpty(t, lost.Result.Config.Faults, "the seed's drawn profile is in its configuration")

	small, res, err := scenarios.ShrinkSpec(t.Context(), spec, lost.Result.Config, checker.LostEvent, scenarios.ShrinkOptions{MaxRuns: 25})
	require.NoError(t, err)
	require.Positive(t, res.Report.Anomalies[checker.LostEvent].Count)
	require.Less(t, small.Workload.Txns, lost.Result.Config.Workload.Txns, "fewer orders still lose an event")
}

// TestEagerOutboxExhaustive states what a sample of seeds cannot: the
// pattern is clean for one order under every single fault at every site
// where its run does work (explore.Clean fails the test with the first
// schedule that is not). Every pair of faults, MaxFaults: 2, takes some
// five thousand runs: minutes, where this takes seconds.
func TestEagerOutboxExhaustive(t *testing.T) {
	explore.Clean(t, mypattern.Spec(), explore.Bound{Orders: 1, MaxFaults: 1})
}
