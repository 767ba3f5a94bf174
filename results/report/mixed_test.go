package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/results"
)

// mixedFixture is a directory of single runs as `txchaos run` leaves them
// in txchaos-out: several patterns under several profiles and scenarios,
// on both runtimes, the same pattern and seed on each (see
// testdata/README.md).
const mixedFixture = "testdata/mixed"

// gap finds text with a hole where a rate or a name should be: "at :",
// "at .", "at  ", "under ,", an "at" that ends a sentence.
var gap = regexp.MustCompile(`\b(at|under|of)\s*([:.,;)]|$)|\b(at|under|of)  `)

// TestMixedRuns reads a directory of single runs of both runtimes: each
// runtime has its scorecard and its readings, a whole fault profile heads
// its column a fault per line (with the scenario it came from), no text
// has a gap where a rate should be, and kinds with a single point get no
// chart, said so.
func TestMixedRuns(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, copyDir(mixedFixture, dir))
	pg := plan(t, dir)
	require.Equal(t, "det and live", pg.Runtimes)
	require.Len(t, pg.Scorecards, 2)
	require.Equal(t, []string{"det", "live"}, []string{pg.Scorecards[0].Runtime, pg.Scorecards[1].Runtime})
	require.Len(t, pg.Readings, 2)
	require.Equal(t, "det", pg.Readings[0].Runtime)
	require.Equal(t, "live", pg.Readings[1].Runtime)

	var heads [][]string
	for _, sc := range pg.Scorecards {
		for _, k := range sc.Kinds {
			heads = append(heads, k.Lines)
			for _, l := range k.Lines {
				require.LessOrEqual(t, len(l), 45, "a column head's line stays narrow: %q", l)
			}
		}
	}
	require.Contains(t, heads, []string{"scenario broker-outage", "drop-request=orders-broker:1", "crash=broker:0.05"},
		"a whole profile is a fault per line, under the scenario it came from")
	require.Contains(t, heads, []string{"scenario double-submit", "drop-request:orders-payments"})
	require.Contains(t, heads, []string{"crashpoint=before-publish:0.2", "lost-response=0.05"})

	md := string(pg.markdown())
	var texts []string
	for _, rs := range pg.Readings {
		for _, r := range rs.Items {
			texts = append(texts, r.Text)
		}
	}
	for _, s := range append(texts, strings.Split(md, "\n")...) {
		require.False(t, gap.MatchString(s), "a gap in %q", s)
	}
	require.Contains(t, md, "Under crashpoint=before-publish:0.2, lost-response=0.05: ")
	require.Contains(t, md, "under drop-request=orders-broker:1, crash=broker:0.05 (scenario broker-outage)")
	require.Contains(t, md, "## What the numbers say: det runtime")
	require.Contains(t, md, "## What the numbers say: live runtime")

	rep, err := Generate(dir, Options{})
	require.NoError(t, err)
	page, err := os.ReadFile(rep.HTML)
	require.NoError(t, err)
	require.Contains(t, string(page), `<p id="no-chart">No chart for `, "single points make no chart, and the page says so")
	require.NotContains(t, string(page), `id="chart-availability-`, "every kind here is run at one rate: no chart but latency's")
	for _, rt := range []string{"det", "live"} {
		require.Contains(t, string(page), `<h2 id="scorecard-`+rt+`">Scorecard: `+rt+` runtime</h2>`)
	}
	require.FileExists(t, filepath.Join(dir, "naive-dual-write-seed1-20261201T184411.752", "history-o000002.html"))
}

// TestScenarioAndPlainRunsOfOneKind: a fault kind run both from a
// scenario and without one (txchaos run --scenario lost-responses beside
// txchaos run --faults lost-response=0.2) heads its column with the
// scenario marked "some runs", and each cell's text names the scenario
// only at the rate its runs came from.
func TestScenarioAndPlainRunsOfOneKind(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, copyDir(mixedFixture, dir))
	plainRun := filepath.Join(dir, "naive-dual-write-seed7-20261201T184412.589") // live, lost-response=0.2, no scenario
	fromScenario := filepath.Join(dir, "naive-dual-write-seed7-20261201T184413.000")
	require.NoError(t, copyDir(plainRun, fromScenario))
	rec, err := results.Read(filepath.Join(fromScenario, "record.json"))
	require.NoError(t, err)
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(rec.Config, &cfg))
	cfg["faults"] = "lost-response=0.1"
	rec.Config, err = json.Marshal(cfg)
	require.NoError(t, err)
	rec.Scenario = "lost-responses"
	require.NoError(t, results.Write(filepath.Join(fromScenario, "record.json"), rec))

	pg := plan(t, dir)
	var live *scorecard
	for i := range pg.Scorecards {
		if pg.Scorecards[i].Runtime == "live" {
			live = &pg.Scorecards[i]
		}
	}
	require.NotNil(t, live)
	var heads [][]string
	texts := map[string]string{}
	for _, k := range live.Kinds {
		heads = append(heads, k.Lines)
	}
	for _, c := range live.Columns {
		texts[c.Rate] = c.Text
	}
	require.Contains(t, heads, []string{"scenario lost-responses (some runs)", "lost-response"})
	require.Equal(t, "lost-response at 0.1 (scenario lost-responses)", texts["0.1"])
	require.Equal(t, "lost-response at 0.2", texts["0.2"], "the plain run's cell names no scenario")
}
