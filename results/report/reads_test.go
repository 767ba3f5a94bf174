package report

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	_ "github.com/txchaos/txchaos/patterns/all"
	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/scenarios"
)

// TestReportShowsReads: the report says, per pattern, which read models
// held against the one promised and how stale the stale reads were — from
// real det runs of event-sourcing (a lagging projection, promising
// eventual reads) and outbox (reads of what it wrote).
func TestReportShowsReads(t *testing.T) {
	dir := t.TempDir()
	stale := map[string]*checker.Reads{}
	for _, p := range []string{"event-sourcing", "outbox"} {
		cfg := scenarios.Default()
		cfg.Pattern, cfg.Runtime, cfg.Workload.Txns = p, "det", 30
		res, err := scenarios.Execute(context.Background(), cfg, "")
		require.NoError(t, err)
		rec, err := res.Record()
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(dir, p), 0o755))
		require.NoError(t, results.Write(filepath.Join(dir, p, "record.json"), rec))
		stale[p] = &res.Report.Reads
	}
	require.Positive(t, stale["event-sourcing"].Stale)
	rep, err := Generate(dir, Options{})
	require.NoError(t, err)

	md, err := os.ReadFile(rep.Markdown)
	require.NoError(t, err)
	require.Contains(t, string(md), "\n## Reads\n")
	require.Regexp(t, regexp.MustCompile("\\| `event-sourcing` \\| eventual \\| eventual \\| linearizable, session \\| [0-9.]+ \\| "+
		regexp.QuoteMeta(staleMs(stale["event-sourcing"]))+" \\| 1 \\|"), string(md))
	require.Contains(t, string(md), "| `outbox` | linearizable | linearizable, session, eventual | none | 0 | – | 1 |")

	page, err := os.ReadFile(rep.HTML)
	require.NoError(t, err)
	require.Contains(t, string(page), `<table id="reads-table">`)
	require.Contains(t, string(page), "<td>"+staleText(stale["event-sourcing"])+"</td>", "every run's stale reads, in the table of runs")
}

func staleMs(r *checker.Reads) string { return num(float64(r.MaxStaleness) / 1e6) }
