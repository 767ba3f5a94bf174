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
	res := &scenarios.Result{Config: scenarios.Default(), History: h, Report: checker.Check(h, nil, checker.Linearizable)}
	var out bytes.Buffer
	writeScorecard(&out, res, "runs/x/record.json")
	require.Regexp(t, `\nsession-stale-read +7 +order o1: `, out.String())
	require.Contains(t, out.String(), "order o1: client 0 read absent at 11ms, 1ms after its own checkout#1 answered confirmed at 10ms (history-o1.html)")
	require.Contains(t, out.String(), "\nreads: promised linearizable · held eventual · broke linearizable, session · 7 stale, the stalest by at least 1ms\n")
	require.Contains(t, out.String(), "histories (porcupine, beside the record): history-o1.html, history-o2.html, history-o3.html, history-o4.html, history-o5.html and 2 more\n")

	out.Reset()
	writeScorecard(&out, res, "")
	require.NotContains(t, out.String(), "histories", "no record, no histories written")
}

// TestScorecardReadsBeyondThePromise: a read class the pattern does not
// promise is no anomaly: the table shows "-" and what the reads showed.
func TestScorecardReadsBeyondThePromise(t *testing.T) {
	ms := time.Millisecond
	h := []checker.Op{
		{Client: 0, Kind: checker.KindCheckout, Key: "o1", Attempt: 1, Call: 0, Return: 10 * ms, Outcome: checker.OutcomeOK, State: sim.OrderConfirmed},
		{Client: 0, Kind: checker.KindGet, Key: "o1", Call: 11 * ms, Return: 12 * ms, Outcome: checker.OutcomeOK, State: checker.StateAbsent},
	}
	res := &scenarios.Result{Config: scenarios.Default(), History: h, Report: checker.Check(h, nil, checker.Eventual)}
	var out bytes.Buffer
	writeScorecard(&out, res, "")
	require.Regexp(t, `\nsession-stale-read +- +not promised \(eventual reads\): 1, e\.g\. order o1: client 0 read absent at 11ms`, out.String())
	require.Regexp(t, `\nstale-read +0 +\n`, out.String(), "the read broke read-your-writes: it is counted there, once")
	require.Contains(t, out.String(), "\nreads: promised eventual · held eventual · broke linearizable, session · 1 stale, the stalest by at least 1ms\n")
}
