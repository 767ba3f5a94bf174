// Command runtimelint checks that patterns and services take the clock,
// sleeping, timers, randomness, HTTP clients, deadlines and goroutines from
// their sim.Node (see package internal/lint for the rules and the
// //txchaos:allow escape hatch).
//
//	go run ./internal/lint/cmd/runtimelint [-q] PATH...
//
// A PATH is a directory (its own non-test .go files only), a directory
// followed by /... (and every directory below it), or a .go file. Each
// finding is printed as "file:line: what — use alternative instead".
//
// Exit status: 0 when nothing is found, 1 when something is, 2 when a path
// cannot be read or a file does not parse.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/txchaos/txchaos/internal/lint"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("runtimelint", flag.ContinueOnError)
	fl.SetOutput(stderr)
	quiet := fl.Bool("q", false, "print nothing but the findings")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: runtimelint [-q] PATH...  (PATH: dir, dir/..., or file.go)")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() == 0 {
		fl.Usage()
		return 2
	}
	found, err := lint.CheckPaths(fl.Args())
	if err != nil {
		fmt.Fprintln(stderr, "runtimelint:", err)
		return 2
	}
	for _, f := range found {
		fmt.Fprintln(stdout, f)
	}
	if len(found) > 0 {
		if !*quiet {
			fmt.Fprintf(stderr, "runtimelint: %d finding(s); take these from sim.Node, or mark a justified use with %s <reason>\n", len(found), lint.AllowDirective)
		}
		return 1
	}
	return 0
}
