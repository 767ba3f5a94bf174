package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/txchaos/txchaos/checker"
)

// readsOf is what the reads of a record showed, nil for a record that
// does not say (schema version 1).
func readsOf(raw json.RawMessage) *checker.Reads {
	var r checker.Reads
	if len(raw) == 0 || json.Unmarshal(raw, &r) != nil || r.Promise == "" {
		return nil
	}
	return &r
}

// readsRow is a pattern's line of the reads table: the read model it
// promises, the models its reads held in every run, and its stale reads.
type readsRow struct {
	Pattern, Promise, Held, Broke string
	// Stale is the stale reads per 100 checkouts, the mean over runs;
	// Stalest the longest least staleness of any run, in ms.
	Stale, Stalest string
	Runs           int
}

// readsRows are the patterns' lines of the reads table, for the patterns
// whose records say what their reads showed.
func (d *data) readsRows() []readsRow {
	var out []readsRow
	for _, p := range d.patterns {
		var promises []string
		held := slices.Clone(checker.ReadModels)
		var per100 []float64
		var stalest time.Duration
		n := 0
		for _, r := range d.runs {
			if r.pattern != p || r.reads == nil {
				continue
			}
			n++
			if s := string(r.reads.Promise); !slices.Contains(promises, s) {
				promises = append(promises, s)
			}
			held = slices.DeleteFunc(held, func(m checker.ReadModel) bool { return !slices.Contains(r.reads.Held, m) })
			if c := r.fig("checkouts"); c > 0 {
				per100 = append(per100, 100*float64(r.reads.Stale)/c)
			}
			stalest = max(stalest, r.reads.MaxStaleness)
		}
		if n == 0 {
			continue
		}
		var heldNames, broke []string
		for _, m := range checker.ReadModels {
			if slices.Contains(held, m) {
				heldNames = append(heldNames, string(m))
			} else {
				broke = append(broke, string(m))
			}
		}
		row := readsRow{Pattern: p, Promise: strings.Join(promises, ", "), Held: orNone(heldNames), Broke: orNone(broke), Runs: n, Stale: "–", Stalest: "–"}
		if len(per100) > 0 {
			sum := 0.0
			for _, v := range per100 {
				sum += v
			}
			row.Stale = num(sum / float64(len(per100)))
		}
		if stalest > 0 {
			row.Stalest = num(float64(stalest) / float64(time.Millisecond))
		}
		out = append(out, row)
	}
	return out
}

func orNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}

// staleText is a run's stale reads and its stalest, for the table of
// every run.
func staleText(r *checker.Reads) string {
	if r == nil {
		return "–"
	}
	if r.Stale == 0 {
		return "0"
	}
	return fmt.Sprintf("%d · %s ms", r.Stale, num(float64(r.MaxStaleness)/float64(time.Millisecond)))
}

// readsIntro explains the reads table.
const readsIntro = "Which consistency models the reads of orders and balances held (linearizable, session: " +
	"read-your-writes and monotonic reads, eventual: converged at rest), against the one each pattern promises. " +
	"Reads weaker than the promise are anomalies (stale-read, session-stale-read, unconverged-read); reads " +
	"stronger than it are information. A stale read missed a state a client had already been shown; the " +
	"stalest is how stale at least, from that answer to the read."

// readsMarkdown is the reads table in Markdown.
func readsMarkdown(b *strings.Builder, rows []readsRow) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Reads\n\n%s\n\n", readsIntro)
	b.WriteString("| pattern | promised | held in every run | broke | stale reads per 100 checkouts | stalest ms | runs |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %d |\n", code(r.Pattern), mdText(r.Promise), mdText(r.Held), mdText(r.Broke), r.Stale, r.Stalest, r.Runs)
	}
}
