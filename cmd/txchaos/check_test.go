package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/scenarios"
)

// editRecord rewrites the run recorded at path into a new file in dir as
// a record of schema version 3 stores it, everything inline (history,
// state, faults_applied.events), letting edit change its top-level fields.
func editRecord(t *testing.T, path, dir, name string, edit func(doc map[string]json.RawMessage)) string {
	t.Helper()
	doc := inline(t, path)
	edit(doc)
	out, err := json.MarshalIndent(doc, "", "  ")
	require.NoError(t, err)
	edited := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(edited, out, 0o644))
	return edited
}

// inline is the run recorded at path as a record of schema version 3:
// its history, state, faults applied and schedule in record.json.
func inline(t *testing.T, path string) map[string]json.RawMessage {
	t.Helper()
	stored, err := scenarios.ReadRun(context.Background(), path)
	require.NoError(t, err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &doc))
	var fa map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(doc["faults_applied"], &fa))
	for key, v := range map[string]any{"history": stored.History, "state": stored.State, "schema_version": 3} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		doc[key] = b
	}
	events, err := json.Marshal(stored.Applied)
	require.NoError(t, err)
	fa["events"] = events
	if doc["faults_applied"], err = json.Marshal(fa); err != nil {
		t.Fatal(err)
	}
	if raw, ok := doc["schedule"]; ok { // inline before version 5
		var sched map[string]any
		require.NoError(t, json.Unmarshal(raw, &sched))
		sched["faults"] = stored.Schedule
		doc["schedule"], err = json.Marshal(sched)
		require.NoError(t, err)
	}
	delete(doc, "files")
	return doc
}

// TestCheckStoredRecord re-checks the record of a real short run: as
// stored it is clean again; with one credit applied twice by hand it must
// now fail, and say that the verdict differs.
func TestCheckStoredRecord(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := run(t, "run", "--pattern", "naive-dual-write", "--txns", "10", "--call-timeout", "60s", "--service-timeout", "30s", "--out", dir) // timeouts no loaded machine reaches: clean
	require.Equal(t, 0, code, stderr+out)
	records, err := filepath.Glob(filepath.Join(dir, "*", "record.json"))
	require.NoError(t, err)
	require.Len(t, records, 1)
	path := records[0]

	code, out, stderr = run(t, "check", path)
	require.Equal(t, 0, code, stderr+out)
	require.Contains(t, out, "record "+path+"\npattern naive-dual-write · runtime live · seed 1 · faults none\n")
	require.Regexp(t, `checked again from its \d+ client operations and its final state; nothing was run`, out)
	require.Contains(t, out, "\nverdict: CLEAN\nstored verdict: CLEAN — the same\n")
	require.NotContains(t, out, "witnesses")

	// Apply the first order's credit a second time, as a consumer without
	// an inbox would on a redelivery.
	var order string
	doubled := editRecord(t, path, t.TempDir(), "doubled.json", func(doc map[string]json.RawMessage) {
		var s checker.State
		require.NoError(t, json.Unmarshal(doc["state"], &s))
		require.NotEmpty(t, s.Credits)
		c := s.Credits[0]
		order = c.Order
		c.ID = s.Credits[len(s.Credits)-1].ID + 1
		s.Credits = append(s.Credits, c)
		b, err := json.Marshal(s)
		require.NoError(t, err)
		doc["state"] = b
	})
	code, out, stderr = run(t, "check", doubled)
	require.Equal(t, 1, code, stderr+out)
	require.Regexp(t, `\nduplicate-consumer-effect +1 +order `+order+`: credited 2 times at rewards`, out)
	require.Contains(t, out, "  duplicate-consumer-effect: order "+order+"\n")
	require.Contains(t, out, "\nverdict: ANOMALIES\nstored verdict: CLEAN — the new verdict DIFFERS\n")
	require.Contains(t, out, "counts changed: duplicate-consumer-effect 0 → 1, not-conserved 0 → 1\n")
}

func TestCheckBadRecords(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := run(t, "run", "--pattern", "naive-dual-write", "--txns", "5", "--call-timeout", "60s", "--service-timeout", "30s", "--out", dir) // timeouts no loaded machine reaches: clean
	require.Equal(t, 0, code, stderr+out)
	records, err := filepath.Glob(filepath.Join(dir, "*", "record.json"))
	require.NoError(t, err)
	require.Len(t, records, 1)

	t.Run("no state stored: unknown", func(t *testing.T) {
		path := editRecord(t, records[0], t.TempDir(), "stateless.json", func(doc map[string]json.RawMessage) { delete(doc, "state") })
		code, out, stderr := run(t, "check", path)
		require.Equal(t, 2, code, stderr+out)
		require.Contains(t, out, "and no final state (none stored); nothing was run")
		require.Contains(t, out, "\nverdict: UNKNOWN (not judged: ")
		require.Contains(t, out, "stored verdict: CLEAN — the new verdict DIFFERS\n")
	})
	// The history is what non-linearizable, the read classes and the
	// outcomes are judged on: a record without one is not judged on them,
	// whether the key is gone, null or an empty list (a run places at
	// least one order).
	for _, tt := range []struct {
		name string
		edit func(doc map[string]json.RawMessage)
	}{
		{"no history stored", func(doc map[string]json.RawMessage) { delete(doc, "history") }},
		{"a null history", func(doc map[string]json.RawMessage) { doc["history"] = json.RawMessage("null") }},
		{"an empty history", func(doc map[string]json.RawMessage) { doc["history"] = json.RawMessage("[]") }},
	} {
		t.Run(tt.name+": unknown", func(t *testing.T) {
			path := editRecord(t, records[0], t.TempDir(), "historyless.json", tt.edit)
			code, out, stderr := run(t, "check", path)
			require.Equal(t, 2, code, stderr+out)
			require.Contains(t, out, "checked again from no client history (none stored) and its final state; nothing was run")
			require.Contains(t, out, "\nverdict: UNKNOWN (not judged: non-linearizable, stale-read, session-stale-read, unconverged-read: the record stores no client history)\n")
			require.Contains(t, out, "stored verdict: CLEAN — the new verdict DIFFERS\n")
		})
	}
	t.Run("neither history nor state: unknown", func(t *testing.T) {
		path := editRecord(t, records[0], t.TempDir(), "empty.json", func(doc map[string]json.RawMessage) {
			delete(doc, "history")
			delete(doc, "state")
		})
		code, out, stderr := run(t, "check", path)
		require.Equal(t, 2, code, stderr+out)
		require.Contains(t, out, "checked again from no client history (none stored) and no final state (none stored); nothing was run")
		require.Regexp(t, `\nverdict: UNKNOWN \(not judged: leaked-resource, .*, stuck, non-linearizable, stale-read, session-stale-read, unconverged-read: .*no state was read.*the record stores no client history`, out)
	})
	t.Run("a history that is not one", func(t *testing.T) {
		path := editRecord(t, records[0], t.TempDir(), "bad-history.json", func(doc map[string]json.RawMessage) {
			doc["history"] = json.RawMessage(`{"ops": 3}`)
		})
		code, _, stderr := run(t, "check", path)
		require.Equal(t, exitUsage, code)
		require.Contains(t, stderr, "bad-history.json: history: not a list of client operations")
	})
	// An operation no run records is refused (exit 3), naming its index
	// and field, rather than judged.
	for _, tt := range []struct {
		name, wantErr string
		edit          func(op map[string]any)
	}{
		{"a return before its call", "history[1].return: 1ms is before its call at 5ms (an operation returns after it is called)",
			func(op map[string]any) { op["call"], op["return"] = 5_000_000, 1_000_000 }},
		{"a call before the start", "history[1].call: -1ms is before the run started",
			func(op map[string]any) { op["call"], op["return"] = -1_000_000, 1_000_000 }},
		{"an unknown kind", `history[1].kind: "refund" is not one of checkout, get, balance`,
			func(op map[string]any) { op["kind"] = "refund" }},
		{"an unknown outcome", `history[1].outcome: "maybe" is not one of ok, rejected, unknown`,
			func(op map[string]any) { op["outcome"] = "maybe" }},
		{"no outcome", `history[1].outcome: "" is not one of ok, rejected, unknown`,
			func(op map[string]any) { delete(op, "outcome") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := editRecord(t, records[0], t.TempDir(), "bad-op.json", func(doc map[string]json.RawMessage) {
				var h []map[string]any
				require.NoError(t, json.Unmarshal(doc["history"], &h))
				require.Greater(t, len(h), 1)
				tt.edit(h[1])
				b, err := json.Marshal(h)
				require.NoError(t, err)
				doc["history"] = b
			})
			code, out, stderr := run(t, "check", path)
			require.Equal(t, exitUsage, code, out)
			require.Contains(t, stderr, "bad-op.json: "+tt.wantErr)
			require.Empty(t, out, "nothing judged")
		})
	}
	t.Run("no such file", func(t *testing.T) {
		code, _, stderr := run(t, "check", filepath.Join(dir, "nope.json"))
		require.Equal(t, exitUsage, code)
		require.Contains(t, stderr, "nope.json: no such file or directory")
	})
	t.Run("not a record", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.json")
		require.NoError(t, os.WriteFile(path, []byte(`{"hello": 1}`), 0o644))
		code, _, stderr := run(t, "check", path)
		require.Equal(t, exitUsage, code)
		require.Contains(t, stderr, "no schema_version")
	})
	t.Run("no argument", func(t *testing.T) {
		code, _, stderr := run(t, "check")
		require.Equal(t, exitUsage, code)
		require.Contains(t, stderr, "needs one argument, ")
	})
}

// TestCheckReadsTheRecordsFiles: a record (schema version 4) keeps its
// history, faults and state in files beside it; check judges those, a
// record of version 3 (everything inline) the same way, and refuses a
// record whose files are gone or are not what it names.
func TestCheckReadsTheRecordsFiles(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := run(t, "run", "--runtime", "det", "--pattern", "outbox", "--txns", "10", "--out", dir)
	require.Equal(t, 0, code, stderr+out)
	records, err := filepath.Glob(filepath.Join(dir, "*", "record.json"))
	require.NoError(t, err)
	require.Len(t, records, 1)
	data, err := os.ReadFile(records[0])
	require.NoError(t, err)
	require.NotContains(t, string(data), `"history": [`, "the history is not in record.json")
	require.Contains(t, string(data), `"files": {`)

	// copyRun copies the run's directory; edit changes the copy.
	copyRun := func(t *testing.T, edit func(dir string)) string {
		to := t.TempDir()
		require.NoError(t, os.CopyFS(to, os.DirFS(filepath.Dir(records[0]))))
		edit(to)
		return filepath.Join(to, "record.json")
	}
	t.Run("as stored: clean", func(t *testing.T) {
		code, out, stderr := run(t, "check", records[0])
		require.Equal(t, 0, code, stderr+out)
		require.Contains(t, out, "\nverdict: CLEAN\nstored verdict: CLEAN — the same\n")
	})
	t.Run("version 3, inline: the same", func(t *testing.T) {
		path := editRecord(t, records[0], t.TempDir(), "v3.json", func(map[string]json.RawMessage) {})
		code, out, stderr := run(t, "check", path)
		require.Equal(t, 0, code, stderr+out)
		require.Contains(t, out, "\nverdict: CLEAN\nstored verdict: CLEAN — the same\n")
	})
	t.Run("a credit applied twice in the state's database", func(t *testing.T) {
		path := copyRun(t, func(dir string) {
			db, err := sql.Open("sqlite", filepath.Join(dir, "state", "rewards.db"))
			require.NoError(t, err)
			defer db.Close()
			_, err = db.Exec(`INSERT INTO credits(event_id, offset, order_ref, customer, points, at) SELECT event_id, offset, order_ref, customer, points, at FROM credits ORDER BY id LIMIT 1`)
			require.NoError(t, err)
		})
		code, out, stderr := run(t, "check", path)
		require.Equal(t, 1, code, stderr+out)
		require.Regexp(t, `\nduplicate-consumer-effect +1 +order o\d+: credited 2 times at rewards`, out)
		require.Contains(t, out, "stored verdict: CLEAN — the new verdict DIFFERS\n")
	})
	for _, tt := range []struct {
		name, want string
		edit       func(dir string)
	}{
		{"the history file gone", "history: results: open", func(dir string) { require.NoError(t, os.Remove(filepath.Join(dir, "history.jsonl.gz"))) }},
		{"a history file not gzip", "history: results: ", func(dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "history.jsonl.gz"), []byte(`{"kind":"get"}`), 0o644))
		}},
		{"the state gone", "state: ", func(dir string) { require.NoError(t, os.RemoveAll(filepath.Join(dir, "state"))) }},
		{"a state database gone", "state: checker: load the state: broker: database", func(dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "state", "broker.db")))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := run(t, "check", copyRun(t, tt.edit))
			require.Equal(t, exitUsage, code, stderr+out)
			require.Contains(t, stderr, tt.want)
		})
	}
}
