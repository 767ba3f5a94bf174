package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/results"
	"github.com/txchaos/txchaos/scenarios"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// TestMeterOffTerminal: where the output is not a terminal (a file, a
// pipe, a CI log) the meter writes plain lines only — the command's own,
// and a count at every tenth of the way — never a carriage return or an
// escape code.
func TestMeterOffTerminal(t *testing.T) {
	var buf bytes.Buffer
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := newMeter(&buf, false, 25, "seeds", func() string { return "anomalies in 2 seeds" })
	m.now = clock.now
	m.counts = true
	m.start()
	for i := range 25 {
		clock.t = clock.t.Add(time.Second)
		m.count(false)
		if i == 4 {
			m.println("a line of the command's")
		}
	}
	m.stop()
	out := buf.String()
	require.NotContains(t, out, "\r")
	require.NotContains(t, out, "\x1b")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Equal(t, []string{
		"3/25 seeds · 3s · about 22s left · anomalies in 2 seeds",
		"5/25 seeds · 5s · about 20s left · anomalies in 2 seeds",
		"a line of the command's",
		"8/25 seeds · 8s · about 17s left · anomalies in 2 seeds",
		"10/25 seeds · 10s · about 15s left · anomalies in 2 seeds",
		"13/25 seeds · 13s · about 12s left · anomalies in 2 seeds",
		"15/25 seeds · 15s · about 10s left · anomalies in 2 seeds",
		"18/25 seeds · 18s · about 7s left · anomalies in 2 seeds",
		"20/25 seeds · 20s · about 5s left · anomalies in 2 seeds",
		"23/25 seeds · 23s · about 2s left · anomalies in 2 seeds",
		"25/25 seeds · 25s · anomalies in 2 seeds",
	}, lines, "a count at every tenth of the way")

	buf.Reset()
	m = newMeter(&buf, false, 4, "cells", nil)
	m.start()
	m.count(false)
	m.println("only the command's lines")
	m.stop()
	require.Equal(t, "only the command's lines\n", buf.String(), "without counts, the command's lines alone")

	buf.Reset()
	clock = &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m = newMeter(&buf, false, 100, "seeds", nil)
	m.now = clock.now
	m.counts = true
	m.start()
	for range 31 {
		clock.t = clock.t.Add(time.Second)
		m.count(false)
	}
	m.stop()
	require.Equal(t, "10/100 seeds · 10s · about 1m30s left\n20/100 seeds · 20s · about 1m20s left\n30/100 seeds · 30s · about 1m10s left\n31/100 seeds · 31s\n",
		buf.String(), "a count stopped short (explore --stop) ends on its own line")
}

// TestMeterOnTerminal: on a terminal the meter is a bar redrawn in place,
// with the command's lines printed above it on a cleared line, and erased
// at the end.
func TestMeterOnTerminal(t *testing.T) {
	var buf bytes.Buffer
	m := newMeter(&buf, true, 5, "seeds", func() string { return "anomalies in 1 seed" })
	m.start()
	m.count(false)
	m.println("a line")
	m.count(false)
	m.stop()
	out := buf.String()
	require.Contains(t, out, "\r  20% [████░░░░░░░░░░░░░░░░] (1/5) 0s · about 0s left · anomalies in 1 seed")
	require.Regexp(t, `\r +\ra line\n`, out, "the bar's line is cleared before a line is printed")
	require.Contains(t, out, "\r  40% [████████░░░░░░░░░░░░] (2/5)")
	require.Regexp(t, `\r +\r$`, out, "the bar is erased at the end")
}

// TestSweepProgressLines: a sweep's line per finished cell, and without
// them (the demo's det sweep) a count at every tenth.
func TestSweepProgressLines(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cell := func(id string) scenarios.Cell { return scenarios.Cell{ID: id} }
	rec := func(verdict string, leaks int) *results.Record {
		return &results.Record{Verdict: verdict, Anomalies: map[string]int{"leaked-resource": leaks}, Metrics: []byte(`{"availability":0.5}`)}
	}
	events := func(p *progress) {
		p.meter.now = clock.now
		p.meter.start()
		p.event(scenarios.SweepEvent{Cell: cell("a"), Result: &scenarios.CellResult{Record: rec("clean", 0), Resumed: true}, Done: 1, Total: 4})
		p.event(scenarios.SweepEvent{Started: true, Cell: cell("b"), Done: 1, Total: 4})
		clock.t = clock.t.Add(10 * time.Second)
		p.event(scenarios.SweepEvent{Cell: cell("b"), Result: &scenarios.CellResult{Record: rec("anomalies", 3)}, Done: 2, Total: 4})
		p.meter.stop()
	}
	var buf bytes.Buffer
	events(newProgress(&buf, false, 4))
	require.Equal(t, "[1/4] ✓ a  clean · availability 50% · kept from before\n"+
		"[2/4] ✗ b  anomalies: leaked-resource 3 · availability 50% · 10s\n", buf.String())

	buf.Reset()
	p := newProgress(&buf, false, 4)
	p.quiet, p.meter.counts = true, true
	events(p)
	require.Equal(t, "1/4 cells · 0s · 0 anomalies in 0 cells\n"+
		"2/4 cells · 10s · about 20s left · 3 anomalies in 1 cell\n", buf.String(),
		"the time left counts only the cells this process ran, not those kept from before")

	buf.Reset()
	p = newProgress(&buf, true, 4)
	events(p)
	require.Contains(t, buf.String(), "(2/4) 10s · about 20s left · 3 anomalies in 1 cell")
	require.Contains(t, buf.String(), "\r[2/4] ✗ b  anomalies: leaked-resource 3 · availability 50% · 10s\n")

	unexercised := rec("clean", 0)
	unexercised.Evidence = &results.Evidence{Faults: []results.FaultEvidence{{Fault: "partition=1h0m0s"}}, NotExercised: []string{"partition=1h0m0s"}}
	buf.Reset()
	p = newProgress(&buf, false, 1)
	p.event(scenarios.SweepEvent{Cell: cell("d"), Result: &scenarios.CellResult{Record: unexercised}, Done: 1, Total: 1})
	require.Equal(t, "[1/1] ✓? d  clean, not exercised: partition=1h0m0s · availability 50%\n", buf.String())
}

func TestIsTerminal(t *testing.T) {
	require.False(t, isTerminal(&bytes.Buffer{}))
	f, err := os.CreateTemp(t.TempDir(), "out")
	require.NoError(t, err)
	defer f.Close()
	require.False(t, isTerminal(f), "a regular file is not a terminal")
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer null.Close()
	require.False(t, isTerminal(null), fmt.Sprintf("%s is a character device, not a terminal", os.DevNull))
}
