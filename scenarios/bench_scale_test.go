package scenarios

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/txchaos/txchaos/patterns"
)

// scaleEnv makes the test binary one det run of the orders it names,
// recorded into a directory, instead of the tests (see scaleRun).
const scaleEnv = "TXCHAOS_BENCH_SCALE"

// scaleProfileEnv, when set, names the file where scaleRun writes its CPU
// profile: TXCHAOS_BENCH_PROFILE=/tmp/cpu.out go test -bench DetScale.
const scaleProfileEnv = "TXCHAOS_BENCH_PROFILE"

// scaleConfig is the run BenchmarkDetScale measures: the outbox under
// lost responses and payments crashes, on the det runtime, as the issue
// measured it.
func scaleConfig(orders int) Config {
	cfg := Default()
	cfg.Runtime, cfg.Pattern, cfg.Seed = "det", "outbox", 1
	cfg.Faults = "lost-response=0.1,crash=payments:0.02"
	cfg.Workload.Txns = orders
	// The relay's backlog grows with the run under lost responses (each
	// lost answer stalls it a call timeout): the world needs longer than
	// the default 10s after healing to drain 100,000 orders' backlog.
	// Quiet only bounds the wait: a run at rest sooner ends sooner.
	cfg.Quiet = 5 * time.Minute
	return cfg
}

// scaleRun is the child of BenchmarkDetScale: what `txchaos run --out`
// does (the run, its history pages, its record), for the orders and into
// the directory scaleEnv names ("ORDERS DIR"). It fails unless the run
// came to rest clean.
func scaleRun() {
	var orders int
	var dir string
	if _, err := fmt.Sscan(os.Getenv(scaleEnv), &orders, &dir); err != nil {
		fmt.Fprintf(os.Stderr, "%s=%q: want ORDERS DIR: %v\n", scaleEnv, os.Getenv(scaleEnv), err)
		os.Exit(3)
	}
	if path := os.Getenv(scaleProfileEnv); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		defer pprof.StopCPUProfile()
	}
	res, err := Execute(context.Background(), scaleConfig(orders), "")
	if err == nil {
		_, err = res.WriteHistories(dir)
	}
	if err == nil {
		_, err = res.WriteRecord(context.Background(), filepath.Join(dir, "record.json"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(4)
	}
	pprof.StopCPUProfile()
	if !res.Converged || res.Report.Verdict != "clean" {
		fmt.Fprintf(os.Stderr, "%d orders: converged %v, verdict %s: %s\n", orders, res.Converged, res.Report.Verdict, res.Report)
		os.Exit(1)
	}
}

// scaled is what one child run cost.
type scaled struct {
	cpu    time.Duration // user + system
	peak   int64         // peak resident set, bytes
	record int64         // record.json, bytes
	files  int64         // everything the run wrote, bytes
}

// runScaled runs scaleRun for orders in a child process and measures it.
func runScaled(b *testing.B, orders int) scaled {
	dir := b.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), scaleEnv+"="+strconv.Itoa(orders)+" "+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("%d orders: %v\n%s", orders, err, out)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	s := scaled{
		cpu:  time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)),
		peak: ru.Maxrss << 10, // KiB on Linux
	}
	st, err := os.Stat(filepath.Join(dir, "record.json"))
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
// the outbox at 1,000, 10,000 and 100,000 orders (scaleConfig), each a
// child process recording its run as `txchaos run --out` does. It reports
// CPU per order at each length and its ratio at the longest to the
// shortest (linear cost keeps it near 1), and at the longest the peak
// resident set and the size of record.json and of every file written.
// The 100,000-order run takes minutes; -short stops at 10,000.
func BenchmarkDetScale(b *testing.B) {
	lengths := []int{1_000, 10_000, 100_000}
	if testing.Short() {
		lengths = lengths[:2]
	}
	for range b.N {
		var per []float64
		var last scaled
		for _, n := range lengths {
			last = runScaled(b, n)
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
