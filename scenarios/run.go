package scenarios

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/patterns"
)

// Run runs spec — a registered pattern or one of the caller's own, which
// need not be registered — through scenario sc on the scenario's runtime
// and asserts what spec is expected to show under it (sc.ExpectFor: a
// registered pattern's line of the expectation matrix, else the
// scenario's expectations). It is meant for a pattern's own tests:
//
//	func TestMyPatternLostResponses(t *testing.T) {
//		sc, err := scenarios.Builtin("lost-responses")
//		require.NoError(t, err)
//		scenarios.Run(t, mypattern.Spec(), sc)        // live: real sockets through Toxiproxy
//		scenarios.Run(t, mypattern.Spec(), sc.Det(7)) // det: seed 7, in a fraction of a second, replayable
//	}
//
// A scenario that does not fit spec (a crash point it does not declare) or
// a run the harness could not complete stops the test. Missed expectations
// fail it, each with the class, what was expected, what was found and the
// checker's examples, and porcupine's history-<key>.html of every order or
// customer whose history did not linearize is written to t.ArtifactDir
// (kept with go test -artifacts). The report is logged either way. Run
// returns the result for further assertions.
func Run(t testing.TB, spec patterns.Spec, sc Scenario) *Result {
	t.Helper()
	cfg, err := sc.ConfigFor(spec)
	require.NoError(t, err, "scenario %s does not fit pattern %s", sc.Name, spec.Name)
	want, err := sc.ExpectFor(spec)
	require.NoError(t, err)
	res, err := ExecuteSpec(t.Context(), spec, cfg, t.TempDir())
	require.NoError(t, err, "pattern %s under scenario %s: the run did not complete", spec.Name, sc.Name)
	t.Logf("pattern %s under scenario %s (faults %q): %s", spec.Name, sc.Name, cfg.Faults, res.Report)
	if misses := want.Check(res.Report); len(misses) > 0 {
		histories := ""
		if paths, err := res.WriteHistories(t.ArtifactDir()); err != nil {
			histories = "\nhistories not written: " + err.Error()
		} else if len(paths) > 0 {
			histories = "\nhistories (kept with go test -artifacts): " + strings.Join(paths, ", ")
		}
		assert.Fail(t, fmt.Sprintf("pattern %s under scenario %s missed %d expectation(s)", spec.Name, sc.Name, len(misses)),
			"%s\n%s%s", FormatMisses(misses), FormatReport(res), histories)
	}
	return res
}

// FormatMisses lists missed expectations one per line, with examples.
func FormatMisses(misses []Miss) string {
	var b strings.Builder
	for _, m := range misses {
		fmt.Fprintf(&b, "  %s\n", m)
	}
	return strings.TrimRight(b.String(), "\n")
}

// FormatReport is a result's report for a test failure: every anomaly
// class with its count and examples, the outcomes, and the faults the
// runtime applied.
func FormatReport(res *Result) string {
	var b strings.Builder
	r := res.Report
	fmt.Fprintf(&b, "verdict %s", r.Verdict)
	if r.Reason != "" {
		fmt.Fprintf(&b, " (%s)", r.Reason)
	}
	b.WriteString("\n")
	for _, c := range checker.Classes {
		f := r.Anomalies[c]
		fmt.Fprintf(&b, "  %-26s %d\n", c, f.Count)
		for _, ex := range f.Examples {
			fmt.Fprintf(&b, "      %s\n", ex)
		}
	}
	m := r.Metrics
	fmt.Fprintf(&b, "outcomes: %d confirmed, %d rejected, %d unknown of %d checkouts; converged: %v\n",
		m.Confirmed, m.Rejected, m.Unknown, m.Checkouts, res.Converged)
	if counts := res.Faults().FaultCounts(); len(counts) > 0 {
		fmt.Fprintf(&b, "faults applied: %s", strings.Join(counts, ", "))
	} else {
		b.WriteString("faults applied: none")
	}
	if res.Evidence != nil && len(res.Evidence.NotExercised) > 0 {
		fmt.Fprintf(&b, "\nnot exercised (never landed while an order it affected was open): %s", strings.Join(res.Evidence.NotExercised, ", "))
	}
	return b.String()
}
