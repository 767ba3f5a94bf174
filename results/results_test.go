package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sample() *Record {
	return &Record{
		SchemaVersion: SchemaVersion,
		Tool:          Tool,
		Scenario:      "lost-response",
		Pattern:       "outbox",
		Runtime:       RuntimeDet,
		Seed:          42,
		Config:        json.RawMessage(`{"workload":{"orders":100},"faults":{"profile":"lost-response"}}`),
		FaultsApplied: json.RawMessage(`[{"at":1000,"fault":"lost-response","target":"orders->payments"}]`),
		Metrics:       json.RawMessage(`{"availability":0.98,"ops":100}`),
		Anomalies:     map[string]int{"lost-event": 0, "duplicate-charge": 2},
		Findings:      json.RawMessage(`{"duplicate-charge":["order-7"]}`),
		Verdict:       VerdictAnomalies,
		VerdictReason: "duplicate-charge: 2",
		Files:         &Files{History: "history.jsonl.gz", Faults: "faults.jsonl.gz", Schedule: "schedule.jsonl.gz", State: "state"},
		Host: Host{
			Started:     time.Date(2025, 11, 23, 10, 0, 0, 0, time.UTC),
			WallSeconds: 1.5,
			Hostname:    "box",
			GOOS:        "linux",
			GOARCH:      "amd64",
			GoVersion:   "go1.26.8",
			CPUs:        2,
			Extra:       map[string]float64{"p99_ms": 12.5},
		},
	}
}

// dirEntries lists the names in dir.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.json")
	want := sample()
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	// RawMessages come back byte for byte (Write re-indents them,
	// so compare them compacted).
	for _, p := range []struct {
		name      string
		got, want json.RawMessage
	}{
		{"config", got.Config, want.Config},
		{"faults_applied", got.FaultsApplied, want.FaultsApplied},
		{"metrics", got.Metrics, want.Metrics},
		{"findings", got.Findings, want.Findings},
	} {
		var a, b bytes.Buffer
		if err := json.Compact(&a, p.got); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		json.Compact(&b, p.want)
		if a.String() != b.String() {
			t.Errorf("%s: got %s, want %s", p.name, a.String(), b.String())
		}
	}
	got.Config, got.FaultsApplied, got.Metrics, got.Findings, got.History, got.State = nil, nil, nil, nil, nil, nil
	w := *want
	w.Config, w.FaultsApplied, w.Metrics, w.Findings, w.History, w.State = nil, nil, nil, nil, nil, nil
	if !reflect.DeepEqual(*got, w) {
		t.Errorf("round trip:\n got %+v\nwant %+v", *got, w)
	}
	if names := dirEntries(t, filepath.Dir(path)); !reflect.DeepEqual(names, []string{"run.json"}) {
		t.Errorf("directory holds %v, want only run.json", names)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o644 {
		t.Errorf("mode %v, want 0644", perm)
	}
}

func TestWriteFillsDefaultsWithoutTouchingTheRecord(t *testing.T) {
	r := sample()
	r.SchemaVersion, r.Tool = 0, ""
	path := filepath.Join(t.TempDir(), "run.json")
	if err := Write(path, r); err != nil {
		t.Fatal(err)
	}
	if r.SchemaVersion != 0 || r.Tool != "" {
		t.Errorf("Write modified the caller's record: %d %q", r.SchemaVersion, r.Tool)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.SchemaVersion != SchemaVersion || got.Tool != Tool {
		t.Errorf("got %d %q", got.SchemaVersion, got.Tool)
	}
}

func TestWriteIsAtomic(t *testing.T) {
	old := sample()
	old.Seed = 1

	next := sample()
	next.Seed = 2

	broken := sample()
	broken.Metrics = json.RawMessage(`{"ops": 1`) // its MarshalJSON fails

	invalid := sample()
	invalid.Verdict = "maybe"

	for _, tc := range []struct {
		name string
		rec  *Record
		hook func(t *testing.T, path string) func(tmp string) error
	}{
		{name: "value whose MarshalJSON fails", rec: broken},
		{name: "invalid record", rec: invalid},
		{
			name: "failure after the temporary file is written",
			rec:  next,
			hook: func(t *testing.T, path string) func(string) error {
				return func(tmp string) error {
					// The moment before the rename: the new record is
					// complete beside the old one, which is untouched.
					if filepath.Dir(tmp) != filepath.Dir(path) {
						t.Errorf("temporary file %s is not in %s's directory", tmp, path)
					}
					if strings.HasSuffix(tmp, ".json") {
						t.Errorf("temporary file %s ends in .json", tmp)
					}
					if _, err := Read(tmp); err != nil {
						t.Errorf("temporary file: %v", err)
					}
					if r, err := Read(path); err != nil || r.Seed != 1 {
						t.Errorf("old record before the rename: %v, %v", r, err)
					}
					return errors.New("simulated crash")
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "run.json")
			if err := Write(path, old); err != nil {
				t.Fatal(err)
			}
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if tc.hook != nil {
				hook = tc.hook(t, path)
				defer func() { hook = nil }()
			}
			err = Write(path, tc.rec)
			if err == nil {
				t.Fatal("Write succeeded")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Errorf("the previous record changed:\n%s", after)
			}
			if names := dirEntries(t, dir); !reflect.DeepEqual(names, []string{"run.json"}) {
				t.Errorf("directory holds %v, want only run.json", names)
			}
		})
	}
}

func TestFailedWriteLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.json")
	hook = func(string) error { return errors.New("simulated crash") }
	defer func() { hook = nil }()
	if err := Write(path, sample()); err == nil {
		t.Fatal("Write succeeded")
	}
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Errorf("directory holds %v, want nothing", names)
	}
}

func TestWriteOverwrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.json")
	for seed := int64(1); seed <= 3; seed++ {
		r := sample()
		r.Seed = seed
		if err := Write(path, r); err != nil {
			t.Fatal(err)
		}
		got, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if got.Seed != seed {
			t.Errorf("seed %d, want %d", got.Seed, seed)
		}
	}
}

// writeRaw writes doc (a sample record with changes applied to its decoded
// form) to a file and returns its path.
func writeRaw(t *testing.T, change func(doc map[string]any)) string {
	t.Helper()
	data, err := Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	change(doc)
	data, err = json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "run.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(doc map[string]any)
		want   []string // substrings of the error, besides the file name
	}{
		{
			name:   "future schema version",
			change: func(d map[string]any) { d["schema_version"] = SchemaVersion + 1; d["pattern"] = nil },
			want:   []string{fmt.Sprintf("schema_version %d is not supported", SchemaVersion+1), "reads schema versions 1, 2, 3, 4, 5"},
		},
		{
			name:   "schema version zero",
			change: func(d map[string]any) { d["schema_version"] = 0 },
			want:   []string{"schema_version 0 is not supported", "reads schema versions 1, 2, 3, 4, 5"},
		},
		{
			name:   "no schema version",
			change: func(d map[string]any) { delete(d, "schema_version") },
			want:   []string{"no schema_version", "reads schema versions 1, 2, 3, 4, 5"},
		},
		{
			name:   "schema version not a number",
			change: func(d map[string]any) { d["schema_version"] = "one" },
			want:   []string{`schema_version "one" is not a number`},
		},
		{
			name:   "missing keys",
			change: func(d map[string]any) { delete(d, "metrics"); delete(d, "seed") },
			want:   []string{"missing required fields: seed, metrics"},
		},
		{
			name:   "empty pattern",
			change: func(d map[string]any) { d["pattern"] = "" },
			want:   []string{"pattern: missing"},
		},
		{
			name:   "unknown runtime",
			change: func(d map[string]any) { d["runtime"] = "docker" },
			want:   []string{`runtime: "docker" is not one of "live", "det"`},
		},
		{
			name:   "unknown verdict",
			change: func(d map[string]any) { d["verdict"] = "fine" },
			want:   []string{`verdict: "fine" is not one of`},
		},
		{
			name:   "clean verdict with anomalies",
			change: func(d map[string]any) { d["verdict"] = "clean" },
			want:   []string{`verdict: "clean", but anomalies were found: duplicate-charge`},
		},
		{
			name:   "anomalies verdict without any",
			change: func(d map[string]any) { d["anomalies"] = map[string]int{"lost-event": 0} },
			want:   []string{"every anomaly count is zero"},
		},
		{
			name:   "null anomalies",
			change: func(d map[string]any) { d["anomalies"] = nil; d["verdict"] = "unknown" },
			want:   []string{"anomalies: missing"},
		},
		{
			name:   "null config",
			change: func(d map[string]any) { d["config"] = nil },
			want:   []string{"config: missing"},
		},
		{
			name:   "wrong tool",
			change: func(d map[string]any) { d["tool"] = "jepsen" },
			want:   []string{`tool: "jepsen", want "txchaos"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeRaw(t, tc.change)
			_, err := Read(path)
			if err == nil {
				t.Fatal("Read succeeded")
			}
			for _, w := range append([]string{path}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestReadNotJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.json")
	os.WriteFile(path, []byte("{half"), 0o644)
	_, err := Read(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a txchaos result record") {
		t.Errorf("got %v", err)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "none.json")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
}

func TestComparableExcludesHost(t *testing.T) {
	a := sample()
	b := sample()
	b.Host = NewHost(time.Now().Add(-time.Second))
	b.Host.Extra = map[string]float64{"throughput": 99}
	// The same raw parts, formatted differently, compare equal too.
	b.Metrics = json.RawMessage("{\n  \"ops\": 100,\n  \"availability\": 0.98\n}")

	ca, err := a.Comparable()
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.Comparable()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca, cb) {
		t.Errorf("records differing only in host compare different:\n%s\n%s", ca, cb)
	}
	if bytes.Contains(ca, []byte(`"host"`)) || bytes.Contains(ca, []byte("hostname")) {
		t.Errorf("comparable form has the host: %s", ca)
	}
	if !bytes.HasPrefix(ca, []byte(`{"anomalies":{"duplicate-charge":2,"lost-event":0},"config":{"faults":`)) {
		t.Errorf("not canonical: %s", ca)
	}
	var compact bytes.Buffer
	json.Compact(&compact, ca)
	if !bytes.Equal(compact.Bytes(), ca) {
		t.Errorf("not compact: %s", ca)
	}

	// The comparable form survives a round trip through Write and Read.
	path := filepath.Join(t.TempDir(), "run.json")
	if err := Write(path, a); err != nil {
		t.Fatal(err)
	}
	back, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := back.Comparable()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca, cc) {
		t.Errorf("after a round trip:\n%s\n%s", ca, cc)
	}

	// Anything outside host does count.
	b.Seed++
	cb, _ = b.Comparable()
	if bytes.Equal(ca, cb) {
		t.Error("records with different seeds compare equal")
	}
}

func TestNewHost(t *testing.T) {
	started := time.Now().Add(-2 * time.Second)
	h := NewHost(started)
	if h.GOOS == "" || h.GOARCH == "" || h.CPUs < 1 || !strings.HasPrefix(h.GoVersion, "go") {
		t.Errorf("machine fields not filled: %+v", h)
	}
	if h.WallSeconds < 2 || h.WallSeconds > 60 {
		t.Errorf("wall seconds %v", h.WallSeconds)
	}
	if !h.Started.Equal(started) {
		t.Errorf("started %v, want %v", h.Started, started)
	}
	data, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"started"`, `"wall_seconds"`, `"hostname"`, `"goos"`, `"goarch"`, `"go_version"`, `"cpus"`} {
		if !bytes.Contains(data, []byte(k)) {
			t.Errorf("%s has no %s key", data, k)
		}
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		verdict string
		want    int
	}{
		{VerdictClean, 0},
		{VerdictAnomalies, 1},
		{VerdictUnknown, 2},
		{"", 2},
		{"Clean", 2},
		{"bogus", 2},
	} {
		if got := ExitCode(tc.verdict); got != tc.want {
			t.Errorf("ExitCode(%q) = %d, want %d", tc.verdict, got, tc.want)
		}
	}
}

// TestReadVersion1: a record of the previous schema version is still read,
// with its version, so that check can judge it again and report can draw
// it; only replay refuses it.
func TestReadVersion1(t *testing.T) {
	r, err := Read(writeRaw(t, func(d map[string]any) {
		d["schema_version"] = 1
		delete(d, "files")
		d["history"], d["state"] = []any{}, map[string]any{"orders": map[string]any{}}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if r.SchemaVersion != 1 {
		t.Errorf("schema version %d, want 1", r.SchemaVersion)
	}
}

// TestNumbersOutOfRange: JSON has no NaN or infinity, and a number too
// large for a float64 (1e999) does not read as +Inf: a record holding one
// in a field of its own is refused, and a figure holding one reads as
// absent, never as an infinity in a chart.
func TestNumbersOutOfRange(t *testing.T) {
	data, err := Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) []byte {
		t.Helper()
		if !bytes.Contains(data, []byte(old)) {
			t.Fatalf("the sample record has no %s", old)
		}
		return bytes.Replace(data, []byte(old), []byte(new), 1)
	}
	for _, tc := range []struct{ old, new, wantErr string }{
		{`"wall_seconds": 1.5`, `"wall_seconds": 1e999`, "wall_seconds"},
		{`"p99_ms": 12.5`, `"p99_ms": -1e999`, "extra"},
		{`"wall_seconds": 1.5`, `"wall_seconds": NaN`, "invalid character"},
	} {
		if _, err := Parse(edit(tc.old, tc.new)); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: got error %v, want one naming %q", tc.new, err, tc.wantErr)
		}
	}
	r, err := Parse(edit(`"availability": 0.98`, `"availability": 1e999`))
	if err != nil {
		t.Fatalf("the metrics are stored as they are: %v", err)
	}
	if v, ok := r.Figure("availability"); ok {
		t.Errorf("an out-of-range figure reads as %v, want absent", v)
	}
}
