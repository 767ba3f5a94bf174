package explore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/scenarios"
)

// Clean asserts that spec — a registered pattern or one of the caller's
// own — shows no anomaly under any schedule within b (see Exhaustive), on
// the default run (Default). It is meant for a pattern's own tests:
//
//	func TestMyPatternExhaustive(t *testing.T) {
//		explore.Clean(t, mypattern.Spec(), explore.Bound{Orders: 1, MaxFaults: 2})
//	}
//
// A run the harness could not complete stops the test. A counterexample
// fails it with its schedule, its report and its record, written with
// the schedule to t.ArtifactDir() (kept with go test -artifacts), whose
// config runs it again (scenarios.ExecuteSpec) and shrinks it
// (scenarios.ShrinkSpec). How many schedules ran, and in how long, is
// logged either way. Clean returns the result for further assertions.
func Clean(t testing.TB, spec patterns.Spec, b Bound) *Result {
	t.Helper()
	res, err := Exhaustive(t.Context(), spec, b, Options{})
	if err != nil {
		t.Fatalf("pattern %s, %s: the exploration did not complete: %v", spec.Name, b, err)
	}
	t.Logf("pattern %s: %s", spec.Name, res.Summary())
	if ce := res.Counterexample; ce != nil {
		saved := ""
		if paths, err := ce.Write(t.Context(), t.ArtifactDir()); err != nil {
			saved = "\nrecord not written: " + err.Error()
		} else {
			saved = "\nrecord and schedule (kept with go test -artifacts): " + strings.Join(paths, ", ")
		}
		t.Errorf("pattern %s is not clean within the bound (%s): %d fault(s) show %s\n%s\n%s%s",
			spec.Name, b, len(ce.Schedule), classList(ce), indent(ce.Schedule.Lines(true)), scenarios.FormatReport(ce.Run), saved)
	} else if res.Unknown > 0 {
		t.Errorf("pattern %s: %d runs within the bound had an unknown verdict (the first: %s)", spec.Name, res.Unknown, strings.Join(res.FirstUnknown.Lines(false), "; "))
	}
	return res
}

// Summary says what the exploration did and found, in one line.
func (r *Result) Summary() string {
	levels := make([]string, len(r.Levels))
	for i, n := range r.Levels {
		levels[i] = fmt.Sprint(n)
	}
	ran := fmt.Sprintf("%d schedules (%s by number of faults) in %s", r.Runs, strings.Join(levels, " + "), r.Elapsed.Round(1e6))
	if ce := r.Counterexample; ce != nil {
		return fmt.Sprintf("%s: counterexample with %d fault(s), showing %s", ran, len(ce.Schedule), classList(ce))
	}
	return fmt.Sprintf("%s: no counterexample within the bound: %s", ran, r.BoundText())
}

// BoundText states the bound explored in full.
func (r *Result) BoundText() string {
	return fmt.Sprintf("%s, at the %d working sites of the fault-free run (of %d: %d idle) and every site the faulted runs reached, seed %d",
		r.Bound, r.Sites-r.Idle, r.Sites, r.Idle, r.Config.Seed)
}

// Write writes the counterexample's record (record.json, with the files
// it names beside it: scenarios.Result.WriteRecord) and its schedule
// (schedule.txt, for txchaos run --schedule) into dir and returns their
// paths.
func (ce *Counterexample) Write(ctx context.Context, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	record, schedule := filepath.Join(dir, "record.json"), filepath.Join(dir, "schedule.txt")
	if _, err := ce.Run.WriteRecord(ctx, record); err != nil {
		return nil, err
	}
	text := "# " + strings.Join(classNames(ce), ", ") + "\n" + strings.Join(ce.Schedule.Lines(true), "\n") + "\n"
	if err := os.WriteFile(schedule+".tmp", []byte(text), 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(schedule+".tmp", schedule); err != nil {
		os.Remove(schedule + ".tmp")
		return nil, err
	}
	return []string{record, schedule}, nil
}

func classNames(ce *Counterexample) []string {
	out := make([]string, len(ce.Classes))
	for i, c := range ce.Classes {
		out[i] = string(c)
	}
	return out
}

func classList(ce *Counterexample) string { return strings.Join(classNames(ce), ", ") }

func indent(lines []string) string { return "  " + strings.Join(lines, "\n  ") }
