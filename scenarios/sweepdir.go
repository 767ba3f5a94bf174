package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/txchaos/txchaos/results"
)

// Files of a sweep's directory.
const (
	SweepFile   = "sweep.json"
	SummaryFile = "summary.csv"
	CellsDir    = "cells"
	CellFile    = "cell.json"
	RecordFile  = "record.json"
)

// Errors of RunSweep about its directory, returned wrapped.
var (
	// ErrSweepMismatch: Resume found a different sweep in the directory.
	ErrSweepMismatch = errors.New("the directory holds a different sweep")
	// ErrSweepExists: the directory holds a sweep and Resume is not set.
	ErrSweepExists = errors.New("the directory already holds a sweep")
	// ErrNoSweep: Resume is set and the directory holds no sweep.
	ErrNoSweep = errors.New("nothing to resume")
)

// LoadSweep reads the sweep stored in dir by RunSweep.
func LoadSweep(dir string) (Sweep, error) {
	var s Sweep
	path := filepath.Join(dir, SweepFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("sweep: %w", err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("sweep: %s: %w", path, err)
	}
	return s, nil
}

func prepareSweepDir(s Sweep, dir string, resume bool) error {
	path := filepath.Join(dir, SweepFile)
	_, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && resume:
		return fmt.Errorf("sweep: %w: %s does not exist", ErrNoSweep, path)
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(filepath.Join(dir, CellsDir), 0o755); err != nil {
			return fmt.Errorf("sweep: %w", err)
		}
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return fmt.Errorf("sweep: %w", err)
		}
		return results.WriteFile(path, append(b, '\n'))
	case err != nil:
		return fmt.Errorf("sweep: %w", err)
	case !resume:
		return fmt.Errorf("sweep: %w (%s): resume it or choose another directory", ErrSweepExists, path)
	}
	stored, err := LoadSweep(dir)
	if err != nil {
		return err
	}
	if diffs := diffFields(stored.normalized(), s); len(diffs) > 0 {
		return fmt.Errorf("%w: %s was made with %s", ErrSweepMismatch, path, strings.Join(diffs, "; "))
	}
	if err := os.MkdirAll(filepath.Join(dir, CellsDir), 0o755); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return nil
}

// diffFields lists the fields where a and b differ, by their JSON names,
// as "name A, not B".
func diffFields(a, b Sweep) []string {
	fa, fb := map[string]string{}, map[string]string{}
	flatten("", reflect.ValueOf(a), fa)
	flatten("", reflect.ValueOf(b), fb)
	var out []string
	for k, va := range fa {
		if vb := fb[k]; va != vb {
			out = append(out, fmt.Sprintf("%s %s, not %s", k, orNone(va), orNone(vb)))
		}
	}
	sort.Strings(out)
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// flatten records v's leaves under their dotted JSON names: durations as
// 1.5s, lists comma-separated, a nil pointer as empty.
func flatten(name string, v reflect.Value, out map[string]string) {
	switch {
	case v.Type() == reflect.TypeFor[time.Duration]():
		out[name] = time.Duration(v.Int()).String()
	case v.Type() == reflect.TypeFor[Shard]():
		out[name] = v.Interface().(Shard).String()
	case v.Kind() == reflect.Pointer && v.IsNil():
		out[name] = ""
	case v.Kind() == reflect.Pointer:
		flatten(name, v.Elem(), out)
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || tag == "-" {
				continue
			}
			if tag == "" {
				tag = f.Name
			}
			flatten(strings.TrimPrefix(name+"."+tag, "."), v.Field(i), out)
		}
	case v.Kind() == reflect.Slice:
		var xs []string
		for i := range v.Len() {
			xs = append(xs, fmt.Sprint(v.Index(i).Interface()))
		}
		out[name] = strings.Join(xs, ",")
	default:
		out[name] = fmt.Sprint(v.Interface())
	}
}
