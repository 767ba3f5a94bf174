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
