package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestExploreExhaustive: a baseline's counterexample is printed with its
// record and schedule, which the printed commands run and replay; a
// correct pattern's bound is stated.
func TestExploreExhaustive(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := run(t, "explore", "--exhaustive", "--pattern", "naive-dual-write", "--max-faults", "2", "--out", dir)
	require.Equal(t, 1, code, stderr)
	require.Contains(t, out, "exhaustive: naive-dual-write, 1 order, at most 2 faults, seed 1")
	require.Regexp(t, `counterexample: [12] fault\(s\)\n  request 1 of o000001 on client->orders: `, out)
	require.Regexp(t, `\n  duplicate-effect ×\d+: order o000001`, out)
	m := regexp.MustCompile(`replay it: txchaos replay (\S+)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	code, out2, stderr := run(t, "replay", m[1])
	require.Zero(t, code, "the counterexample's record replays: %s%s", out2, stderr)
	rc := regexp.MustCompile(`run it:    txchaos (run .*)`).FindStringSubmatch(out)
	require.NotNil(t, rc, out)
	require.Contains(t, rc[1], "--schedule=")
	code, _, stderr = run(t, append(strings.Fields(rc[1]), "--out", "")...)
	require.Equal(t, 1, code, "the printed run command shows the anomaly again: %s", stderr)

	code, out, stderr = run(t, "explore", "--exhaustive", "--pattern", "outbox", "--max-faults", "0", "--out", "")
	require.Zero(t, code, stderr)
	require.Contains(t, out, "1 schedules (1 by number of faults)")
	require.Regexp(t, `no counterexample within the bound: 1 order, at most 0 faults, at the \d+ working sites of the fault-free run \(of \d+: \d+ idle\)`, out)
	require.NotContains(t, out, "at the 0 working sites")
}

func TestExploreExhaustiveBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--orders", "2"}, "--orders: only with --exhaustive"},
		{[]string{"--max-faults", "1"}, "--max-faults: only with --exhaustive"},
		{[]string{"--exhaustive", "--orders", "0"}, "--orders: 0 is not between 1 and 8"},
		{[]string{"--exhaustive", "--max-faults", "5"}, "--max-faults: 5 is not between 0 and 4"},
		{[]string{"--exhaustive", "--seeds", "3"}, "--seeds: not with --exhaustive"},
		{[]string{"--exhaustive", "--faults", "lost-response=0.1"}, "--faults: not with --exhaustive: the schedules name every fault"},
		{[]string{"--exhaustive", "--txns", "3"}, "--txns: not with --exhaustive: give --orders"},
		{[]string{"--exhaustive", "--runtime", "live"}, "explore runs on the det runtime"},
		{[]string{"--exhaustive", "--pattern", "nope"}, `--pattern: pattern "nope" is not registered`},
		{[]string{"--exhaustive", "--parallel", "0"}, "--parallel: 0 is not between 1 and 64"},
	} {
		code, out, stderr := run(t, append([]string{"explore", "--out", ""}, c.args...)...)
		require.Equal(t, exitUsage, code, "%v: %s", c.args, out)
		require.Contains(t, stderr, c.want, "%v", c.args)
		require.Empty(t, out, "%v: nothing was run", c.args)
	}
}
