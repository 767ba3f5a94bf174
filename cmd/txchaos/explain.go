package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/txchaos/txchaos/checker"
)

func newExplain() *cobra.Command {
	return &cobra.Command{
		Use:   "explain [ANOMALY]",
		Short: "Explain an anomaly class: what it means, the seed claim it tests, an example, who shows it and how to see it",
		Example: `  txchaos explain               # list every anomaly class
  txchaos explain hanging-action`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			if len(args) == 0 {
				writeClasses(w)
				return nil
			}
			d, ok := checker.Explain(checker.Class(args[0]))
			if !ok || !known(d.Class) {
				return usageError("anomaly %q is not one of %s", args[0], strings.Join(classNames(), ", "))
			}
			writeDoc(w, d)
			return nil
		},
	}
}

// known reports whether c is one of checker.Classes.
func known(c checker.Class) bool {
	for _, k := range checker.Classes {
		if k == c {
			return true
		}
	}
	return false
}

func classNames() []string {
	names := make([]string, len(checker.Classes))
	for i, c := range checker.Classes {
		names[i] = string(c)
	}
	return names
}

// writeClasses lists every class with its one-line summary.
func writeClasses(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ANOMALY\tWHAT IT COUNTS")
	for _, c := range checker.Classes {
		d, _ := checker.Explain(c)
		fmt.Fprintf(tw, "%s\t%s\n", c, d.Summary)
	}
	tw.Flush()
	fmt.Fprintln(w, "\ntxchaos explain ANOMALY says more about one.")
}

// writeDoc prints one class's explanation, wrapped for a terminal.
func writeDoc(w io.Writer, d checker.Doc) {
	fmt.Fprintf(w, "%s\n%s\n\n", d.Class, wrap(d.Summary, "  ", 76))
	section := func(title, text string) {
		fmt.Fprintf(w, "%s\n%s\n\n", title, wrap(text, "  ", 76))
	}
	section("What it means", d.Meaning)
	section("Seed claim it tests ("+d.Seed+")", "“"+d.Claim+"”")
	section("Example", d.Example)
	section("Expected in", d.Expected)
	fmt.Fprintf(w, "Reproduce\n  %s\n", d.Reproduce)
}

// wrap breaks text into lines of at most width characters, each starting
// with indent; a word longer than width stands on its own line.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	b.WriteString(line)
	return b.String()
}
