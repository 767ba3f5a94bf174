package scenarios

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/results"
)

// Sweep is a grid of runs: every pattern under every fault kind at every
// rate, each with seeds 1 to Seeds, all with Base's workload and world.
//
// A fault kind is written KIND, KIND:TARGET, or several joined with "+"
// (lost-response+crashpoint); at rate R it becomes the profile KIND=R,
// KIND=TARGET:R, ... (see package faults):
//
//   - lost-response, drop-request: R is the per-request probability, on
//     every link, or on one with lost-response:orders-payments;
//   - crash and error need a node: crash:payments;
//   - crashpoint alone crashes the coordinator at each of the pattern's
//     crash points with probability R; crashpoint:after-local-commit at
//     that one point (every pattern of the sweep must declare it);
//   - latency and partition take durations: R is a duration such as 50ms,
//     or a bare number of seconds (0.1 is 100ms).
//
// A zero rate is the same run for every kind: it is run once per pattern
// and seed, as the cell with faults "none", and stands for rate 0 of every
// kind.
type Sweep struct {
	Patterns []string `json:"patterns"`
	Faults   []string `json:"faults"`
	Rates    []string `json:"rates"`
	Seeds    int      `json:"seeds"`
	// Base is every cell's configuration but its pattern, faults and seed.
	Base Config `json:"base"`
	// Shard, when set, runs one slice of the cells (see Shard); Merge
	// combines the shards' directories into the whole sweep's.
	Shard *Shard `json:"shard,omitempty"`
}

// Cell is one run of a sweep.
type Cell struct {
	// ID names the cell's directory: pattern_faults_rate_seedN, with ":"
	// in the faults written "@".
	ID      string `json:"id"`
	Pattern string `json:"pattern"`
	// Faults is the fault kind as the sweep names it, "none" for the
	// zero-rate cell.
	Faults string `json:"faults"`
	// Rate is the rate as the sweep names it ("0" for faults "none").
	Rate string `json:"rate"`
	Seed int64  `json:"seed"`
	// Profile is the fault profile the cell runs (Config.Faults).
	Profile string `json:"profile"`
}

// Config is the cell's run configuration.
func (s Sweep) config(c Cell) Config {
	cfg := s.Base
	cfg.Pattern, cfg.Faults, cfg.Seed = c.Pattern, c.Profile, c.Seed
	return cfg
}

// normalized is s with what the cells set cleared from Base, as stored.
func (s Sweep) normalized() Sweep {
	s.Base.Pattern, s.Base.Faults, s.Base.Seed = "", "", 0
	s.Base.World.Broker = s.Base.World.BrokerName() // a sweep stored before brokers had a name ran the log
	s.Base.Isolation = s.Base.IsolationName()       // and one stored before isolations, none
	return s
}

// Cells lists the sweep's cells in the order they run: seed by seed, so
// that an interrupted sweep holds whole grids; within a seed pattern by
// pattern, the zero-rate cell first, then kind by kind and rate by rate.
// With a Shard, only the shard's cells. Every cell's configuration is
// validated, the other shards' too; errors name the cell.
func (s Sweep) Cells() ([]Cell, error) {
	all, err := s.allCells()
	if err != nil || s.Shard == nil {
		return all, err
	}
	if err := s.Shard.validate(); err != nil {
		return nil, err
	}
	var out []Cell
	for _, c := range all {
		if s.Shard.Has(c.ID) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s Sweep) allCells() ([]Cell, error) {
	switch {
	case len(s.Patterns) == 0:
		return nil, errors.New("patterns: none given")
	case len(s.Faults) == 0:
		return nil, errors.New("faults: none given (a fault kind such as lost-response)")
	case len(s.Rates) == 0:
		return nil, errors.New("rates: none given (e.g. 0,0.1,0.2)")
	case s.Seeds < 1 || s.Seeds > 10_000:
		return nil, fmt.Errorf("seeds: %d is not between 1 and 10000", s.Seeds)
	}
	if d := firstDup(s.Patterns); d != "" {
		return nil, fmt.Errorf("patterns: %s is listed twice", d)
	}
	if d := firstDup(s.Faults); d != "" {
		return nil, fmt.Errorf("faults: %s is listed twice", d)
	}
	var specs []patterns.Spec
	for _, name := range s.Patterns {
		spec, err := patterns.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("patterns: %w", err)
		}
		specs = append(specs, spec)
	}
	kinds := make([][]kindPart, len(s.Faults))
	for i, f := range s.Faults {
		parts, err := parseKind(f)
		if err != nil {
			return nil, fmt.Errorf("faults: %w", err)
		}
		kinds[i] = parts
	}
	zero := false
	for _, r := range s.Rates {
		z, err := isZeroRate(r)
		if err != nil {
			return nil, fmt.Errorf("rates: %w", err)
		}
		zero = zero || z
	}
	var cells []Cell
	seen := map[string]bool{}
	add := func(c Cell) error {
		c.ID = cellID(c)
		if seen[c.ID] {
			return fmt.Errorf("rates: %s is listed twice (or written two ways)", c.Rate)
		}
		seen[c.ID] = true
		if err := s.config(c).Validate(); err != nil {
			return fmt.Errorf("cell %s: %w", c.ID, err)
		}
		cells = append(cells, c)
		return nil
	}
	for seed := int64(1); seed <= int64(s.Seeds); seed++ {
		for _, spec := range specs {
			if zero {
				if err := add(Cell{Pattern: spec.Name, Faults: "none", Rate: "0", Seed: seed}); err != nil {
					return nil, err
				}
			}
			for i, parts := range kinds {
				for _, r := range s.Rates {
					if z, _ := isZeroRate(r); z {
						continue
					}
					profile, err := profileFor(parts, r, spec)
					if err != nil {
						return nil, fmt.Errorf("faults %s at rate %s for %s: %w", s.Faults[i], r, spec.Name, err)
					}
					if err := add(Cell{Pattern: spec.Name, Faults: s.Faults[i], Rate: r, Seed: seed, Profile: profile}); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return cells, nil
}

func firstDup(xs []string) string {
	seen := map[string]bool{}
	for _, x := range xs {
		if seen[x] {
			return x
		}
		seen[x] = true
	}
	return ""
}

func cellID(c Cell) string {
	f := strings.NewReplacer(":", "@", "/", "-", " ", "").Replace(c.Faults)
	return fmt.Sprintf("%s_%s_%s_seed%d", c.Pattern, f, c.Rate, c.Seed)
}

// kindPart is one kind of a sweep's fault kind: KIND or KIND:TARGET.
type kindPart struct {
	kind     faults.Kind
	target   string
	duration bool
}

func parseKind(s string) ([]kindPart, error) {
	var out []kindPart
	for _, part := range strings.Split(s, "+") {
		name, target, _ := strings.Cut(strings.TrimSpace(part), ":")
		var k faults.Kind
		var names []string
		for _, x := range faults.Kinds() {
			names = append(names, x.Name)
			if x.Name == name {
				k = x
			}
		}
		if k.Name == "" {
			return nil, fmt.Errorf("%q: unknown fault kind %q (kinds: %s; write KIND, KIND:TARGET or KIND+KIND)", s, name, strings.Join(names, ", "))
		}
		if target == "" && k.Name != "crashpoint" && strings.HasPrefix(k.Syntax, "NODE:") {
			return nil, fmt.Errorf("%q: %s needs a node, e.g. %s:payments", s, name, name)
		}
		out = append(out, kindPart{kind: k, target: target, duration: k.Timed || strings.HasSuffix(k.Syntax, "DURATION")})
	}
	return out, nil
}

// isZeroRate reports whether a rate is zero; it must be a finite number at
// least 0 or a duration at least 0.
func isZeroRate(r string) (bool, error) {
	if f, err := strconv.ParseFloat(r, 64); err == nil && f >= 0 && !math.IsInf(f, 0) {
		return f == 0, nil
	}
	d, err := time.ParseDuration(r)
	if err != nil || d < 0 {
		return false, fmt.Errorf("%q is neither a rate between 0 and 1 nor a duration such as 50ms (or seconds: 0.05)", r)
	}
	return d == 0, nil
}

// maxSeconds bounds a duration rate given in seconds: a day.
const maxSeconds = 24 * 60 * 60

// profileFor is the fault profile of parts at rate r for the pattern.
func profileFor(parts []kindPart, r string, spec patterns.Spec) (string, error) {
	var entries []string
	for _, p := range parts {
		var value string
		if p.duration {
			d, err := time.ParseDuration(r)
			if err != nil {
				secs, ferr := strconv.ParseFloat(r, 64)
				if ferr != nil || !(secs >= 0 && secs <= maxSeconds) {
					return "", fmt.Errorf("rate %q is not a duration for %s: give one such as 50ms, or seconds from 0 to %d", r, p.kind.Name, maxSeconds)
				}
				d = time.Duration(secs * float64(time.Second))
			}
			value = d.String()
		} else {
			f, err := strconv.ParseFloat(r, 64)
			if err != nil || f > 1 {
				return "", fmt.Errorf("rate %q is not a probability between 0 and 1, which %s takes", r, p.kind.Name)
			}
			value = strconv.FormatFloat(f, 'g', -1, 64)
		}
		targets := []string{p.target}
		if p.kind.Name == "crashpoint" && p.target == "" {
			if len(spec.CrashPoints) == 0 {
				return "", errors.New("the pattern declares no crash points")
			}
			targets = spec.CrashPoints
		}
		for _, t := range targets {
			if t == "" {
				entries = append(entries, p.kind.Name+"="+value)
			} else {
				entries = append(entries, p.kind.Name+"="+t+":"+value)
			}
		}
	}
	return strings.Join(entries, ","), nil
}

// CellResult is a finished cell and its record.
type CellResult struct {
	Cell   Cell
	Record *results.Record
	// Resumed is true when the record was found on disk from an earlier,
	// interrupted run of the sweep rather than run now.
	Resumed bool
}

// SweepEvent tells SweepOptions.Progress what the sweep is doing.
type SweepEvent struct {
	// Started is true when Cell starts running, false when it finished.
	// A cell found finished on disk is reported finished, with Resumed set,
	// before any cell starts.
	Started bool
	Cell    Cell
	// Result is the finished cell (nil when Started).
	Result *CellResult
	// Done counts the finished cells, resumed ones included, of Total.
	Done, Total int
}

// SweepOptions are how RunSweep runs a sweep.
type SweepOptions struct {
	// Parallel is how many cells run at once (1 when zero).
	Parallel int
	// Resume continues the sweep stored in the directory: its sweep.json
	// must hold the same sweep, and cells with a valid record are kept.
	// Without Resume the directory must hold no sweep.
	Resume bool
	// Progress, when set, is called as cells start and finish, never
	// concurrently.
	Progress func(SweepEvent)
}

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

// RunSweep runs the cells of s one after another (or opts.Parallel at a
// time) and stores them under dir:
//
//	dir/sweep.json                the sweep, written first
//	dir/cells/<id>/cell.json      the cell
//	dir/cells/<id>/history-*.html porcupine's view of each history that
//	                              did not linearize (Result.WriteHistories)
//	dir/cells/<id>/record.json    its record (results.Write: atomic),
//	                              written last
//	dir/summary.csv               a row per finished cell, rewritten
//	                              atomically as each one finishes
//	dir/aggregate.csv             a row per pattern × fault kind × rate,
//	                              its seeds summed with 95% intervals
//	                              (Aggregate), rewritten with summary.csv
//
// A cell is finished once its record is written. When ctx is cancelled the
// cells running are discarded, the finished ones kept, and RunSweep
// returns them with an error wrapping ctx.Err(); run it again with Resume
// to continue. It returns the finished cells in the order of s.Cells.
func RunSweep(ctx context.Context, s Sweep, dir string, opts SweepOptions) ([]CellResult, error) {
	s = s.normalized()
	cells, err := s.Cells()
	if err != nil {
		return nil, err
	}
	if err := prepareSweepDir(s, dir, opts.Resume); err != nil {
		return nil, err
	}
	r := &sweepRun{s: s, dir: dir, opts: opts, cells: cells, done: map[string]CellResult{}}
	var todo []Cell
	for _, c := range cells {
		if rec := r.finished(c); rec != nil {
			res := CellResult{Cell: c, Record: rec, Resumed: true}
			r.done[c.ID] = res
			r.progress(SweepEvent{Cell: c, Result: &res})
			continue
		}
		if err := os.RemoveAll(r.cellDir(c)); err != nil {
			return nil, fmt.Errorf("sweep: clearing the unfinished cell %s: %w", c.ID, err)
		}
		todo = append(todo, c)
	}
	if err := r.writeSummary(); err != nil {
		return nil, err
	}
	err = r.runAll(ctx, todo)
	return r.results(), err
}

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
		return writeAtomic(path, append(b, '\n'))
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

// sweepRun is one call of RunSweep.
type sweepRun struct {
	s     Sweep
	dir   string
	opts  SweepOptions
	cells []Cell

	mu   sync.Mutex // guards done and the calls of Progress
	done map[string]CellResult
}

func (r *sweepRun) cellDir(c Cell) string { return filepath.Join(r.dir, CellsDir, c.ID) }

// finished returns the cell's record if it is on disk, valid and of this
// cell.
func (r *sweepRun) finished(c Cell) *results.Record {
	rec, err := results.Read(filepath.Join(r.cellDir(c), RecordFile))
	if err != nil || rec.Pattern != c.Pattern || rec.Seed != c.Seed {
		return nil
	}
	var cfg struct {
		Faults string `json:"faults"`
	}
	if json.Unmarshal(rec.Config, &cfg) != nil || cfg.Faults != c.Profile {
		return nil
	}
	return rec
}

func (r *sweepRun) progress(e SweepEvent) {
	e.Done, e.Total = len(r.done), len(r.cells)
	if r.opts.Progress != nil {
		r.opts.Progress(e)
	}
}

// runAll runs the cells todo, opts.Parallel at a time, until they are done,
// ctx is cancelled or one fails.
func (r *sweepRun) runAll(outer context.Context, todo []Cell) error {
	ctx, cancel := context.WithCancelCause(outer)
	defer cancel(nil)
	queue := make(chan Cell)
	var wg sync.WaitGroup
	for range max(1, r.opts.Parallel) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range queue {
				if err := r.runCell(ctx, c); err != nil {
					cancel(err)
				}
			}
		}()
	}
	for _, c := range todo {
		if ctx.Err() != nil {
			break
		}
		select {
		case queue <- c:
		case <-ctx.Done():
		}
	}
	close(queue)
	wg.Wait()
	if err := outer.Err(); err != nil {
		return fmt.Errorf("sweep interrupted with %d of %d cells finished: %w", len(r.done), len(r.cells), err)
	}
	return context.Cause(ctx) // a cell's failure, or nil
}

// runCell runs one cell and stores it. A cell interrupted by ctx is
// discarded without an error.
func (r *sweepRun) runCell(ctx context.Context, c Cell) error {
	if ctx.Err() != nil {
		return nil
	}
	r.mu.Lock()
	r.progress(SweepEvent{Started: true, Cell: c})
	r.mu.Unlock()
	res, err := Execute(ctx, r.s.config(c), "")
	if err != nil {
		if ctx.Err() != nil {
			os.RemoveAll(r.cellDir(c))
			return nil
		}
		return fmt.Errorf("sweep: cell %s: %w", c.ID, err)
	}
	dir := r.cellDir(c)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sweep: cell %s: %w", c.ID, err)
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := writeAtomic(filepath.Join(dir, CellFile), append(b, '\n')); err != nil {
		return fmt.Errorf("sweep: cell %s: %w", c.ID, err)
	}
	if _, err := res.WriteHistories(dir); err != nil {
		return fmt.Errorf("sweep: cell %s: %w", c.ID, err)
	}
	rec, err := res.WriteRecord(ctx, filepath.Join(dir, RecordFile))
	if err != nil {
		return fmt.Errorf("sweep: cell %s: %w", c.ID, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cr := CellResult{Cell: c, Record: rec}
	r.done[c.ID] = cr
	r.progress(SweepEvent{Cell: c, Result: &cr})
	return r.writeSummary()
}

// results are the finished cells in the sweep's order.
func (r *sweepRun) results() []CellResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []CellResult
	for _, c := range r.cells {
		if res, ok := r.done[c.ID]; ok {
			out = append(out, res)
		}
	}
	return out
}

// writeSummary rewrites summary.csv and aggregate.csv; r.mu is held or no
// cell runs.
func (r *sweepRun) writeSummary() error {
	var out []CellResult
	for _, c := range r.cells {
		if res, ok := r.done[c.ID]; ok {
			out = append(out, res)
		}
	}
	var buf bytes.Buffer
	if err := WriteSummaryCSV(&buf, out); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(r.dir, SummaryFile), buf.Bytes()); err != nil {
		return err
	}
	buf.Reset()
	if err := WriteAggregateCSV(&buf, Aggregate(out)); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(r.dir, AggregateFile), buf.Bytes())
}

// SummaryColumns are the columns of summary.csv: the cell, its verdict,
// each anomaly class's count (in checker.Classes order), the figures, and
// the faults of its profile that never landed, space-separated (see
// results.Evidence). Timings are the runtime's clock (on the live runtime,
// the wall clock slowed down on a busy machine: see Result.Slowness).
func SummaryColumns() []string {
	cols := []string{"cell", "pattern", "faults", "rate", "seed", "profile", "verdict"}
	for _, c := range checker.Classes {
		cols = append(cols, string(c))
	}
	cols = append(cols, summaryFigures...)
	return append(cols, "not_exercised")
}

var summaryFigures = []string{"checkouts", "availability", "latency_p50_ms", "latency_p99_ms", "throughput_per_s", "converge_ms"}

// WriteSummaryCSV writes the header of SummaryColumns and a row per cell.
// A figure a record does not hold is left empty.
func WriteSummaryCSV(w io.Writer, cells []CellResult) error {
	cw := csv.NewWriter(w)
	cw.Write(SummaryColumns())
	for _, cr := range cells {
		c, rec := cr.Cell, cr.Record
		row := []string{c.ID, c.Pattern, c.Faults, c.Rate, strconv.FormatInt(c.Seed, 10), c.Profile, rec.Verdict}
		for _, cl := range checker.Classes {
			row = append(row, strconv.Itoa(rec.Anomalies[string(cl)]))
		}
		for _, f := range summaryFigures {
			v, ok := rec.Figure(f)
			if !ok {
				row = append(row, "")
				continue
			}
			row = append(row, strconv.FormatFloat(v, 'f', -1, 64))
		}
		var ne []string
		if rec.Evidence != nil {
			ne = rec.Evidence.NotExercised
		}
		row = append(row, strings.Join(ne, " "))
		cw.Write(row)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	return nil
}

// writeAtomic writes data to path through a temporary file in the same
// directory and a rename: readers see the old file or the new one.
func writeAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}()
	if _, err := f.Write(data); err != nil {
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
	return os.Rename(f.Name(), path)
}
