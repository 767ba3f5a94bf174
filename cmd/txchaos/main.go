// Command txchaos runs distributed-transaction patterns against a world of
// simulated services under injected faults and scores what happened.
//
// Exit status, as Maelstrom's: 0 when the run is judged clean, 1 when
// anomalies were found, 2 when the verdict is unknown; 3 for bad flags or
// values, 4 when the harness itself failed, 130 when a sweep was
// interrupted (its finished cells kept for --resume).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	_ "github.com/txchaos/txchaos/patterns/all"
	"github.com/txchaos/txchaos/scenarios"
	"github.com/txchaos/txchaos/sim/live"
)

// Exit codes besides the verdicts' 0, 1 and 2.
const (
	exitUsage   = 3
	exitHarness = 4
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// harnessError is err as the harness's failure (exit 4), but for a run the
// process's limit on open files cannot carry: the concurrency or the limit
// must change, as for a bad value (exit 3).
func harnessError(err error) error {
	if _, ok := errors.AsType[*live.FileLimitError](err); ok {
		return &exitError{code: exitUsage, err: err}
	}
	return &exitError{code: exitHarness, err: err}
}

// gcPercent is the garbage collector's target when GOGC is not set. A
// simulation's heap is small and short-lived: collecting at 400% of the
// live heap instead of 100% runs the det runtime about a third faster
// (BenchmarkDetCheckout, GOGC=100 against GOGC=400) for a few tens of
// megabytes more; memLimit (when GOMEMLIMIT is not set either) makes the
// collector work harder again before the heap grows past it, so that a
// long run — 100,000 orders holds a few hundred megabytes of history and
// state, beside its databases outside Go's heap — stays under 500 MiB
// (BenchmarkDetScale's peak-MiB).
const (
	gcPercent = 400
	memLimit  = 340 << 20
)

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
		if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
			debug.SetMemoryLimit(memLimit)
		}
	}
	scenarios.NodeMain() // a run with --isolation process starts this binary as its services
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(execute(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// execute runs the command line args and returns the exit status.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintln(stderr, "txchaos:", ee.err)
		}
		return ee.code
	default: // cobra's own flag and argument errors
		fmt.Fprintln(stderr, "txchaos:", err)
		return exitUsage
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "txchaos",
		Short: "Chaos tests for distributed-transaction patterns",
		Long: `txchaos runs distributed-transaction patterns (outbox, saga, idempotency keys,
...) against simulated services, injects faults through Toxiproxy, crashes
services and coordinators, and checks what happened.

Exit status: 0 clean, 1 anomalies found, 2 verdict unknown, 3 bad flags, 4 harness failure.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRun(), newList(), newDemo(), newMatrix(), newSweep(), newMerge(), newReport())
	root.AddCommand(newCheck(), newExplain())
	root.AddCommand(newReplay(), newShrink(), newExplore())
	return root
}
