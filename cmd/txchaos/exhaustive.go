package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/txchaos/txchaos/explore"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/results"
)

// exhaustiveFlags are explore's flags for --exhaustive.
type exhaustiveFlags struct {
	on        bool
	orders    int
	maxFaults int
}

// exhaustiveHelp is explore's help on --exhaustive.
const exhaustiveHelp = `
With --exhaustive it runs every schedule of at most --max-faults faults
for --orders orders (each placed by a client of its own, at once) on the
det runtime with --seed: first the fault-free run, then each fault at each
site that run passed, then each second fault at each site each of those
runs passed after its first, and so on; a faulted run's new sites (a
retry, a recovery) are explored as any other. Every fault kind that
applies at a site is tried: drop-request, lost-response, late, duplicate
and reorder on a request, error and crash before or after at its target,
crashpoint at a crash point, crash-commit before or after at a commit.
Idle sites — a poll that found nothing, a commit that changed no row —
get no fault. It never runs a schedule that gives a run already explored:
a fault at a site the run never reaches, or the same faults in another
order. It stops at the first schedule that shows an anomaly (fewest
faults first) and prints it with its record and the commands that run,
replay and shrink it; or says there is no counterexample within the
bound, and states the bound. Package explore documents the bound and why
what it skips is sound.`

func (x *exhaustiveFlags) bind(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&x.on, "exhaustive", false, "run every schedule of at most --max-faults faults for --orders orders, instead of seeds")
	cmd.Flags().IntVar(&x.orders, "orders", 1, fmt.Sprintf("with --exhaustive: orders placed, each by a client of its own, 1 to %d", explore.MaxOrders))
	cmd.Flags().IntVar(&x.maxFaults, "max-faults", 2, fmt.Sprintf("with --exhaustive: the most faults in a schedule, 0 to %d", explore.MaxMaxFaults))
}

// check refuses the flags that do not go together.
func (x *exhaustiveFlags) check(cmd *cobra.Command) error {
	if !x.on {
		for _, name := range []string{"orders", "max-faults"} {
			if cmd.Flags().Changed(name) {
				return usageError("--%s: only with --exhaustive", name)
			}
		}
		return nil
	}
	for _, no := range [][2]string{
		{"seeds", "an exhaustive exploration runs one seed (--seed)"}, {"stop", "an exhaustive exploration stops at its first counterexample"},
		{"faults", "the schedules name every fault"},
		{"txns", "give --orders"}, {"concurrency", "each order has a client of its own"},
	} {
		if cmd.Flags().Changed(no[0]) {
			return usageError("--%s: not with --exhaustive: %s", no[0], no[1])
		}
	}
	if err := (explore.Bound{Orders: x.orders, MaxFaults: x.maxFaults}).Validate(); err != nil {
		return usageError("--%s", strings.Replace(err.Error(), "max faults", "max-faults", 1))
	}
	return nil
}

// runExhaustive is explore --exhaustive.
func runExhaustive(cmd *cobra.Command, f *runFlags, x *exhaustiveFlags, parallel int) error {
	cfg, err := f.config()
	if err != nil {
		return err
	}
	if cfg.Runtime != results.RuntimeDet {
		return usageError("--runtime: %q: explore runs on the det runtime, whose runs replay", cfg.Runtime)
	}
	spec, err := patterns.Lookup(cfg.Pattern)
	if err != nil {
		return usageError("--pattern: %v", err)
	}
	if f.out != "" {
		if err := checkOutDir("out", f.out); err != nil {
			return err
		}
	}
	b := explore.Bound{Orders: x.orders, MaxFaults: x.maxFaults}
	errw, w := cmd.ErrOrStderr(), cmd.OutOrStdout()
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	fmt.Fprintf(w, "exhaustive: %s, %s, seed %d, on the det runtime (%d runs at once)\n", spec.Name, b, cfg.Seed, parallel)
	began := time.Now()
	progress := false
	res, err := explore.Exhaustive(cmd.Context(), spec, b, explore.Options{Config: &cfg, Parallel: parallel, Progress: func(p explore.Progress) {
		if p.Done%50 == 0 {
			fmt.Fprintf(errw, "\rschedules of %d fault(s): %d/%d", p.Faults, p.Done, p.Total)
			progress = true
		}
	}})
	if progress {
		fmt.Fprintln(errw)
	}
	if err != nil {
		return harnessError(err)
	}
	fmt.Fprintf(w, "%d schedules (%s by number of faults) in %s\n", res.Runs, levels(res.Levels), res.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "sites faulted: %d, of which %d reached only by faulted runs; idle sites passed, not faulted: %d\n", res.Tried, res.New, res.IdlePasses)
	ce := res.Counterexample
	if ce == nil {
		if res.Unknown > 0 {
			fmt.Fprintf(w, "no anomaly found, but %d runs had an unknown verdict (the first: %s)\n", res.Unknown, strings.Join(res.FirstUnknown.Lines(false), "; "))
			return &exitError{code: 2}
		}
		fmt.Fprintf(w, "no counterexample within the bound: %s\n", res.BoundText())
		return nil
	}
	return printCounterexample(cmd.Context(), w, f.out, began, ce)
}

// printCounterexample prints ce, writes its record and schedule under
// out (when not empty) and returns exit status 1.
func printCounterexample(ctx context.Context, w io.Writer, out string, began time.Time, ce *explore.Counterexample) error {
	cfg := ce.Run.Config
	fmt.Fprintf(w, "\ncounterexample: %d fault(s)\n", len(ce.Schedule))
	for _, line := range ce.Schedule.Lines(true) {
		fmt.Fprintf(w, "  %s\n", line)
	}
	fmt.Fprintln(w, "shows:")
	for _, c := range ce.Classes {
		f := ce.Run.Report.Anomalies[c]
		ex := ""
		if len(f.Examples) > 0 {
			ex = ": " + firstLine(f.Examples[0])
		}
		fmt.Fprintf(w, "  %s ×%d%s\n", c, f.Count, ex)
	}
	if out == "" {
		return &exitError{code: 1}
	}
	dir := filepath.Join(out, fmt.Sprintf("exhaustive-%s-%s", cfg.Pattern, began.UTC().Format("20060102T150405")))
	paths, err := ce.Write(ctx, dir)
	if err != nil {
		return harnessError(err)
	}
	record, schedule := paths[0], paths[1]
	fmt.Fprintf(w, "record:    %s\n", record)
	fmt.Fprintf(w, "schedule:  %s\n", schedule)
	run := cfg
	run.Schedule = ""
	if c := runCommand(run); c != "" {
		fmt.Fprintf(w, "run it:    %s --schedule=%s\n", c, schedule)
	}
	fmt.Fprintf(w, "replay it: txchaos replay %s\n", record)
	fmt.Fprintf(w, "shrink it: txchaos shrink %s --class %s\n", record, ce.Classes[0])
	return &exitError{code: 1}
}

func levels(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, " + ")
}
