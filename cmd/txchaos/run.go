package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/scenarios"
	"github.com/txchaos/txchaos/sim"
)

// runFlags are the flags of `txchaos run`, bound to a scenarios.Config.
type runFlags struct {
	cfg       scenarios.Config
	payments  string
	inventory string
	shipping  string
	output    string
	out       string
	forget    bool
	schedule  string
}

func (f *runFlags) bind(fs *pflag.FlagSet) { f.bindTo(fs, scenarios.Default()) }

// bindTo binds the flags to f with d's values as their defaults.
func (f *runFlags) bindTo(fs *pflag.FlagSet, d scenarios.Config) {
	f.cfg = d
	fs.StringVar(&f.cfg.Pattern, "pattern", d.Pattern, "the pattern to run (see txchaos list)")
	fs.StringVar(&f.cfg.Faults, "faults", d.Faults, "fault profile: NAME=ARG,... e.g. lost-response=0.1,crash=orders:0.02 (see txchaos list)")
	fs.IntVar(&f.cfg.Workload.Txns, "txns", d.Workload.Txns, "checkouts to place")
	fs.IntVar(&f.cfg.Workload.Concurrency, "concurrency", d.Workload.Concurrency, "clients placing them at once")
	fs.IntVar(&f.cfg.Workload.Attempts, "attempts", d.Workload.Attempts, "tries per checkout while its outcome is unknown (same key)")
	fs.IntVar(&f.cfg.Workload.Customers, "customers", d.Workload.Customers, "distinct customers")
	fs.Float64Var(&f.cfg.Workload.Resubmit, "resubmit", d.Workload.Resubmit, "share of orders (0 to 1) sent once more with the same key after their answer: a double submit")
	fs.Int64Var(&f.cfg.Seed, "seed", d.Seed, "seed of every random decision (workload, faults, rejections)")
	fs.StringVar(&f.cfg.Runtime, "runtime", d.Runtime, "runtime: live (real sockets through Toxiproxy) or det (deterministic simulation: same seed, same run; see txchaos replay, shrink, explore)")
	fs.StringVar(&f.cfg.Isolation, "isolation", d.IsolationName(), "where the live runtime runs each service: none (in this process) or process (an OS process of its own, killed with SIGKILL when it crashes)")
	fs.DurationVar(&f.cfg.Quiet, "quiet", d.Quiet, "longest fault-free period after healing for recovery to bring the world to rest")
	fs.DurationVar(&f.cfg.CallTimeout, "call-timeout", d.CallTimeout, "client request timeout")
	fs.DurationVar(&f.cfg.World.CallTimeout, "service-timeout", d.World.CallTimeout, "how long a service waits for another service (0: 2s)")
	fs.StringVar(&f.payments, "payments", string(d.World.Payments.Maturity), "payments API maturity: idempotent, readable or opaque")
	fs.StringVar(&f.inventory, "inventory", string(d.World.Inventory.Maturity), "inventory API maturity: idempotent, readable or opaque")
	fs.StringVar(&f.shipping, "shipping", string(d.World.Shipping.Maturity), "shipping API maturity: idempotent, readable or opaque")
	fs.Float64Var(&f.cfg.World.Payments.RejectRate, "reject-rate", d.World.Payments.RejectRate, "share of orders payments declines (business rejections, 4xx)")
	fs.BoolVar(&f.cfg.World.RewardsDedupe, "dedupe", d.World.RewardsDedupe, "the rewards consumer de-duplicates events by id (an inbox)")
	fs.StringVar(&f.cfg.World.Broker, "broker", d.World.BrokerName(), "the event broker: log (SQLite behind HTTP) or jetstream (NATS JetStream, embedded; live runtime only)")
	fs.Var(windowFlag{&f.cfg.World.DedupeWindow}, "dedupe-window", "jetstream's duplicate window for event ids (Nats-Msg-Id); 0 turns it off (default: JetStream's, 2m)")
	fs.BoolVar(&f.cfg.World.RewardsSplitInbox, "split-inbox", d.World.RewardsSplitInbox, "a broken consumer: it commits an event's inbox row and its credit in two transactions (with --dedupe)")
	fs.BoolVar(&f.forget, "forget-empty-cancel", false, "broken saga participants: payments, inventory and shipping answer a cancel of a key they never saw with not-found and forget it (no tombstone)")
	fs.StringVar(&f.output, "output", "table", "what to print: table (the scorecard) or json (the record)")
	fs.StringVar(&f.out, "out", "txchaos-out", "directory to write the run's record into (empty: do not write)")
}

// bindSchedule binds --schedule, which only run takes: a sweep, an
// exploration and the matrix draw their faults from profiles.
func (f *runFlags) bindSchedule(fs *pflag.FlagSet) {
	fs.StringVar(&f.schedule, "schedule", "", "a file of faults named one by one at their sites (det runtime, without --faults; see txchaos explain schedule): the run gets exactly these")
}

// config validates the flags and returns the run's configuration. Errors
// name the flag, the value and what is allowed.
func (f *runFlags) config() (scenarios.Config, error) {
	cfg := f.cfg
	for _, m := range []struct {
		flag, value string
		dst         *sim.Maturity
	}{{"payments", f.payments, &cfg.World.Payments.Maturity}, {"inventory", f.inventory, &cfg.World.Inventory.Maturity}, {"shipping", f.shipping, &cfg.World.Shipping.Maturity}} {
		mat, err := sim.ParseMaturity(m.value)
		if err != nil {
			return cfg, usageError("--%s: %v", m.flag, err)
		}
		*m.dst = mat
	}
	if f.forget {
		cfg.World.Payments.ForgetEmptyCancel = true
		cfg.World.Inventory.ForgetEmptyCancel = true
		cfg.World.Shipping.ForgetEmptyCancel = true
	}
	if f.output != "table" && f.output != "json" {
		return cfg, usageError("--output: %q is not one of table, json", f.output)
	}
	if f.schedule != "" {
		text, err := os.ReadFile(f.schedule)
		if err != nil {
			return cfg, usageError("--schedule: %v", err)
		}
		sched, err := faults.ParseSchedule(string(text))
		if err != nil {
			return cfg, usageError("--schedule: %s: %v", f.schedule, err)
		}
		cfg.Schedule = sched.String()
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError("--%s", flagError(err))
	}
	return cfg, nil
}

// flagError turns a Config field error ("txns: ...", "world: payments.reject_rate: ...")
// into one that names the flag.
func flagError(err error) string {
	s := err.Error()
	s = strings.Replace(s, "world: call_timeout", "service-timeout", 1)
	s = strings.TrimPrefix(s, "world: ")
	s = strings.Replace(s, "payments.reject_rate", "reject-rate", 1)
	s = strings.Replace(s, "call_timeout", "call-timeout", 1)
	s = strings.Replace(s, "dedupe_window", "dedupe-window", 1)
	return s
}

// windowFlag is --dedupe-window, a duration that is nil until set (or
// set to "").
type windowFlag struct{ dst **time.Duration }

func (w windowFlag) String() string {
	if w.dst == nil || *w.dst == nil {
		return ""
	}
	return (**w.dst).String()
}

func (w windowFlag) Set(s string) error {
	if s == "" {
		*w.dst = nil
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 0, 500ms or 2m", s)
	}
	*w.dst = &d
	return nil
}

func (windowFlag) Type() string { return "duration" }

func newRun() *cobra.Command {
	var f runFlags
	var scenario string
	var requireExercised bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run one pattern under a fault profile or a scenario and print its scorecard",
		Example: `  txchaos run --pattern naive-dual-write --faults lost-response=0.1 --txns 200
  txchaos run --pattern naive-dual-write --faults crashpoint=after-local-commit:0.1 --output json
  txchaos run --pattern outbox --scenario broker-outage
  txchaos run --pattern saga --scenario my-scenario.yaml --txns 100
  txchaos run --runtime det --pattern naive-dual-write --txns 1 --schedule leak.schedule`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var sc *scenarios.Scenario
			var cfg scenarios.Config
			var err error
			if scenario != "" {
				sc, cfg, err = f.scenarioConfig(cmd.Flags(), scenario)
			} else {
				cfg, err = f.config()
			}
			if err != nil {
				return err
			}
			if f.out != "" {
				if err := checkOutDir("out", f.out); err != nil {
					return err
				}
			}
			res, rec, path, err := runOne(cmd, cfg, f.out)
			if err != nil {
				return err
			}
			if f.output == "json" {
				b, err := results.Marshal(rec)
				if err != nil {
					return harnessError(err)
				}
				cmd.OutOrStdout().Write(b)
			} else {
				writeScorecard(cmd.OutOrStdout(), res, path)
				if sc != nil {
					if err := writeExpectations(cmd.OutOrStdout(), *sc, res); err != nil {
						return usageError("--scenario: %v", err)
					}
				}
			}
			if requireExercised && len(rec.NotExercisedClean()) > 0 {
				return &exitError{code: results.ExitCode(results.VerdictUnknown)}
			}
			return verdictExit(rec.Verdict)
		},
	}
	f.bind(cmd.Flags())
	f.bindSchedule(cmd.Flags())
	cmd.Flags().BoolVar(&requireExercised, "require-exercised", false, "exit 2 (verdict unknown) when the run is clean but a fault of its profile never landed while an order it affected was open")
	cmd.Flags().StringVar(&scenario, "scenario", "", "a built-in scenario (see txchaos list) or a scenario file (.yaml) to run; flags given explicitly override its values (--faults replaces its faults, crash points and schedule; --schedule its faults and crash points)")
	return cmd
}

// scenarioConfig is the configuration of scenario nameOrFile for --pattern,
// with each flag set on the command line overriding the scenario's value.
func (f *runFlags) scenarioConfig(set *pflag.FlagSet, nameOrFile string) (*scenarios.Scenario, scenarios.Config, error) {
	sc, err := scenarios.Find(nameOrFile)
	if err != nil {
		return nil, scenarios.Config{}, usageError("--scenario: %v", err)
	}
	spec, err := patterns.Lookup(f.cfg.Pattern)
	if err != nil {
		return nil, scenarios.Config{}, usageError("--pattern: %v", err)
	}
	base, err := sc.ConfigFor(spec)
	if err != nil {
		return nil, scenarios.Config{}, usageError("--scenario: %v", err)
	}
	// --schedule replaces the scenario's faults and crash points, --faults
	// its schedule.
	if set.Changed("schedule") {
		base.Faults = ""
	}
	if set.Changed("faults") {
		base.Schedule = ""
	}
	// The same flags, with the scenario's values as defaults; replay on
	// them the flags the command line set.
	var g runFlags
	fs := pflag.NewFlagSet("scenario", pflag.ContinueOnError)
	g.bindTo(fs, base)
	g.bindSchedule(fs)
	set.Visit(func(fl *pflag.Flag) {
		if fs.Lookup(fl.Name) != nil && err == nil {
			err = fs.Set(fl.Name, fl.Value.String())
		}
	})
	if err != nil {
		return nil, scenarios.Config{}, usageError("%v", err)
	}
	cfg, err := g.config()
	return &sc, cfg, err
}

// writeExpectations says whether the run met what its pattern is expected
// to show under the scenario (the expectation matrix's line for a
// registered pattern under a built-in scenario), and which it missed.
func writeExpectations(w io.Writer, sc scenarios.Scenario, res *scenarios.Result) error {
	spec, err := patterns.Lookup(res.Config.Pattern)
	if err != nil {
		return err
	}
	want, err := sc.ExpectFor(spec)
	if err != nil {
		return err
	}
	misses := want.Check(res.Report)
	if len(misses) == 0 {
		fmt.Fprintf(w, "scenario %s: expectations met\n", sc.Name)
		return nil
	}
	fmt.Fprintf(w, "scenario %s: %d expectation(s) missed\n%s\n", sc.Name, len(misses), scenarios.FormatMisses(misses))
	return nil
}

// runOne executes cfg and writes its record under outDir (unless empty),
// with porcupine's history-<key>.html beside it for each partition of the
// history that did not linearize (see writeRun).
func runOne(cmd *cobra.Command, cfg scenarios.Config, outDir string) (*scenarios.Result, *results.Record, string, error) {
	res, err := scenarios.Execute(cmd.Context(), cfg, "")
	if err != nil {
		return nil, nil, "", harnessError(err)
	}
	if outDir == "" {
		rec, err := res.Record()
		if err != nil {
			return nil, nil, "", harnessError(err)
		}
		return res, rec, "", nil
	}
	name := fmt.Sprintf("%s-seed%d-%s", cfg.Pattern, cfg.Seed, res.Started.UTC().Format("20060102T150405.000"))
	path := filepath.Join(outDir, name, "record.json")
	rec, err := writeRun(cmd.Context(), path, res)
	if err != nil {
		return nil, nil, "", harnessError(err)
	}
	return res, rec, path, nil
}

// writeRun writes a run's record at path: its history pages, then its
// record (Result.WriteRecord: the record.json last). A run stopped midway
// (kill -9, a full disk) leaves no record naming pages or files that are
// not there.
func writeRun(ctx context.Context, path string, res *scenarios.Result) (*results.Record, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("results directory: %w", err)
	}
	if _, err := res.WriteHistories(dir); err != nil {
		return nil, err
	}
	return res.WriteRecord(ctx, path)
}

// verdictExit turns a verdict into the command's exit status.
func verdictExit(verdict string) error {
	if code := results.ExitCode(verdict); code != 0 {
		return &exitError{code: code}
	}
	return nil
}
