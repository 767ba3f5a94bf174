package report

import (
	"fmt"
	"strings"

	"github.com/txchaos/txchaos/results/stats"
)

// scorecard is the table of one runtime's cells: a row per pattern, a
// column per fault kind and rate.
type scorecard struct {
	// Runtime is set when the report has several runtimes; Note says
	// what a cell rests on.
	Runtime, Note string
	Kinds         []kindHead
	Columns       []column
	Rows          []scoreRow
}

// kindHead heads a fault kind's columns: its name, a line each (see
// kindLines).
type kindHead struct {
	Lines []string
	Span  int
}

// column is a scorecard column: a fault kind at a rate. Label heads it
// under its kind's head; Text names it on one line (report.md).
type column struct{ Kind, Rate, Label, Text string }

type scoreRow struct {
	Pattern string
	Cells   []scoreCell
}

// scoreCell is a cell of the scorecard: a mark and the figure (Text),
// the lines under it (the intervals, what it rests on), and its tooltip.
type scoreCell struct {
	Text, Class, Title string
	Lines              []string
}

// scorecard is d's table; named says whether to name its runtime.
func (d *data) scorecard(named bool) scorecard {
	sc := scorecard{Note: d.seedNote() + " per cell"}
	if named {
		sc.Runtime = d.runtime
	}
	if d.hasNone {
		sc.Columns = append(sc.Columns, column{Kind: "none", Rate: "0", Label: "rate 0", Text: "no faults"})
		sc.Kinds = append(sc.Kinds, kindHead{Lines: d.kindLines("none"), Span: 1})
	}
	for _, k := range d.kinds {
		rates := d.rates(k)
		sc.Kinds = append(sc.Kinds, kindHead{Lines: d.kindLines(k), Span: len(rates)})
		for _, r := range rates {
			label := r
			if r == "" {
				label = "at the rates above"
			}
			sc.Columns = append(sc.Columns, column{Kind: k, Rate: r, Label: label, Text: d.cellText(k, r)})
		}
	}
	for _, p := range d.patterns {
		row := scoreRow{Pattern: p}
		for _, c := range sc.Columns {
			row.Cells = append(row.Cells, d.scoreCell(d.groups[[3]string{p, c.Kind, c.Rate}]))
		}
		sc.Rows = append(sc.Rows, row)
	}
	return sc
}

// scoreCell is one cell: ✗ with anomalies per 100 checkouts when some run
// found anomalies, ? when some verdict is unknown, ✓? when the runs are
// clean but some fault of the profile landed in none of them (not
// exercised), else ✓. Under the mark: the 95% interval of anomalies per
// 100 checkouts, the runs with anomalies with theirs, and the seeds and
// checkouts the cell rests on.
func (d *data) scoreCell(g *group) scoreCell {
	if g == nil {
		return scoreCell{Text: "–", Class: "none", Title: "not run"}
	}
	c := g.cell
	per, share := c.Per100(""), c.RunsWithAnomalies()
	rate := "[" + rangeText(per, 1, "") + "] per 100"
	runs := fmt.Sprintf("%d/%d runs [%s]", c.Anomalous, c.Runs, rangeText(share, 100, "%"))
	rests := fmt.Sprintf("%d %s · %d checkouts", len(c.Seeds), plural(len(c.Seeds), "seed", "seeds"), c.Checkouts)
	about := fmt.Sprintf("%d of %d runs found anomalies (95%% Wilson interval %s); %s anomalies per 100 checkouts (95%% exact Poisson interval %s); seeds %s, %d checkouts, %s runtime.",
		c.Anomalous, c.Runs, rangeText(share, 100, "%"), num(per.Est), rangeText(per, 1, ""), seedList(c.Seeds), c.Checkouts, strings.Join(c.Runtimes, ", "))
	var detail []string
	for _, cl := range d.classes {
		if k := c.ByClass[cl]; k > 0 {
			detail = append(detail, fmt.Sprintf("%s %d", cl, k))
		}
	}
	switch ne := c.NotExercised(); {
	case c.Anomalous > 0:
		class := "bad1"
		switch {
		case per.Est >= 10:
			class = "bad3"
		case per.Est >= 1:
			class = "bad2"
		}
		return scoreCell{Text: "✗ " + num(per.Est), Class: class, Lines: []string{rate, runs, rests},
			Title: about + " Found: " + strings.Join(detail, ", ") + "."}
	case c.Unknown > 0:
		return scoreCell{Text: "?", Class: "unknown", Lines: []string{runs, rests},
			Title: fmt.Sprintf("%d of %d runs with verdict unknown. %s", c.Unknown, c.Runs, about)}
	case len(ne) > 0:
		return scoreCell{Text: "✓?", Class: "unexercised", Lines: []string{"not exercised", runs, rests},
			Title: fmt.Sprintf("Clean, but %s never landed while an order it affected was open, in any run: the cell says nothing about %s. %s %s",
				joinAnd(ne), plural(len(ne), "it", "them"), about, landedText(c))}
	default:
		return scoreCell{Text: "✓", Class: "ok", Lines: []string{rate, runs, rests}, Title: "Clean. " + about + " " + landedText(c)}
	}
}

// landedText says in how many runs each fault of the cell landed.
func landedText(c stats.Cell) string {
	var parts []string
	for _, f := range c.Faults {
		parts = append(parts, fmt.Sprintf("%s landed in %d of %d runs", f.Fault, f.Landed, f.Runs))
	}
	if c.NoEvidence > 0 {
		parts = append(parts, fmt.Sprintf("%d runs hold no evidence of their faults (recorded before txchaos kept it)", c.NoEvidence))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "; ") + "."
}

// rangeText is an interval's bounds times scale, "lo–hi" with unit.
func rangeText(i stats.Interval, scale float64, unit string) string {
	if !i.Valid() {
		return "–"
	}
	return num(i.Lo*scale) + "–" + num(i.Hi*scale) + unit
}

// withInterval is an estimate with its interval: "11 [8.2–15]".
func withInterval(i stats.Interval) string {
	return num(i.Est) + " [" + rangeText(i, 1, "") + "]"
}

// seedList is seeds as "1–20" when they run without a gap.
func seedList(seeds []int64) string {
	switch {
	case len(seeds) == 0:
		return "none"
	case seeds[len(seeds)-1]-seeds[0] == int64(len(seeds)-1) && len(seeds) > 2:
		return fmt.Sprintf("%d–%d", seeds[0], seeds[len(seeds)-1])
	}
	var s []string
	for _, x := range seeds {
		s = append(s, fmt.Sprint(x))
	}
	return strings.Join(s, ", ")
}
