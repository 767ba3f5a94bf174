package results

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestLinesRoundTrip: what WriteLines writes, ReadLines reads back item for
// item, and the file is gzip-compressed (smaller than its JSON).
func TestLinesRoundTrip(t *testing.T) {
	type op struct {
		Key    string `json:"key"`
		Return int64  `json:"return"`
	}
	var ops []op
	for i := range 1000 {
		ops = append(ops, op{Key: "o" + strings.Repeat("x", i%7), Return: int64(i)})
	}
	path := filepath.Join(t.TempDir(), "history.jsonl.gz")
	if err := WriteLines(path, ops); err != nil {
		t.Fatal(err)
	}
	got, err := ReadLines[op](path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ops) {
		t.Errorf("read back %d items, not the %d written", len(got), len(ops))
	}
	if st, _ := os.Stat(path); st.Size() > 1000*10 {
		t.Errorf("%d bytes for 1000 short lines: not compressed", st.Size())
	}
	if names := dirEntries(t, filepath.Dir(path)); !reflect.DeepEqual(names, []string{"history.jsonl.gz"}) {
		t.Errorf("directory holds %v: a temporary file was left", names)
	}
}

func TestReadLinesErrors(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.jsonl.gz")
	if err := os.WriteFile(plain, []byte(`{"key":"o1"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.jsonl.gz")
	if err := WriteLines(bad, []any{map[string]any{"key": "o1"}, "a string"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "none.jsonl.gz"), "no such file"},
		{plain, "plain.jsonl.gz: not gzip-compressed JSON Lines"},
		{bad, "bad.jsonl.gz: line 2: json: cannot unmarshal string"},
	} {
		_, err := ReadLines[map[string]any](tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadLines(%s): %v, want an error containing %q", filepath.Base(tc.path), err, tc.want)
		}
	}
}

// TestLayoutByVersion: the schema version says where a record keeps its
// history and state (inline before version 4, in files from it) and a det
// run's schedule (inline before version 5, in a file from it).
func TestLayoutByVersion(t *testing.T) {
	v4 := func(d map[string]any) {
		d["schema_version"] = 4
		delete(d["files"].(map[string]any), "schedule")
		d["schedule"] = map[string]any{"faults": []string{"at 1s: kill payments"}, "sites": map[string]int{}}
	}
	for _, tc := range []struct {
		name   string
		change func(d map[string]any)
		want   string // "" for a record Read accepts
	}{
		{"version 5 with files", func(map[string]any) {}, ""},
		{"version 5 without files (nothing stored)", func(d map[string]any) { delete(d, "files") }, ""},
		{"version 5 inline", func(d map[string]any) { d["history"] = []any{} }, "a record of schema version 5 keeps them in files"},
		{"version 5, its schedule inline", func(d map[string]any) {
			d["schedule"] = map[string]any{"faults": []string{"at 1s: kill payments"}, "sites": map[string]int{}}
		}, "schedule.faults: a record of schema version 5 keeps its schedule in a file"},
		{"version 4, its schedule inline", v4, ""},
		{"version 4 with a schedule file", func(d map[string]any) { d["schema_version"] = 4 }, "files.schedule: a record of schema version 4 keeps its schedule inline"},
		{"version 4 inline", func(d map[string]any) { v4(d); d["history"] = []any{} }, "a record of schema version 4 keeps them in files"},
		{"version 3 with files", func(d map[string]any) { d["schema_version"] = 3 }, "a record of schema version 3 keeps its history and state inline"},
		{"a file outside the record's directory", func(d map[string]any) {
			d["files"] = map[string]any{"history": "../other/history.jsonl.gz"}
		}, `files.history: "../other/history.jsonl.gz" is not a path inside the record's directory`},
		{"a schedule outside the record's directory", func(d map[string]any) {
			d["files"] = map[string]any{"schedule": "/tmp/schedule.jsonl.gz"}
		}, `files.schedule: "/tmp/schedule.jsonl.gz" is not a path inside the record's directory`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(writeRaw(t, tc.change))
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestFilesFor(t *testing.T) {
	if got, want := FilesFor("/x/record.json"), (Files{History: "history.jsonl.gz", Faults: "faults.jsonl.gz", Schedule: "schedule.jsonl.gz", State: "state"}); got != want {
		t.Errorf("FilesFor(record.json) = %+v, want %+v", got, want)
	}
	if got := FilesFor("/x/run.json"); got.History != "run.history.jsonl.gz" || got.Schedule != "run.schedule.jsonl.gz" || got.State != "run.state" {
		t.Errorf("FilesFor(run.json) = %+v: a record named otherwise prefixes its files", got)
	}
}
