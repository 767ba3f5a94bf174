package report

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// markdown renders the summary for a design review: the scorecard, the
// readings, the charts by relative path. Every value that comes from the
// records (patterns, fault kinds and rates, run directories and files) or
// the user (the title) is written as text, as index.html writes it: HTML
// in a record shows in report.md, it is never rendered (see mdText, code
// and mdLink).
func (pg *page) markdown() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%d runs of %d patterns on the %s runtime from %s, generated %s.\n\n", mdText(pg.Title), pg.Runs, pg.Patterns, mdText(pg.Runtimes), code(pg.Source), pg.Generated)
	for _, sc := range pg.Scorecards {
		b.WriteString("## Scorecard")
		if sc.Runtime != "" {
			b.WriteString(": " + mdText(sc.Runtime) + " runtime")
		}
		fmt.Fprintf(&b, "\n\n✓ clean · ✓? clean, but a fault never landed: not exercised · ✗ anomalies per 100 checkouts · ? verdict unknown. "+
			"Under each mark: the 95%% interval of anomalies per 100 checkouts (exact Poisson), the runs that found anomalies with their 95%% interval (Wilson), "+
			"and the seeds and checkouts the cell rests on (%s).\n\n", mdText(sc.Note))
		head := []string{"pattern"}
		for _, c := range sc.Columns {
			head = append(head, mdText(c.Text))
		}
		fmt.Fprintf(&b, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
		for _, r := range sc.Rows {
			cells := []string{code(r.Pattern)}
			for _, c := range r.Cells {
				parts := []string{mdText(c.Text)}
				for _, l := range c.Lines {
					parts = append(parts, mdText(l))
				}
				cells = append(cells, strings.Join(parts, " · "))
			}
			fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
		}
		b.WriteString("\n")
	}
	for _, rs := range pg.Readings {
		b.WriteString("## What the numbers say")
		if rs.Runtime != "" {
			b.WriteString(": " + mdText(rs.Runtime) + " runtime")
		}
		b.WriteString("\n\n")
		for _, r := range rs.Items {
			fmt.Fprintf(&b, "- **%s**: %s\n", mdText(r.Pattern), mdText(r.Text))
		}
		b.WriteString("\n")
	}
	if pg.NoChart != "" {
		b.WriteString(mdText(pg.NoChart) + "\n")
	}
	for _, s := range pg.Sections {
		fmt.Fprintf(&b, "\n## %s\n\n%s", mdText(s.Title), mdText(s.Intro))
		if s.Empty != "" {
			b.WriteString(" " + mdText(s.Empty))
		}
		b.WriteString("\n\n")
		for _, c := range s.Figures {
			fmt.Fprintf(&b, "!%s\n\n", mdLink(c.Title, c.PNGPath))
		}
		if t := s.Table; t != nil {
			fmt.Fprintf(&b, "%s\n\n| %s |\n|%s\n", mdText(t.Caption), strings.Join(mdTexts(t.Head), " | "), strings.Repeat("---|", len(t.Head)))
			for _, r := range t.Rows {
				fmt.Fprintf(&b, "| %s | %s |\n", code(r.Pattern), strings.Join(mdTexts(r.Cells), " | "))
			}
			b.WriteString("\n")
		}
		for _, c := range s.Charts {
			fmt.Fprintf(&b, "!%s\n\n", mdLink(c.Title, c.PNGPath))
		}
	}
	readsMarkdown(&b, pg.Reads)
	if len(pg.Histories) > 0 {
		b.WriteString("\n## Failing histories\n\n")
		for _, h := range pg.Histories {
			var links []string
			for _, l := range h.Links {
				links = append(links, mdLink(l.Text, l.Href))
			}
			fmt.Fprintf(&b, "- %s (%s, seed %d, %s runtime): %s\n", code(h.ID), mdText(h.Pattern), h.Seed, mdText(h.Runtime), strings.Join(links, " · "))
		}
	}
	return []byte(b.String())
}

// mdText is s as Markdown text on one line: its HTML escaped (shown, not
// rendered) and a | escaped, so that it cannot end a table cell.
var mdText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "|", `\|`, "\n", " ", "\r", " ").Replace

// code is s as a Markdown code span; s holding what a code span cannot
// hold safely in a table (a backtick, a |, a line break) or would show
// escaped (HTML: entities are not decoded in a code span) is written as
// text instead.
func code(s string) string {
	if s == "" || strings.ContainsAny(s, "`|\n\r<>&") {
		return mdText(s)
	}
	return "`" + s + "`"
}

// mdLink is a Markdown link to the relative path href: the path is
// URL-escaped (no space, bracket or parenthesis ends it early, and a first
// segment with a colon cannot pass for a scheme such as javascript:).
func mdLink(text, href string) string {
	u := url.URL{Path: filepath.ToSlash(href)}
	return fmt.Sprintf("[%s](%s)", strings.NewReplacer("[", `\[`, "]", `\]`).Replace(mdText(text)), u.String())
}

func mdTexts(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = mdText(x)
	}
	return out
}
