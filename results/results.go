// Package results is the on-disk record of one txchaos run: a versioned
// JSON document, record.json, written atomically, read back with its
// schema version checked — the summary a person opens — and, from schema
// version 4, the run's bulk in files beside it (Files): the client history
// and the faults applied as gzip-compressed JSON Lines (WriteLines,
// ReadLines), the final state as SQLite databases. A record is whole once
// its record.json is written: it is written last.
//
// The parts produced by other packages (the run's configuration, the faults
// applied, the metrics, the checker's findings, and in records before
// version 4 the history and the final state) are carried as
// json.RawMessage, so results imports none of them.
//
// Everything that depends on the machine or the wall clock lives under the
// "host" key. Record.Comparable leaves it out: two runs of the
// deterministic runtime with the same seed and configuration give the same
// Comparable bytes.
//
// # Exit codes
//
// A run's verdict maps to the process exit code as Maelstrom (and Jepsen)
// do, see ExitCode:
//
//	0  clean      no anomaly found
//	1  anomalies  at least one anomaly found
//	2  unknown    the checker could not decide (and any unrecognised verdict)
package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// SchemaVersion is the version of the record this package writes. It
// changes whenever a field changes meaning or a required field is added.
//
// Version 2: a det run's clock readings are all distinct (each takes a
// nanosecond), so a version-1 det record no longer replays byte for byte;
// the history marks the reads taken at rest (at_rest); the record carries
// what the reads showed (reads), and non-linearizable judges the checkouts
// alone, the reads having classes of their own.
//
// Version 3: a det run decides every fault at a named site (requests
// numbered per order and link), records the faults it got as its
// schedule (schedule) and names the site of every fault applied; a
// version-2 det run's late, duplicated and reordered requests and commit
// crashes fell on requests numbered per link, so it does not replay.
//
// Version 4: record.json is the summary; the history, the faults applied
// (faults_applied.events) and the final state are no longer in it but in
// the files it names (files), so that a run of 100,000 orders has a
// record a person opens and a program reads in a moment.
//
// Version 5: a det run's schedule, its faults one a line, is no longer in
// record.json's schedule (which keeps the sites counted) but in a file
// beside it (files.schedule): a run's faults grow with its length, and a
// record of 100,000 orders stays kilobytes.
const SchemaVersion = 5

// filesSince is the first schema version whose record keeps its history,
// faults applied and final state in files (Files).
const filesSince = 4

// scheduleFileSince is the first schema version whose record keeps a det
// run's schedule in a file (Files.Schedule) rather than in
// Schedule.Faults.
const scheduleFileSince = 5

// SupportedVersions are the schema versions Read accepts: an older record
// is still read (and judged again by check), though a det record before
// version 3 is not replayed; before version 4 a record holds its history
// and state inline.
var SupportedVersions = []int{1, 2, 3, 4, SchemaVersion}

// Tool is the value of Record.Tool.
const Tool = "txchaos"

// Runtimes.
const (
	RuntimeLive = "live"
	RuntimeDet  = "det"
)

// Verdicts.
const (
	VerdictClean     = "clean"
	VerdictAnomalies = "anomalies"
	VerdictUnknown   = "unknown"
)

// Record is one run's result.
type Record struct {
	SchemaVersion int    `json:"schema_version"`
	Tool          string `json:"tool"` // "txchaos"
	Scenario      string `json:"scenario,omitempty"`
	Pattern       string `json:"pattern"`
	Runtime       string `json:"runtime"` // "live" or "det"
	Seed          int64  `json:"seed"`
	// Config is the run's full configuration (workload, world, fault
	// profile) as the runner gives it: enough to run it again.
	Config json.RawMessage `json:"config"`
	// FaultsApplied is what the nemesis and the runtime actually applied.
	FaultsApplied json.RawMessage `json:"faults_applied"`
	// Evidence is, per fault of the profile, how often it was applied and
	// how often it landed while an order it affected was open. Records
	// written before it existed have none.
	Evidence *Evidence `json:"evidence,omitempty"`
	// Schedule is, for a det run, the faults it got, each at its site or
	// moment, and the sites it passed: run as a schedule, it is the same
	// run. A live run has none.
	Schedule *Schedule       `json:"schedule,omitempty"`
	Metrics  json.RawMessage `json:"metrics"`
	// Anomalies counts every anomaly class the checker knows, zeros
	// included, so that a missing class never reads as a zero.
	Anomalies map[string]int `json:"anomalies"`
	// Findings holds per-class examples.
	Findings json.RawMessage `json:"findings,omitempty"`
	// Reads is what the reads showed (checker.Reads): the read model the
	// pattern promises, the models that held, the stale reads and how
	// stale the stalest was.
	Reads         json.RawMessage `json:"reads,omitempty"`
	Verdict       string          `json:"verdict"` // "clean" | "anomalies" | "unknown"
	VerdictReason string          `json:"verdict_reason,omitempty"`
	// History and State are the client history and the final state of a
	// record before version 4; from version 4 they are in Files.
	History json.RawMessage `json:"history,omitempty"`
	State   json.RawMessage `json:"state,omitempty"`
	// Files names the parts of the run stored beside the record (version
	// 4), relative to its directory.
	Files *Files `json:"files,omitempty"`
	// Host is everything host-dependent, so that two runs compare without
	// it.
	Host Host `json:"host"`
}

// Files are the parts of a run stored beside its record, each a path
// relative to the record's directory; an empty one is not stored.
type Files struct {
	// History is the client history: one operation a line, in JSON Lines
	// compressed with gzip (WriteLines).
	History string `json:"history,omitempty"`
	// Faults is every fault the runtime applied, one a line, as History.
	Faults string `json:"faults,omitempty"`
	// Schedule is a det run's schedule (version 5): its faults, each a
	// JSON string on a line of its own in the syntax of a schedule, as
	// Schedule.Faults held them before, compressed as History.
	Schedule string `json:"schedule,omitempty"`
	// State is a directory of SQLite databases: the final state as the
	// checker read it, one database a node, with the tables it reads.
	State string `json:"state,omitempty"`
}

// FilesFor are the names of the parts of the record at path: history.jsonl.gz,
// faults.jsonl.gz, schedule.jsonl.gz and state beside a record.json, and
// the same names after
// the record's own ("run.history.jsonl.gz") beside a record named
// otherwise, so that records may share a directory.
func FilesFor(path string) Files {
	prefix := ""
	if base := filepath.Base(path); base != "record.json" {
		prefix = strings.TrimSuffix(base, ".json") + "."
	}
	return Files{History: prefix + "history.jsonl.gz", Faults: prefix + "faults.jsonl.gz", Schedule: prefix + "schedule.jsonl.gz", State: prefix + "state"}
}

// Path is the path of a file a record names, the record being at
// recordPath; "" for a file not stored.
func (f *Files) Path(recordPath, name string) string {
	if f == nil || name == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(recordPath), filepath.FromSlash(name))
}

// Host is what depends on the machine and the wall clock.
type Host struct {
	Started     time.Time `json:"started"`
	WallSeconds float64   `json:"wall_seconds"`
	Hostname    string    `json:"hostname"`
	GOOS        string    `json:"goos"`
	GOARCH      string    `json:"goarch"`
	GoVersion   string    `json:"go_version"`
	CPUs        int       `json:"cpus"`
	// Extra holds the timings the runner measured on a live run (latency
	// percentiles, throughput, time to converge, ...), on the live
	// runtime's clock: the wall clock slowed down by the "slowness" it
	// holds too (1 on a machine fast enough).
	Extra map[string]float64 `json:"extra,omitempty"`
}

// NewHost describes this machine for a run that started at started.
// WallSeconds is the wall time since started, so call it when the run ends
// (or set WallSeconds yourself).
func NewHost(started time.Time) Host {
	name, _ := os.Hostname()
	h := Host{
		Started:   started.Round(0), // no monotonic reading
		Hostname:  name,
		GOOS:      runtime.GOOS,
		GOARCH:    runtime.GOARCH,
		GoVersion: runtime.Version(),
		CPUs:      runtime.NumCPU(),
	}
	if !started.IsZero() {
		h.WallSeconds = time.Since(started).Seconds()
	}
	return h
}

// ExitCode maps a verdict to the process exit code, Maelstrom's convention:
// 0 for "clean", 1 for "anomalies", 2 for "unknown". Any other string is
// treated as unknown (2): a verdict nobody recognises must not pass as
// clean.
func ExitCode(verdict string) int {
	switch verdict {
	case VerdictClean:
		return 0
	case VerdictAnomalies:
		return 1
	default:
		return 2
	}
}

// requiredKeys are the keys every record has (the fields without
// omitempty).
var requiredKeys = []string{
	"schema_version", "tool", "pattern", "runtime", "seed", "config",
	"faults_applied", "metrics", "anomalies", "verdict", "host",
}

// Validate checks the record's required fields and their values: the schema
// version, the tool, a pattern, a known runtime and verdict, a
// configuration, the anomaly counts (present, none negative) and that the
// verdict agrees with them ("clean" has no anomaly, "anomalies" has one).
func (r *Record) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !slices.Contains(SupportedVersions, r.SchemaVersion) {
		bad("schema_version: %d, want one of %s", r.SchemaVersion, versions())
	}
	if r.Tool != Tool {
		bad("tool: %q, want %q", r.Tool, Tool)
	}
	if r.Pattern == "" {
		bad("pattern: missing")
	}
	if r.Runtime != RuntimeLive && r.Runtime != RuntimeDet {
		bad("runtime: %q is not one of %q, %q", r.Runtime, RuntimeLive, RuntimeDet)
	}
	if isNull(r.Config) {
		bad("config: missing")
	}
	for name, raw := range map[string]json.RawMessage{
		"config": r.Config, "faults_applied": r.FaultsApplied, "metrics": r.Metrics,
		"findings": r.Findings, "history": r.History, "state": r.State,
	} {
		if len(raw) > 0 && !json.Valid(raw) {
			bad("%s: not valid JSON", name)
		}
	}
	switch {
	case r.SchemaVersion >= filesSince && (len(r.History) > 0 || len(r.State) > 0):
		bad("history, state: a record of schema version %d keeps them in files (files), not inline", r.SchemaVersion)
	case r.SchemaVersion < filesSince && r.Files != nil:
		bad("files: a record of schema version %d keeps its history and state inline; files are from version %d", r.SchemaVersion, filesSince)
	}
	switch {
	case r.SchemaVersion >= scheduleFileSince && r.Schedule != nil && len(r.Schedule.Faults) > 0:
		bad("schedule.faults: a record of schema version %d keeps its schedule in a file (files.schedule), not inline", r.SchemaVersion)
	case r.SchemaVersion < scheduleFileSince && r.Files != nil && r.Files.Schedule != "":
		bad("files.schedule: a record of schema version %d keeps its schedule inline (schedule.faults); the file is from version %d", r.SchemaVersion, scheduleFileSince)
	}
	if r.Files != nil {
		for name, f := range map[string]string{"history": r.Files.History, "faults": r.Files.Faults, "schedule": r.Files.Schedule, "state": r.Files.State} {
			if f != "" && !filepath.IsLocal(filepath.FromSlash(f)) {
				bad("files.%s: %q is not a path inside the record's directory", name, f)
			}
		}
	}
	if r.Evidence != nil {
		if err := r.Evidence.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if r.Anomalies == nil {
		bad("anomalies: missing (list every class, zeros included)")
	}
	var found []string
	for class, n := range r.Anomalies {
		if n < 0 {
			bad("anomalies.%s: %d is negative", class, n)
		}
		if n > 0 {
			found = append(found, class)
		}
	}
	slices.Sort(found)
	switch r.Verdict {
	case VerdictClean:
		if len(found) > 0 {
			bad("verdict: %q, but anomalies were found: %s", r.Verdict, strings.Join(found, ", "))
		}
	case VerdictAnomalies:
		if r.Anomalies != nil && len(found) == 0 {
			bad("verdict: %q, but every anomaly count is zero", r.Verdict)
		}
	case VerdictUnknown:
	default:
		bad("verdict: %q is not one of %q, %q, %q", r.Verdict, VerdictClean, VerdictAnomalies, VerdictUnknown)
	}
	return errors.Join(errs...)
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// withDefaults returns a shallow copy of r with SchemaVersion and Tool
// filled in when they are zero.
func (r *Record) withDefaults() *Record {
	c := *r
	if c.SchemaVersion == 0 {
		c.SchemaVersion = SchemaVersion
	}
	if c.Tool == "" {
		c.Tool = Tool
	}
	return &c
}

// Marshal is the record as Write writes it: indented JSON and a final
// newline. Zero SchemaVersion and Tool are filled in; the record must then
// pass Validate.
func Marshal(r *Record) ([]byte, error) {
	c := r.withDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("invalid record: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "orders->payments" readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil { // ends with a newline
		return nil, fmt.Errorf("encoding the record: %w", err)
	}
	return buf.Bytes(), nil
}

// hook, when set by a test, runs on the temporary file's name just before
// the rename; an error from it fails the Write there.
var hook func(tmp string) error

// Write writes r to path atomically: to a temporary file in path's
// directory, synced, then renamed over path, and the directory synced. A
// Write that fails, or a process killed midway, leaves path as it was
// (the previous record, or no file). A failed Write removes its temporary
// file; only a killed process can leave one behind, named
// ".<base>.tmp-<random>", which never ends in ".json".
//
// SchemaVersion and Tool are filled in when zero (on a copy: r is not
// modified), and the record must pass Validate. The directory must exist.
// Write the files the record names (Files) first: the record says they
// are there.
func Write(path string, r *Record) (err error) {
	data, err := Marshal(r)
	if err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	return WriteFile(path, data)
}

// WriteFile writes data to path atomically, as Write writes a record:
// through a temporary file in the same directory, synced and renamed, so
// that readers see the old file or the new one, never a part.
func WriteFile(path string, data []byte) error {
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeAtomic writes path with write, atomically: see Write.
func writeAtomic(path string, write func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close() // may already be closed
			os.Remove(tmp)
			err = fmt.Errorf("results: writing %s: %w", path, err)
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if hook != nil {
		if err := hook(tmp); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename itself durable. Not every platform can sync a
	// directory; the record is in place either way, so this is best effort.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Read reads the record at path. It checks the schema version before
// anything else (an error names the file, the version found and the
// versions supported), then that every required key is present and the
// record passes Validate.
func Read(path string) (*Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	r, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("results: %s: %w", path, err)
	}
	return r, nil
}

// Parse decodes and checks a record, as Read does.
func Parse(data []byte) (*Record, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, fmt.Errorf("not a txchaos result record: %w", err)
	}
	rawVersion, ok := keys["schema_version"]
	if !ok {
		return nil, fmt.Errorf("not a txchaos result record: no schema_version (this txchaos reads schema versions %s)", versions())
	}
	var version int
	if err := json.Unmarshal(rawVersion, &version); err != nil {
		return nil, fmt.Errorf("schema_version %s is not a number (this txchaos reads schema versions %s)", rawVersion, versions())
	}
	if !slices.Contains(SupportedVersions, version) {
		return nil, fmt.Errorf("schema_version %d is not supported (this txchaos reads schema versions %s)", version, versions())
	}
	var missing []string
	for _, k := range requiredKeys {
		if _, ok := keys[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing required fields: %s", strings.Join(missing, ", "))
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decoding the record: %w", err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("invalid record: %w", err)
	}
	return &r, nil
}

func versions() string {
	s := make([]string, len(SupportedVersions))
	for i, v := range SupportedVersions {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}

// Comparable is the record as canonical JSON without the "host" key:
// compact, object keys sorted at every depth (inside the raw parts too),
// numbers as written. Two runs compare byte for byte on it. SchemaVersion
// and Tool are filled in when zero, as Write does.
//
// Whatever the raw parts hold is compared: a live run's history carries
// wall-clock times and differs from run to run; a deterministic run's does
// not.
func (r *Record) Comparable() ([]byte, error) {
	c := r.withDefaults()
	c.Host = Host{}
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("results: encoding the record: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("results: canonicalising the record: %w", err)
	}
	delete(doc, "host")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil { // maps encode with sorted keys
		return nil, fmt.Errorf("results: canonicalising the record: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
