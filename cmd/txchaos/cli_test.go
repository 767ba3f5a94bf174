package main

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/scenarios"
)

func TestVersion(t *testing.T) {
	code, out, stderr := run(t, "--version")
	require.Zero(t, code, stderr)
	require.Regexp(t, `^txchaos \S+ · (revision [0-9a-f]{12}|revision unknown \(built without version-control information).* · go1\.`, out)

	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"go install @version", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "1a2b3c4d5e6f7a8b9c0d"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "false"}}},
			"v0.3.0 · revision 1a2b3c4d5e6f (2026-12-01T10:00:00Z) · go1.26.8"},
		{"a checkout with changes", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abcdef0123456789"}, {Key: "vcs.modified", Value: "true"}}},
			"(devel) · revision abcdef012345 (with uncommitted changes) · go1.26.8"},
		{"go run", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"(devel) · revision unknown (built without version-control information: `go build ./cmd/txchaos` in a git checkout stamps it; `go run` and -buildvcs=false do not) · go1.26.8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, versionOf(&tt.bi))
		})
	}
}

// TestFlagAndArgumentErrors: a value of the wrong type names the flag, the
// value and what it takes, with no parser internals; an unknown flag or
// command points at --help; a missing or extra argument says which
// argument the command wants.
func TestFlagAndArgumentErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--seed", "abc"}, `txchaos: --seed: "abc" is not a whole number such as 1` + "\n"},
		{[]string{"run", "--reject-rate", "lots"}, `txchaos: --reject-rate: "lots" is not a number such as 0.1` + "\n"},
		{[]string{"run", "--quiet", "5"}, `txchaos: --quiet: "5" is not a duration such as 500ms, 2s or 1m30s` + "\n"},
		{[]string{"run", "--dedupe=maybe"}, `txchaos: --dedupe: "maybe" is not true or false` + "\n"},
		{[]string{"run", "--txns", "99999999999999999999"}, "txchaos: --txns: 99999999999999999999 is out of range\n"},
		{[]string{"sweep", "--seeds", "x"}, `txchaos: --seeds: "x" is not a whole number such as 3` + "\n"},
		{[]string{"run", "--bogus"}, "txchaos: unknown flag: --bogus (see txchaos run --help)\n"},
		{[]string{"run", "--seed"}, "txchaos: flag needs an argument: --seed (see txchaos run --help)\n"},
		{[]string{"fly"}, `txchaos: unknown command "fly" for "txchaos" (see txchaos --help)` + "\n"},
		{[]string{"check"}, "txchaos: check needs one argument, the path of a run's record, e.g. txchaos check txchaos-out/<run>/record.json\n"},
		{[]string{"replay"}, "txchaos: replay needs one argument, the path of a run's record, e.g. txchaos replay txchaos-out/<run>/record.json\n"},
		{[]string{"shrink", "a/record.json", "b/record.json"}, "txchaos: shrink takes one argument, the path of a run's record, but was given 2: a/record.json b/record.json (a pattern such as */record.json that matches several files gives several; name one)\n"},
		{[]string{"report"}, "txchaos: report needs one argument, the directory of the records to report on, e.g. txchaos report txchaos-out\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, stderr := run(t, tt.args...)
			require.Equal(t, exitUsage, code, out+stderr)
			require.Equal(t, tt.want, stderr)
			require.NotContains(t, stderr, "strconv")
		})
	}
}

// complete asks the command tree for completions as a shell's script
// does, and returns the candidates (without their descriptions) and
// cobra's directive line.
func complete(t *testing.T, args ...string) (values []string, directive string) {
	t.Helper()
	code, out, stderr := run(t, append([]string{"__complete"}, args...)...)
	require.Zero(t, code, stderr)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	require.NotEmpty(t, lines)
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		values = append(values, v)
	}
	return values, lines[len(lines)-1]
}

func TestCompletion(t *testing.T) {
	const noFiles, noSpaceNoFiles = ":4", ":6"
	t.Run("patterns", func(t *testing.T) {
		got, dir := complete(t, "run", "--pattern", "")
		require.Equal(t, patterns.Names(), got)
		require.Equal(t, noFiles, dir)
		got, _ = complete(t, "explore", "--pattern", "out")
		require.Contains(t, got, "outbox", "every command with --pattern completes it")
	})
	t.Run("a list of patterns", func(t *testing.T) {
		got, dir := complete(t, "sweep", "--patterns", "outbox,")
		require.Contains(t, got, "outbox,saga")
		require.NotContains(t, got, "outbox,outbox", "a pattern already listed is not offered again")
		require.Equal(t, noSpaceNoFiles, dir, "the list goes on: no space after a name")
	})
	t.Run("scenarios", func(t *testing.T) {
		got, _ := complete(t, "run", "--scenario", "")
		require.Subset(t, got, scenarios.BuiltinNames())
		require.Contains(t, got, "late-delivery-during-compensation")
		require.Contains(t, got, "consumer-crash")
	})
	t.Run("faults", func(t *testing.T) {
		got, dir := complete(t, "run", "--faults", "")
		require.Contains(t, got, "lost-response=")
		require.Contains(t, got, "crashpoint=")
		require.Equal(t, noSpaceNoFiles, dir)
		got, _ = complete(t, "run", "--faults", "crashpoint=after-local-commit:0.1,lost-response=")
		require.Contains(t, got, "crashpoint=after-local-commit:0.1,lost-response=0.1", "a rate on every link")
		require.Contains(t, got, "crashpoint=after-local-commit:0.1,lost-response=orders-payments:", "links")
	})
	t.Run("every registered fault", func(t *testing.T) {
		got, _ := complete(t, "run", "--faults", "")
		for _, k := range faults.Kinds() {
			require.Contains(t, got, k.Name+"=")
		}
		for _, name := range []string{"late", "duplicate", "reorder"} {
			got, _ = complete(t, "run", "--faults", name+"=")
			require.Contains(t, got, name+"=0.1", name+" on every link")
			require.Contains(t, got, name+"=orders-payments:", name+" on a link")
		}
		got, _ = complete(t, "run", "--faults", "kill=")
		require.Contains(t, got, "kill=*:", "kill may name any node")
		require.Contains(t, got, "kill=rewards:")
		got, _ = complete(t, "run", "--faults", "crash-commit=")
		require.Contains(t, got, "crash-commit=payments:")
		got, _ = complete(t, "sweep", "--faults", "lost-response+ki")
		require.Contains(t, got, "lost-response+kill:*")
	})
	t.Run("nodes", func(t *testing.T) {
		got, _ := complete(t, "run", "--faults", "crash=")
		require.Contains(t, got, "crash=payments:")
		require.Contains(t, got, "crash=broker:")
		require.NotContains(t, got, "crash=client:", "the client is not a node a fault can crash")
	})
	t.Run("crash points of the pattern", func(t *testing.T) {
		spec, err := patterns.Lookup("saga")
		require.NoError(t, err)
		got, _ := complete(t, "run", "--pattern", "saga", "--faults", "crashpoint=")
		var want []string
		for _, p := range spec.CrashPoints {
			want = append(want, "crashpoint="+p+":")
		}
		require.Equal(t, want, got)
	})
	t.Run("sweep's fault kinds", func(t *testing.T) {
		got, _ := complete(t, "sweep", "--faults", "lost-response,crash")
		require.Contains(t, got, "lost-response,crashpoint")
		require.Contains(t, got, "lost-response,crash:payments")
	})
	t.Run("classes", func(t *testing.T) {
		got, _ := complete(t, "explain", "")
		require.Len(t, got, len(checker.Classes)+len(faults.Kinds())+1, "explain takes a class, a fault or schedule")
		require.Contains(t, got, "schedule")
		require.Equal(t, string(checker.Classes[0]), got[0])
		require.Contains(t, got, "reorder")
		got, _ = complete(t, "shrink", "r.json", "--class", "")
		require.Contains(t, got, "lost-event")
	})
	t.Run("fixed values", func(t *testing.T) {
		for flag, want := range map[string][]string{
			"--runtime": {"live", "det"}, "--isolation": {"none", "process"}, "--payments": {"idempotent", "readable", "opaque"},
			"--broker": {"log", "jetstream"}, "--output": {"table", "json"},
		} {
			got, _ := complete(t, "run", flag, "")
			require.Equal(t, want, got, flag)
		}
	})
	t.Run("records and directories", func(t *testing.T) {
		got, dir := complete(t, "replay", "")
		require.Equal(t, []string{"json"}, got)
		require.Equal(t, ":8", dir, "files ending in .json")
		_, dir = complete(t, "report", "")
		require.Equal(t, ":16", dir, "directories")
	})
}
