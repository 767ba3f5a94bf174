package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// staleLine is the scorecard's reads line of a pattern promising eventual
// reads whose reads lagged.
var staleLine = regexp.MustCompile(`\nreads: promised eventual · held eventual · broke linearizable, session · (\d+) stale, the stalest by at least \S+\n`)

// TestEventSourcingExitsCleanWithStaleReads: without faults, event-sourcing
// exits 0 on both runtimes — its reads lag, which it does not promise
// otherwise — and the scorecard reports its stale reads. `check` judges
// the stored run again against the promise the record names. (On live,
// all of a run's reads fresh has a probability far below 1e-6: see
// scenarios' TestEventSourcingStaleReadsOnBothRuntimes.)
func TestEventSourcingExitsCleanWithStaleReads(t *testing.T) {
	for _, runtime := range []string{"det", "live"} {
		t.Run(runtime, func(t *testing.T) {
			dir := t.TempDir()
			code, out, stderr := run(t, "run", "--runtime", runtime, "--pattern", "event-sourcing", "--txns", "60", "--out", dir)
			require.Zero(t, code, "%s%s", out, stderr)
			require.Contains(t, out, "verdict: CLEAN")
			require.Regexp(t, `\nsession-stale-read +- +not promised \(eventual reads\): \d+, e\.g\. order o\d+: client \d+ read (absent|pending)`, out)
			m := staleLine.FindStringSubmatch(out)
			require.NotNil(t, m, out)
			n, _ := strconv.Atoi(m[1])
			require.Positive(t, n)

			recs, err := filepath.Glob(filepath.Join(dir, "*", "record.json"))
			require.NoError(t, err)
			require.Len(t, recs, 1)
			code, out, stderr = run(t, "check", recs[0])
			require.Zero(t, code, "%s%s", out, stderr)
			require.Contains(t, out, m[0][1:], "check tells the same reads")
			require.Contains(t, out, "reads judged against the promise eventual (the record's)")

			old := editRecord(t, recs[0], t.TempDir(), "record.json", func(doc map[string]json.RawMessage) {
				doc["schema_version"] = json.RawMessage("1")
				delete(doc, "reads")
			})
			code, out, stderr = run(t, "check", old)
			require.Zero(t, code, "%s%s", out, stderr)
			require.Contains(t, out, "reads judged against the promise eventual (pattern event-sourcing's)", "a version-1 record names no promise: the pattern's")
		})
	}
}
