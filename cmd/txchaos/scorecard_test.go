package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/scenarios"
	"github.com/txchaos/txchaos/sim"
)

func TestScorecardNamesHistories(t *testing.T) {
	ms := time.Millisecond
	var h []checker.Op
	for _, k := range []string{"o1", "o2", "o3", "o4", "o5", "o6", "o7"} {
		h = append(h,
			checker.Op{Kind: checker.KindCheckout, Key: k, Attempt: 1, Call: 0, Return: 10 * ms, Outcome: checker.OutcomeOK, State: sim.OrderConfirmed},
			checker.Op{Kind: checker.KindGet, Key: k, Call: 11 * ms, Return: 12 * ms, Outcome: checker.OutcomeOK, State: checker.StateAbsent})
	}
	res := &scenarios.Result{Config: scenarios.Default(), History: h, Report: checker.Check(h, nil)}
	var out bytes.Buffer
	writeScorecard(&out, res, "runs/x/record.json")
	require.Regexp(t, `\nnon-linearizable +7 +order o1: `, out.String())
	require.Contains(t, out.String(), "order o1: get saw absent at 12ms after checkout#1 answered confirmed at 10ms (history-o1.html)")
	require.Contains(t, out.String(), "histories (porcupine, beside the record): history-o1.html, history-o2.html, history-o3.html, history-o4.html, history-o5.html and 2 more\n")

	out.Reset()
	writeScorecard(&out, res, "")
	require.NotContains(t, out.String(), "histories", "no record, no histories written")
}
