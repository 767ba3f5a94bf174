package scenarios

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/results"
)

// TestWriteRecordRoundTrip: a run written with WriteRecord reads back
// with ReadRun as it was — its history, every fault applied, its
// schedule, its final state — and its record.json holds none of them.
func TestWriteRecordRoundTrip(t *testing.T) {
	ctx := context.Background()
	res, err := Execute(ctx, detTiny("outbox", "lost-response=0.3,crash=payments:0.5"), "")
	require.NoError(t, err)
	require.NotEmpty(t, res.Applied)
	require.NotEmpty(t, res.Schedule)
	path := filepath.Join(t.TempDir(), "record.json")
	rec, err := res.WriteRecord(ctx, path)
	require.NoError(t, err)
	require.Equal(t, results.SchemaVersion, rec.SchemaVersion)
	require.Equal(t, "schedule.jsonl.gz", rec.Files.Schedule)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NotContains(t, string(data), `"history": [`)
	require.NotContains(t, string(data), `"events": [`)
	require.NotContains(t, string(data), `lost-response  # at`, "no fault of the schedule in record.json")

	got, err := ReadRun(ctx, path)
	require.NoError(t, err)
	require.Equal(t, res.History, got.History)
	require.Equal(t, res.Applied, got.Applied)
	require.Equal(t, res.Schedule.Lines(true), got.Schedule)
	require.Equal(t, res.State, got.State)
	require.Equal(t, rec.Verdict, got.Record.Verdict)
	d, err := got.Diff(ctx, res)
	require.NoError(t, err)
	require.Empty(t, d, "the stored run is the run")

	_, err = res.WriteRecord(ctx, path)
	require.NoError(t, err, "a record written again replaces the first, its state directory too")
}

// TestReadRunVersion4: a record of schema version 4, its schedule inline
// in record.json and the rest beside it, still reads, and is the run.
func TestReadRunVersion4(t *testing.T) {
	ctx := context.Background()
	res, err := Execute(ctx, detTiny("outbox", "lost-response=0.3"), "")
	require.NoError(t, err)
	require.NotEmpty(t, res.Schedule)
	path := filepath.Join(t.TempDir(), "record.json")
	_, err = res.WriteRecord(ctx, path)
	require.NoError(t, err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(data, &doc))
	doc["schema_version"] = 4
	delete(doc["files"].(map[string]any), "schedule")
	doc["schedule"].(map[string]any)["faults"] = res.Schedule.Lines(true)
	data, err = json.Marshal(doc)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	require.NoError(t, os.Remove(filepath.Join(filepath.Dir(path), "schedule.jsonl.gz")))

	got, err := ReadRun(ctx, path)
	require.NoError(t, err)
	require.Equal(t, 4, got.Record.SchemaVersion)
	require.Equal(t, res.Schedule.Lines(true), got.Schedule)
	d, err := got.Diff(ctx, res)
	require.NoError(t, err)
	require.Empty(t, d, "the version-4 record is the run")

	got.Schedule = got.Schedule[1:]
	d, err = got.Diff(ctx, res)
	require.NoError(t, err)
	require.Contains(t, d, "schedule.faults")
}

// TestStoredDiff: Diff names the first difference in each part of a run.
func TestStoredDiff(t *testing.T) {
	ctx := context.Background()
	res, err := Execute(ctx, detTiny("outbox", "lost-response=0.3"), "")
	require.NoError(t, err)
	require.NotEmpty(t, res.Applied)
	rec, err := res.Record()
	require.NoError(t, err)
	stored := func() *Stored {
		c := *res.State
		return &Stored{Record: rec, History: append(res.History[:0:0], res.History...), Applied: append(res.Applied[:0:0], res.Applied...),
			Schedule: res.Schedule.Lines(true), State: &c}
	}
	for _, tt := range []struct {
		name, want string
		edit       func(s *Stored)
	}{
		{"history", "history[1].return: ", func(s *Stored) { s.History[1].Return += time.Millisecond }},
		{"a history cut short", "history: ", func(s *Stored) { s.History = s.History[:len(s.History)-1] }},
		{"faults", "faults_applied.events[0]", func(s *Stored) { s.Applied[0].Target = "nowhere" }},
		{"schedule", "schedule.faults[0]: ", func(s *Stored) { s.Schedule[0] = "at 1s: kill payments" }},
		{"state", "state.orders[0].state: ", func(s *Stored) {
			s.State.Orders = append(s.State.Orders[:0:0], s.State.Orders...)
			s.State.Orders[0].State = "made-up"
		}},
		{"no state", "state: missing vs present", func(s *Stored) { s.State = nil }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := stored()
			tt.edit(s)
			d, err := s.Diff(ctx, res)
			require.NoError(t, err)
			require.Contains(t, d, tt.want)
		})
	}
	d, err := stored().Diff(ctx, res)
	require.NoError(t, err)
	require.Empty(t, d)
}

// TestSealedStateIsTheState: a run that holds the state it judged sealed
// through the final reads (as a long one does: sealAbove) is the same run
// as one that holds it as it is — its record, history, schedule and state.
func TestSealedStateIsTheState(t *testing.T) {
	ctx := context.Background()
	was := sealAbove
	t.Cleanup(func() { sealAbove = was })
	for _, pattern := range []string{"outbox", "saga", "event-sourcing"} {
		cfg := detTiny(pattern, "lost-response=0.3,crash=payments:0.5")
		held, err := Execute(ctx, cfg, "")
		require.NoError(t, err)
		rec, err := held.Record()
		require.NoError(t, err)
		sealAbove = 0 // every state sealed
		sealed, err := Execute(ctx, cfg, "")
		sealAbove = was
		require.NoError(t, err)
		require.NotNil(t, sealed.State)
		stored := &Stored{Record: rec, History: held.History, Applied: held.Applied, Schedule: held.Schedule.Lines(true), State: held.State}
		d, err := stored.Diff(ctx, sealed)
		require.NoError(t, err)
		require.Empty(t, d, "%s: the sealed run differs", pattern)
	}
}
