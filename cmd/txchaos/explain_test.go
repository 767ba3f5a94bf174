package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
)

func TestExplain(t *testing.T) {
	t.Run("no argument lists every class", func(t *testing.T) {
		code, out, stderr := run(t, "explain")
		require.Zero(t, code, stderr)
		for _, c := range checker.Classes {
			d, _ := checker.Explain(c)
			require.Regexp(t, `\n`+string(c)+` +`+regexp.QuoteMeta(d.Summary)+`\n`, out)
		}
	})
	t.Run("one class", func(t *testing.T) {
		code, out, stderr := run(t, "explain", "empty-compensation")
		require.Zero(t, code, stderr)
		d, _ := checker.Explain(checker.EmptyCompensation)
		require.True(t, strings.HasPrefix(out, "empty-compensation\n  a compensation that arrived before its action, was not"), out)
		require.Contains(t, oneLine(out), d.Summary+" What it means "+oneLine(d.Meaning))
		require.Contains(t, out, "\nSeed claim it tests (003_11c6468ac7a3d68e.txt)\n  “Prerequisite is Compensatory actions")
		require.Contains(t, out, "\nReproduce\n  "+d.Reproduce+"\n")
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(line, "  txchaos ") {
				require.LessOrEqual(t, len([]rune(line)), 76, "wrapped: %q", line)
			}
		}
	})
	t.Run("an unknown class lists the known ones", func(t *testing.T) {
		code, _, stderr := run(t, "explain", "tornado")
		require.Equal(t, exitUsage, code)
		require.Contains(t, stderr, `"tornado" is neither an anomaly (leaked-resource, partial-commit, duplicate-effect, hanging-action, empty-compensation, `)
		require.Contains(t, stderr, `nor a fault (crash, crash-commit, crashpoint, drop-request, duplicate, error, kill, late, `)
	})
	t.Run("no argument lists every fault with its syntax", func(t *testing.T) {
		code, out, stderr := run(t, "explain")
		require.Zero(t, code, stderr)
		for _, k := range faults.Kinds() {
			require.Contains(t, out, "\n"+k.Name+"="+k.Syntax+" ")
		}
	})
	t.Run("one fault", func(t *testing.T) {
		for _, k := range faults.Kinds() {
			code, out, stderr := run(t, "explain", k.Name)
			require.Zero(t, code, stderr)
			require.True(t, strings.HasPrefix(out, k.Name+" (a fault)\n"), out)
			require.Contains(t, out, "\nSyntax\n  --faults "+k.Name+"="+k.Syntax+"\n")
			require.NotEmpty(t, k.Doc, "fault %s has no Doc", k.Name)
			require.Contains(t, oneLine(out), "What it does "+oneLine(k.Doc))
		}
		_, out, _ := run(t, "explain", "late")
		require.Contains(t, out, "late=[LINK:]RATE[:DELAY]")
		require.Contains(t, oneLine(out), "On the live runtime a detached sender")
	})
	t.Run("two classes", func(t *testing.T) {
		code, _, stderr := run(t, "explain", "stuck", "lost-event")
		require.Equal(t, exitUsage, code)
		require.Contains(t, stderr, "accepts at most 1 arg(s), received 2")
	})
}

// TestExplainReproducesAreRunnable checks that each class's Reproduce is a
// txchaos run whose flags (and scenario) are all valid (it does not run
// them all: see TestExplainNonLinearizableReproduces, and the bug zoo for
// what each showed when it was measured).
func TestExplainReproducesAreRunnable(t *testing.T) {
	for _, c := range checker.Classes {
		d, _ := checker.Explain(c)
		args := strings.Fields(d.Reproduce)
		require.Equal(t, []string{"txchaos", "run"}, args[:2], d.Reproduce)
		var f runFlags
		var scenario string
		fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
		f.bind(fs)
		fs.StringVar(&scenario, "scenario", "", "")
		require.NoError(t, fs.Parse(args[2:]), d.Reproduce)
		require.Empty(t, fs.Args(), d.Reproduce)
		var err error
		if scenario != "" {
			_, _, err = f.scenarioConfig(fs, scenario)
		} else {
			_, err = f.config()
		}
		require.NoError(t, err, d.Reproduce)
	}
}

// TestExplainNonLinearizableReproduces runs non-linearizable's Reproduce as
// a reader would, on the live runtime: it must show the class, with the
// example's kind of story (a later checkout answered the other decision),
// and the same run with a pattern that keeps its decisions under the key
// must be clean. At the scenario's seed the count is 3 to 5 (det: 4):
// order o000004's re-submit asks 3 of sku-1, of which the three orders of
// sku-1 leave at most 2, so it is refused after a confirmation in every
// schedule, unless all five of its first tries lost their charge request
// (0.05^5, about 3e-7) or the machine took over 5 s to answer each.
func TestExplainNonLinearizableReproduces(t *testing.T) {
	if testing.Short() {
		t.Skip("two live runs; -short skips them")
	}
	d, _ := checker.Explain(checker.NonLinearizable)
	args := append(strings.Fields(d.Reproduce)[1:], "--out", t.TempDir())
	code, out, stderr := run(t, args...)
	require.Equal(t, 1, code, "exit 1, anomalies: %s\n%s", out, stderr)
	require.Contains(t, out, "20 checkouts by 10 clients, up to 5 attempts each, 50% of those answered sent again · ")
	// A later answer, or the decision the order settled on, contradicts an
	// answer the client had been given.
	line := regexp.MustCompile(`(?m)^non-linearizable +[1-9][0-9]* +order o[0-9]+: (checkout#[0-9]+ answered|read at rest saw) (confirmed|failed) at [^,]+, but checkout#[0-9]+ answered (confirmed|failed) at `)
	require.Regexp(t, line, out, "%s shows no non-linearizable checkout", d.Reproduce)

	args = append(strings.Fields(strings.Replace(d.Reproduce, "naive-dual-write", "two-phase-key", 1))[1:], "--out", "")
	require.Contains(t, args, "two-phase-key", "the fixed run names another pattern")
	code, out, stderr = run(t, args...)
	require.Zero(t, code, "%s\n%s", out, stderr)
	require.Contains(t, out, "scenario double-submit: expectations met")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestExplainExpectedInIsTheMatrix: `explain` says who shows a class from
// the expectation matrix, and the checker's own text names no pattern, so
// that the two cannot disagree.
func TestExplainExpectedInIsTheMatrix(t *testing.T) {
	names := patterns.Names()
	for _, c := range checker.Classes {
		d, _ := checker.Explain(c)
		for _, p := range names {
			require.NotRegexp(t, `(^|[^a-z-])`+regexp.QuoteMeta(p)+`([^a-z-]|$)`, d.Expected,
				"checker.Explain(%s).Expected names pattern %s: who shows a class is the expectation matrix's to say", c, p)
		}
	}
	// Every line of the matrix that names a class "some" is in explain's
	// "shows it", and a pattern in "never" has no line allowing the class.
	for _, e := range patterns.ExpectationMatrix() {
		for _, f := range strings.Fields(e.Classes) {
			class, want, _ := strings.Cut(f, "=")
			if class == "*" || class == "-" || want == "zero" {
				continue
			}
			code, out, stderr := run(t, "explain", class)
			require.Zero(t, code, stderr)
			section := oneLine(out[strings.Index(out, "Expected in"):strings.Index(out, "How it comes about")])
			shows, never, _ := strings.Cut(section, "never:")
			require.NotContains(t, never, e.Pattern, "%s:%d allows %s of %s", patterns.ExpectationsFile, e.Line, class, e.Pattern)
			if want == "some" {
				who := `(every pattern|(^|[ ,])` + regexp.QuoteMeta(e.Pattern) + `(, [a-z-]+)*)`
				require.Regexp(t, who+` under [a-z, -]*`+regexp.QuoteMeta(e.Scenario), shows, "%s:%d", patterns.ExpectationsFile, e.Line)
			}
		}
	}
	// The issue that made this test: lost-event from fallback-queue.
	_, out, _ := run(t, "explain", "lost-event")
	require.Contains(t, oneLine(out), "fallback-queue under crash-between-commit-and-publish")
	_, out, _ = run(t, "explain", "duplicate-consumer-effect")
	require.Contains(t, oneLine(out), "shows it: every pattern under duplicate-delivery", "the scenario itself expects it of every pattern")
}
