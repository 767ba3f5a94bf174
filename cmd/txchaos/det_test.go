package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/scenarios"
)

// detRun runs a small det run of the naive dual write under lost charge
// answers and returns its record's path.
func detRun(t *testing.T, dir string) string {
	t.Helper()
	code, out, stderr := run(t, "run", "--runtime", "det", "--pattern", "naive-dual-write", "--faults", "lost-response=orders-payments:0.3",
		"--txns", "8", "--concurrency", "2", "--attempts", "1", "--quiet", "500ms", "--service-timeout", "300ms", "--seed", "3", "--out", dir)
	require.Equal(t, 1, code, "the baseline leaks: %s%s", out, stderr)
	paths, err := filepath.Glob(filepath.Join(dir, "*", "record.json"))
	require.NoError(t, err)
	require.Len(t, paths, 1)
	return paths[0]
}

// edit rewrites the JSON record at path into a new file with change.
func edit(t *testing.T, path string, change func(map[string]any)) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(data, &doc))
	change(doc)
	data, err = json.Marshal(doc)
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "record.json")
	require.NoError(t, os.WriteFile(out, data, 0o644))
	return out
}

func TestReplay(t *testing.T) {
	rec := detRun(t, t.TempDir())

	code, out, stderr := run(t, "replay", rec)
	require.Zero(t, code, stderr)
	require.Contains(t, out, "reproduces: pattern naive-dual-write, seed 3")

	tampered := editRecord(t, rec, t.TempDir(), "record.json", func(doc map[string]json.RawMessage) {
		var h []map[string]any
		require.NoError(t, json.Unmarshal(doc["history"], &h))
		h[2]["return"] = h[2]["return"].(float64) + 1
		b, err := json.Marshal(h)
		require.NoError(t, err)
		doc["history"] = b
	})
	code, out, _ = run(t, "replay", tampered)
	require.Equal(t, 1, code)
	require.Regexp(t, regexp.MustCompile(`does not reproduce: the first difference \(recorded vs replayed\) is\n  history\[2\]\.return: \d+ vs \d+`), out)

	live := edit(t, rec, func(doc map[string]any) { doc["runtime"] = "live" })
	code, _, stderr = run(t, "replay", live)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, `runtime "live": only a det run replays`)

	inlined := editRecord(t, rec, t.TempDir(), "record.json", func(map[string]json.RawMessage) {})
	code, out, stderr = run(t, "replay", inlined)
	require.Zero(t, code, stderr)
	require.Contains(t, out, "reproduces: pattern naive-dual-write, seed 3", "a record of schema version 3, its history and state inline, replays")

	unscheduled := editRecord(t, rec, t.TempDir(), "record.json", func(doc map[string]json.RawMessage) {
		var s map[string]any
		require.NoError(t, json.Unmarshal(doc["schedule"], &s))
		s["faults"] = s["faults"].([]any)[1:]
		b, err := json.Marshal(s)
		require.NoError(t, err)
		doc["schedule"] = b
	})
	code, out, _ = run(t, "replay", unscheduled)
	require.Equal(t, 1, code)
	require.Contains(t, out, "the first difference (recorded vs replayed) is\n  schedule.faults", "replay compares the schedule too")

	old := editRecord(t, rec, t.TempDir(), "record.json", func(doc map[string]json.RawMessage) { doc["schema_version"] = json.RawMessage("1") })
	code, _, stderr = run(t, "replay", old)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "schema_version 1: this txchaos replays schema versions 3 to 5 only")

	mixed := editRecord(t, rec, t.TempDir(), "record.json", func(doc map[string]json.RawMessage) { doc["schema_version"] = json.RawMessage("4") })
	code, _, stderr = run(t, "replay", mixed)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "history, state: a record of schema version 4 keeps them in files (files), not inline")

	// A det record written by txchaos before fault sites were numbered per
	// order (schema version 2: testdata/det-record-v2.json, by the main
	// binary of 24c43fd) is refused, naming its version; check still reads it.
	code, _, stderr = run(t, "replay", filepath.Join("testdata", "det-record-v2.json"))
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "schema_version 2: this txchaos replays schema versions 3 to 5 only")
	require.Contains(t, stderr, "per order")
	code, _, stderr = run(t, "check", filepath.Join("testdata", "det-record-v2.json"))
	require.Equal(t, 1, code, "an old record is still judged: %s", stderr)

	code, _, stderr = run(t, "replay", filepath.Join(t.TempDir(), "none.json"))
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "no such file")
}

// TestRunSchedule: run --schedule runs exactly the faults a file names,
// at their sites, and refuses a schedule it cannot follow, naming why.
func TestRunSchedule(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "leak.schedule")
	require.NoError(t, os.WriteFile(file, []byte("# the answer to o000001's first charge is lost\n"+
		"request 1 of o000001 on orders->payments: lost-response\n"), 0o644))
	args := []string{"run", "--runtime", "det", "--pattern", "naive-dual-write", "--txns", "2", "--quiet", "500ms", "--out", ""}
	code, out, stderr := run(t, append(args, "--schedule", file)...)
	require.Equal(t, 1, code, "one lost answer charges o000001 twice: %s%s", out, stderr)
	require.Contains(t, out, "faults a schedule (below)")
	require.Contains(t, out, "order o000001: 2 active charges at payments")
	require.Contains(t, out, "faults applied: lost-response orders->payments ×1")
	require.Contains(t, out, "  request 1 of o000001 on orders->payments: lost-response  # at ")

	code, out, _ = run(t, args...)
	require.Zero(t, code, "without the schedule, no fault: %s", out)

	// On a scenario, --schedule replaces its faults; a sweep, which varies
	// faults by profile, takes none.
	code, out, stderr = run(t, "run", "--scenario", "lost-responses", "--pattern", "naive-dual-write", "--runtime", "det", "--schedule", file, "--out", "")
	require.Equal(t, 1, code, stderr)
	require.Contains(t, out, "faults a schedule (below)")
	require.Contains(t, out, "faults applied: lost-response orders->payments ×1")
	code, _, stderr = run(t, "sweep", "--schedule", file)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "unknown flag: --schedule")

	// A schedule run's record replays: its configuration holds the schedule.
	recDir := t.TempDir()
	code, _, stderr = run(t, append(append(append([]string(nil), args[:len(args)-2]...), "--out", recDir), "--schedule", file)...)
	require.Equal(t, 1, code, stderr)
	recs, err := filepath.Glob(filepath.Join(recDir, "*", "record.json"))
	require.NoError(t, err)
	require.Len(t, recs, 1)
	code, out, stderr = run(t, "replay", recs[0])
	require.Zero(t, code, "%s%s", out, stderr)
	require.Contains(t, out, "reproduces")

	for _, c := range []struct {
		text, flag, want string
	}{
		{"request 1 of o000001 on orders->payments: lost-response\n", "--faults=latency=1ms", `--schedule: given with faults "latency=1ms": a schedule names every fault of the run`},
		{"request 1 of o000001 on orders->payments: lost-response\n", "--runtime=live", "only the det runtime"},
		{"request one of o000001 on orders->payments: lost-response\n", "", "line 1"},
		{"request 1 of o000001 on orders->payments: vanish\n", "", "vanish"},
		{"request 1 of o000001 on orders->nowhere: lost-response\n", "", "link orders->nowhere is not in this world"},
		{"visit 1 of before-lunch at orders: crashpoint\n", "", `crash point "before-lunch" is not one of this pattern's`},
	} {
		bad := filepath.Join(t.TempDir(), "bad.schedule")
		require.NoError(t, os.WriteFile(bad, []byte(c.text), 0o644))
		a := append(append([]string(nil), args...), "--schedule", bad)
		if c.flag != "" {
			a = append(a, c.flag)
		}
		code, out, stderr := run(t, a...)
		require.Equal(t, exitUsage, code, "%s %s: %s", c.text, c.flag, out)
		require.Contains(t, stderr, c.want)
	}
	code, _, stderr = run(t, append(args, "--schedule", filepath.Join(dir, "none.schedule"))...)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "--schedule: ")
	require.Contains(t, stderr, "no such file")
}

func TestShrink(t *testing.T) {
	rec := detRun(t, t.TempDir())
	file := filepath.Join(t.TempDir(), "regress", "leak.yaml")
	code, out, stderr := run(t, "shrink", rec, "--class", "leaked-resource", "--out", file)
	require.Zero(t, code, stderr)
	require.Contains(t, out, "leaked-resource: 8 → 1 orders")
	require.Contains(t, out, "faults lost-response=orders-payments:0.3 → 1 fault at its site")
	require.Contains(t, out, "\n  request 1 of o000001 on orders->payments: lost-response  # at ", "the fault that matters, at its site")
	require.Contains(t, out, "txchaos run --pattern naive-dual-write --scenario "+file)
	require.Contains(t, stderr, "✓", "the progress shows the kept changes")

	sc, err := scenarios.Load(file)
	require.NoError(t, err)
	require.Equal(t, "det", sc.Config.Runtime)
	require.Equal(t, 1, sc.Config.Workload.Txns)
	require.Equal(t, "request 1 of o000001 on orders->payments: lost-response\n", sc.Config.Schedule, "the scenario holds the schedule")
	require.Empty(t, sc.Config.Faults)
	require.Contains(t, sc.Description, "naive-dual-write shows leaked-resource")

	code, out, _ = run(t, "run", "--pattern", "naive-dual-write", "--scenario", file, "--out", "")
	require.Equal(t, 1, code, "the shrunk scenario still finds the anomaly")
	require.Contains(t, out, "leaked-resource")

	clean := edit(t, rec, func(doc map[string]any) {
		doc["verdict"] = "clean"
		doc["verdict_reason"] = ""
		for k := range doc["anomalies"].(map[string]any) {
			doc["anomalies"].(map[string]any)[k] = 0
		}
	})
	code, _, stderr = run(t, "shrink", clean)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "the run found no anomaly")
	code, _, stderr = run(t, "shrink", rec, "--class", "lost-event")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "--class: the run shows no lost-event (it shows: ")
	for _, n := range []string{"0", "-1"} {
		code, out, stderr = run(t, "shrink", rec, "--max-runs", n, "--out", filepath.Join(t.TempDir(), "x.yaml"))
		require.Equal(t, exitUsage, code, "--max-runs %s: %s", n, out)
		require.Contains(t, stderr, "--max-runs: "+n+" must be at least 1")
		require.Empty(t, out, "nothing was run")
	}
}

func TestExplore(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := run(t, "explore", "--pattern", "naive-dual-write", "--seeds", "3", "--txns", "6", "--concurrency", "2", "--attempts", "1",
		"--quiet", "500ms", "--service-timeout", "300ms", "--faults", "lost-response=orders-payments:0.3", "--out", dir)
	require.Equal(t, 1, code, stderr)
	require.Contains(t, out, "3 runs in")
	require.Regexp(t, `^(?:[123]/3 seeds · \d+(?:\.\d+)?m?s(?: · about \S+ left)? · anomalies in [0-3] seeds?\n){3}$`, stderr,
		"off a terminal, progress is plain lines: a count at every tenth of the way")
	require.Regexp(t, `leaked-resource\s+[123]\s+[123]/3`, out)
	m := regexp.MustCompile(`replay it: txchaos replay (\S+)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	code, out2, stderr := run(t, "replay", m[1])
	require.Zero(t, code, "the first failing seed's record replays: %s%s", out2, stderr)
	rc := regexp.MustCompile(`run it:    txchaos (run .*)`).FindStringSubmatch(out)
	require.NotNil(t, rc, out)
	code, _, stderr = run(t, append(strings.Fields(rc[1]), "--out", "")...)
	require.Equal(t, 1, code, "the printed run command finds the anomaly again: %s", stderr)

	// Without --faults each seed draws its profile (swarm): the broken
	// consumer is found, the profile drawn is printed and in the record,
	// and the record replays.
	code, out, stderr = run(t, "explore", "--pattern", "outbox", "--split-inbox", "--seeds", "200", "--stop", "--out", dir)
	require.Equal(t, 1, code, stderr)
	require.Contains(t, out, "faults drawn per seed (swarm)")
	require.Regexp(t, `lost-event\s+\d+\s+1/\d+`, out)
	require.Regexp(t, `faults:    \S*crash-commit=rewards:`, out)
	m = regexp.MustCompile(`replay it: txchaos replay (\S+)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	code, out2, stderr = run(t, "replay", m[1])
	require.Zero(t, code, "a swarm seed's record replays: %s%s", out2, stderr)

	// --stop off a terminal: the count ends on a line of its own, at the
	// runs the result counts.
	code, out, stderr = run(t, "explore", "--pattern", "outbox", "--split-inbox", "--seeds", "200", "--stop", "--parallel", "1", "--out", "")
	require.Equal(t, 1, code, stderr)
	runs := regexp.MustCompile(`(\d+) runs in`).FindStringSubmatch(out)
	require.NotNil(t, runs, out)
	require.Regexp(t, `(?:^|\n)`+runs[1]+`/200 seeds · \d+(?:\.\d+)?m?s · anomalies in 1 seed\n$`, stderr, "the last count is the runs'")

	code, _, stderr = run(t, "explore", "--runtime", "live")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "explore runs on the det runtime")
	code, _, stderr = run(t, "explore", "--seeds", "0")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "--seeds: 0 must be at least 1")
}

// TestExploreResubmit: with re-submits, explore finds the naive dual write
// deciding an answered order again (its re-run's charge request dropped,
// the order marked failed), and the run command it prints carries
// --resubmit and finds it again.
func TestExploreResubmit(t *testing.T) {
	code, out, stderr := run(t, "explore", "--pattern", "naive-dual-write", "--seeds", "2", "--txns", "10", "--concurrency", "2", "--resubmit", "1",
		"--quiet", "500ms", "--service-timeout", "300ms", "--faults", "drop-request=orders-payments:0.3", "--out", t.TempDir())
	require.Equal(t, 1, code, stderr)
	require.Regexp(t, `non-linearizable\s+[12]\s+[12]/2`, out)
	rc := regexp.MustCompile(`non-linearizable \(seed [12]\):\n  run it:    txchaos (run .*)`).FindStringSubmatch(out)
	require.NotNil(t, rc, out)
	require.Contains(t, rc[1], " --resubmit=1 ")
	code, runOut, stderr := run(t, append(strings.Fields(rc[1]), "--out", "")...)
	require.Equal(t, 1, code, stderr)
	require.Regexp(t, `(?m)^non-linearizable +[1-9]`, runOut)
}
