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
	"strconv"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

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
// megabytes more. A soft memory limit (when GOMEMLIMIT is not set
// either: tuneMemoryLimit, or memLimit where it cannot tune) makes the
// collector work harder again before the heap grows past it, so that a
// long run stays under 500 MiB (BenchmarkDetScale's peak-MiB).
const (
	gcPercent = 400
	memLimit  = 220 << 20
)

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
		if _, set := os.LookupEnv("GOMEMLIMIT"); !set && !tuneMemoryLimit() {
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
	cmd, err := root.ExecuteContextC(ctx)
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintln(stderr, "txchaos:", ee.err)
		}
		return ee.code
	default: // cobra's own errors: an unknown command, a wrong number of arguments
		fmt.Fprintf(stderr, "txchaos: %v (see %s --help)\n", err, cmd.CommandPath())
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
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate(versionTemplate)
	root.SetFlagErrorFunc(flagParseError)
	root.AddCommand(newRun(), newList(), newDemo(), newMatrix(), newSweep(), newMerge(), newReport())
	root.AddCommand(newCheck(), newExplain())
	root.AddCommand(newReplay(), newShrink(), newExplore())
	addCompletions(root)
	return root
}

// flagParseError rewrites the flag parser's errors for a person: the flag,
// the value and what it takes, with no parser internals; an unknown flag
// points at the command's help.
func flagParseError(cmd *cobra.Command, err error) error {
	var bad *pflag.InvalidValueError
	if errors.As(err, &bad) {
		f := bad.GetFlag()
		var num *strconv.NumError
		switch {
		case errors.As(err, &num) && errors.Is(num.Err, strconv.ErrRange):
			return usageError("--%s: %s is out of range", f.Name, bad.GetValue())
		case errors.As(err, &num) || f.Value.Type() == "duration" || f.Value.Type() == "bool":
			return usageError("--%s: %q is not %s", f.Name, bad.GetValue(), wantOf(f))
		default: // a value of txchaos's own, whose error says what it takes
			return usageError("--%s: %v", f.Name, bad.Unwrap())
		}
	}
	return usageError("%v (see %s --help)", err, cmd.CommandPath())
}

// wantOf says what a flag's value must be, by its type.
func wantOf(f *pflag.Flag) string {
	switch f.Value.Type() {
	case "int", "int64", "int32":
		return "a whole number such as " + f.DefValue
	case "float64", "float32":
		return "a number such as 0.1"
	case "duration":
		return "a duration such as 500ms, 2s or 1m30s"
	case "bool":
		return "true or false"
	}
	return "a " + f.Value.Type()
}
