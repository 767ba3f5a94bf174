package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/txchaos/txchaos/scenarios"
)

func newDemo() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show the naive dual write clean without faults, then breaking under lost responses and a coordinator crash",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			for i, faults := range []string{"", "lost-response=0.05,crashpoint=after-local-commit:0.05"} {
				cfg := scenarios.Default()
				cfg.Faults = faults
				cfg.Workload.Txns = 150
				if i > 0 {
					fmt.Fprintln(w, "\n────────────────────────────────────────────────────────────────────────")
				}
				res, _, path, err := runOne(cmd, cfg, out)
				if err != nil {
					return err
				}
				writeScorecard(w, res, path)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "txchaos-out", "directory to write the runs' records into")
	return cmd
}
