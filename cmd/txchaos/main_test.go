package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/scenarios"
)

// TestMain serves a node when a run with --isolation process started this
// test binary as one, as main does; otherwise it runs the tests.
func TestMain(m *testing.M) {
	scenarios.NodeMain()
	goleak.VerifyTestMain(m)
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"run", "--pattern", "nope"}, `--pattern: pattern "nope" is not registered (patterns: `},
		{[]string{"run", "--txns", "0"}, "--txns: 0 is not between 1 and 1000000"},
		{[]string{"run", "--concurrency", "5000"}, "--concurrency: 5000 is not between 1 and 1024"},
		{[]string{"run", "--faults", "lost-response=2"}, `--faults: fault "lost-response=2": rate "2" is not a number between 0 and 1`},
		{[]string{"run", "--faults", "tornado=1"}, `unknown fault "tornado"`},
		{[]string{"run", "--faults", "crashpoint=lunch:0.5"}, `crash point "lunch" is not one of this pattern's: after-local-commit`},
		{[]string{"run", "--faults", "crash=bank:0.1"}, `node "bank" is not in this world`},
		{[]string{"run", "--payments", "sometimes"}, `--payments: maturity "sometimes" is not one of idempotent, readable, opaque`},
		{[]string{"run", "--reject-rate", "1.5"}, "--reject-rate: 1.5 is not between 0 and 1"},
		{[]string{"run", "--resubmit", "2"}, "--resubmit: 2 is not a share between 0 and 1"},
		{[]string{"run", "--resubmit", "NaN"}, "--resubmit: NaN is not a share between 0 and 1"},
		// Not a number and the infinities are refused before the run (a
		// det run of one order, written nowhere, if they were not).
		{[]string{"run", "--runtime", "det", "--txns", "1", "--out=", "--reject-rate", "NaN"}, "--reject-rate: NaN is not between 0 and 1"},
		{[]string{"run", "--runtime", "det", "--txns", "1", "--out=", "--reject-rate", "-Inf"}, "--reject-rate: -Inf is not between 0 and 1"},
		{[]string{"run", "--runtime", "det", "--txns", "1", "--out=", "--faults", "lost-response=NaN"}, `--faults: fault "lost-response=NaN": rate "NaN" is not a number between 0 and 1`},
		{[]string{"run", "--runtime", "det", "--txns", "1", "--out=", "--faults", "crash=payments:nan"}, `--faults: fault "crash=payments:nan": rate "nan" is not a number between 0 and 1`},
		{[]string{"run", "--service-timeout", "-1s"}, "--service-timeout: -1s is negative"},
		{[]string{"run", "--output", "xml"}, `--output: "xml" is not one of table, json`},
		{[]string{"run", "--runtime", "cloud"}, `--runtime: "cloud" is not one of [live det]`},
		{[]string{"run", "--isolation", "vm"}, `--isolation: "vm" is not one of [none process]`},
		{[]string{"run", "--isolation", "process", "--runtime", "det"}, `--isolation: process runs on the live runtime only (runtime is det)`},
		{[]string{"run", "--isolation", "process", "--broker", "jetstream"}, `--isolation: process cannot run broker jetstream`},
		{[]string{"run", "--txns", "many"}, `invalid argument "many" for "--txns"`},
		{[]string{"run", "extra"}, `unknown command "extra"`},
		// explore, demo and sweep share one --parallel range; explore's
		// seeds may not run past the largest int64. Each is refused before
		// a run (one small det seed, written nowhere, if it were not).
		{[]string{"explore", "--seeds", "1", "--txns", "1", "--out=", "--parallel", "-1"}, "--parallel: -1 is not between 1 and 64"},
		{[]string{"explore", "--seeds", "1", "--txns", "1", "--out=", "--parallel", "0"}, "--parallel: 0 is not between 1 and 64"},
		{[]string{"explore", "--seeds", "1", "--txns", "1", "--out=", "--parallel", "100000"}, "--parallel: 100000 is not between 1 and 64"},
		{[]string{"demo", "--parallel", "100000", "--out", "/dev/null/demo"}, "--parallel: 100000 is not between 1 and 64"},
		{[]string{"explore", "--seed", "9223372036854775807", "--seeds", "3", "--txns", "1", "--out="},
			"--seed: 9223372036854775807 with --seeds 3 goes past the largest seed, 9223372036854775807: start at 9223372036854775805 at most"},
		{[]string{"explore", "--seed", "9223372036854775806", "--seeds", "3", "--txns", "1", "--out="}, "start at 9223372036854775805 at most"},
		{[]string{"fly"}, `unknown command "fly"`},
	}
	for _, tt := range tests {
		t.Run(tt.wantErr, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			require.Equal(t, exitUsage, code, stderr)
			require.Contains(t, stderr, tt.wantErr)
		})
	}
}

// TestRunIsolationProcess runs the CLI with every service an OS process
// of its own: the naive dual write loses the events of the coordinator
// killed after its local commit, and the record says the isolation.
func TestRunIsolationProcess(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := run(t, "run", "--isolation", "process", "--pattern", "naive-dual-write", "--txns", "20", "--attempts", "1",
		"--faults", "crashpoint=after-local-commit:0.5", "--output", "json", "--out", dir)
	require.Equal(t, 1, code, stderr)
	var rec struct {
		Verdict   string         `json:"verdict"`
		Anomalies map[string]int `json:"anomalies"`
		Config    struct {
			Isolation string `json:"isolation"`
		} `json:"config"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rec))
	require.Equal(t, "process", rec.Config.Isolation)
	require.Positive(t, rec.Anomalies["lost-event"])

	code, out, stderr = run(t, "run", "--isolation", "process", "--pattern", "outbox", "--txns", "10", "--out", "")
	require.Equal(t, 0, code, stderr+out)
	require.Contains(t, out, "pattern outbox · runtime live, every service an OS process · seed 1 · faults none")
}

func TestList(t *testing.T) {
	code, out, _ := run(t, "list")
	require.Zero(t, code)
	for _, want := range []string{"naive-dual-write", "outbox", "lost-response=[LINK:]RATE", "crashpoint=POINT:RATE", "orders-payments", "readable",
		"late=[LINK:]RATE[:DELAY]", "duplicate=[LINK:]RATE[:DELAY]", "reorder=[LINK:]RATE[:HOLD]", "crash-commit=NODE:RATE", "kill=NODE:INTERVAL",
		"consumer-crash", "late-delivery-during-compensation"} {
		require.Contains(t, out, want)
	}
}

// TestRunWritesRecord runs the CLI end to end: a clean run exits 0, a run
// with anomalies exits 1, and both leave a valid record.
func TestRunWritesRecord(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := run(t, "run", "--pattern", "naive-dual-write", "--txns", "20", "--out", dir)
	require.Equal(t, 0, code, stderr+out)
	require.Contains(t, out, "verdict: CLEAN")

	code, out, stderr = run(t, "run", "--pattern", "naive-dual-write", "--txns", "30", "--attempts", "1",
		"--faults", "crashpoint=after-local-commit:0.5", "--output", "json", "--out", dir)
	require.Equal(t, 1, code, stderr)
	var printed map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &printed), "--output json prints the record")
	require.Equal(t, "anomalies", printed["verdict"])

	records, err := filepath.Glob(filepath.Join(dir, "*", "record.json"))
	require.NoError(t, err)
	require.Len(t, records, 2)
	for _, path := range records {
		rec, err := results.Read(path)
		require.NoError(t, err)
		require.Len(t, rec.Anomalies, len(checker.Classes), "every class present, zeros included")
		require.Equal(t, "live", rec.Runtime)
		if rec.Verdict == "anomalies" {
			require.Positive(t, rec.Anomalies["lost-event"])
			require.Contains(t, string(rec.FaultsApplied), "crash-point")
		}
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "no stray temporary files")
}
