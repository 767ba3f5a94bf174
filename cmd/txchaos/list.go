package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/scenarios"
	"github.com/txchaos/txchaos/sim"
)

func newList() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the patterns, built-in scenarios, faults and maturity levels txchaos knows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			writeList(cmd.OutOrStdout())
			return nil
		},
	}
}

func writeList(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PATTERNS\t")
	for _, p := range patterns.All() {
		fmt.Fprintf(tw, "  %s\t%s\n", p.Name, p.Summary)
		if len(p.CrashPoints) > 0 {
			fmt.Fprintf(tw, "  \t  crash points: %s\n", strings.Join(p.CrashPoints, ", "))
		}
		if p.Reads != "" && p.Reads != checker.Linearizable {
			fmt.Fprintf(tw, "  \t  reads promised: %s (the others: linearizable)\n", p.Reads)
		}
	}
	fmt.Fprintln(tw, "\nSCENARIOS (--scenario NAME, or a scenario file)\t")
	for _, s := range scenarios.Builtins() {
		fmt.Fprintf(tw, "  %s\t%s\n", s.Name, s.Summary())
	}
	fmt.Fprintln(tw, "\nFAULTS (--faults NAME=ARG,...; txchaos explain FAULT)\t")
	for _, k := range faults.Kinds() {
		fmt.Fprintf(tw, "  %s=%s\t%s\n", k.Name, k.Syntax, k.Summary)
	}
	fmt.Fprintln(tw, "\nLINKS (for LINK)\t")
	for _, l := range sim.StandardLinks {
		fmt.Fprintf(tw, "  %s-%s\t\n", l.From, l.To)
	}
	fmt.Fprintln(tw, "\nMATURITY LEVELS (--payments, --inventory, --shipping)\t")
	fmt.Fprintf(tw, "  %s\t%s\n", sim.Idempotent, "caller-assigned key: a repeated create or cancel is answered with the same resource")
	fmt.Fprintf(tw, "  %s\t%s\n", sim.Readable, "not idempotent, but the resources of an order can be read (read-validate-call)")
	fmt.Fprintf(tw, "  %s\t%s\n", sim.Opaque, "not idempotent and not readable")
	fmt.Fprintln(tw, "\nBROKERS (--broker)\t")
	fmt.Fprintf(tw, "  %s\t%s\n", sim.BrokerLog, "a durable log over SQLite behind HTTP: an unacknowledged event comes again on the next poll (the default)")
	fmt.Fprintf(tw, "  %s\t%s\n", sim.BrokerJetStream, "NATS JetStream, embedded, over NATS through Toxiproxy: redelivery after its ack wait, a duplicate window for event ids (--dedupe-window; 0 turns it off); live runtime only")
	tw.Flush()
}
