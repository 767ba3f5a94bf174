package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/scenarios"
)

func newExplain() *cobra.Command {
	return &cobra.Command{
		Use:   "explain [ANOMALY|FAULT|schedule]",
		Short: "Explain an anomaly class (what it means, the claim it tests in docs/sources.md, who shows it), a fault (its syntax and what it does) or a schedule file",
		Example: `  txchaos explain               # list every anomaly class and every fault
  txchaos explain hanging-action
  txchaos explain late
  txchaos explain schedule      # the faults of a det run named one by one (run --schedule FILE)`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			if len(args) == 0 {
				writeClasses(w)
				return nil
			}
			if args[0] == "schedule" {
				fmt.Fprint(w, scheduleHelp)
				return nil
			}
			if k, ok := faults.Lookup(args[0]); ok {
				writeFault(w, k)
				return nil
			}
			d, ok := checker.Explain(checker.Class(args[0]))
			if !ok || !known(d.Class) {
				return usageError("%q is neither an anomaly (%s) nor a fault (%s)", args[0], strings.Join(classNames(), ", "), strings.Join(faultNames(), ", "))
			}
			who, err := whoShows(d.Class)
			if err != nil {
				return harnessError(err)
			}
			writeDoc(w, d, who)
			return nil
		},
	}
}

// scheduleHelp explains a schedule file (faults.Schedule).
const scheduleHelp = `schedule (a det run's faults named one by one)
  A schedule names every fault of a det run, each at the site where it
  lands or at a moment. A det run records the schedule it got (beside its
  record, in schedule.jsonl.gz: zcat schedule.jsonl.gz | jq -r . is a
  schedule file; and in its scorecard when short); txchaos run --runtime det
  --schedule FILE runs exactly that schedule, without --faults; txchaos
  shrink cuts one down to the faults that matter.

Syntax (one fault a line; # starts a comment)
  request 1 of o000001 on orders->payments: lost-response
  request 2 of o000001 on client->orders: late 3s
  copy of request 1 of o000001 on orders->payments: crash after
  visit 1 of after-local-commit at orders for o000001: crashpoint
  commit 2 of payments for o000001: crash-commit before
  commit 4 of rewards: crash-commit after
  at 1.25s: kill payments
  at 300ms: partition orders->payments for 200ms

Sites
  request K of ORDER on FROM->TO      the K-th request about ORDER on the link
  request K on FROM->TO               the K-th about no order (a broker poll)
  copy of request ...                 a duplicated request's second copy
  visit M of POINT at NODE for ORDER  the M-th visit of a crash point
  commit N of NODE for ORDER          the N-th commit of NODE's service
  Work about no order (a relay, a consumer, recovery) drops "of ORDER" and
  "for ORDER" and is numbered per link, point and node. Sites are numbered
  per order: a fault on one order does not move the sites of another.

Faults
  At a request: drop-request, lost-response, late [DELAY], duplicate
  [DELAY], reorder [HOLD], latency DURATION, error, crash before, crash
  after. At a visit: crashpoint. At a commit: crash-commit before or after.
  At a moment (from the run's start): kill NODE, partition LINK for
  DURATION. A request holds at most one network fault, one latency and one
  fault of its target. A fault at a site the run never reaches does
  nothing.
`

// known reports whether c is one of checker.Classes.
func known(c checker.Class) bool {
	for _, k := range checker.Classes {
		if k == c {
			return true
		}
	}
	return false
}

func classNames() []string {
	names := make([]string, len(checker.Classes))
	for i, c := range checker.Classes {
		names[i] = string(c)
	}
	return names
}

// writeClasses lists every class with its one-line summary.
func writeClasses(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ANOMALY\tWHAT IT COUNTS")
	for _, c := range checker.Classes {
		d, _ := checker.Explain(c)
		fmt.Fprintf(tw, "%s\t%s\n", c, d.Summary)
	}
	fmt.Fprintln(tw, "\nFAULT\tWHAT IT DOES")
	for _, k := range faults.Kinds() {
		fmt.Fprintf(tw, "%s=%s\t%s\n", k.Name, k.Syntax, k.Summary)
	}
	tw.Flush()
	fmt.Fprintln(w, "\ntxchaos explain ANOMALY or txchaos explain FAULT says more about one; txchaos explain schedule, about a schedule file.")
}

func faultNames() []string {
	var names []string
	for _, k := range faults.Kinds() {
		names = append(names, k.Name)
	}
	return names
}

// writeFault prints one fault kind's explanation.
func writeFault(w io.Writer, k faults.Kind) {
	fmt.Fprintf(w, "%s (a fault)\n%s\n\n", k.Name, wrap(k.Summary, "  ", 76))
	fmt.Fprintf(w, "Syntax\n  --faults %s=%s\n\n", k.Name, k.Syntax)
	if k.Doc != "" {
		fmt.Fprintf(w, "What it does\n%s\n\n", wrap(k.Doc, "  ", 76))
	}
	fmt.Fprintf(w, "Targets\n%s\n", wrap("LINK is FROM-TO (txchaos list shows the links), NODE a node of the world, and "+
		"without a LINK a link fault is on every link. Rates are per request (per commit for crash-commit); "+
		"DELAY, HOLD and INTERVAL are durations such as 300ms or 2s.", "  ", 76))
}

// writeDoc prints one class's explanation, wrapped for a terminal, with
// who is expected to show it by the expectation matrix.
func writeDoc(w io.Writer, d checker.Doc, who shows) {
	fmt.Fprintf(w, "%s\n%s\n\n", d.Class, wrap(d.Summary, "  ", 76))
	section := func(title, text string) {
		fmt.Fprintf(w, "%s\n%s\n\n", title, wrap(text, "  ", 76))
	}
	section("What it means", d.Meaning)
	section("Claim it tests ("+d.Source+")", d.Claim)
	section("Example", d.Example)
	fmt.Fprintf(w, "Expected in (the expectation matrix, %s)\n", patterns.ExpectationsFile)
	for _, part := range []struct {
		label string
		lines []string
	}{{"shows it:", who.some}, {"may show it:", who.any}} {
		for i, line := range part.lines {
			label := ""
			if i == 0 {
				label = part.label
			}
			fmt.Fprintf(w, "  %-12s %s\n", label, strings.TrimSpace(wrap(line, "               ", 76)))
		}
	}
	never := "none"
	if len(who.never) > 0 {
		never = strings.Join(who.never, ", ") + " (zero under every built-in scenario)"
	}
	fmt.Fprintf(w, "  %-12s %s\n\n", "never:", strings.TrimSpace(wrap(never, "               ", 76)))
	section("How it comes about", d.Expected)
	fmt.Fprintf(w, "Reproduce\n  %s\n", d.Reproduce)
}

// wrap breaks text into lines of at most width characters, each starting
// with indent; a word longer than width stands on its own line.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	b.WriteString(line)
	return b.String()
}

// shows is who the expectation matrix expects to show a class: lines of
// "PATTERNS under SCENARIOS" for the patterns expected to show some, and
// for those that may show it, and the patterns expected to show none
// anywhere. Patterns with the same scenarios share a line.
type shows struct {
	some, any, never []string
}

// whoShows reads the expectation matrix for class c: every registered
// pattern under every built-in scenario, as scenarios.Run asserts it.
func whoShows(c checker.Class) (shows, error) {
	var out shows
	builtins := scenarios.Builtins()
	specs := patterns.All()
	var someOrder, anyOrder []string
	some, any := map[string][]string{}, map[string][]string{}
	group := func(order *[]string, m map[string][]string, where, pattern string) {
		if m[where] == nil {
			*order = append(*order, where)
		}
		m[where] = append(m[where], pattern)
	}
	for _, spec := range specs {
		var s, a []string
		for _, sc := range builtins {
			want, err := sc.ExpectFor(spec)
			if err != nil {
				return out, err
			}
			switch want.Of(c) {
			case scenarios.Some:
				s = append(s, sc.Name)
			case scenarios.Any:
				a = append(a, sc.Name)
			}
		}
		switch {
		case len(s)+len(a) == 0:
			out.never = append(out.never, spec.Name)
			continue
		case len(s) > 0:
			group(&someOrder, some, strings.Join(s, ", "), spec.Name)
		}
		switch {
		case len(a) == 0:
		case len(s)+len(a) == len(builtins) && len(s) > 0:
			group(&anyOrder, any, "every other built-in scenario", spec.Name)
		case len(a) == len(builtins):
			group(&anyOrder, any, "every built-in scenario", spec.Name)
		default:
			group(&anyOrder, any, strings.Join(a, ", "), spec.Name)
		}
	}
	line := func(names []string, where string) string {
		if len(names) == len(specs) && len(specs) > 1 {
			return "every pattern under " + where
		}
		return strings.Join(names, ", ") + " under " + where
	}
	for _, where := range someOrder {
		out.some = append(out.some, line(some[where], where))
	}
	for _, where := range anyOrder {
		out.any = append(out.any, line(any[where], where))
	}
	return out, nil
}
