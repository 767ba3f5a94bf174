package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/results/report"
	"github.com/txchaos/txchaos/scenarios"
)

// demoSweep is the demo: every pattern without faults and under the
// default fault mix — lost responses on every link, and the coordinator
// crashing at each of its crash points — at two rates, one seed, small
// cells with short timeouts.
func demoSweep(txns int) scenarios.Sweep {
	base := scenarios.Default()
	base.Workload = scenarios.Workload{Txns: txns, Concurrency: 4, Attempts: 3, Customers: 10}
	base.World.CallTimeout, base.CallTimeout, base.Quiet = 300*time.Millisecond, 1500*time.Millisecond, 5*time.Second
	return scenarios.Sweep{Patterns: patterns.Names(), Faults: []string{"lost-response", "crashpoint"},
		Rates: []string{"0", "0.05", "0.2"}, Seeds: 1, Base: base}
}

func newDemo() *cobra.Command {
	var out string
	var parallel, txns int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Sweep every pattern under lost responses and coordinator crashes, and write the HTML report",
		Long: `demo runs every pattern without faults and under the default fault mix (lost
responses on every link; the coordinator crashing at each of its crash points)
at rates 0.05 and 0.2, then writes the comparison report and prints its path.
It takes a few minutes; Ctrl-C stops it, and running it again continues.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkParallel(parallel); err != nil {
				return err
			}
			s := demoSweep(txns)
			if err := checkOutDir("out", out); err != nil {
				return err
			}
			_, err := os.Stat(filepath.Join(out, scenarios.SweepFile))
			if _, err := runSweep(cmd.Context(), cmd.OutOrStdout(), s, out, parallel, err == nil); err != nil {
				var ee *exitError
				if errors.As(err, &ee) && ee.code == exitUsage {
					return usageError("%v (remove %s to start the demo afresh)", ee.err, out)
				}
				return err
			}
			rep, err := report.Generate(out, report.Options{Title: "txchaos demo: every pattern under lost responses and coordinator crashes"})
			if err != nil {
				return harnessError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nreport: %s\n", rep.HTML)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "txchaos-demo", "directory of the demo's sweep and report (run again: continues it)")
	cmd.Flags().IntVar(&parallel, "parallel", 2, "cells run at once, 1 to 64")
	cmd.Flags().IntVar(&txns, "txns", 20, "checkouts per cell")
	return cmd
}
