package scenarios

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/sim"
)

func TestSweepCells(t *testing.T) {
	base := quick("naive-dual-write", "")
	tests := []struct {
		name    string
		sweep   Sweep
		want    []string // "id profile"
		wantErr string
	}{
		{
			name:  "a zero rate runs once per pattern and seed, as faults none",
			sweep: Sweep{Patterns: []string{"naive-dual-write"}, Faults: []string{"lost-response", "drop-request:orders-payments"}, Rates: []string{"0", "0.1"}, Seeds: 2},
			want: []string{
				"naive-dual-write_none_0_seed1 ",
				"naive-dual-write_lost-response_0.1_seed1 lost-response=0.1",
				"naive-dual-write_drop-request@orders-payments_0.1_seed1 drop-request=orders-payments:0.1",
				"naive-dual-write_none_0_seed2 ",
				"naive-dual-write_lost-response_0.1_seed2 lost-response=0.1",
				"naive-dual-write_drop-request@orders-payments_0.1_seed2 drop-request=orders-payments:0.1",
			},
		},
		{
			name:  "crashpoint alone is every crash point of the pattern",
			sweep: Sweep{Patterns: []string{"two-phase-key"}, Faults: []string{"crashpoint"}, Rates: []string{"0.2"}, Seeds: 1},
			want:  []string{"two-phase-key_crashpoint_0.2_seed1 crashpoint=after-record:0.2,crashpoint=after-call:0.2,crashpoint=after-local-commit:0.2"},
		},
		{
			name:  "one crash point, nodes, and kinds joined with +",
			sweep: Sweep{Patterns: []string{"outbox"}, Faults: []string{"crashpoint:after-local-commit", "crash:payments+error:payments"}, Rates: []string{"0.05"}, Seeds: 1},
			want: []string{
				"outbox_crashpoint@after-local-commit_0.05_seed1 crashpoint=after-local-commit:0.05",
				"outbox_crash@payments+error@payments_0.05_seed1 crash=payments:0.05,error=payments:0.05",
			},
		},
		{
			name:  "duration kinds take durations, or numbers of seconds",
			sweep: Sweep{Patterns: []string{"outbox"}, Faults: []string{"latency", "partition:orders-payments"}, Rates: []string{"0s", "0.1", "20ms"}, Seeds: 1},
			want: []string{
				"outbox_none_0_seed1 ",
				"outbox_latency_0.1_seed1 latency=100ms",
				"outbox_latency_20ms_seed1 latency=20ms",
				"outbox_partition@orders-payments_0.1_seed1 partition=orders-payments:100ms",
				"outbox_partition@orders-payments_20ms_seed1 partition=orders-payments:20ms",
			},
		},
		{name: "no patterns", sweep: Sweep{Faults: []string{"lost-response"}, Rates: []string{"0"}, Seeds: 1}, wantErr: "patterns: none given"},
		{name: "unknown pattern", sweep: Sweep{Patterns: []string{"2pc"}, Faults: []string{"lost-response"}, Rates: []string{"0"}, Seeds: 1}, wantErr: `patterns: pattern "2pc" is not registered`},
		{name: "unknown kind", sweep: Sweep{Patterns: []string{"outbox"}, Faults: []string{"meteor"}, Rates: []string{"0"}, Seeds: 1}, wantErr: `faults: "meteor": unknown fault kind "meteor" (kinds: crash, crash-commit, crashpoint,`},
		{name: "crash without a node", sweep: Sweep{Patterns: []string{"outbox"}, Faults: []string{"crash"}, Rates: []string{"0.1"}, Seeds: 1}, wantErr: `faults: "crash": crash needs a node, e.g. crash:payments`},
		{name: "a rate above 1", sweep: Sweep{Patterns: []string{"outbox"}, Faults: []string{"lost-response"}, Rates: []string{"2"}, Seeds: 1}, wantErr: `rate "2" is not a probability between 0 and 1, which lost-response takes`},
		{name: "a duration for a probability", sweep: Sweep{Patterns: []string{"outbox"}, Faults: []string{"lost-response"}, Rates: []string{"50ms"}, Seeds: 1}, wantErr: `rate "50ms" is not a probability`},
		{name: "a negative rate", sweep: Sweep{Patterns: []string{"outbox"}, Faults: []string{"lost-response"}, Rates: []string{"-0.1"}, Seeds: 1}, wantErr: `rates: "-0.1" is neither a rate between 0 and 1 nor a duration`},
		{name: "NaN", sweep: Sweep{Patterns: []string{"outbox"}, Faults: []string{"lost-response"}, Rates: []string{"NaN"}, Seeds: 1}, wantErr: `rates: "NaN" is neither a rate between 0 and 1 nor a duration`},
		{name: "a rate twice", sweep: Sweep{Patterns: []string{"outbox"}, Faults: []string{"lost-response"}, Rates: []string{"0.1", "0.1"}, Seeds: 1}, wantErr: "rates: 0.1 is listed twice"},
		{name: "a pattern twice", sweep: Sweep{Patterns: []string{"outbox", "outbox"}, Faults: []string{"lost-response"}, Rates: []string{"0.1"}, Seeds: 1}, wantErr: "patterns: outbox is listed twice"},
		{name: "no seeds", sweep: Sweep{Patterns: []string{"outbox"}, Faults: []string{"lost-response"}, Rates: []string{"0.1"}}, wantErr: "seeds: 0 is not between 1 and 10000"},
		{name: "a crash point the pattern lacks", sweep: Sweep{Patterns: []string{"outbox"}, Faults: []string{"crashpoint:after-append"}, Rates: []string{"0.1"}, Seeds: 1}, wantErr: `cell outbox_crashpoint@after-append_0.1_seed1: faults: fault crashpoint=after-append:0.1: crash point "after-append" is not one of this pattern's`},
		{name: "an unknown link", sweep: Sweep{Patterns: []string{"outbox"}, Faults: []string{"lost-response:orders-bank"}, Rates: []string{"0.1"}, Seeds: 1}, wantErr: "link orders->bank is not in this world"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.sweep.Base = base
			cells, err := tt.sweep.Cells()
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			var got []string
			for _, c := range cells {
				got = append(got, c.ID+" "+c.Profile)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

// tinySweep is four cells of a dozen checkouts: two patterns, without
// faults and with the coordinator crashing after its local commit half the
// time, which the naive dual write cannot survive and the outbox can.
func tinySweep() Sweep {
	base := quick("", "")
	base.Workload = Workload{Txns: 12, Concurrency: 4, Attempts: 2, Customers: 5}
	return Sweep{
		Patterns: []string{"naive-dual-write", "outbox"},
		Faults:   []string{"crashpoint:after-local-commit"},
		Rates:    []string{"0", "0.5"},
		Seeds:    1,
		Base:     base,
	}
}

func verdicts(rs []CellResult) map[string]string {
	out := map[string]string{}
	for _, r := range rs {
		out[r.Cell.ID] = r.Record.Verdict
	}
	return out
}

// TestSweepInterruptAndResume interrupts a sweep after two cells, resumes
// it, and finds the same cells and verdicts as a sweep run straight
// through.
func TestSweepInterruptAndResume(t *testing.T) {
	ctx := context.Background()
	s := tinySweep()
	cells, err := s.Cells()
	require.NoError(t, err)
	require.Len(t, cells, 4)

	straightDir := t.TempDir()
	straight, err := RunSweep(ctx, s, straightDir, SweepOptions{})
	require.NoError(t, err)
	want := verdicts(straight)
	require.Equal(t, map[string]string{
		"naive-dual-write_none_0_seed1":                            "clean",
		"naive-dual-write_crashpoint@after-local-commit_0.5_seed1": "anomalies",
		"outbox_none_0_seed1":                                      "clean",
		"outbox_crashpoint@after-local-commit_0.5_seed1":           "clean",
	}, want)

	for _, r := range straight {
		if r.Record.Anomalies[string(checker.NonLinearizable)] > 0 {
			views, err := filepath.Glob(filepath.Join(straightDir, CellsDir, r.Cell.ID, "history-*.html"))
			require.NoError(t, err)
			t.Logf("%s: %d history views", r.Cell.ID, len(views))
			require.NotEmpty(t, views, "%s: porcupine's view of the history that did not linearize", r.Cell.ID)
		}
	}

	dir := t.TempDir()
	ictx, interrupt := context.WithCancel(ctx)
	defer interrupt()
	var finished int
	partial, err := RunSweep(ictx, s, dir, SweepOptions{Progress: func(e SweepEvent) {
		if !e.Started {
			if finished++; finished == 2 {
				interrupt() // Ctrl-C after the second cell
			}
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "sweep interrupted with 2 of 4 cells finished")
	require.Len(t, partial, 2)
	entries, err := os.ReadDir(filepath.Join(dir, CellsDir))
	require.NoError(t, err)
	require.Len(t, entries, 2, "only finished cells are kept")
	require.Len(t, readCSV(t, filepath.Join(dir, SummaryFile)), 1+2, "the summary holds the finished cells")

	// A cell left half-written (a record that does not validate) is run
	// again.
	stale := filepath.Join(dir, CellsDir, cells[3].ID)
	require.NoError(t, os.MkdirAll(stale, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(stale, RecordFile), []byte(`{"schema_version":1`), 0o644))

	var resumed, ran []string
	all, err := RunSweep(ctx, s, dir, SweepOptions{Resume: true, Progress: func(e SweepEvent) {
		switch {
		case e.Started:
			ran = append(ran, e.Cell.ID)
		case e.Result.Resumed:
			resumed = append(resumed, e.Cell.ID)
		}
	}})
	require.NoError(t, err)
	require.Equal(t, []string{cells[0].ID, cells[1].ID}, resumed)
	require.Equal(t, []string{cells[2].ID, cells[3].ID}, ran)
	require.Equal(t, want, verdicts(all), "resumed sweep = uninterrupted sweep")

	rows := readCSV(t, filepath.Join(dir, SummaryFile))
	require.Equal(t, SummaryColumns(), rows[0])
	require.Len(t, rows, 1+4)
	for i, row := range rows[1:] {
		require.Equal(t, cells[i].ID, row[0])
		require.Equal(t, want[row[0]], row[6])
		require.NotEmpty(t, row[slices.Index(rows[0], "converge_ms")], "converge_ms is filled in")
	}
	matches, err := filepath.Glob(filepath.Join(dir, CellsDir, "*", ".*tmp*"))
	require.NoError(t, err)
	require.Empty(t, matches, "no temporary files left behind")
}

func TestSweepDirectory(t *testing.T) {
	ctx := context.Background()
	s := tinySweep()

	_, err := RunSweep(ctx, s, t.TempDir(), SweepOptions{Resume: true})
	require.ErrorIs(t, err, ErrNoSweep)

	dir := t.TempDir()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	done, err := RunSweep(cancelled, s, dir, SweepOptions{})
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, done)
	require.FileExists(t, filepath.Join(dir, SweepFile))

	_, err = RunSweep(ctx, s, dir, SweepOptions{})
	require.ErrorIs(t, err, ErrSweepExists)
	require.ErrorContains(t, err, "sweep.json): resume it or choose another directory")

	other := s
	other.Rates = []string{"0", "0.2"}
	other.Base.Workload.Txns = 500
	_, err = RunSweep(ctx, other, dir, SweepOptions{Resume: true})
	require.ErrorIs(t, err, ErrSweepMismatch)
	require.ErrorContains(t, err, "base.workload.txns 12, not 500; rates 0,0.5, not 0,0.2")
}

// TestSweepDiffFields: a duplicate window compares by value, and a sweep
// stored before brokers had a name is a sweep on the log.
func TestSweepDiffFields(t *testing.T) {
	window := func(d time.Duration) *time.Duration { return &d }
	a, b := tinySweep(), tinySweep()
	a.Base.World.Broker, b.Base.World.Broker = sim.BrokerJetStream, sim.BrokerJetStream
	a.Base.World.DedupeWindow, b.Base.World.DedupeWindow = window(time.Second), window(time.Second)
	require.Empty(t, diffFields(a.normalized(), b.normalized()))
	b.Base.World.DedupeWindow = nil
	require.Equal(t, []string{"base.world.dedupe_window 1s, not (none)"}, diffFields(a.normalized(), b.normalized()))

	old, now := tinySweep(), tinySweep()
	old.Base.World.Broker, now.Base.World.Broker = "", sim.BrokerLog
	require.Empty(t, diffFields(old.normalized(), now.normalized()))
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	require.NoError(t, err)
	return rows
}

// TestSweepAggregate: a det sweep of three seeds writes aggregate.csv, a
// row per cell with its seeds summed and its intervals.
func TestSweepAggregate(t *testing.T) {
	s := tinySweep()
	s.Base.Runtime = "det"
	s.Seeds = 3
	dir := t.TempDir()
	done, err := RunSweep(context.Background(), s, dir, SweepOptions{Parallel: 2})
	require.NoError(t, err)
	require.Len(t, done, 12)
	agg := Aggregate(done)
	require.Len(t, agg, 4, "two patterns, each without faults and at one rate")
	rows := readCSV(t, filepath.Join(dir, AggregateFile))
	require.Equal(t, AggregateColumns(), rows[0])
	require.Len(t, rows, 1+4)
	col := func(row []string, name string) string { return row[slices.Index(rows[0], name)] }
	for i, row := range rows[1:] {
		a := agg[i]
		require.Equal(t, []string{a.Pattern, a.Faults, a.Rate, "det", "3", "3", "36"},
			[]string{col(row, "pattern"), col(row, "faults"), col(row, "rate"), col(row, "runtime"), col(row, "runs"), col(row, "seeds"), col(row, "checkouts")})
		require.Equal(t, strconv.Itoa(a.Anomalous), col(row, "runs_with_anomalies"))
		if a.Pattern == "naive-dual-write" && a.Faults != "none" {
			require.Equal(t, "3", col(row, "runs_with_anomalies"), "the naive dual write loses events in every seed")
			lo, err := strconv.ParseFloat(col(row, "per100_lo"), 64)
			require.NoError(t, err)
			require.Positive(t, lo)
		}
		if a.Faults == "none" {
			require.Equal(t, "0", col(row, "anomalies"))
			require.Equal(t, "0", col(row, "per100_lo"))
		}
	}
}
