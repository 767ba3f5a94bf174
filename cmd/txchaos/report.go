package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/txchaos/txchaos/results/report"
)

func newReport() *cobra.Command {
	var opts report.Options
	cmd := &cobra.Command{
		Use:   "report DIR",
		Short: "Turn a directory of records (a sweep's, or any) into charts, an HTML page and a Markdown summary",
		Long: `report reads every record.json under DIR and writes into --out (DIR/report by
default): charts as PNG and SVG (anomalies per 100 checkouts, availability and
time to converge against the fault rate, p50/p99 latency per pattern),
index.html (self-contained: open it without a network) and report.md.

Exit status: 0 written, 3 DIR is missing, holds no record.json or a record
that does not read, 4 the report could not be written.`,
		Example: `  txchaos sweep --patterns naive-dual-write,outbox --rates 0,0.1,0.2 --out sweep1
  txchaos report sweep1`,
		Args: oneArg("the directory of the records to report on", "txchaos-out"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := report.Generate(args[0], opts)
			var bad *report.InputError
			switch {
			case errors.As(err, &bad):
				return usageError("%v", err)
			case err != nil:
				return harnessError(err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%d runs, %d charts\nhtml:     %s\nmarkdown: %s\n", rep.Runs, len(rep.Charts), rep.HTML, rep.Markdown)
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Out, "out", "", "directory to write the report into (default DIR/report)")
	cmd.Flags().StringVar(&opts.Title, "title", "", `the page's title (default "txchaos report")`)
	return cmd
}
