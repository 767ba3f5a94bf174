package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/txchaos/txchaos/checker"
)

// maxWitnessLines is how many lines of a witness's story the terminal
// shows; the record keeps them all.
const maxWitnessLines = 16

// writeAnomalies prints the anomaly table of a report — every class, its
// count and first example; a read class the pattern does not promise shows
// "-" and what its reads showed — then the reads line, and under them the
// witness of each class with anomalies: the story of its first example's
// subject.
func writeAnomalies(w io.Writer, rep checker.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ANOMALY\tCOUNT\tEXAMPLE")
	for _, cl := range checker.Classes {
		if f, ok := rep.Reads.Unpromised[cl]; ok {
			fmt.Fprintf(tw, "%s\t-\tnot promised (%s reads): %d, e.g. %s\n", cl, rep.Reads.Promise, f.Count, f.Examples[0])
			continue
		}
		f := rep.Anomalies[cl]
		ex := ""
		if len(f.Examples) > 0 {
			ex = f.Examples[0]
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", cl, f.Count, ex)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s\n", rep.Reads)
	writeWitnesses(w, rep)
}

// writeWitnesses prints the witness of each class with anomalies, once per
// subject: a class whose witness tells the same story as an earlier one's
// points to it. A long story is cut to maxWitnessLines, keeping the log
// rows the example cites.
func writeWitnesses(w io.Writer, rep checker.Report) {
	told := map[string]checker.Class{}
	header := false
	for _, cl := range checker.Classes {
		wit := rep.Anomalies[cl].Witness
		if rep.Anomalies[cl].Count == 0 || wit == nil {
			continue
		}
		if !header {
			fmt.Fprintln(w, "\nwitnesses (the story of each class's first example):")
			header = true
		}
		if first, ok := told[wit.Subject]; ok {
			fmt.Fprintf(w, "  %s: %s, as told for %s\n", cl, wit.Subject, first)
			continue
		}
		told[wit.Subject] = cl
		fmt.Fprintf(w, "  %s: %s\n", cl, wit.Subject)
		keep := storyLines(wit.Story, rep.Anomalies[cl].Examples[0])
		gap := false
		for i, line := range wit.Story {
			if !keep[i] {
				gap = true
				continue
			}
			if gap {
				fmt.Fprintln(w, "    …")
				gap = false
			}
			fmt.Fprintf(w, "    %s\n", line)
		}
		if n := len(wit.Story) - len(keep); n > 0 {
			fmt.Fprintf(w, "    … %d more lines in the record\n", n)
		}
	}
}

var citedSeq = regexp.MustCompile(`\bseq (\d+)`)

// storyLines picks the lines of a story the terminal shows: the log rows
// the example cites by seq, then the first lines, up to maxWitnessLines.
func storyLines(story []string, example string) map[int]bool {
	keep := map[int]bool{}
	for _, m := range citedSeq.FindAllStringSubmatch(example, -1) {
		for i, line := range story {
			if strings.Contains(line, " log seq "+m[1]+":") && len(keep) < maxWitnessLines {
				keep[i] = true
			}
		}
	}
	for i := 0; i < len(story) && len(keep) < maxWitnessLines; i++ {
		keep[i] = true
	}
	return keep
}
