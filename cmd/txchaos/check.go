package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/scenarios"
)

func newCheck() *cobra.Command {
	return &cobra.Command{
		Use:   "check RESULT.json",
		Short: "Judge a stored run again from its record's history and state, without running it",
		Long: `check reads a run's record, decodes the client history and the final state
stored in it, and runs the checker on them again — nothing is run. It prints the
anomalies with their witnesses and the new verdict, says whether the verdict
differs from the one stored (a newer checker, or a hand-edited record), and
exits by the new verdict: 0 clean, 1 anomalies, 2 unknown (3 when the record
cannot be read). A record without its history or its state is not judged on
what it lacks: the classes that need the missing part are reported not
judged, and the verdict is unknown unless another class found an anomaly.`,
		Example: `  txchaos check txchaos-out/saga-seed1-20260101T120000.000/record.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			stored, err := scenarios.ReadRun(cmd.Context(), path)
			if err != nil {
				return usageError("%v", err)
			}
			rec, h, s := stored.Record, stored.History, stored.State
			if err := checkHistory(h); err != nil {
				return usageError("%s: %v", path, err)
			}
			promise, from := readPromise(rec)
			rep := checker.Check(h, s, promise)
			if len(h) == 0 { // every run places an order: the history is missing
				notJudged(&rep, historyClasses(), "the record stores no client history")
			}
			writeRecheck(cmd.OutOrStdout(), path, rec, h, s, rep)
			fmt.Fprintf(cmd.OutOrStdout(), "reads judged against the promise %s (%s)\n", promise, from)
			return verdictExit(string(rep.Verdict))
		},
	}
}

// kinds and outcomes are the values a history's operations may hold.
var (
	kinds    = []string{checker.KindCheckout, checker.KindGet, checker.KindBalance}
	outcomes = []checker.Outcome{checker.OutcomeOK, checker.OutcomeRejected, checker.OutcomeUnknown}
)

// checkHistory refuses a history no run records, naming the first bad
// operation by its index and field: an unknown kind or outcome, a call
// before the run's start, or a return before its call (both runtimes'
// clocks only move forward). Judging such a history would give a verdict
// on something that never happened, so it is refused, not warned about.
func checkHistory(h []checker.Op) error {
	for i, op := range h {
		switch {
		case !slices.Contains(kinds, op.Kind):
			return fmt.Errorf("history[%d].kind: %q is not one of %s", i, op.Kind, strings.Join(kinds, ", "))
		case !slices.Contains(outcomes, op.Outcome):
			return fmt.Errorf("history[%d].outcome: %q is not one of %s, %s, %s", i, op.Outcome, outcomes[0], outcomes[1], outcomes[2])
		case op.Call < 0:
			return fmt.Errorf("history[%d].call: %s is before the run started (a call is at least 0)", i, op.Call)
		case op.Return < op.Call:
			return fmt.Errorf("history[%d].return: %s is before its call at %s (an operation returns after it is called)", i, op.Return, op.Call)
		}
	}
	return nil
}

// readPromise is the read model the run's reads are judged against, and
// where it comes from: the one the record was judged with, else (a record
// of schema version 1) the registered pattern's, else Linearizable.
func readPromise(rec *results.Record) (checker.ReadModel, string) {
	var reads checker.Reads
	if !null(rec.Reads) && json.Unmarshal(rec.Reads, &reads) == nil && reads.Promise != "" && reads.Promise.Valid() {
		return reads.Promise, "the record's"
	}
	if spec, err := patterns.Lookup(rec.Pattern); err == nil {
		if spec.Reads == "" {
			return checker.Linearizable, "pattern " + spec.Name + "'s"
		}
		return spec.Reads, "pattern " + spec.Name + "'s"
	}
	return checker.Linearizable, "the default: the record names none and its pattern is not registered"
}

// historyClasses are the classes judged from the client history alone:
// those the checker still judges without a state.
func historyClasses() []checker.Class {
	unjudged := checker.Check(nil, nil, checker.Linearizable).Unchecked
	var out []checker.Class
	for _, c := range checker.Classes {
		if !slices.Contains(unjudged, c) {
			out = append(out, c)
		}
	}
	return out
}

// notJudged marks classes of rep as not judged, for reason why: the part
// of the record they are judged on is missing, so they cannot count as
// clean. An anomaly found by another class still makes the verdict
// anomalies.
func notJudged(rep *checker.Report, classes []checker.Class, why string) {
	whys := rep.Reason
	if len(rep.Unchecked) > 0 {
		whys = strings.TrimPrefix(whys, "not judged: "+classList(rep.Unchecked)+": ")
	}
	for _, c := range classes {
		if !slices.Contains(rep.Unchecked, c) {
			rep.Unchecked = append(rep.Unchecked, c)
		}
	}
	slices.SortStableFunc(rep.Unchecked, func(a, b checker.Class) int {
		return slices.Index(checker.Classes, a) - slices.Index(checker.Classes, b)
	})
	if whys != "" {
		why = whys + "; " + why
	}
	rep.Reason = "not judged: " + classList(rep.Unchecked) + ": " + why
	if rep.Verdict == checker.VerdictClean {
		rep.Verdict = checker.VerdictUnknown
	}
}

func classList(cs []checker.Class) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

func null(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// writeRecheck prints the new judgement of a stored run beside the stored
// one.
func writeRecheck(w io.Writer, path string, rec *results.Record, h []checker.Op, s *checker.State, rep checker.Report) {
	var cfg scenarios.Config
	faults := "?"
	if json.Unmarshal(rec.Config, &cfg) == nil {
		faults = cfg.Faults
		if faults == "" {
			faults = "none"
		}
	}
	fmt.Fprintf(w, "record %s\npattern %s · runtime %s · seed %d · faults %s\n", path, rec.Pattern, rec.Runtime, rec.Seed, faults)
	state := "its final state"
	if s == nil {
		state = "no final state (none stored)"
	}
	history := fmt.Sprintf("its %d client operations", len(h))
	if len(h) == 0 {
		history = "no client history (none stored)"
	}
	fmt.Fprintf(w, "checked again from %s and %s; nothing was run\n\n", history, state)

	writeAnomalies(w, rep)

	m := rep.Metrics
	if len(h) == 0 {
		fmt.Fprintf(w, "\noutcomes: unknown (no client history)\n")
	} else {
		fmt.Fprintf(w, "\noutcomes: %d confirmed, %d rejected, %d pending, %d unknown of %d checkouts (%d attempts)\n",
			m.Confirmed, m.Rejected, m.Pending, m.Unknown, m.Checkouts, m.Attempts)
	}
	verdict := strings.ToUpper(string(rep.Verdict))
	if rep.Reason != "" {
		verdict += " (" + rep.Reason + ")"
	}
	fmt.Fprintf(w, "\nverdict: %s\n", verdict)
	changed := countChanges(rec.Anomalies, rep)
	switch {
	case string(rep.Verdict) != rec.Verdict:
		fmt.Fprintf(w, "stored verdict: %s — the new verdict DIFFERS\n", strings.ToUpper(rec.Verdict))
	case len(changed) > 0:
		fmt.Fprintf(w, "stored verdict: %s — the same verdict, other counts\n", strings.ToUpper(rec.Verdict))
	default:
		fmt.Fprintf(w, "stored verdict: %s — the same\n", strings.ToUpper(rec.Verdict))
	}
	if len(changed) > 0 {
		fmt.Fprintf(w, "counts changed: %s\n", strings.Join(changed, ", "))
	}
}

// countChanges lists the classes whose count differs between the record
// and the new report, in report order; a class the record does not name
// (a checker older than this one) reads as absent.
func countChanges(stored map[string]int, rep checker.Report) []string {
	var out []string
	for _, c := range checker.Classes {
		n := rep.Anomalies[c].Count
		was, ok := stored[string(c)]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s (not in the record) → %d", c, n))
		case was != n:
			out = append(out, fmt.Sprintf("%s %d → %d", c, was, n))
		}
	}
	return out
}
