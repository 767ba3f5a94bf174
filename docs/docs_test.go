// Package docs holds the project's pages (architecture.md, sources.md, the
// workshop); this test keeps what they say about each other and about the
// repository true.
package docs

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// repoFiles calls fn with the path and text of every file of the
// repository a reader reads: Go code and its docs, Markdown, scenario
// files, the expectation matrix.
func repoFiles(t *testing.T, fn func(path, text string)) {
	t.Helper()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".yaml", ".yml", ".txt":
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fn(filepath.ToSlash(path), string(b))
		return nil
	})
	require.NoError(t, err)
}

// TestNoPrivateSources: users have the repository only. No file names the
// source documents by the file names they were handed over as, calls them
// by their numbers, or links to design notes outside the repository:
// docs/sources.md and docs/architecture.md say it in the project's words.
func TestNoPrivateSources(t *testing.T) {
	bad := regexp.MustCompile(`[0-9]{3}_[0-9a-f]{16}\.txt|(?i)\bseeds? 00[0-3]\b|\.\./shared/|DESIGN\.md`)
	files := 0
	repoFiles(t, func(path, text string) {
		files++
		if path == "../docs/docs_test.go" {
			return
		}
		for i, line := range strings.Split(text, "\n") {
			if m := bad.FindString(line); m != "" {
				t.Errorf("%s:%d cites %q, which no clone has: cite docs/sources.md or docs/architecture.md instead", path, i+1, m)
			}
		}
	})
	require.Greater(t, files, 100, "the walk read the repository")
}

// TestSourcesSections: docs/sources.md has a section with a stable anchor
// per source document, and every reference to one, anywhere in the
// repository, names an anchor that exists.
func TestSourcesSections(t *testing.T) {
	b, err := os.ReadFile("sources.md")
	require.NoError(t, err)
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`<a id="([a-z-]+)"></a>\n\n## `).FindAllStringSubmatch(string(b), -1) {
		anchors[m[1]] = true
	}
	require.Equal(t, map[string]bool{"caller-assigned-key": true, "reliable-messaging": true, "idempotency-keys": true, "domain-transactions": true}, anchors,
		"one section per source, each under its anchor")
	ref := regexp.MustCompile(`sources\.md#([A-Za-z0-9_-]*)`)
	refs := 0
	repoFiles(t, func(path, text string) {
		if path == "../docs/docs_test.go" {
			return
		}
		for _, m := range ref.FindAllStringSubmatch(text, -1) {
			refs++
			if !anchors[m[1]] {
				t.Errorf("%s refers to sources.md#%s, which is no section of docs/sources.md", path, m[1])
			}
		}
	})
	require.Greater(t, refs, 30, "the code, the help and the workshop cite the sections")
}

// TestArchitectureMapsThePackages: docs/architecture.md's table names
// every package of the module that is not a pattern, an example or a
// page's, and no package that is gone; and the imports it states hold.
func TestArchitectureMapsThePackages(t *testing.T) {
	b, err := os.ReadFile("architecture.md")
	require.NoError(t, err)
	section := string(b)[strings.Index(string(b), "## Packages"):]
	section = section[:strings.Index(section[3:], "\n## ")+3]
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z/]+)` \\|").FindAllStringSubmatch(section, -1) {
		named[m[1]] = true
	}
	found := map[string]bool{}
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, "../"))
		if d.IsDir() {
			switch {
			case d.Name() == ".git" || d.Name() == "testdata" || rel == "docs" || rel == "examples" || rel == "internal/lint/cmd" ||
				strings.HasPrefix(rel, "patterns/"):
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			found[filepath.ToSlash(filepath.Dir(rel))] = true
		}
		return nil
	})
	require.NoError(t, err)
	for p := range found {
		require.True(t, named[p], "docs/architecture.md's table does not name package %s", p)
	}
	for p := range named {
		require.True(t, found[p], "docs/architecture.md names package %s, which does not exist", p)
	}

	// "sim imports nothing of txchaos; checker and results know nothing of
	// a pattern's internals; a pattern imports sim and checker."
	allowed := map[string][]string{
		"sim": {}, "results": {}, "checker": {"sim"}, "faults": {"sim"},
		"patterns": {"sim", "checker"}, "patterns/outbox": {"sim", "checker", "patterns"},
	}
	imp := regexp.MustCompile(`"github\.com/txchaos/txchaos/([a-z/]+)"`)
	for pkg, ok := range allowed {
		files, err := filepath.Glob(filepath.Join("..", pkg, "*.go"))
		require.NoError(t, err)
		require.NotEmpty(t, files, pkg)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			require.NoError(t, err)
			for _, m := range imp.FindAllStringSubmatch(string(src), -1) {
				require.Contains(t, ok, m[1], "%s imports %s, which docs/architecture.md says it does not", f, m[1])
			}
		}
	}
}
