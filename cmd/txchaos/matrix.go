package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/scenarios"
)

func newMatrix() *cobra.Command {
	var f runFlags
	var names string
	cmd := &cobra.Command{
		Use:   "matrix",
		Short: "Measure patterns under every named fault and print a Markdown table (the one in patterns/README.md)",
		Example: `  txchaos matrix --patterns all --txns 100 --seed 1
  txchaos matrix --patterns outbox,naive-dual-write --txns 60`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var specs []patterns.Spec
			if names == "all" {
				specs = patterns.All()
			} else {
				for _, name := range strings.Split(names, ",") {
					s, err := patterns.Lookup(strings.TrimSpace(name))
					if err != nil {
						return usageError("--patterns: %v", err)
					}
					specs = append(specs, s)
				}
			}
			if len(specs) > 0 {
				f.cfg.Pattern = specs[0].Name
			}
			base, err := f.config()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			scenarios.WriteMatrixHeader(w)
			err = scenarios.Matrix(cmd.Context(), base, specs, func(r scenarios.MatrixRow) { scenarios.WriteMatrixRow(w, r) })
			if err != nil {
				return harnessError(err)
			}
			return nil
		},
	}
	f.bind(cmd.Flags())
	cmd.Flags().StringVar(&names, "patterns", "all", "comma-separated patterns, or all")
	for _, hidden := range []string{"pattern", "faults", "output", "out"} {
		cmd.Flags().MarkHidden(hidden)
	}
	return cmd
}
