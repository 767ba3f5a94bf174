package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/scenarios"
)

func newReplay() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "replay RESULT.json",
		Short: "Run a stored det run again and confirm it reproduces, byte for byte",
		Long: `replay reads a run's record, runs its configuration again on the det runtime
(same seed, same schedule) and compares the two runs outside their host key:
the record's summary, then the history, the faults applied, the final state.

Exit status: 0 the run reproduces, 1 it does not (the first differing field is
printed), 3 bad arguments (a live run, or a record of schema version 1, cannot
be replayed), 4 harness failure.`,
		Example: `  txchaos run --runtime det --pattern naive-dual-write --faults lost-response=0.2 --seed 7
  txchaos replay txchaos-out/naive-dual-write-seed7-*/record.json`,
		Args: recordArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			rec, cfg, err := readDetRecord(args[0])
			if err != nil {
				return err
			}
			if rec.SchemaVersion < replayable {
				return usageError("%s: schema_version %d: this txchaos replays schema versions %d to %d only: "+
					"a det run recorded at version %d %s, so it cannot reproduce byte for byte; run its configuration again "+
					"(txchaos run --runtime det --pattern %s --seed %d ...) and replay the new record",
					args[0], rec.SchemaVersion, replayable, results.SchemaVersion, rec.SchemaVersion, whyNotReplayed(rec.SchemaVersion), rec.Pattern, rec.Seed)
			}
			if out != "" {
				if err := checkOutFile("out", out); err != nil {
					return err
				}
			}
			stored, err := scenarios.ReadRun(cmd.Context(), args[0])
			if err != nil {
				return usageError("%v", err)
			}
			res, err := scenarios.Execute(cmd.Context(), cfg, "")
			if err != nil {
				return harnessError(err)
			}
			if out != "" {
				if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
					return harnessError(err)
				}
				if _, err := res.WriteRecord(cmd.Context(), out); err != nil {
					return harnessError(err)
				}
			}
			diff, err := stored.Diff(cmd.Context(), res)
			if err != nil {
				return harnessError(err)
			}
			w := cmd.OutOrStdout()
			if diff != "" {
				fmt.Fprintf(w, "%s does not reproduce: the first difference (recorded vs replayed) is\n  %s\n", args[0], diff)
				return &exitError{code: 1}
			}
			fmt.Fprintf(w, "%s reproduces: pattern %s, seed %d, %d operations, %d faults applied, verdict %s — identical outside the host key\n",
				args[0], cfg.Pattern, cfg.Seed, len(res.History), len(res.Applied), res.Report.Verdict)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "also write the replayed record to this file")
	return cmd
}

// replayable is the first schema version replay reproduces (see
// whyNotReplayed); a record of version 3 holds its run inline, of 4 beside
// it but for its schedule, of 5 all beside it, and each replays.
const replayable = 3

// whyNotReplayed says what changed since a det record of an older schema
// version was written.
func whyNotReplayed(version int) string {
	if version == 1 {
		return "ran on a clock whose readings could repeat an instant"
	}
	return "numbered the requests its late, duplicated and reordered requests and commit crashes fell on per link, " +
		"where this txchaos numbers every fault site per order (and records the run's schedule)"
}

// readDetRecord reads a det run's record and its configuration.
func readDetRecord(path string) (*results.Record, scenarios.Config, error) {
	var cfg scenarios.Config
	rec, err := results.Read(path)
	if err != nil {
		return nil, cfg, usageError("%v", err)
	}
	if rec.Runtime != results.RuntimeDet {
		return nil, cfg, usageError("%s: runtime %q: only a det run replays (a live run's schedule was the machine's); run it with --runtime det", path, rec.Runtime)
	}
	if err := json.Unmarshal(rec.Config, &cfg); err != nil {
		return nil, cfg, usageError("%s: config: %v", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, cfg, usageError("%s: config: %v", path, err)
	}
	return rec, cfg, nil
}
