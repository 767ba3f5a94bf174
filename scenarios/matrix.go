package scenarios

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/results"
)

// NamedFaults are the fault profiles every pattern is measured under in
// patterns/README.md: each network fault, service crashes, crashes of any
// node at any moment and at its commits, and (added per pattern) a
// coordinator crash at each of its crash points.
var NamedFaults = []string{
	"",
	"drop-request=0.2",
	"lost-response=0.2",
	"latency=20ms",
	"partition=300ms",
	"late=0.2",
	"duplicate=0.2",
	"reorder=0.2",
	"crash=payments:0.05",
	"crash=broker:0.05",
	"error=payments:0.2",
	"kill=*:300ms",
	"crash-commit=orders:0.02",
	"crash-commit=rewards:0.1",
}

// FaultsFor is NamedFaults plus one crashpoint profile per crash point of
// the pattern.
func FaultsFor(spec patterns.Spec) []string {
	out := append([]string(nil), NamedFaults...)
	for _, p := range spec.CrashPoints {
		out = append(out, "crashpoint="+p+":0.2")
	}
	return out
}

// MatrixRow is one measured cell: a pattern under a fault profile.
type MatrixRow struct {
	Pattern, Faults string
	Report          checker.Report
	// Applied counts every fault the runtime applied, restarts included;
	// Evidence says how many of each fault of the profile were applied
	// and how many landed.
	Applied  int
	Evidence *results.Evidence
}

// Matrix runs every pattern under every profile of FaultsFor with base's
// workload and seed, calling each row as it is measured.
func Matrix(ctx context.Context, base Config, pats []patterns.Spec, row func(MatrixRow)) error {
	for _, spec := range pats {
		for _, f := range FaultsFor(spec) {
			cfg := base
			cfg.Pattern, cfg.Faults = spec.Name, f
			res, err := Execute(ctx, cfg, "")
			if err != nil {
				return fmt.Errorf("%s under %q: %w", spec.Name, f, err)
			}
			row(MatrixRow{Pattern: spec.Name, Faults: f, Report: res.Report, Applied: len(res.Applied), Evidence: res.Evidence})
		}
	}
	return nil
}

// short are the matrix's column headers, in checker.Classes order.
var short = map[checker.Class]string{
	checker.LeakedResource: "leak", checker.PartialCommit: "partial", checker.DuplicateEffect: "dup",
	checker.HangingAction: "hanging", checker.EmptyCompensation: "empty-comp",
	checker.LostEvent: "lost-ev", checker.GhostEvent: "ghost-ev", checker.DuplicateConsumerEffect: "dup-consumer",
	checker.NotConserved: "not-cons", checker.Stuck: "stuck", checker.NonLinearizable: "non-lin",
	checker.StaleRead: "stale", checker.SessionStaleRead: "sess-stale", checker.UnconvergedRead: "unconv",
}

// WriteMatrixHeader starts a Markdown table of matrix rows.
func WriteMatrixHeader(w io.Writer) {
	cols := []string{"pattern", "faults"}
	for _, c := range checker.Classes {
		cols = append(cols, short[c])
	}
	cols = append(cols, "applied (landed)", "verdict")
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
}

// WriteMatrixRow writes one row of the Markdown table.
func WriteMatrixRow(w io.Writer, r MatrixRow) {
	f := r.Faults
	if f == "" {
		f = "none"
	}
	cells := []string{r.Pattern, "`" + f + "`"}
	for _, c := range checker.Classes {
		n := r.Report.Anomalies[c].Count
		if n == 0 {
			cells = append(cells, "0")
		} else {
			cells = append(cells, fmt.Sprintf("**%d**", n))
		}
	}
	applied, verdict := fmt.Sprint(r.Applied), string(r.Report.Verdict)
	if r.Evidence != nil {
		a, l := 0, 0
		for _, f := range r.Evidence.Faults {
			a, l = a+f.Applied, l+f.Landed
		}
		applied = fmt.Sprintf("%d (%d)", a, l)
		if r.Report.Verdict == checker.VerdictClean && len(r.Evidence.NotExercised) > 0 {
			verdict = "clean, **not exercised**"
		}
	}
	cells = append(cells, applied, verdict)
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
}
