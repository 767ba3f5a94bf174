package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/scenarios"
)

func newShrink() *cobra.Command {
	var (
		class   string
		out     string
		maxRuns int
	)
	cmd := &cobra.Command{
		Use:   "shrink RESULT.json",
		Short: "Reduce a failing det run to a small scenario that still fails the same way",
		Long: `shrink takes the record of a det run that found an anomaly and searches for a
smaller run that shows the same anomaly class. It takes the faults the run got,
each at its named site (its schedule: see txchaos explain schedule), and cuts
them down with delta debugging until no single one can go, moves faults to
earlier orders and requests and timed faults to earlier moments, and tries
fewer orders, clients and attempts. Every candidate
runs on the det runtime with the record's seed; a change is kept when the
class still shows. The result, the few faults that matter at their sites, is
printed and written as a scenario file (its schedule: key holds them) to
commit as a regression test: it expects every class to be zero, so it fails
until the bug is fixed.

Exit status: 0 shrunk, 3 bad arguments (a live run, a clean run), 4 harness
failure (the record does not reproduce, or the shrunk scenario does not fail).`,
		Example: `  txchaos shrink txchaos-out/naive-dual-write-seed1-*/record.json
  txchaos shrink record.json --class lost-event --out regress/lost-event.yaml
  txchaos run --pattern naive-dual-write --scenario regress/lost-event.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if maxRuns < 1 {
				return usageError("--max-runs: %d must be at least 1 (the first run checks the record fails)", maxRuns)
			}
			rec, cfg, err := readDetRecord(args[0])
			if err != nil {
				return err
			}
			c := checker.Class(class)
			if class == "" {
				for _, x := range checker.Classes {
					if rec.Anomalies[string(x)] > 0 {
						c = x
						break
					}
				}
				if c == "" {
					return usageError("%s: the run found no anomaly: nothing to shrink", args[0])
				}
			} else if rec.Anomalies[class] == 0 {
				return usageError("--class: the run shows no %s (it shows: %s)", class, shown(rec.Anomalies))
			}
			spec, err := patterns.Lookup(cfg.Pattern)
			if err != nil {
				return usageError("%s: %v", args[0], err)
			}
			name := "shrunk-" + cfg.Pattern + "-" + string(c)
			if out == "" {
				out = filepath.Join(filepath.Dir(args[0]), name+".yaml")
			}
			if err := checkOutFile("out", out); err != nil {
				return err
			}
			errw := cmd.ErrOrStderr()
			fmt.Fprintf(errw, "shrinking %s (%s, seed %d, %d orders, faults %s) for %s\n", args[0], cfg.Pattern, cfg.Seed, cfg.Workload.Txns, orNone(cfg.Faults), c)
			runs := 0
			best, res, err := scenarios.Shrink(cmd.Context(), cfg, c, scenarios.ShrinkOptions{MaxRuns: maxRuns, Progress: func(s scenarios.ShrinkStep) {
				runs = s.Run
				mark := "  "
				if s.Fails {
					mark = "✓ "
				}
				fmt.Fprintf(errw, "  run %3d %s%s\n", s.Run, mark, s.Change)
			}})
			if err != nil {
				return harnessError(err)
			}

			example := ""
			if ex := res.Report.Anomalies[c].Examples; len(ex) > 0 {
				example = "\nFor example: " + firstLine(ex[0])
			}
			desc := fmt.Sprintf("%s shows %s with %d order(s) from %d client(s) and %s.\n"+
				"Shrunk by txchaos shrink from %s (seed %d, %d orders, faults %s) in %d runs.%s\n"+
				"Every class is expected zero: this scenario fails until %s is fixed.\n"+
				"To pin the failure instead (a baseline), add: expect: {%s: some}",
				cfg.Pattern, c, best.Workload.Txns, best.Workload.Concurrency, faultsOf(best),
				args[0], cfg.Seed, cfg.Workload.Txns, faultsOf(cfg), runs, example, cfg.Pattern, c)
			var buf bytes.Buffer
			if err := scenarios.WriteScenario(&buf, name, desc, best); err != nil {
				return harnessError(err)
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return harnessError(err)
			}
			if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
				return harnessError(err)
			}

			// The file, read back as a user's run would, must fail the same way.
			sc, err := scenarios.Load(out)
			if err != nil {
				return harnessError(err)
			}
			again, err := sc.ConfigFor(spec)
			if err != nil {
				return harnessError(err)
			}
			check, err := scenarios.ExecuteSpec(cmd.Context(), spec, again, "")
			if err != nil {
				return harnessError(err)
			}
			if n := check.Report.Anomalies[c].Count; n == 0 {
				return harnessError(fmt.Errorf("%s: the shrunk scenario, run from its file, shows no %s: please report this", out, c))
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s: %d → %d orders, %d → %d clients, %d → %d attempts, faults %s → %s (%d runs)\n",
				c, cfg.Workload.Txns, best.Workload.Txns, cfg.Workload.Concurrency, best.Workload.Concurrency,
				cfg.Workload.Attempts, best.Workload.Attempts, faultsOf(cfg), faultsOf(best), runs)
			for _, line := range res.Schedule.Lines(true) {
				fmt.Fprintf(w, "  %s\n", line)
			}
			fmt.Fprintf(w, "wrote %s; it fails with %s ×%d:\n  txchaos run --pattern %s --scenario %s\n",
				out, c, check.Report.Anomalies[c].Count, cfg.Pattern, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&class, "class", "", "the anomaly class to keep (default: the run's first, in the checker's order)")
	cmd.Flags().StringVar(&out, "out", "", "the scenario file to write (default: shrunk-PATTERN-CLASS.yaml beside the record)")
	cmd.Flags().IntVar(&maxRuns, "max-runs", scenarios.DefaultShrinkRuns, "the most runs the search makes")
	return cmd
}

// faultsOf says what faults cfg runs under: its profile, or how many its
// schedule names.
func faultsOf(cfg scenarios.Config) string {
	if cfg.Schedule == "" {
		return orNone(cfg.Faults)
	}
	n := len(strings.Split(strings.TrimRight(cfg.Schedule, "\n"), "\n"))
	if n == 1 {
		return "1 fault at its site"
	}
	return fmt.Sprintf("%d faults at their sites", n)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}

// shown lists the classes a record counts anomalies of.
func shown(anomalies map[string]int) string {
	var out string
	for _, c := range checker.Classes {
		if anomalies[string(c)] > 0 {
			if out != "" {
				out += ", "
			}
			out += string(c)
		}
	}
	if out == "" {
		return "none"
	}
	return out
}
