package scenarios

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/txchaos/txchaos/patterns"
)

// scaleArgs is the run BenchmarkDetScale measures, as txchaos's command
// line: the outbox under lost responses and payments crashes, on the det
// runtime, as the issue measured it. The relay's backlog grows with the
// run under lost responses (each lost answer stalls it a call timeout):
// the world needs longer than the default 10s after healing to drain
// 100,000 orders' backlog; --quiet only bounds the wait, and a run at
// rest sooner ends sooner.
func scaleArgs(orders int, dir string) []string {
	return []string{"run", "--runtime", "det", "--pattern", "outbox", "--faults", "lost-response=0.1,crash=payments:0.02",
		"--seed", "1", "--txns", strconv.Itoa(orders), "--quiet", "5m", "--out", dir}
}

// scaled is what one run cost.
type scaled struct {
	cpu    time.Duration // user + system
	peak   int64         // peak resident set, bytes
	record int64         // record.json, bytes
	files  int64         // everything the run wrote, bytes
}

// runScaled runs txchaos (the binary at bin) for orders and measures the
// process. The run must come to rest clean (exit 0).
func runScaled(b *testing.B, bin string, orders int) scaled {
	dir := b.TempDir()
	cmd := exec.Command(bin, scaleArgs(orders, dir)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("txchaos %s: %v\n%s", strings.Join(scaleArgs(orders, dir), " "), err, out)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	s := scaled{
		cpu:  time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)),
		peak: ru.Maxrss << 10, // KiB on Linux
	}
	records, err := filepath.Glob(filepath.Join(dir, "*", "record.json"))
	if err != nil || len(records) != 1 {
		b.Fatalf("records in %s: %v %v", dir, records, err)
	}
	st, err := os.Stat(records[0])
	if err != nil {
		b.Fatal(err)
	}
	s.record = st.Size()
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			s.files += fi.Size()
		}
		return err
	})
	return s
}

// BenchmarkDetScale is a det run's cost against its length (issue 14):
// `txchaos run` of the outbox at 1,000, 10,000 and 100,000 orders
// (scaleArgs), each its own process, as a user runs it (with txchaos's
// collector settings: see cmd/txchaos's gcPercent). It reports
// CPU per order at each length and its ratio at the longest to the
// shortest (linear cost keeps it near 1), and at the longest the peak
// resident set and the size of record.json and of every file written.
// The 100,000-order run takes minutes; -short stops at 10,000.
func BenchmarkDetScale(b *testing.B) {
	lengths := []int{1_000, 10_000, 100_000}
	if testing.Short() {
		lengths = lengths[:2]
	}
	bin := filepath.Join(b.TempDir(), "txchaos")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/txchaos/txchaos/cmd/txchaos").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	b.ResetTimer()
	for range b.N {
		var per []float64
		var last scaled
		for _, n := range lengths {
			last = runScaled(b, bin, n)
			per = append(per, float64(last.cpu.Microseconds())/float64(n))
			b.ReportMetric(per[len(per)-1], fmt.Sprintf("cpu-µs/order@%d", n))
		}
		n := lengths[len(lengths)-1]
		b.ReportMetric(per[len(per)-1]/per[0], fmt.Sprintf("per-order@%d/@%d", n, lengths[0]))
		b.ReportMetric(float64(last.peak)/(1<<20), fmt.Sprintf("peak-MiB@%d", n))
		b.ReportMetric(float64(last.record)/1e6, fmt.Sprintf("record.json-MB@%d", n))
		b.ReportMetric(float64(last.files)/1e6, fmt.Sprintf("all-files-MB@%d", n))
	}
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
}

// BenchmarkSimulatedPerWall is how much faster than real time the det
// runtime runs each pattern under explore's default fault mix (swarm: each
// seed draws its own profile from every registered fault), 200 orders
// from 8 clients a run: the runs' simulated length (on the runtime's
// clock) over their wall time, and over the CPU time they used (the
// process's: the scheduler's and the collector's), which a busy machine
// moves less. A live run takes its simulated length.
func BenchmarkSimulatedPerWall(b *testing.B) {
	for _, spec := range patterns.All() {
		b.Run(spec.Name, func(b *testing.B) {
			var sim, wall time.Duration
			cpu0 := cpuTime(b)
			for i := range b.N {
				cfg := Default()
				cfg.Runtime, cfg.Pattern, cfg.Seed = "det", spec.Name, int64(i+1)
				cfg.Faults = Swarm(spec, cfg)
				start := time.Now()
				res, err := Execute(context.Background(), cfg, "")
				if err != nil {
					b.Fatal(err)
				}
				wall += time.Since(start)
				sim += res.Duration
			}
			b.ReportMetric(float64(sim)/float64(wall), "simulated/wall")
			b.ReportMetric(float64(sim)/float64(cpuTime(b)-cpu0), "simulated/cpu")
			b.ReportMetric(0, "ns/op")
		})
	}
}
