package scenarios

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/txchaos/txchaos/results"
)

// Merged is what Merge wrote.
type Merged struct {
	// Sweep is the whole sweep, without a shard.
	Sweep Sweep
	// Cells are the finished cells, in the order of Sweep.Cells.
	Cells []CellResult
	// Missing are the sweep's cells no directory had finished: a shard
	// not given, or one interrupted. RunSweep with Resume on the merged
	// directory runs them.
	Missing []Cell
}

// Merge combines the sweep directories dirs (made by RunSweep, usually
// each with one Shard of the same sweep) into out, a directory of the
// whole sweep as RunSweep would have written it: sweep.json without a
// shard, each finished cell's directory, summary.csv and aggregate.csv.
//
// The directories must hold the same sweep but for its shard; a difference
// is an error wrapping ErrSweepMismatch that names the parameters, as
// RunSweep's Resume does. Two directories of the same shard, shards of
// different N, and a cell finished in two directories are errors too; out
// must hold no sweep (ErrSweepExists). Cells no directory finished are
// left out and listed in Merged.Missing. Each cell's record is written
// last, so a merge killed midway leaves a directory Resume can continue.
func Merge(out string, dirs []string) (Merged, error) {
	var m Merged
	if len(dirs) == 0 {
		return m, errors.New("merge: no sweep directories given")
	}
	if _, err := os.Stat(filepath.Join(out, SweepFile)); err == nil {
		return m, fmt.Errorf("merge: %w (%s): merge into another directory", ErrSweepExists, filepath.Join(out, SweepFile))
	}
	sweeps := make([]Sweep, len(dirs))
	for i, d := range dirs {
		s, err := LoadSweep(d)
		if err != nil {
			return m, fmt.Errorf("merge: %s: %w", d, err)
		}
		sweeps[i] = s.normalized()
	}
	whole := sweeps[0]
	whole.Shard = nil
	shardOf := map[Shard]string{}
	for i, s := range sweeps {
		sh := s.Shard
		s.Shard = nil
		if diffs := diffFields(s, whole); len(diffs) > 0 {
			return m, fmt.Errorf("merge: %w: %s was made with %s (as %s was)", ErrSweepMismatch, dirs[i], strings.Join(diffs, "; "), dirs[0])
		}
		if sh == nil {
			continue
		}
		if prev, ok := shardOf[*sh]; ok {
			return m, fmt.Errorf("merge: %s and %s are both shard %s", prev, dirs[i], sh)
		}
		for other, d := range shardOf {
			if other.N != sh.N {
				return m, fmt.Errorf("merge: %s is shard %s and %s is shard %s: the shards of one sweep have the same N", d, other, dirs[i], sh)
			}
		}
		shardOf[*sh] = dirs[i]
	}
	cells, err := whole.Cells()
	if err != nil {
		return m, fmt.Errorf("merge: %s: %w", dirs[0], err)
	}
	from := map[string]string{} // cell id → the directory that finished it
	r := &sweepRun{s: whole, dir: out, cells: cells, done: map[string]CellResult{}}
	for i, d := range dirs {
		in := &sweepRun{s: sweeps[i], dir: d}
		own, _ := sweeps[i].Cells() // the whole sweep's cells validated
		for _, c := range own {
			rec := in.finished(c)
			if rec == nil {
				continue
			}
			if prev, ok := from[c.ID]; ok {
				return m, fmt.Errorf("merge: cell %s is finished in both %s and %s", c.ID, prev, d)
			}
			from[c.ID] = d
			r.done[c.ID] = CellResult{Cell: c, Record: rec}
		}
	}
	if err := prepareSweepDir(whole, out, false); err != nil {
		return m, fmt.Errorf("merge: %w", err)
	}
	for _, c := range cells {
		d, ok := from[c.ID]
		if !ok {
			m.Missing = append(m.Missing, c)
			continue
		}
		if err := copyCell(filepath.Join(d, CellsDir, c.ID), r.cellDir(c)); err != nil {
			return m, fmt.Errorf("merge: cell %s: %w", c.ID, err)
		}
	}
	if err := r.writeSummary(); err != nil {
		return m, fmt.Errorf("merge: %w", err)
	}
	m.Sweep, m.Cells = whole, r.results()
	return m, nil
}

// copyCell copies a finished cell's files and directories (a record's
// state is a directory of databases), its record last.
func copyCell(from, to string) error {
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.Name() == RecordFile {
			continue
		}
		if e.IsDir() {
			if err := copyCell(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
				return err
			}
		} else if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(from, RecordFile)); err == nil {
		names = append(names, RecordFile)
	}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(from, n))
		if err != nil {
			return err
		}
		if err := results.WriteFile(filepath.Join(to, n), data); err != nil {
			return err
		}
	}
	return nil
}
