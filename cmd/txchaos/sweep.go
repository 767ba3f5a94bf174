package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/scenarios"
)

// barWidth bounds the progress bar's line, in characters (with its
// leading escape codes), to fit a 100-column terminal.
const barWidth = 104

// exitInterrupted is the status of a sweep stopped by Ctrl-C (128+SIGINT).
const exitInterrupted = 130

// sweepParams are the flags that define a sweep (all but --out,
// --parallel and --resume).
type sweepParams struct {
	run      runFlags
	patterns string
	faults   string
	rates    string
	seeds    int
	shard    string
}

func newSweep() *cobra.Command {
	var p sweepParams
	var out string
	var parallel int
	var resume, requireExercised bool
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Run patterns × fault kinds × rates × seeds; keep a record per cell and summary.csv",
		Long: `sweep runs every pattern under every fault kind at every rate, with seeds 1 to
--seeds, one cell after another (or --parallel at a time), and stores each
finished cell's record under OUT/cells/<cell>/record.json and a row of
OUT/summary.csv. Turn OUT into charts with: txchaos report OUT.

A live run lasts as long as its simulated time: 120 cells of 1,000 orders
take about 5 hours live and minutes with --runtime det, the way to run a
large sweep (each cell replays from its seed). The sweep prints an estimate
of both before it starts, from one short det run of each pattern.

A fault kind at rate R becomes a profile (see txchaos list):
  lost-response, drop-request     KIND=R: per-request probability on every link
  lost-response:orders-payments   on one link
  crash:payments, error:payments  on one node (crash and error need one)
  crashpoint                      the coordinator crashes at each of the pattern's
                                  crash points with probability R
  crashpoint:after-local-commit   at that point only
  latency, partition              R is a duration (50ms), or seconds (0.1 = 100ms)
  lost-response+crashpoint        both at once, each at R
Rate 0 is one fault-free cell per pattern and seed, shared by every kind.

--shard K/N runs the K-th of N disjoint slices of the cells (a cell's slice
depends only on its name), so that N machines share one sweep; txchaos merge
combines their directories (docs/scale-out.md).

Ctrl-C stops cleanly: finished cells are kept, the running ones discarded,
and --resume continues where it stopped (with no other flags it takes the
sweep's parameters from OUT/sweep.json; flags given must agree with them).

A cell is marked ✓? when it is clean but some fault of its profile never
landed while an order it affected was open: it is not exercised, and says
nothing about that fault (--require-exercised counts it as unknown).

Exit status: 0 every cell clean, 1 some cell found anomalies, 2 some verdict
unknown, 3 bad flags, 4 harness failure, 130 interrupted.`,
		Example: `  txchaos sweep --patterns naive-dual-write,outbox --faults lost-response --rates 0,0.1,0.2 --seeds 3 --txns 500 --out sweep1
  txchaos sweep --patterns all --faults crashpoint,lost-response:orders-payments --rates 0,0.2 --seeds 1 --txns 50 --parallel 2
  txchaos sweep --resume --out sweep1
  txchaos sweep --patterns all --faults crashpoint --rates 0,0.2 --seeds 10 --runtime det --shard 2/4 --out shard2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if resume {
				stored, err := scenarios.LoadSweep(out)
				if err != nil {
					return usageError("--resume: nothing to resume in %s: %v", out, err)
				}
				for name, v := range sweepFlagValues(stored) {
					if !cmd.Flags().Changed(name) {
						if err := cmd.Flags().Set(name, v); err != nil {
							return usageError("--resume: %s in %s: --%s %q: %v", scenarios.SweepFile, out, name, v, err)
						}
					}
				}
			}
			s, err := p.sweep()
			if err != nil {
				return err
			}
			if err := checkParallel(parallel); err != nil {
				return err
			}
			if out == "" {
				return usageError("--out: a directory is needed")
			}
			if err := checkOutDir("out", out); err != nil {
				return err
			}
			if !resume {
				if err := writeEstimate(cmd.Context(), cmd.OutOrStdout(), s, parallel); err != nil {
					return err
				}
			}
			done, err := runSweep(cmd.Context(), cmd.OutOrStdout(), s, out, parallel, resume, true)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "report:  txchaos report %s\n", out)
			return verdictExit(worstVerdict(done, requireExercised))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&p.patterns, "patterns", "naive-dual-write,outbox", "comma-separated patterns, or all")
	fs.StringVar(&p.faults, "faults", "lost-response", "comma-separated fault kinds: KIND, KIND:TARGET or KIND+KIND (see above)")
	fs.StringVar(&p.rates, "rates", "0,0.1,0.2", "comma-separated rates (probabilities, or durations for latency and partition)")
	fs.IntVar(&p.seeds, "seeds", 3, "seeds per cell: 1 to N")
	fs.StringVar(&p.shard, "shard", "", "run the K-th of N slices of the cells, written K/N (1/4 to 4/4); txchaos merge combines them")
	fs.StringVar(&out, "out", "txchaos-sweep", "directory of the sweep")
	fs.IntVar(&parallel, "parallel", 1, "cells run at once (each is a whole world: keep it at most the number of cores)")
	fs.BoolVar(&resume, "resume", false, "continue the sweep in --out: keep its finished cells, run the rest")
	fs.BoolVar(&requireExercised, "require-exercised", false, "count a clean cell whose profile has a fault that never landed as verdict unknown (exit 2)")
	run := pflag.NewFlagSet("run", pflag.ContinueOnError)
	p.run.bind(run)
	run.VisitAll(func(fl *pflag.Flag) {
		switch fl.Name {
		case "pattern", "faults", "seed", "output", "out":
		default:
			fs.AddFlag(fl)
		}
	})
	return cmd
}

// maxParallel bounds --parallel: each run at once is a whole world.
const maxParallel = 64

// checkParallel checks a --parallel value: sweep, demo and explore share it.
func checkParallel(n int) error {
	if n < 1 || n > maxParallel {
		return usageError("--parallel: %d is not between 1 and %d", n, maxParallel)
	}
	return nil
}

// worstVerdict is the worst of the cells' verdicts, a clean cell with a
// fault never exercised counting as unknown when requireExercised is set.
func worstVerdict(done []scenarios.CellResult, requireExercised bool) string {
	worst := results.VerdictClean
	for _, d := range done {
		v := d.Record.Verdict
		if requireExercised && len(d.Record.NotExercisedClean()) > 0 {
			v = results.VerdictUnknown
		}
		if v == results.VerdictAnomalies || v == results.VerdictUnknown && worst == results.VerdictClean {
			worst = v
		}
	}
	return worst
}

// sweepFlagValues are the values of the flags that define s: with
// --resume, the flags not given take them.
func sweepFlagValues(s scenarios.Sweep) map[string]string {
	b := s.Base
	return map[string]string{
		"patterns":        strings.Join(s.Patterns, ","),
		"faults":          strings.Join(s.Faults, ","),
		"rates":           strings.Join(s.Rates, ","),
		"seeds":           strconv.Itoa(s.Seeds),
		"shard":           shardFlag(s.Shard),
		"service-timeout": b.World.CallTimeout.String(),
		"txns":            strconv.Itoa(b.Workload.Txns),
		"concurrency":     strconv.Itoa(b.Workload.Concurrency),
		"attempts":        strconv.Itoa(b.Workload.Attempts),
		"customers":       strconv.Itoa(b.Workload.Customers),
		"resubmit":        strconv.FormatFloat(b.Workload.Resubmit, 'g', -1, 64),
		"runtime":         b.Runtime,
		"isolation":       b.IsolationName(),
		"quiet":           b.Quiet.String(),
		"call-timeout":    b.CallTimeout.String(),
		"payments":        string(b.World.Payments.Maturity),
		"inventory":       string(b.World.Inventory.Maturity),
		"shipping":        string(b.World.Shipping.Maturity),
		"reject-rate":     strconv.FormatFloat(b.World.Payments.RejectRate, 'g', -1, 64),
		"dedupe":          strconv.FormatBool(b.World.RewardsDedupe),
		"broker":          b.World.BrokerName(),
		"dedupe-window":   windowFlag{&b.World.DedupeWindow}.String(),
		"split-inbox":     strconv.FormatBool(b.World.RewardsSplitInbox),
		"forget-empty-cancel": strconv.FormatBool(b.World.Payments.ForgetEmptyCancel &&
			b.World.Inventory.ForgetEmptyCancel && b.World.Shipping.ForgetEmptyCancel),
	}
}

// sweep validates the flags and returns the sweep they describe.
func (p *sweepParams) sweep() (scenarios.Sweep, error) {
	var s scenarios.Sweep
	names := splitList(p.patterns)
	if len(names) == 1 && names[0] == "all" {
		names = patterns.Names()
	}
	if len(names) == 0 {
		return s, usageError("--patterns: none given (patterns: %s)", strings.Join(patterns.Names(), ", "))
	}
	for _, n := range names {
		if _, err := patterns.Lookup(n); err != nil {
			return s, usageError("--patterns: %v", err)
		}
	}
	p.run.cfg.Pattern = names[0]
	base, err := p.run.config()
	if err != nil {
		return s, err
	}
	shard, err := scenarios.ParseShard(p.shard)
	if err != nil {
		return s, usageError("--%v", err)
	}
	s = scenarios.Sweep{Patterns: names, Faults: splitList(p.faults), Rates: splitList(p.rates), Seeds: p.seeds, Base: base, Shard: shard}
	if _, err := s.Cells(); err != nil {
		return s, usageError("--%s", err)
	}
	return s, nil
}

func shardFlag(sh *scenarios.Shard) string {
	if sh == nil {
		return ""
	}
	return sh.String()
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// runSweep runs s into dir, showing progress on w (a line per finished
// cell when lines is set), and returns the finished cells; its errors
// carry the exit status (130 interrupted).
func runSweep(ctx context.Context, w io.Writer, s scenarios.Sweep, dir string, parallel int, resume, lines bool) ([]scenarios.CellResult, error) {
	cells, err := s.Cells()
	if err != nil {
		return nil, usageError("%v", err)
	}
	pr := newProgress(w, isTerminal(w))
	pr.quiet = !lines
	count := fmt.Sprint(len(cells))
	if s.Shard != nil {
		whole := s
		whole.Shard = nil
		all, _ := whole.Cells()
		count = fmt.Sprintf("shard %s: %d of %d", s.Shard, len(cells), len(all))
	}
	pr.header = fmt.Sprintf("sweep: %s cells (%d patterns × %d fault kinds × %d rates × %d seeds) on the %s runtime into %s\n",
		count, len(s.Patterns), len(s.Faults), len(s.Rates), s.Seeds, s.Base.Runtime, dir)
	stop := pr.start()
	done, err := scenarios.RunSweep(ctx, s, dir, scenarios.SweepOptions{Parallel: parallel, Resume: resume, Progress: pr.event})
	stop()
	fmt.Fprint(w, pr.header) // a shard of no cells has had no event
	switch {
	case err != nil && ctx.Err() != nil:
		fmt.Fprintf(w, "interrupted: %d of %d cells kept in %s; continue with: txchaos sweep --resume --out %s\n", len(done), len(cells), dir, dir)
		return done, &exitError{code: exitInterrupted}
	case errors.Is(err, scenarios.ErrSweepMismatch):
		return done, usageError("--resume: %v (run with the same flags, or with only --resume --out %s)", err, dir)
	case errors.Is(err, scenarios.ErrSweepExists):
		return done, usageError("--out: %v (--resume continues it)", err)
	case errors.Is(err, scenarios.ErrNoSweep):
		return done, usageError("--resume: %v", err)
	case err != nil:
		return done, harnessError(err)
	}
	fmt.Fprintf(w, "done: %d cells, %d with anomalies\nsummary: %s\n", len(done), pr.anomalyCells, filepath.Join(dir, scenarios.SummaryFile))
	writeAggregate(w, done, s.Seeds, filepath.Join(dir, scenarios.AggregateFile))
	return done, nil
}

// writeEstimate prints what the sweep s is expected to take, on its
// runtime and on the other, before it starts (scenarios.EstimateSweep).
func writeEstimate(ctx context.Context, w io.Writer, s scenarios.Sweep, parallel int) error {
	cells, err := s.Cells()
	if err != nil {
		return usageError("%v", err)
	}
	e, err := scenarios.EstimateSweep(ctx, s, cells)
	if err != nil {
		return harnessError(err)
	}
	live, det := e.Wall("live", parallel), e.Wall("det", parallel)
	fmt.Fprintf(w, "estimate: %d cells of %d orders take about %s on the live runtime (a live run lasts its simulated time) and %s on det, %d at a time (from a det run of up to %d orders of each pattern, %s)\n",
		e.Cells, s.Base.Workload.Txns, roughly(live), roughly(det), max(parallel, 1), scenarios.ProbeOrders, roughly(e.Probe))
	if s.Base.Runtime == "live" && live > 10*time.Minute && det < live/10 {
		fmt.Fprintf(w, "estimate: for a large sweep, --runtime det runs the same cells in a fraction of the time\n")
	}
	return nil
}

// roughly is d rounded to what an estimate means: seconds under ten
// minutes, minutes under ten hours, hours beyond.
func roughly(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < 10*time.Minute:
		return d.Round(time.Second).String()
	case d < 10*time.Hour:
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Hour).String()
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress shows a sweep's progress: on a terminal a line per finished
// cell under a bar redrawn in place (cells done of total, elapsed, ETA,
// anomalies so far, the cells running); elsewhere plain lines.
type progress struct {
	w   io.Writer
	tty bool
	now func() time.Time
	// quiet leaves out the line per finished cell.
	quiet bool
	// header is printed before the first event.
	header string

	mu           sync.Mutex
	began        time.Time
	total, done  int
	ran          int // cells finished in this process (not resumed)
	anomalies    int // anomalies found in finished cells
	anomalyCells int
	running      map[string]time.Time
	bar          bool // a bar is drawn on the last line
}

func newProgress(w io.Writer, tty bool) *progress {
	return &progress{w: w, tty: tty, now: time.Now, running: map[string]time.Time{}}
}

// start begins the clock and, on a terminal, redraws the bar every second;
// the returned func stops it and ends the bar's line.
func (p *progress) start() (stop func()) {
	p.began = p.now()
	if !p.tty {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				p.mu.Lock()
				p.drawBar()
				p.mu.Unlock()
			}
		}
	}()
	return func() {
		close(quit)
		wg.Wait()
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.bar {
			fmt.Fprintln(p.w)
			p.bar = false
		}
	}
}

// event is the sweep's Progress callback.
func (p *progress) event(e scenarios.SweepEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, p.header)
	p.header = ""
	p.total, p.done = e.Total, e.Done
	if e.Started {
		p.running[e.Cell.ID] = p.now()
		p.drawBar()
		return
	}
	took := ""
	if t, ok := p.running[e.Cell.ID]; ok {
		took = " · " + p.now().Sub(t).Round(100*time.Millisecond).String()
		delete(p.running, e.Cell.ID)
	}
	if !e.Result.Resumed {
		p.ran++
	} else {
		took = " · kept from before"
	}
	rec := e.Result.Record
	n, what := 0, []string{}
	for _, c := range checker.Classes {
		if k := rec.Anomalies[string(c)]; k > 0 {
			n += k
			what = append(what, fmt.Sprintf("%s %d", c, k))
		}
	}
	p.anomalies += n
	if n > 0 {
		p.anomalyCells++
	}
	mark, verdict := "✓", rec.Verdict
	switch ne := rec.NotExercisedClean(); {
	case n > 0:
		mark, verdict = "✗", verdict+": "+strings.Join(what, ", ")
	case rec.Verdict != "clean":
		mark = "?"
	case len(ne) > 0:
		mark, verdict = "✓?", verdict+", not exercised: "+strings.Join(ne, " ")
	}
	avail := ""
	if a, ok := rec.Figure("availability"); ok {
		avail = fmt.Sprintf(" · availability %.0f%%", 100*a)
	}
	if !p.quiet {
		p.clearBar()
		fmt.Fprintf(p.w, "[%*d/%d] %s %s  %s%s%s\n", len(fmt.Sprint(p.total)), p.done, p.total, mark, e.Cell.ID, verdict, avail, took)
	}
	p.drawBar()
}

func (p *progress) clearBar() {
	if p.bar {
		fmt.Fprint(p.w, "\r\033[K")
		p.bar = false
	}
}

// drawBar redraws the bar on a terminal.
func (p *progress) drawBar() {
	if !p.tty || p.total == 0 {
		return
	}
	const width = 24
	filled := width * p.done / p.total
	elapsed := p.now().Sub(p.began)
	eta := "?"
	if p.ran > 0 {
		eta = (elapsed / time.Duration(p.ran) * time.Duration(p.total-p.done)).Round(time.Second).String()
	}
	var running []string
	for id := range p.running {
		running = append(running, id)
	}
	sort.Strings(running)
	line := fmt.Sprintf("\r\033[K[%s%s] %d/%d cells · %s · ETA %s · %d anomalies in %d cells",
		strings.Repeat("█", filled), strings.Repeat("░", width-filled), p.done, p.total,
		elapsed.Round(time.Second), eta, p.anomalies, p.anomalyCells)
	if len(running) > 0 {
		line += " · " + strings.Join(running, " ")
	}
	if r := []rune(line); len(r) > barWidth { // a wrapped bar cannot be redrawn in place
		line = string(r[:barWidth-1]) + "…"
	}
	fmt.Fprint(p.w, line)
	p.bar = true
}
