//go:build unix

package explore_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/txchaos/txchaos/explore"
)

// BenchmarkExhaustiveRun is what one schedule of a small exhaustive
// exploration costs: outbox, one order, every single fault, one run at a
// time. It reports the process's CPU time (user and system, the garbage
// collector's included) per schedule run, which a busy machine inflates
// less than wall time. Compare two commits with benchstat, or two
// binaries' `txchaos explore --exhaustive --parallel 1` with farm-bench
// --vs.
func BenchmarkExhaustiveRun(b *testing.B) {
	s := spec(b, "outbox")
	runs := 0
	before := cpuTime(b)
	for b.Loop() {
		res, err := explore.Exhaustive(b.Context(), s, explore.Bound{Orders: 1, MaxFaults: 1}, explore.Options{Parallel: 1})
		if err != nil {
			b.Fatal(err)
		}
		runs += res.Runs
	}
	cpu := cpuTime(b) - before
	b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(runs), "cpu-ms/schedule")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(runs), "ms/schedule")
}

// cpuTime is the CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
