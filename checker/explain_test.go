package checker_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/txchaos/txchaos/checker"
)

// packageDoc is the package comment of doc.go, its lines joined and its
// spaces collapsed.
func packageDoc(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	var words []string
	for _, line := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(line, "//") {
			continue
		}
		words = append(words, strings.Fields(strings.TrimPrefix(line, "//"))...)
	}
	return strings.Join(words, " ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestExplainEveryClass checks that every class has its Doc, complete, and
// that the package doc says the same: it has a paragraph for the class
// with the same example and the same claim, and the claim's section of
// docs/sources.md exists.
func TestExplainEveryClass(t *testing.T) {
	doc := packageDoc(t)
	sources, err := os.ReadFile("../docs/sources.md")
	require.NoError(t, err)
	section := regexp.MustCompile(`^docs/sources\.md#([a-z-]+)$`)
	for _, c := range checker.Classes {
		t.Run(string(c), func(t *testing.T) {
			d, ok := checker.Explain(c)
			require.True(t, ok, "class %s has no explanation in checker.Explain", c)
			require.Equal(t, c, d.Class)
			for field, v := range map[string]string{
				"Summary": d.Summary, "Meaning": d.Meaning, "Source": d.Source, "Claim": d.Claim,
				"Example": d.Example, "Expected": d.Expected, "Reproduce": d.Reproduce,
			} {
				require.NotEmpty(t, strings.TrimSpace(v), "Doc.%s of %s", field, c)
			}
			m := section.FindStringSubmatch(d.Source)
			require.NotNil(t, m, "Doc.Source of %s is a section of docs/sources.md: %q", c, d.Source)
			require.Contains(t, string(sources), `<a id="`+m[1]+`"></a>`, "docs/sources.md has no section %s", m[1])
			require.True(t, strings.HasPrefix(d.Reproduce, "txchaos run --pattern "), d.Reproduce)
			require.Contains(t, doc, " "+string(c)+" (", "the package doc has no paragraph for %s", c)
			require.Contains(t, doc, oneLine(d.Example), "the package doc does not give %s's example", c)
			require.Contains(t, doc, oneLine(d.Claim), "the package doc does not state %s's claim", c)
			require.Contains(t, doc, d.Source, "the package doc does not name %s's source", c)
		})
	}
	_, ok := checker.Explain("tornado")
	require.False(t, ok)
}

// A reader asks what a hanging action is, and how to see one.
func ExampleExplain() {
	d, _ := checker.Explain(checker.HangingAction)
	fmt.Println(d.Summary)
	fmt.Printf("%s: %s\n", d.Source, d.Claim)
	fmt.Println(d.Reproduce)
	// Output:
	// an action that took effect after its compensation and still holds its resource
	// docs/sources.md#domain-transactions: A saga undoes the steps taken before the one that failed, leaving the old state, never one in between.
	// txchaos run --pattern saga --inventory readable --faults latency=orders-inventory:1500ms,lost-response=orders-inventory:0.9 --call-timeout 10s --txns 20
}
