package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/sim"
)

// WriteRecord stores the run at path (a record.json, say): its record
// (Record) with, beside it, the files the record names
// (results.FilesFor): the client history, every fault applied and a det
// run's schedule as gzip-compressed JSON Lines, the final state as SQLite
// databases
// (checker.WriteState). The record is written last: a run stopped midway
// leaves no record naming files that are not there. A record already at
// path is replaced. It returns the record written.
func (r *Result) WriteRecord(ctx context.Context, path string) (*results.Record, error) {
	rec, err := r.Record()
	if err != nil {
		return nil, err
	}
	files := results.FilesFor(path)
	rec.Files = &files
	if err := results.WriteLines(files.Path(path, files.History), r.History); err != nil {
		return nil, fmt.Errorf("record: history: %w", err)
	}
	if err := results.WriteLines(files.Path(path, files.Faults), r.Applied); err != nil {
		return nil, fmt.Errorf("record: faults: %w", err)
	}
	if r.Config.Runtime != results.RuntimeDet {
		rec.Files.Schedule = ""
	} else if err := results.WriteLines(files.Path(path, files.Schedule), r.Schedule.Lines(true)); err != nil {
		return nil, fmt.Errorf("record: schedule: %w", err)
	}
	if r.State == nil {
		rec.Files.State = ""
	} else {
		dir := files.Path(path, files.State)
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("record: state: %w", err)
		}
		if err := checker.WriteState(ctx, dir, r.State); err != nil {
			return nil, fmt.Errorf("record: %w", err)
		}
	}
	if err := results.Write(path, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// Stored is a run as a record stores it: the record, and its history,
// faults applied, schedule (a det run's faults, one a line, as
// Result.Schedule.Lines(true) gives them) and final state, each nil when
// the record stores none.
type Stored struct {
	Record   *results.Record
	History  []checker.Op
	Applied  []sim.Applied
	Schedule []string
	State    *checker.State
}

// ReadRun reads the record at path and the parts it stores: beside it, in
// the files it names (the history, faults applied and state from schema
// version 4, the schedule from version 5), or inline (earlier versions).
// An error names the part that cannot be read.
func ReadRun(ctx context.Context, path string) (*Stored, error) {
	rec, err := results.Read(path)
	if err != nil {
		return nil, err
	}
	st := &Stored{Record: rec}
	if rec.Schedule != nil { // before version 5: inline
		st.Schedule = rec.Schedule.Faults
	}
	if rec.Files == nil { // before version 4: inline
		if !isNull(rec.History) {
			if err := json.Unmarshal(rec.History, &st.History); err != nil {
				return nil, fmt.Errorf("%s: history: not a list of client operations: %w", path, err)
			}
		}
		if !isNull(rec.State) {
			st.State = new(checker.State)
			if err := json.Unmarshal(rec.State, st.State); err != nil {
				return nil, fmt.Errorf("%s: state: not a checker state: %w", path, err)
			}
		}
		var fa FaultsApplied
		if json.Unmarshal(rec.FaultsApplied, &fa) == nil {
			st.Applied = fa.Events
		}
		return st, nil
	}
	f := rec.Files
	if f.History != "" {
		if st.History, err = results.ReadLines[checker.Op](f.Path(path, f.History)); err != nil {
			return nil, fmt.Errorf("%s: history: %w", path, err)
		}
	}
	if f.Faults != "" {
		if st.Applied, err = results.ReadLines[sim.Applied](f.Path(path, f.Faults)); err != nil {
			return nil, fmt.Errorf("%s: faults: %w", path, err)
		}
	}
	if f.Schedule != "" {
		if st.Schedule, err = results.ReadLines[string](f.Path(path, f.Schedule)); err != nil {
			return nil, fmt.Errorf("%s: schedule: %w", path, err)
		}
	}
	if f.State != "" {
		dir := f.Path(path, f.State)
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: state: %s does not exist", path, dir)
		}
		if st.State, err = checker.LoadState(ctx, dir); err != nil {
			return nil, fmt.Errorf("%s: state: %w", path, err)
		}
	}
	return st, nil
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// Diff compares the stored run with r, a run of the same configuration,
// outside the host key and whatever depends on the record's layout (its
// schema version, where its parts are), and describes the first
// difference: the record's summary, then the history, the faults applied,
// the final state, as results.Diff does ("history[41].return: 1.2s vs
// 1.3s"). It returns "" when they are the same run.
func (s *Stored) Diff(ctx context.Context, r *Result) (string, error) {
	again, err := r.Record()
	if err != nil {
		return "", err
	}
	a := *s.Record
	a.SchemaVersion, a.Files, a.History, a.State = again.SchemaVersion, nil, nil, nil
	if a.Schedule != nil { // its faults are compared with the schedule's
		sites := *a.Schedule
		sites.Faults = nil
		a.Schedule = &sites
	}
	if a.FaultsApplied, err = withoutEvents(a.FaultsApplied); err != nil {
		return "", err
	}
	if d, err := results.Diff(&a, again); d != "" || err != nil {
		return d, err
	}
	if d, err := diffRows("history", s.History, r.History); d != "" || err != nil {
		return d, err
	}
	if d, err := diffRows("faults_applied.events", s.Applied, r.Applied); d != "" || err != nil {
		return d, err
	}
	if r.Config.Runtime == results.RuntimeDet {
		if d, err := diffRows("schedule.faults", s.Schedule, r.Schedule.Lines(true)); d != "" || err != nil {
			return d, err
		}
	}
	return diffStates(s.State, r.State)
}

// withoutEvents is a faults_applied without its events (a record before
// version 4 keeps them there).
func withoutEvents(raw json.RawMessage) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &m) != nil {
		return raw, nil
	}
	delete(m, "events")
	return json.Marshal(m)
}

// diffRows compares two lists item by item, each as JSON.
func diffRows[T any](path string, a, b []T) (string, error) {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, err := json.Marshal(a[i])
		if err != nil {
			return "", err
		}
		y, err := json.Marshal(b[i])
		if err != nil {
			return "", err
		}
		if !bytes.Equal(x, y) {
			return results.DiffJSON(fmt.Sprintf("%s[%d]", path, i), x, y)
		}
	}
	if len(a) != len(b) {
		return fmt.Sprintf("%s: %d items vs %d", path, len(a), len(b)), nil
	}
	return "", nil
}

// diffStates compares two states table by table.
func diffStates(a, b *checker.State) (string, error) {
	switch {
	case a == nil && b == nil:
		return "", nil
	case a == nil || b == nil:
		return fmt.Sprintf("state: %s vs %s", present(a), present(b)), nil
	}
	for _, d := range []func() (string, error){
		func() (string, error) { return diffRows("state.orders", a.Orders, b.Orders) },
		func() (string, error) { return diffByName("state.resources", a.Resources, b.Resources) },
		func() (string, error) { return diffByName("state.log", a.Log, b.Log) },
		func() (string, error) { return diffRows("state.stock", a.Stock, b.Stock) },
		func() (string, error) { return diffRows("state.events", a.Events, b.Events) },
		func() (string, error) { return diffRows("state.offsets", a.Offsets, b.Offsets) },
		func() (string, error) { return diffRows("state.credits", a.Credits, b.Credits) },
		func() (string, error) { return diffByName("state.pending", a.Pending, b.Pending) },
		func() (string, error) {
			x, _ := json.Marshal(a.Missing)
			y, _ := json.Marshal(b.Missing)
			return results.DiffJSON("state.missing", x, y)
		},
	} {
		if s, err := d(); s != "" || err != nil {
			return s, err
		}
	}
	return "", nil
}

// diffByName compares two maps of lists, name by name.
func diffByName[T any](path string, a, b map[string][]T) (string, error) {
	names := map[string]bool{}
	for n := range a {
		names[n] = true
	}
	for n := range b {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		x, inA := a[n]
		y, inB := b[n]
		if inA != inB {
			return fmt.Sprintf("%s.%s: %s vs %s", path, n, presentIf(inA), presentIf(inB)), nil
		}
		if d, err := diffRows(path+"."+n, x, y); d != "" || err != nil {
			return d, err
		}
	}
	return "", nil
}

func present(s *checker.State) string { return presentIf(s != nil) }

func presentIf(ok bool) string {
	if ok {
		return "present"
	}
	return "missing"
}
