package scenarios

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/results/stats"
)

// AggregateFile is the sweep's cells summed over their seeds, a row per
// pattern × fault kind × rate (see AggregateColumns).
const AggregateFile = "aggregate.csv"

// CellStats is one cell of a sweep over its seeds: a pattern under a fault
// kind at a rate, its runs summed (see package stats).
type CellStats struct {
	Pattern, Faults, Rate string
	stats.Cell
}

// Aggregate sums finished cells over their seeds, in the order their
// first seed ran.
func Aggregate(cells []CellResult) []CellStats {
	var order []string
	recs := map[string][]*results.Record{}
	first := map[string]Cell{}
	for _, cr := range cells {
		key := cr.Cell.Pattern + "\x00" + cr.Cell.Faults + "\x00" + cr.Cell.Rate
		if _, ok := first[key]; !ok {
			order = append(order, key)
			first[key] = cr.Cell
		}
		recs[key] = append(recs[key], cr.Record)
	}
	out := make([]CellStats, len(order))
	for i, key := range order {
		c := first[key]
		out[i] = CellStats{Pattern: c.Pattern, Faults: c.Faults, Rate: c.Rate, Cell: stats.Summarize(recs[key])}
	}
	return out
}

// AggregateColumns are the columns of aggregate.csv: the cell, its
// runtimes, its runs, seeds and checkouts; the runs that found anomalies
// with the 95% Wilson interval of their share; anomalies, and anomalies
// per 100 checkouts with their 95% exact Poisson interval; and the faults
// of its profile that landed in none of its runs, space-separated.
func AggregateColumns() []string {
	return []string{"pattern", "faults", "rate", "runtime", "runs", "seeds", "checkouts",
		"runs_with_anomalies", "share_lo", "share_hi", "anomalies", "per100", "per100_lo", "per100_hi", "not_exercised"}
}

// WriteAggregateCSV writes the header of AggregateColumns and a row per
// cell.
func WriteAggregateCSV(w io.Writer, cells []CellStats) error {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	cw := csv.NewWriter(w)
	cw.Write(AggregateColumns())
	for _, c := range cells {
		share, per := c.RunsWithAnomalies(), c.Per100("")
		cw.Write([]string{c.Pattern, c.Faults, c.Rate, strings.Join(c.Runtimes, " "), strconv.Itoa(c.Runs), strconv.Itoa(len(c.Seeds)),
			strconv.Itoa(c.Checkouts), strconv.Itoa(c.Anomalous), f(share.Lo), f(share.Hi),
			strconv.Itoa(c.Anomalies), f(per.Est), f(per.Lo), f(per.Hi), strings.Join(c.NotExercised(), " ")})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("aggregate: %w", err)
	}
	return nil
}
