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

// demoSweeps are the demo: every pattern without faults and under the
// default fault mix — lost responses on every link, and the coordinator
// crashing at each of its crash points — in small cells with short
// timeouts, on both runtimes. The det runtime runs seeds seeds of each
// cell at rates 0.05 and 0.2: enough runs to tell the rates apart, where
// the same seed is the same run and a run takes a fraction of a second.
// The live runtime, real sockets through Toxiproxy and real SQLite files,
// runs one seed of each at rate 0.2: one run cannot tell two rates apart.
func demoSweeps(txns, seeds int) (det, live scenarios.Sweep) {
	base := scenarios.Default()
	base.Workload = scenarios.Workload{Txns: txns, Concurrency: 4, Attempts: 3, Customers: 10}
	base.World.CallTimeout, base.CallTimeout, base.Quiet = 300*time.Millisecond, 1500*time.Millisecond, 5*time.Second
	det = scenarios.Sweep{Patterns: patterns.Names(), Faults: []string{"lost-response", "crashpoint"},
		Rates: []string{"0", "0.05", "0.2"}, Seeds: seeds, Base: base}
	det.Base.Runtime = "det"
	live = det
	live.Rates, live.Seeds, live.Base.Runtime = []string{"0", "0.2"}, 1, "live"
	return det, live
}

// The demo's directories under --out.
const (
	demoDet  = "det"
	demoLive = "live"
)

func newDemo() *cobra.Command {
	var out string
	var parallel, txns, seeds int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Sweep every pattern under lost responses and coordinator crashes, on both runtimes, and write the HTML report",
		Long: `demo runs every pattern without faults and under the default fault mix (lost
responses on every link; the coordinator crashing at each of its crash points):
--seeds seeds of each cell at rates 0.05 and 0.2 on the det runtime, for the
statistics, then one seed at rate 0.2 on the live runtime (real sockets, real
Toxiproxy, real SQLite files). It writes the comparison report, a scorecard
per runtime, and prints its path. It takes two to three minutes on two cores;
Ctrl-C stops it, and running it again continues.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkParallel(parallel); err != nil {
				return err
			}
			if err := checkOutDir("out", out); err != nil {
				return err
			}
			if seeds < 1 || seeds > 1000 {
				return usageError("--seeds: %d is not between 1 and 1000", seeds)
			}
			det, live := demoSweeps(txns, seeds)
			w := cmd.OutOrStdout()
			for _, part := range []struct {
				sweep scenarios.Sweep
				dir   string
				lines bool
			}{{det, demoDet, false}, {live, demoLive, true}} {
				dir := filepath.Join(out, part.dir)
				_, err := os.Stat(filepath.Join(dir, scenarios.SweepFile))
				if _, err := runSweep(cmd.Context(), w, part.sweep, dir, parallel, err == nil, part.lines); err != nil {
					var ee *exitError
					if errors.As(err, &ee) && ee.code == exitUsage {
						return usageError("%v (remove %s to start the demo afresh)", ee.err, out)
					}
					return err
				}
				fmt.Fprintln(w)
			}
			rep, err := report.Generate(out, report.Options{Title: "txchaos demo: every pattern under lost responses and coordinator crashes"})
			if err != nil {
				return harnessError(err)
			}
			fmt.Fprintf(w, "report: %s\n", rep.HTML)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "txchaos-demo", "directory of the demo's sweeps and report (run again: continues it)")
	cmd.Flags().IntVar(&parallel, "parallel", 2, "cells run at once, 1 to 64")
	cmd.Flags().IntVar(&txns, "txns", 20, "checkouts per run")
	cmd.Flags().IntVar(&seeds, "seeds", 10, "seeds per cell on the det runtime")
	return cmd
}
