package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// oneArg is a command's positional argument check: exactly one, what
// (a phrase such as "the run's record"), shown as example. A wrong count
// says which argument the command wants.
func oneArg(what, example string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch len(args) {
		case 1:
			return nil
		case 0:
			return usageError("%s needs one argument, %s, e.g. %s %s", cmd.Name(), what, cmd.CommandPath(), example)
		default:
			return usageError("%s takes one argument, %s, but was given %d: %s (a pattern such as */record.json that matches several files gives several; name one)",
				cmd.Name(), what, len(args), strings.Join(args, " "))
		}
	}
}

// recordArg is the argument of the commands that read a run's record.
var recordArg = oneArg("the path of a run's record", "txchaos-out/<run>/record.json")
