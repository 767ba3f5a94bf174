package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/txchaos/txchaos/results/stats"
	"github.com/txchaos/txchaos/scenarios"
)

// writeAggregate prints a sweep's cells summed over their seeds: the runs
// that found anomalies and anomalies per 100 checkouts, each with its 95%
// interval (Wilson, exact Poisson), and the faults no run exercised.
func writeAggregate(w io.Writer, done []scenarios.CellResult, seeds int, file string) {
	if seeds < 2 || len(done) == 0 {
		return
	}
	fmt.Fprintf(w, "cells over their seeds, with 95%% intervals (%s):\n", file)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range scenarios.Aggregate(done) {
		mark := "✓"
		ne := c.NotExercised()
		switch {
		case c.Anomalous > 0:
			mark = "✗"
		case c.Unknown > 0:
			mark = "?"
		case len(ne) > 0:
			mark = "✓?"
		}
		share, per := c.RunsWithAnomalies(), c.Per100("")
		line := fmt.Sprintf("  %s\t%s\t%s %s\t%d/%d runs [%s]\t%s [%s] per 100\t%d checkouts",
			mark, c.Pattern, c.Faults, c.Rate, c.Anomalous, c.Runs, bounds(share, 100, "%"), fmtNum(per.Est), bounds(per, 1, ""), c.Checkouts)
		if mark == "✓?" {
			line += "\tnot exercised: " + strings.Join(ne, " ")
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

// bounds is an interval's bounds times scale.
func bounds(i stats.Interval, scale float64, unit string) string {
	if !i.Valid() {
		return "–"
	}
	return fmtNum(i.Lo*scale) + "–" + fmtNum(i.Hi*scale) + unit
}

// fmtNum is a figure with three significant digits at most.
func fmtNum(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0")
	default:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	}
}
