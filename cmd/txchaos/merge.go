package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/scenarios"
)

func newMerge() *cobra.Command {
	var requireExercised bool
	cmd := &cobra.Command{
		Use:   "merge OUT DIR...",
		Short: "Combine the directories of a sweep's shards into one sweep directory",
		Long: `merge combines sweep directories, usually the shards of one sweep run with
txchaos sweep --shard K/N on N machines, into OUT: a sweep directory as one
straight run would have written it (sweep.json, cells/, summary.csv,
aggregate.csv), ready for txchaos report OUT.

The directories must hold the same sweep but for the shard: a parameter
that differs is refused by name. A shard given twice, shards of different N
and a cell finished in two directories are refused too; OUT must not hold a
sweep. Cells that no directory finished (a shard not given, or interrupted)
are left out and counted as verdict unknown; txchaos sweep --resume --out OUT
runs them. See docs/scale-out.md for a Kubernetes Indexed Job and a GitHub
Actions matrix.

Exit status as txchaos sweep's: 0 every cell clean, 1 some cell found
anomalies, 2 some verdict unknown or some cell missing, 3 bad arguments,
4 harness failure.`,
		Example: `  txchaos merge sweep shard1 shard2 shard3 shard4
  txchaos merge sweep shards/*`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, dirs := args[0], args[1:]
			w := cmd.OutOrStdout()
			m, err := scenarios.Merge(out, dirs)
			if err != nil {
				return usageError("%v", err)
			}
			fmt.Fprintf(w, "merged: %d directories, %d of %d cells into %s\n", len(dirs), len(m.Cells), len(m.Cells)+len(m.Missing), out)
			anomalous := 0
			for _, c := range m.Cells {
				if c.Record.Verdict == results.VerdictAnomalies {
					anomalous++
				}
			}
			fmt.Fprintf(w, "done: %d cells, %d with anomalies\nsummary: %s\n", len(m.Cells), anomalous, filepath.Join(out, scenarios.SummaryFile))
			writeAggregate(w, m.Cells, m.Sweep.Seeds, filepath.Join(out, scenarios.AggregateFile))
			worst := worstVerdict(m.Cells, requireExercised)
			if len(m.Missing) > 0 {
				var ids []string
				for i, c := range m.Missing {
					if i == 5 {
						ids = append(ids, fmt.Sprintf("and %d more", len(m.Missing)-5))
						break
					}
					ids = append(ids, c.ID)
				}
				fmt.Fprintf(w, "missing: %d cells (%s); run them with: txchaos sweep --resume --out %s\n", len(m.Missing), strings.Join(ids, ", "), out)
				if worst == results.VerdictClean {
					worst = results.VerdictUnknown
				}
			}
			fmt.Fprintf(w, "report:  txchaos report %s\n", out)
			return verdictExit(worst)
		},
	}
	cmd.Flags().BoolVar(&requireExercised, "require-exercised", false, "count a clean cell whose profile has a fault that never landed as verdict unknown (exit 2)")
	return cmd
}
