package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
)

// docPages are the pages whose shell commands a reader copies.
var docPages = []string{"../../README.md", "../../docs/workshop/README.md", "../../docs/architecture.md", "../../docs/scale-out.md"}

// docCommand is a txchaos command line of a page.
type docCommand struct {
	where string   // page:line
	line  string   // as written
	args  []string // after "txchaos", variables substituted
}

// docCommands reads the txchaos command lines of the ```sh blocks of a
// Markdown page, as a shell would: lines joined at a trailing backslash,
// comments dropped, quotes removed, and the variables the block sets
// (F="...") substituted. A line is a txchaos command when it starts with
// "go run ./cmd/txchaos", "txchaos" or "./txchaos".
func docCommands(t *testing.T, page string) []docCommand {
	t.Helper()
	b, err := os.ReadFile(page)
	require.NoError(t, err)
	var out []docCommand
	vars := map[string]string{}
	setVar := regexp.MustCompile(`^([A-Z_]+)="([^"]*)"$`)
	in := false
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
			continue
		case strings.HasPrefix(line, "```"):
			in = false
			continue
		case !in:
			continue
		}
		at := i + 1
		for strings.HasSuffix(strings.TrimSpace(line), `\`) && i+1 < len(lines) {
			line = strings.TrimSuffix(strings.TrimSpace(line), `\`) + " " + strings.TrimSpace(lines[i+1])
			i++
		}
		line = strings.TrimSpace(line)
		if m := setVar.FindStringSubmatch(line); m != nil {
			vars[m[1]] = m[2]
			continue
		}
		words := shellWords(line, vars)
		var args []string
		switch {
		case len(words) >= 3 && words[0] == "go" && words[1] == "run" && words[2] == "./cmd/txchaos":
			args = words[3:]
		case len(words) >= 1 && (words[0] == "txchaos" || words[0] == "./txchaos"):
			args = words[1:]
		default:
			continue
		}
		where := page
		if rel, err := filepath.Rel(filepath.Join(cwdAtStart, "../.."), page); err == nil {
			where = rel
		}
		out = append(out, docCommand{where: where + ":" + strconv.Itoa(at), line: line, args: args})
	}
	return out
}

// shellWords splits a command line into words as sh does for these pages:
// a # starts a comment, quotes group, $NAME expands (and splits when
// unquoted).
func shellWords(line string, vars map[string]string) []string {
	var words []string
	var cur strings.Builder
	have := false
	quote := byte(0)
	flush := func() {
		if have {
			words = append(words, cur.String())
		}
		cur.Reset()
		have = false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote, have = c, true
		case quote == 0 && c == '#' && !have:
			flush()
			return words
		case quote == 0 && (c == ' ' || c == '\t'):
			flush()
		case c == '$' && quote != '\'':
			j := i + 1
			for j < len(line) && (line[j] == '_' || line[j] >= 'A' && line[j] <= 'Z') {
				j++
			}
			v := vars[line[i+1:j]]
			i = j - 1
			if quote == 0 {
				for k, w := range strings.Fields(v) {
					if k > 0 {
						flush()
					}
					cur.WriteString(w)
					have = true
				}
			} else {
				cur.WriteString(v)
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	flush()
	return words
}

func TestShellWords(t *testing.T) {
	vars := map[string]string{"F": "--txns 40 --quiet 5s"}
	require.Equal(t, []string{"./txchaos", "run", "--pattern", "saga", "--txns", "40", "--quiet", "5s"}, shellWords(`./txchaos run --pattern saga $F   # clean`, vars))
	require.Equal(t, []string{"go", "test", "-run", "^$", "-bench", "Det Run"}, shellWords(`go test -run '^$' -bench "Det Run"`, vars))
	require.Equal(t, []string{"a#b"}, shellWords(`a#b`, nil), "# inside a word is no comment")
}

// TestDocCommandsParse: every txchaos command line of the README, the
// workshop and the docs is a command of the real command tree, with
// flags it has, values of the flags' types and the arguments it takes.
// The run, explore, sweep and demo lines go further: each is executed with
// a context already cancelled, from the repository's root (the files it
// names are the repository's) with --out in a temporary directory, so
// that it checks every value (a pattern, a fault profile, a scenario) and
// stops before any run; bad input would exit 3.
func TestDocCommandsParse(t *testing.T) {
	t.Chdir(filepath.Join(cwdAtStart, "../..")) // where the pages' commands run, for the files they name
	out := t.TempDir()                          // the cancelled commands may make their --out
	pages, commands := 0, 0
	for _, page := range docPages {
		abs, err := filepath.Abs(filepath.Join(cwdAtStart, page))
		require.NoError(t, err)
		if _, err := os.Stat(abs); err != nil {
			continue
		}
		pages++
		for _, c := range docCommands(t, abs) {
			commands++
			root := newRoot()
			cmd, rest, err := root.Find(c.args)
			require.NoError(t, err, "%s: %s", c.where, c.line)
			require.NoError(t, cmd.ParseFlags(rest), "%s: %s", c.where, c.line)
			if v, _ := cmd.Flags().GetBool("version"); !v && cmd != root {
				require.NoError(t, cmd.ValidateArgs(cmd.Flags().Args()), "%s: %s", c.where, c.line)
			}
			switch cmd.Name() {
			case "run", "explore", "sweep", "demo":
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				var o, e strings.Builder
				code := execute(ctx, append(c.args[:len(c.args):len(c.args)], "--out", filepath.Join(out, strconv.Itoa(commands))), &o, &e)
				require.NotEqual(t, exitUsage, code, "%s: %s: bad input: %s", c.where, c.line, e.String())
			}
		}
	}
	require.GreaterOrEqual(t, pages, 2)
	require.Greater(t, commands, 20, "the pages' commands were found")
}

// cwdAtStart is the package's directory, where the test binary starts.
var cwdAtStart, _ = os.Getwd()

// TestDetReadmeQuickCommands runs the README's quick commands in order, as a
// reader would in a fresh directory — list, explain, det runs, replay,
// shrink and check of their records, explore — with globs expanded as the
// shell does: each must exit as a clean run or one that found anomalies,
// and a glob must name one record (two records of one seed would be two
// arguments). An exhaustive explore given its bound runs at one fault at
// most (oneFault); one left at its default bound must find the
// counterexample the README promises.
// Live runs, sweeps, the demo and report are left to the
// fresh-clone walk-through: minutes each.
func TestDetReadmeQuickCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("det runs, a shrink and an explore: -short skips them")
	}
	if raceDetector {
		t.Skip("det runs are ten times slower under -race: make test runs this test again without it")
	}
	readme := filepath.Join(cwdAtStart, "../../README.md")
	t.Chdir(t.TempDir())
	ran := 0
	var records []string // where every run so far, live ones included, wrote its record
	for _, c := range docCommands(t, readme) {
		if len(c.args) > 0 && c.args[0] == "run" {
			records = append(records, recordOf(t, c))
		}
		var args []string
		for i, a := range c.args {
			if i > 0 && c.args[i-1] == "--schedule" && !filepath.IsAbs(a) {
				a = filepath.Join(cwdAtStart, "../..", a) // the pages' files are the repository's
			}
			if strings.ContainsAny(a, "*?[") {
				n := 0
				for _, r := range records {
					if ok, _ := filepath.Match(a, r); ok {
						n++
					}
				}
				require.Equal(t, 1, n, "%s: %s: the glob %s names one record of the runs above it, not %d", c.where, c.line, a, n)
				if quick(c.args) {
					m, err := filepath.Glob(a)
					require.NoError(t, err)
					require.Len(t, m, 1, "%s: %s: the glob %s names one record", c.where, c.line, a)
					a = m[0]
				}
			}
			args = append(args, a)
		}
		if !quick(c.args) {
			continue
		}
		args = oneFault(args)
		began := time.Now()
		code, out, stderr := run(t, args...)
		require.Contains(t, []int{0, 1}, code, "%s: %s\n%s%s", c.where, c.line, out, stderr)
		if c.args[0] == "explore" && !slices.Contains(c.args, "--exhaustive") && strings.HasPrefix(c.where, "README.md:") {
			require.Equal(t, 1, code, "%s: %s: the README's swarm explore finds something\n%s", c.where, c.line, out)
		}
		if c.args[0] == "explore" && slices.Contains(c.args, "--exhaustive") && !bounded(c.args) {
			require.Equal(t, 1, code, "%s: %s: the README's exhaustive explore at its default bound finds its counterexample\n%s", c.where, c.line, out)
		}
		t.Logf("%s: %s: exit %d in %s", c.where, c.line, code, time.Since(began).Round(100*time.Millisecond))
		ran++
	}
	require.GreaterOrEqual(t, ran, 5, "the README's det run, replay, shrink and explore ran")
}

// oneFault bounds an exhaustive explore given --max-faults at one fault:
// every pair of faults of a pattern that survives them is thousands of det
// runs (minutes), and the command's flags, its exploration and its output
// are the same at one. patterns/README.md's measured table gives the
// pairs. An explore left at its default bound stops at its first
// counterexample (seconds) and runs as written.
func oneFault(args []string) []string {
	if len(args) == 0 || args[0] != "explore" || !slices.Contains(args, "--exhaustive") || !bounded(args) {
		return args
	}
	out := []string{}
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--max-faults" && i+1 < len(args):
			i++
		case strings.HasPrefix(args[i], "--max-faults="):
		default:
			out = append(out, args[i])
		}
	}
	return append(out, "--max-faults", "1")
}

// bounded reports whether args give --max-faults.
func bounded(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		return a == "--max-faults" || strings.HasPrefix(a, "--max-faults=")
	})
}

// quick reports whether a README command runs in seconds: everything on
// the det runtime or about a stored record, and the listings.
func quick(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "list", "explain", "check", "replay", "shrink", "explore":
		return true
	case "run":
		for i, a := range args {
			if a == "--runtime=det" || a == "--runtime" && i+1 < len(args) && args[i+1] == "det" {
				return true
			}
		}
	}
	return false
}

// recordOf is where the run command c writes its record: OUT/PATTERN-seedSEED-TIME/record.json,
// with a time of day.
func recordOf(t *testing.T, c docCommand) string {
	t.Helper()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	var f runFlags
	f.bind(fs)
	var scenario string
	var requireExercised bool
	fs.StringVar(&scenario, "scenario", "", "")
	fs.BoolVar(&requireExercised, "require-exercised", false, "")
	var schedule string
	fs.StringVar(&schedule, "schedule", "", "")
	require.NoError(t, fs.Parse(c.args[1:]), "%s: %s", c.where, c.line)
	seed := f.cfg.Seed
	if strings.HasSuffix(scenario, ".yaml") && !filepath.IsAbs(scenario) {
		scenario = filepath.Join(cwdAtStart, "../..", scenario) // the pages' files are the repository's
	}
	if scenario != "" && !fs.Changed("seed") {
		_, cfg, err := f.scenarioConfig(fs, scenario)
		require.NoError(t, err, "%s: %s", c.where, c.line)
		seed = cfg.Seed
	}
	return filepath.Join(f.out, f.cfg.Pattern+"-seed"+strconv.FormatInt(seed, 10)+"-20260101T120000.000", "record.json")
}
