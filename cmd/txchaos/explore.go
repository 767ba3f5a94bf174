package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/scenarios"
)

func newExplore() *cobra.Command {
	var (
		f        runFlags
		seeds    int
		parallel int
		stop     bool
		x        exhaustiveFlags
	)
	cmd := &cobra.Command{
		Use:   "explore",
		Short: "Run many seeds (or, with --exhaustive, every schedule of a few faults) on the det runtime and report what fails first",
		Long: `explore runs one configuration on the det runtime with seeds SEED, SEED+1, ...
and reports, for each anomaly class found, the first seed that shows it and
how many do (TigerBeetle's VOPR). Each first failing run's record is written
under --out, with the commands that replay and shrink it.

Without --faults it is swarm exploration (Groce et al., ISSTA 2012): each seed
draws its own profile from every registered fault (txchaos list) — about half
of the kinds, each with targets and a rate of its own — so that seeds reach
states a profile with every fault at once would not. The profile drawn is in
the seed's record and on its run command: the seed replays as any other.
With --faults every seed runs that profile.
` + exhaustiveHelp + `

Exit status: 0 every seed (schedule) clean, 1 anomalies found, 2 only
unknown verdicts, 3 bad flags, 4 harness failure.`,
		Example: `  txchaos explore --pattern outbox --seeds 500
  txchaos explore --pattern saga --seeds 200 --forget-empty-cancel --stop
  txchaos explore --pattern saga --seeds 200 --faults lost-response=0.2,crash=payments:0.05 --txns 20
  txchaos explore --exhaustive --pattern outbox --orders 1 --max-faults 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := x.check(cmd); err != nil {
				return err
			}
			if cmd.Flags().Changed("parallel") {
				if err := checkParallel(parallel); err != nil {
					return err
				}
			}
			if x.on {
				return runExhaustive(cmd, &f, &x, parallel)
			}
			if seeds < 1 {
				return usageError("--seeds: %d must be at least 1", seeds)
			}
			swarm := !cmd.Flags().Changed("faults")
			cfg, err := f.config()
			if err != nil {
				return err
			}
			if last := int64(seeds - 1); cfg.Seed > math.MaxInt64-last {
				return usageError("--seed: %d with --seeds %d goes past the largest seed, %d: start at %d at most",
					cfg.Seed, seeds, int64(math.MaxInt64), int64(math.MaxInt64)-last)
			}
			if cfg.Runtime != results.RuntimeDet {
				return usageError("--runtime: %q: explore runs on the det runtime, whose runs replay", cfg.Runtime)
			}
			if f.out != "" {
				if err := checkOutDir("out", f.out); err != nil {
					return err
				}
			}
			errw, w := cmd.ErrOrStderr(), cmd.OutOrStdout()
			profile := orNone(cfg.Faults)
			if swarm {
				profile = "drawn per seed (swarm)"
			}
			fmt.Fprintf(w, "exploring %s: seeds %d..%d, %d orders from %d clients, faults %s\n",
				cfg.Pattern, cfg.Seed, cfg.Seed+int64(seeds)-1, cfg.Workload.Txns, cfg.Workload.Concurrency, profile)
			began := time.Now()
			failing, lowest := 0, int64(math.MaxInt64) // lowest: the lowest failing seed so far
			m := newMeter(errw, isTerminal(errw), seeds, "seeds", func() string {
				return fmt.Sprintf("anomalies in %d %s", failing, plural(failing, "seed", "seeds"))
			})
			m.counts = true
			m.start()
			exp, err := scenarios.Explore(cmd.Context(), cfg, scenarios.ExploreOptions{Seeds: seeds, Parallel: parallel, Swarm: swarm, StopAtFirst: stop, Progress: func(r scenarios.ExploreRun) {
				m.mu.Lock()
				if stop && r.Seed > lowest { // run before the stop was known: not counted in the result
					m.mu.Unlock()
					return
				}
				if r.Result != nil && string(r.Result.Report.Verdict) == results.VerdictAnomalies {
					failing++
					lowest = min(lowest, r.Seed)
				}
				m.mu.Unlock()
				m.count(false)
			}})
			m.stop()
			if err != nil {
				return harnessError(err)
			}
			took := time.Since(began)
			fmt.Fprintf(w, "%d runs in %s (%.1f runs/s): %d clean, %d unknown, %d with anomalies\n\n",
				exp.Runs, took.Round(time.Millisecond), float64(exp.Runs)/took.Seconds(), exp.Clean, exp.Unknown, exp.Runs-exp.Clean-exp.Unknown)
			if len(exp.Failures) == 0 {
				if exp.Unknown > 0 {
					return &exitError{code: 2}
				}
				fmt.Fprintln(w, "no anomaly found")
				return nil
			}
			dir := ""
			if f.out != "" {
				dir = filepath.Join(f.out, fmt.Sprintf("explore-%s-%s", cfg.Pattern, began.UTC().Format("20060102T150405")))
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "class\tfirst seed\tseeds showing it\texample")
			for _, ff := range exp.Failures {
				ex := ""
				if e := ff.Result.Report.Anomalies[ff.Class].Examples; len(e) > 0 {
					ex = firstLine(e[0])
				}
				fmt.Fprintf(tw, "%s\t%d\t%d/%d\t%s\n", ff.Class, ff.Seed, ff.Seeds, exp.Runs, ex)
			}
			tw.Flush()
			fmt.Fprintln(w)
			written := map[int64]string{}
			profiled := map[int64]bool{}
			for _, ff := range exp.Failures {
				path, seen := written[ff.Seed]
				if dir != "" && !seen {
					path = filepath.Join(dir, "seed-"+strconv.FormatInt(ff.Seed, 10), "record.json")
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						return harnessError(err)
					}
					if _, err := ff.Result.WriteRecord(cmd.Context(), path); err != nil {
						return harnessError(err)
					}
					written[ff.Seed] = path
				}
				fmt.Fprintf(w, "%s (seed %d):\n", ff.Class, ff.Seed)
				if swarm && !profiled[ff.Seed] { // the profile the seed drew, once per seed
					fmt.Fprintf(w, "  faults:    %s\n", ff.Result.Config.Faults)
					profiled[ff.Seed] = true
				}
				if c := runCommand(ff.Result.Config); c != "" {
					fmt.Fprintf(w, "  run it:    %s\n", c)
				}
				if path != "" {
					fmt.Fprintf(w, "  replay it: txchaos replay %s\n", path)
					fmt.Fprintf(w, "  shrink it: txchaos shrink %s --class %s\n", path, ff.Class)
				}
			}
			return &exitError{code: 1}
		},
	}
	f.bindTo(cmd.Flags(), scenarios.ExploreDefault())
	cmd.Flags().IntVar(&seeds, "seeds", 100, "how many seeds to run, from --seed on")
	cmd.Flags().BoolVar(&stop, "stop", false, "stop at the first failing seed (every seed below it is run)")
	cmd.Flags().IntVar(&parallel, "parallel", 0, "runs at once, 1 to 64 (default: one per CPU)")
	x.bind(cmd)
	return cmd
}

// runCommand is the `txchaos run` command line of cfg, or "" when its
// flags cannot say all of it (a reject rate at inventory or shipping).
func runCommand(cfg scenarios.Config) string {
	d := scenarios.Default()
	if cfg.World.Inventory.RejectRate != d.World.Inventory.RejectRate || cfg.World.Shipping.RejectRate != d.World.Shipping.RejectRate ||
		cfg.World.InitialStock != d.World.InitialStock || cfg.Scenario != "" {
		return ""
	}
	args := []string{"txchaos", "run", "--runtime=" + cfg.Runtime, "--pattern=" + cfg.Pattern, "--seed=" + strconv.FormatInt(cfg.Seed, 10)}
	add := func(flag, v, def string) {
		if v != def {
			args = append(args, "--"+flag+"="+v)
		}
	}
	itoa := strconv.Itoa
	add("txns", itoa(cfg.Workload.Txns), itoa(d.Workload.Txns))
	add("concurrency", itoa(cfg.Workload.Concurrency), itoa(d.Workload.Concurrency))
	add("attempts", itoa(cfg.Workload.Attempts), itoa(d.Workload.Attempts))
	add("customers", itoa(cfg.Workload.Customers), itoa(d.Workload.Customers))
	add("resubmit", strconv.FormatFloat(cfg.Workload.Resubmit, 'g', -1, 64), strconv.FormatFloat(d.Workload.Resubmit, 'g', -1, 64))
	add("quiet", cfg.Quiet.String(), d.Quiet.String())
	add("call-timeout", cfg.CallTimeout.String(), d.CallTimeout.String())
	add("service-timeout", cfg.World.CallTimeout.String(), d.World.CallTimeout.String())
	add("payments", string(cfg.World.Payments.Maturity), string(d.World.Payments.Maturity))
	add("inventory", string(cfg.World.Inventory.Maturity), string(d.World.Inventory.Maturity))
	add("shipping", string(cfg.World.Shipping.Maturity), string(d.World.Shipping.Maturity))
	add("reject-rate", strconv.FormatFloat(cfg.World.Payments.RejectRate, 'g', -1, 64), strconv.FormatFloat(d.World.Payments.RejectRate, 'g', -1, 64))
	add("dedupe", strconv.FormatBool(cfg.World.RewardsDedupe), strconv.FormatBool(d.World.RewardsDedupe))
	add("split-inbox", strconv.FormatBool(cfg.World.RewardsSplitInbox), "false")
	forget := cfg.World.Payments.ForgetEmptyCancel
	if forget != cfg.World.Inventory.ForgetEmptyCancel || forget != cfg.World.Shipping.ForgetEmptyCancel {
		return ""
	}
	add("forget-empty-cancel", strconv.FormatBool(forget), "false")
	if cfg.Faults != "" {
		args = append(args, "--faults="+cfg.Faults)
	}
	return strings.Join(args, " ")
}
