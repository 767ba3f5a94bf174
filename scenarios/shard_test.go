package scenarios

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/results"
)

func TestParseShard(t *testing.T) {
	tests := []struct {
		in      string
		want    *Shard
		wantErr string
	}{
		{in: "", want: nil},
		{in: "1/1", want: &Shard{1, 1}},
		{in: "2/4", want: &Shard{2, 4}},
		{in: "4/4", want: &Shard{4, 4}},
		{in: "0/4", wantErr: "shard: 0/4: K must be between 1 and 4"},
		{in: "5/4", wantErr: "shard: 5/4: K must be between 1 and 4"},
		{in: "-1/3", wantErr: "shard: -1/3: K must be between 1 and 3"},
		{in: "1/0", wantErr: "shard: 1/0: N is the number of slices, at least 1"},
		{in: "0/0", wantErr: "shard: 0/0: N is the number of slices, at least 1"},
		{in: "3", wantErr: `shard: "3" is not K/N (e.g. 2/4, the second of four slices of the cells)`},
		{in: "a/b", wantErr: `shard: "a/b" is not K/N`},
		{in: "1/2/3", wantErr: `shard: "1/2/3" is not K/N`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseShard(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestShardCells: the N shards of a sweep are its cells, each once, in the
// sweep's order; a cell's shard depends on its id alone, so it is the same
// in a bigger sweep; a shard out of range is refused by Cells.
func TestShardCells(t *testing.T) {
	s := Sweep{Patterns: []string{"naive-dual-write", "outbox", "saga"}, Faults: []string{"lost-response", "crashpoint"},
		Rates: []string{"0", "0.1", "0.2"}, Seeds: 4, Base: quick("", "")}
	all, err := s.Cells()
	require.NoError(t, err)
	require.Len(t, all, 3*4*(1+2*2))

	bigger := s
	bigger.Patterns = append([]string{"blind-retry"}, s.Patterns...)
	bigger.Seeds = 7
	for _, n := range []int{1, 2, 3, 5, 16} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			shardOf := map[string]int{}
			var union []Cell
			for k := 1; k <= n; k++ {
				s.Shard = &Shard{k, n}
				cells, err := s.Cells()
				require.NoError(t, err)
				for _, c := range cells {
					require.NotContains(t, shardOf, c.ID, "a cell in two shards")
					shardOf[c.ID] = k
				}
				union = append(union, cells...)

				bigger.Shard = &Shard{k, n}
				more, err := bigger.Cells()
				require.NoError(t, err)
				for _, c := range more {
					if want, ok := shardOf[c.ID]; ok {
						require.Equal(t, want, k, "%s moved shard when the sweep grew", c.ID)
					}
				}
			}
			require.ElementsMatch(t, all, union, "the shards together are every cell once")
			if n <= 3 {
				for k := 1; k <= n; k++ {
					require.Contains(t, values(shardOf), k, "no shard of %d is empty on %d cells", n, len(all))
				}
			}
		})
	}
	s.Shard = &Shard{3, 2}
	_, err = s.Cells()
	require.ErrorContains(t, err, "shard: 3/2: K must be between 1 and 2")
}

func values(m map[string]int) []int {
	var out []int
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestMergeShards runs a det sweep straight through and again in three
// shards, merges the shards, and finds the same sweep: the same cells with
// records equal but for the host, the same summary.csv and aggregate.csv.
func TestMergeShards(t *testing.T) {
	ctx := context.Background()
	s := tinySweep()
	s.Base.Runtime = "det"
	s.Seeds = 3
	straightDir := t.TempDir()
	straight, err := RunSweep(ctx, s, straightDir, SweepOptions{Parallel: 2})
	require.NoError(t, err)
	require.Len(t, straight, 12)

	const n = 3
	var dirs []string
	ran := 0
	for k := 1; k <= n; k++ {
		sh := s
		sh.Shard = &Shard{k, n}
		dir := filepath.Join(t.TempDir(), fmt.Sprint("shard", k))
		done, err := RunSweep(ctx, sh, dir, SweepOptions{})
		require.NoError(t, err)
		t.Logf("shard %d/%d: %d cells", k, n, len(done))
		ran += len(done)
		dirs = append(dirs, dir)
	}
	require.Equal(t, len(straight), ran, "the shards ran every cell once")

	out := filepath.Join(t.TempDir(), "merged")
	m, err := Merge(out, dirs)
	require.NoError(t, err)
	require.Empty(t, m.Missing)
	require.Len(t, m.Cells, len(straight))
	for i, want := range straight {
		got := m.Cells[i]
		require.Equal(t, want.Cell, got.Cell)
		wb, err := want.Record.Comparable()
		require.NoError(t, err)
		onDisk, err := results.Read(filepath.Join(out, CellsDir, got.Cell.ID, RecordFile))
		require.NoError(t, err)
		gb, err := onDisk.Comparable()
		require.NoError(t, err)
		require.Equal(t, string(wb), string(gb), "cell %s", want.Cell.ID)
		merged, err := ReadRun(ctx, filepath.Join(out, CellsDir, got.Cell.ID, RecordFile))
		require.NoError(t, err, "the merged cell holds the files its record names (the state a directory)")
		first, err := ReadRun(ctx, filepath.Join(straightDir, CellsDir, want.Cell.ID, RecordFile))
		require.NoError(t, err)
		merged.Record = first.Record
		require.Equal(t, first, merged, "cell %s: the merged history, faults and state", want.Cell.ID)
		require.FileExists(t, filepath.Join(out, CellsDir, got.Cell.ID, CellFile))
	}
	for _, f := range []string{SweepFile, SummaryFile, AggregateFile} {
		want, err := os.ReadFile(filepath.Join(straightDir, f))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(out, f))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), f)
	}

	// The merged directory is a sweep: resuming it runs nothing.
	var started int
	again, err := RunSweep(ctx, s, out, SweepOptions{Resume: true, Progress: func(e SweepEvent) {
		if e.Started {
			started++
		}
	}})
	require.NoError(t, err)
	require.Len(t, again, len(straight))
	require.Zero(t, started)

	// A shard left out: its cells are missing, and resuming the merged
	// directory runs exactly them.
	partial := filepath.Join(t.TempDir(), "partial")
	m, err = Merge(partial, dirs[1:])
	require.NoError(t, err)
	require.Equal(t, len(straight), len(m.Cells)+len(m.Missing))
	first := &Shard{1, n}
	for _, c := range m.Missing {
		require.True(t, first.Has(c.ID), "%s is missing but not of shard 1/%d", c.ID, n)
	}
	var rerun []string
	_, err = RunSweep(ctx, s, partial, SweepOptions{Resume: true, Progress: func(e SweepEvent) {
		if e.Started {
			rerun = append(rerun, e.Cell.ID)
		}
	}})
	require.NoError(t, err)
	require.Len(t, rerun, len(m.Missing))
	want, err := os.ReadFile(filepath.Join(straightDir, SummaryFile))
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(partial, SummaryFile))
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}

// TestMergeRefuses: shards of different sweeps are refused by the
// parameters that differ, as --resume refuses them; so are a shard given
// twice, shards of different N, a cell in two directories and an output
// directory that holds a sweep. Nothing is written to the output then.
func TestMergeRefuses(t *testing.T) {
	ctx := context.Background()
	s := tinySweep()
	s.Base.Runtime = "det"
	run := func(sw Sweep, shard *Shard) string {
		sw.Shard = shard
		dir := filepath.Join(t.TempDir(), "sweep")
		_, err := RunSweep(ctx, sw, dir, SweepOptions{})
		require.NoError(t, err)
		return dir
	}
	one, two := run(s, &Shard{1, 2}), run(s, &Shard{2, 2})
	other := s
	other.Base.Workload.Txns = 13
	other.Rates = []string{"0", "0.25"}
	otherTwo := run(other, &Shard{2, 2})
	thirds := run(s, &Shard{2, 3})
	whole := run(s, nil)
	sweepDir := run(s, &Shard{1, 4})

	tests := []struct {
		name    string
		dirs    []string
		out     string
		wantErr string
		is      error
	}{
		{name: "none", wantErr: "merge: no sweep directories given"},
		{name: "not a sweep", dirs: []string{one, t.TempDir()}, wantErr: "sweep.json: no such file or directory"},
		{name: "other parameters", dirs: []string{one, otherTwo}, is: ErrSweepMismatch,
			wantErr: otherTwo + " was made with base.workload.txns 13, not 12; rates 0,0.25, not 0,0.5 (as " + one + " was)"},
		{name: "a shard twice", dirs: []string{one, two, two}, wantErr: two + " and " + two + " are both shard 2/2"},
		{name: "other N", dirs: []string{one, thirds}, wantErr: "is shard 1/2 and " + thirds + " is shard 2/3: the shards of one sweep have the same N"},
		{name: "a cell twice", dirs: []string{whole, one}, wantErr: "is finished in both " + whole + " and " + one},
		{name: "out holds a sweep", dirs: []string{one, two}, out: sweepDir, is: ErrSweepExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := tt.out
			if out == "" {
				out = filepath.Join(t.TempDir(), "merged")
			}
			_, err := Merge(out, tt.dirs)
			require.Error(t, err)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
			}
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
			if tt.out == "" {
				require.NoDirExists(t, out, "a refused merge writes nothing")
			}
		})
	}
}
