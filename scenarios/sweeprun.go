package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/txchaos/txchaos/results"
)

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
	if err := results.WriteFile(filepath.Join(dir, CellFile), append(b, '\n')); err != nil {
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
