package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/scenarios"
	"github.com/txchaos/txchaos/sim/live"
)

// writeScorecard prints a run's scorecard: what ran, the anomalies by class
// with examples, the figures, the faults applied and the verdict.
func writeScorecard(w io.Writer, r *scenarios.Result, path string) {
	c := r.Config
	faults := c.Faults
	switch {
	case c.Schedule != "":
		faults = "a schedule (below)"
	case faults == "":
		faults = "none"
	}
	runtime := c.Runtime
	if c.IsolationName() != live.IsolationNone {
		runtime += ", every service an OS process" // isolation process
	}
	fmt.Fprintf(w, "pattern %s · runtime %s · seed %d · faults %s\n", c.Pattern, runtime, c.Seed, faults)
	again := ""
	if c.Workload.Resubmit > 0 {
		again = fmt.Sprintf(", %g%% of those answered sent again", 100*c.Workload.Resubmit)
	}
	fmt.Fprintf(w, "%d checkouts by %d clients, up to %d attempts each%s · payments %s, inventory %s, shipping %s\n\n",
		c.Workload.Txns, c.Workload.Concurrency, c.Workload.Attempts, again, c.World.Payments.Maturity, c.World.Inventory.Maturity, c.World.Shipping.Maturity)

	writeAnomalies(w, r.Report)

	m := r.Report.Metrics
	fmt.Fprintf(w, "\noutcomes: %d confirmed, %d rejected, %d pending, %d unknown of %d checkouts (%d attempts)\n", m.Confirmed, m.Rejected, m.Pending, m.Unknown, m.Checkouts, m.Attempts)
	conv := fmt.Sprintf("converged in %s", r.Converge.Round(1e6))
	if !r.Converged {
		conv = fmt.Sprintf("did NOT converge within %s", c.Quiet)
	}
	fmt.Fprintf(w, "availability %.1f%% · latency p50 %s p99 %s · throughput %.0f checkouts/s · %s\n",
		100*m.Availability, m.LatencyP50.Round(1e5), m.LatencyP99.Round(1e5), m.Throughput, conv)
	if counts := r.Faults().FaultCounts(); len(counts) > 0 {
		fmt.Fprintf(w, "faults applied: %s\n", strings.Join(counts, ", "))
	} else {
		fmt.Fprintln(w, "faults applied: none")
	}
	if c.Schedule != "" || (len(r.Schedule) > 0 && len(r.Schedule) <= maxScheduleLines) {
		writeSchedule(w, r)
	}
	writeEvidence(w, r.Evidence)
	verdict := strings.ToUpper(string(r.Report.Verdict))
	if r.Report.Reason != "" {
		verdict += " (" + r.Report.Reason + ")"
	}
	if ne := notExercised(r); len(ne) > 0 {
		verdict += fmt.Sprintf(", but NOT EXERCISED: %s never landed while an order it affected was open, so this run says nothing about %s",
			strings.Join(ne, ", "), plural(len(ne), "it", "them"))
	}
	fmt.Fprintf(w, "\nverdict: %s\n", verdict)
	if path != "" {
		fmt.Fprintf(w, "record: %s\n", path)
		if n := len(r.Report.Linearizability); n > 0 {
			files := make([]string, 0, min(n, checker.MaxExamples))
			for _, p := range r.Report.Linearizability[:min(n, checker.MaxExamples)] {
				files = append(files, p.File)
			}
			more := ""
			if n > len(files) {
				more = fmt.Sprintf(" and %d more", n-len(files))
			}
			fmt.Fprintf(w, "histories (porcupine, beside the record): %s%s\n", strings.Join(files, ", "), more)
		}
	}
}

// maxScheduleLines is how many faults of a run's schedule the scorecard
// lists; the record has them all.
const maxScheduleLines = 12

// writeSchedule lists the faults a det run got, at their sites.
func writeSchedule(w io.Writer, r *scenarios.Result) {
	lines := r.Schedule.Lines(true)
	fmt.Fprintf(w, "schedule: %d fault(s) at their sites, as the run got them (txchaos run --schedule FILE runs them again)\n", len(lines))
	for i, l := range lines {
		if i == maxScheduleLines {
			fmt.Fprintf(w, "  ... and %d more, in the record\n", len(lines)-i)
			break
		}
		fmt.Fprintf(w, "  %s\n", l)
	}
}

// writeEvidence prints, per fault of the profile, how many were applied
// and how many landed while an order they affected was open.
func writeEvidence(w io.Writer, ev *results.Evidence) {
	if ev == nil || len(ev.Faults) == 0 {
		return
	}
	fmt.Fprintln(w, "evidence (landed: while an order it affected was open):")
	for _, f := range ev.Faults {
		mark := ""
		if f.Landed == 0 {
			mark = "  not exercised"
		}
		fmt.Fprintf(w, "  %-40s applied %4d, landed %4d%s\n", f.Fault, f.Applied, f.Landed, mark)
	}
}

// notExercised lists the faults a clean run did not exercise.
func notExercised(r *scenarios.Result) []string {
	if r.Report.Verdict != checker.VerdictClean || r.Evidence == nil {
		return nil
	}
	return r.Evidence.NotExercised
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
