// Package workshop holds the workshop's pages; this test keeps them in step
// with the code.
package workshop

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/patterns"
	_ "github.com/txchaos/txchaos/patterns/all"
	"github.com/txchaos/txchaos/scenarios"
	"github.com/txchaos/txchaos/sim"
)

// TestBugZooHasEveryClass: the bug zoo has a row for every class the
// checker counts.
func TestBugZooHasEveryClass(t *testing.T) {
	zoo, err := os.ReadFile("bug-zoo.md")
	require.NoError(t, err)
	for _, c := range checker.Classes {
		require.Contains(t, string(zoo), "\n| `"+string(c)+"` |", "bug-zoo.md has no row for %s", c)
	}
}

// TestPagesNameRegisteredPatterns: every --pattern and --patterns in the
// pages names a registered pattern.
func TestPagesNameRegisteredPatterns(t *testing.T) {
	re := regexp.MustCompile(`--patterns? ([a-z0-9,-]+)`)
	for _, page := range []string{"README.md", "bug-zoo.md"} {
		b, err := os.ReadFile(page)
		require.NoError(t, err)
		found := re.FindAllStringSubmatch(string(b), -1)
		require.NotEmpty(t, found, page)
		for _, m := range found {
			for _, name := range strings.Split(m[1], ",") {
				_, err := patterns.Lookup(name)
				require.NoError(t, err, "%s: %s", page, m[0])
			}
		}
	}
}

// beyond are the flags that take a run outside the default world, which
// the claims are compared in (idempotent services, a de-duplicating
// consumer, recovery given its time): the expectation matrix says nothing
// about a claim made with one.
var beyond = []string{"--payments", "--inventory", "--shipping", "--dedupe", "--quiet"}

// matrix says, per registered pattern, which classes it may show (some or
// any) under some built-in scenario of the default world, whether it
// survives every one (its line is what the scenario itself expects), and
// which classes it shows under none.
type matrix struct {
	allowed, some, zeroEvery map[string]map[checker.Class]bool
	survives                 map[string]bool
}

func readMatrix(t *testing.T) matrix {
	t.Helper()
	m := matrix{allowed: map[string]map[checker.Class]bool{}, some: map[string]map[checker.Class]bool{}, survives: map[string]bool{}, zeroEvery: map[string]map[checker.Class]bool{}}
	for _, spec := range patterns.All() {
		m.allowed[spec.Name], m.some[spec.Name], m.survives[spec.Name], m.zeroEvery[spec.Name] = map[checker.Class]bool{}, map[checker.Class]bool{}, true, map[checker.Class]bool{}
		for _, c := range checker.Classes {
			m.zeroEvery[spec.Name][c] = true
		}
		for _, sc := range scenarios.Builtins() {
			if w := sc.Config.World; !w.RewardsDedupe || w.Payments.Maturity != sim.Idempotent ||
				w.Inventory.Maturity != sim.Idempotent || w.Shipping.Maturity != sim.Idempotent {
				continue // duplicate-delivery's consumer keeps no inbox
			}
			want, err := sc.ExpectFor(spec)
			require.NoError(t, err)
			own, err := sc.ExpectFor(patterns.Spec{Name: "(a pattern that survives it)"})
			require.NoError(t, err)
			for _, c := range checker.Classes {
				if want.Of(c) != scenarios.Zero {
					m.allowed[spec.Name][c] = true
					m.zeroEvery[spec.Name][c] = false
				}
				if want.Of(c) == scenarios.Some {
					m.some[spec.Name][c] = true
				}
				if want.Of(c) != own.Of(c) {
					m.survives[spec.Name] = false
				}
			}
		}
	}
	return m
}

// claim is a page's claim about a command: the classes it shows, or clean.
type claim struct {
	where, command, pattern string
	shows                   []checker.Class
	clean, beyond, faults   bool
}

func parseCommand(t *testing.T, where, command string) claim {
	t.Helper()
	c := claim{where: where, command: command}
	m := regexp.MustCompile(`--pattern ([a-z0-9-]+)`).FindStringSubmatch(command)
	require.NotNil(t, m, "%s: %q names no --pattern", where, command)
	c.pattern = m[1]
	for _, f := range beyond {
		c.beyond = c.beyond || strings.Contains(command, f+" ") || strings.Contains(command, f+"=")
	}
	c.faults = strings.Contains(command, "--faults ")
	return c
}

// check holds a claim to the matrix: a class a pattern shows must be one
// the matrix allows it somewhere; a pattern clean under faults must survive
// every built-in scenario.
func (m matrix) check(t *testing.T, c claim) {
	t.Helper()
	if c.beyond {
		t.Logf("%s: %q runs outside the built-in scenarios' world: the matrix says nothing about it", c.where, c.command)
		return
	}
	for _, class := range c.shows {
		require.True(t, m.allowed[c.pattern][class], "%s: %q shows %s, but the expectation matrix (%s) expects %s to show none of it under every built-in scenario",
			c.where, c.command, class, patterns.ExpectationsFile, c.pattern)
	}
	if c.clean && c.faults {
		require.True(t, m.survives[c.pattern], "%s: %q is clean under faults, but the expectation matrix (%s) expects %s to break under some built-in scenario",
			c.where, c.command, patterns.ExpectationsFile, c.pattern)
	}
}

// TestWorkshopClaimsAgreeWithTheMatrix: the classes each workshop command
// is said to show (its "# shows ..." or "# clean" comment) agree with the
// expectation matrix.
func TestWorkshopClaimsAgreeWithTheMatrix(t *testing.T) {
	m := readMatrix(t)
	page, err := os.ReadFile("README.md")
	require.NoError(t, err)
	re := regexp.MustCompile(`(?m)^(\./txchaos run [^#\n]*?)\s+# (clean|shows ([a-z -]+))$`)
	found := re.FindAllStringSubmatch(string(page), -1)
	at := re.FindAllStringIndex(string(page), -1)
	require.GreaterOrEqual(t, len(found), 10, "README.md's commands carry their claims")
	runs := regexp.MustCompile(`(?m)^\./txchaos run `).FindAllString(string(page), -1)
	require.Len(t, found, len(runs), "every ./txchaos run in README.md says what it shows (# shows CLASS ...) or # clean")
	for i, f := range found {
		c := parseCommand(t, "README.md", f[1])
		c.clean = f[2] == "clean"
		// The exercise's own text, to the next heading, names what it shows.
		section := string(page[at[i][1]:])
		if end := strings.Index(section, "\n## "); end >= 0 {
			section = section[:end]
		}
		for _, name := range strings.Fields(f[3]) {
			require.Contains(t, checker.Classes, checker.Class(name), "README.md: %q: %q is not an anomaly class", f[1], name)
			require.Contains(t, section, "`"+name+"`", "README.md: %q claims %s, which its exercise's text does not name", f[1], name)
			c.shows = append(c.shows, checker.Class(name))
		}
		m.check(t, c)
	}
}

// TestBugZooAgreesWithTheMatrix: each bug-zoo row's pattern may show its
// class and the classes it lists as also shown (a class shown "as
// information" is not an anomaly of that pattern, and not claimed), the
// pattern it is fixed by shows the class under no built-in scenario, and a
// class the zoo says no pattern shows is expected of none.
func TestBugZooAgreesWithTheMatrix(t *testing.T) {
	m := readMatrix(t)
	zoo, err := os.ReadFile("bug-zoo.md")
	require.NoError(t, err)
	row := regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\| (.*) \\| (.*) \\| (.*) \\|$")
	rows := row.FindAllStringSubmatch(string(zoo), -1)
	require.Len(t, rows, len(checker.Classes))
	var last claim
	lastInfo := false
	for _, r := range rows {
		class, shows, also, fixed := checker.Class(r[1]), r[2], r[3], r[4]
		where := "bug-zoo.md, " + string(class)
		if strings.HasPrefix(shows, "none") {
			for p, want := range m.some {
				require.False(t, want[class], "%s: no pattern shows it, but the expectation matrix (%s) expects %s to show some", where, patterns.ExpectationsFile, p)
			}
			continue
		}
		c, info := last, strings.Contains(shows, "as information")
		if cmd := regexp.MustCompile("`(\\./txchaos run [^`]*)`").FindStringSubmatch(shows); cmd != nil {
			c = parseCommand(t, where, cmd[1])
		} else {
			require.Contains(t, shows, "the same command", "%s: no command", where)
			info = info || lastInfo // the same command shows it the same way
		}
		last, lastInfo = c, info
		c.where, c.shows = where, nil
		if !info {
			c.shows = append(c.shows, class)
		}
		for _, a := range strings.Split(also, ",") {
			a = strings.TrimSpace(a)
			switch {
			case a == "as information" && len(c.shows) > 0:
				c.shows = c.shows[:len(c.shows)-1] // the class before it is information
				continue
			case a == "the same" || a == "—" || a == "as information":
				continue
			}
			require.Contains(t, checker.Classes, checker.Class(a), "%s: also %q is not a class", where, a)
			c.shows = append(c.shows, checker.Class(a))
		}
		m.check(t, c)
		if fix := regexp.MustCompile("^`--pattern ([a-z-]+)`").FindStringSubmatch(fixed); fix != nil && !c.beyond {
			require.True(t, m.zeroEvery[fix[1]][class], "%s: fixed by %s, but the expectation matrix (%s) expects %s to show %s under some built-in scenario",
				where, fix[1], patterns.ExpectationsFile, fix[1], class)
		}
	}
}
