package scenarios

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/results"
)

// writeSummary rewrites summary.csv and aggregate.csv; r.mu is held or no
// cell runs.
func (r *sweepRun) writeSummary() error {
	var out []CellResult
	for _, c := range r.cells {
		if res, ok := r.done[c.ID]; ok {
			out = append(out, res)
		}
	}
	var buf bytes.Buffer
	if err := WriteSummaryCSV(&buf, out); err != nil {
		return err
	}
	if err := results.WriteFile(filepath.Join(r.dir, SummaryFile), buf.Bytes()); err != nil {
		return err
	}
	buf.Reset()
	if err := WriteAggregateCSV(&buf, Aggregate(out)); err != nil {
		return err
	}
	return results.WriteFile(filepath.Join(r.dir, AggregateFile), buf.Bytes())
}

// SummaryColumns are the columns of summary.csv: the cell, its verdict,
// each anomaly class's count (in checker.Classes order), the figures, and
// the faults of its profile that never landed, space-separated (see
// results.Evidence). Timings are the runtime's clock (on the live runtime,
// the wall clock slowed down on a busy machine: see Result.Slowness).
func SummaryColumns() []string {
	cols := []string{"cell", "pattern", "faults", "rate", "seed", "profile", "verdict"}
	for _, c := range checker.Classes {
		cols = append(cols, string(c))
	}
	cols = append(cols, summaryFigures...)
	return append(cols, "not_exercised")
}

var summaryFigures = []string{"checkouts", "availability", "latency_p50_ms", "latency_p99_ms", "throughput_per_s", "converge_ms"}

// WriteSummaryCSV writes the header of SummaryColumns and a row per cell.
// A figure a record does not hold is left empty.
func WriteSummaryCSV(w io.Writer, cells []CellResult) error {
	cw := csv.NewWriter(w)
	cw.Write(SummaryColumns())
	for _, cr := range cells {
		c, rec := cr.Cell, cr.Record
		row := []string{c.ID, c.Pattern, c.Faults, c.Rate, strconv.FormatInt(c.Seed, 10), c.Profile, rec.Verdict}
		for _, cl := range checker.Classes {
			row = append(row, strconv.Itoa(rec.Anomalies[string(cl)]))
		}
		for _, f := range summaryFigures {
			v, ok := rec.Figure(f)
			if !ok {
				row = append(row, "")
				continue
			}
			row = append(row, strconv.FormatFloat(v, 'f', -1, 64))
		}
		var ne []string
		if rec.Evidence != nil {
			ne = rec.Evidence.NotExercised
		}
		row = append(row, strings.Join(ne, " "))
		cw.Write(row)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	return nil
}
