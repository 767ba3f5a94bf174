package lint

import (
	"fmt"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// wants reads the `// want "what"...` annotations of a fixture, by line.
func wants(t *testing.T, file string) map[int][]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	quoted := regexp.MustCompile(`"([^"]*)"`)
	out := map[int][]string{}
	for i, line := range strings.Split(string(data), "\n") {
		_, ann, ok := strings.Cut(line, "// want ")
		if !ok {
			continue
		}
		for _, m := range quoted.FindAllStringSubmatch(ann, -1) {
			out[i+1] = append(out[i+1], m[1])
		}
	}
	return out
}

// TestFixtures checks every fixture file against its want annotations: each
// banned use is found on its line, and nothing else is.
func TestFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/src/bad/*.go")
	if err != nil {
		t.Fatal(err)
	}
	good, _ := filepath.Glob("testdata/src/good/*.go")
	files = append(files, good...)
	checked := 0
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		t.Run(file, func(t *testing.T) {
			checked++
			found, err := CheckFile(token.NewFileSet(), file, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := wants(t, file)
			got := map[int][]Finding{}
			for _, f := range found {
				got[f.Pos.Line] = append(got[f.Pos.Line], f)
				if f.Pos.Filename != file {
					t.Errorf("finding in %s, want %s", f.Pos.Filename, file)
				}
			}
			for line, ws := range want {
				if len(got[line]) != len(ws) {
					t.Errorf("line %d: found %v, want %q", line, got[line], ws)
					continue
				}
				for i, w := range ws {
					if !strings.HasPrefix(got[line][i].What, w) {
						t.Errorf("line %d: found %q, want %q", line, got[line][i].What, w)
					}
				}
			}
			for line, fs := range got {
				if _, ok := want[line]; !ok {
					t.Errorf("line %d: unexpected %v", line, fs)
				}
			}
		})
	}
	if checked < 3 {
		t.Fatalf("only %d fixtures", checked)
	}
}

// TestEveryRuleHasAFixture keeps the bad fixture complete as rules are added.
func TestEveryRuleHasAFixture(t *testing.T) {
	var all []string
	for _, file := range []string{"testdata/src/bad/bad.go", "testdata/src/bad/dot.go"} {
		for _, ws := range wants(t, file) {
			all = append(all, ws...)
		}
	}
	has := func(what string) bool {
		for _, w := range all {
			if w == what {
				return true
			}
		}
		return false
	}
	for path, members := range bannedSelectors {
		for name := range members {
			if name == "WithDeadlineCause" {
				continue // the same rule as WithTimeoutCause
			}
			if what := pkgName(path) + "." + name; !has(what) {
				t.Errorf("no fixture for %s", what)
			}
		}
	}
	for path := range bannedImports {
		if !has("import of " + path) {
			t.Errorf("no fixture for import of %s", path)
		}
	}
}

func TestCases(t *testing.T) {
	const header = "package p\n\nimport (\n\t\"context\"\n\t\"time\"\n)\n\nvar _ context.Context\nvar _ time.Duration\n\n"
	// Line 11 is the first line after the header.
	for _, tc := range []struct {
		name string
		body string
		want []string // Finding.String() with the file name "p.go"
	}{
		{
			name: "call",
			body: "func f() { _ = time.Now() }\n",
			want: []string{"p.go:11: time.Now — use sim.Node.Now instead"},
		},
		{
			name: "allowed with a reason",
			body: "func f() { _ = time.Now() } //txchaos:allow host wall time for the report\n",
		},
		{
			name: "allowed with a tab before the reason",
			body: "func f() { _ = time.Now() } //txchaos:allow\thost wall time\n",
		},
		{
			name: "allow covers every use on its line",
			body: "func f() { time.Sleep(time.Since(time.Now())) } //txchaos:allow reason\n",
		},
		{
			name: "allow without a reason",
			body: "func f() { _ = time.Now() } //txchaos:allow\n",
			want: []string{
				"p.go:11: time.Now — use sim.Node.Now instead",
				"p.go:11: //txchaos:allow needs a reason",
			},
		},
		{
			name: "allow with only spaces",
			body: "func f() { _ = time.Now() } //txchaos:allow   \n",
			want: []string{
				"p.go:11: time.Now — use sim.Node.Now instead",
				"p.go:11: //txchaos:allow needs a reason",
			},
		},
		{
			name: "allow on the line before does not count",
			body: "//txchaos:allow not here\nfunc f() { _ = time.Now() }\n",
			want: []string{
				"p.go:11: //txchaos:allow allows nothing on this line",
				"p.go:12: time.Now — use sim.Node.Now instead",
			},
		},
		{
			name: "a longer word is not the directive",
			body: "func f() { _ = time.Now() } //txchaos:allowed reason\n",
			want: []string{"p.go:11: time.Now — use sim.Node.Now instead"},
		},
		{
			name: "a spaced comment is not the directive",
			body: "func f() { _ = time.Now() } // txchaos:allow reason\n",
			want: []string{"p.go:11: time.Now — use sim.Node.Now instead"},
		},
		{
			name: "stale allow",
			body: "func f() {} //txchaos:allow left over\n",
			want: []string{"p.go:11: //txchaos:allow allows nothing on this line"},
		},
		{
			name: "go statement over several lines is reported at go",
			body: "func f() {\n\tgo func() {\n\t}()\n}\n",
			want: []string{"p.go:12: go statement — use sim.Node.Go instead"},
		},
		{
			name: "allowed go statement",
			body: "func f() {\n\tgo func() { //txchaos:allow the runtime's own loop\n\t}()\n}\n",
		},
		{
			name: "deadline",
			body: "func f(ctx context.Context) { context.WithDeadline(ctx, time.Time{}) }\n",
			want: []string{"p.go:11: context.WithDeadline — use sim.Node.WithTimeout instead"},
		},
		{
			name: "harmless members of the same packages",
			body: "func f(ctx context.Context) {\n\tctx, cancel := context.WithCancel(ctx)\n\tdefer cancel()\n\t_ = time.Duration(time.Second).Seconds()\n\t_ = time.Unix(0, 0)\n}\n",
		},
		{
			name: "parameter shadows the package",
			body: "func f(time interface{ Now() int }) { _ = time.Now() }\n",
		},
		{
			name: "local variable shadows the package",
			body: "func f() {\n\ttime := struct{ Now func() }{}\n\ttime.Now()\n}\n",
		},
		{
			name: "shadowing ends with its scope",
			body: "func f() {\n\t{\n\t\ttime := 1\n\t\t_ = time\n\t}\n\t_ = time.Now()\n}\n",
			want: []string{"p.go:16: time.Now — use sim.Node.Now instead"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			found, err := CheckFile(token.NewFileSet(), "p.go", header+tc.body)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, f := range found {
				got = append(got, f.String())
			}
			if tc.want == nil {
				tc.want = []string{}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tc.want, "\n\t"))
			}
		})
	}
}

func TestImports(t *testing.T) {
	for _, tc := range []struct {
		imp  string
		want string // empty: no finding
	}{
		{`"math/rand"`, "import of math/rand"},
		{`"math/rand/v2"`, "import of math/rand/v2"},
		{`"crypto/rand"`, "import of crypto/rand"},
		{`_ "crypto/rand"`, "import of crypto/rand"},
		{`r "math/rand"`, "import of math/rand"},
		{`. "time"`, "dot import of time (hides its uses from this check)"},
		{`. "net/http"`, "dot import of net/http (hides its uses from this check)"},
		{`. "context"`, "dot import of context (hides its uses from this check)"},
		{`"crypto/sha256"`, ""},
		{`"hash/fnv"`, ""},
		{`. "strings"`, ""},
		{`"math/rand" //txchaos:allow seeded by the fixture`, ""},
	} {
		t.Run(tc.imp, func(t *testing.T) {
			src := fmt.Sprintf("package p\n\nimport %s\n", tc.imp)
			found, err := CheckFile(token.NewFileSet(), "p.go", src)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if len(found) != 0 {
					t.Errorf("found %v", found)
				}
				return
			}
			if len(found) != 1 || found[0].What != tc.want || found[0].Pos.Line != 3 {
				t.Errorf("found %v, want %q on line 3", found, tc.want)
			}
		})
	}
}

func TestParseError(t *testing.T) {
	if _, err := CheckFile(token.NewFileSet(), "p.go", "package p\nfunc {"); err == nil {
		t.Error("no error for a file that does not parse")
	}
}

func TestFiles(t *testing.T) {
	tree := filepath.Join("testdata", "src", "tree")
	for _, tc := range []struct {
		path string
		want []string
	}{
		{tree, []string{"g.go"}},
		{tree + "/...", []string{"g.go", "sub/deeper/g.go", "sub/g.go"}},
		{filepath.Join(tree, "sub") + "/...", []string{"sub/deeper/g.go", "sub/g.go"}},
		{filepath.Join(tree, "g_test.go"), []string{"g_test.go"}}, // named explicitly
	} {
		t.Run(tc.path, func(t *testing.T) {
			files, err := Files(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range files {
				rel, _ := filepath.Rel(tree, f)
				got = append(got, filepath.ToSlash(rel))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := Files(filepath.Join(tree, "nothing")); err == nil {
		t.Error("no error for a missing directory")
	}
}

func TestCheckPaths(t *testing.T) {
	tree := filepath.Join("testdata", "src", "tree")
	// The same files twice are checked once.
	found, err := CheckPaths([]string{tree + "/...", tree})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range found {
		got = append(got, filepath.ToSlash(f.String()))
	}
	want := []string{
		"testdata/src/tree/g.go:4: go statement — use sim.Node.Go instead",
		"testdata/src/tree/sub/deeper/g.go:4: go statement — use sim.Node.Go instead",
		"testdata/src/tree/sub/g.go:4: go statement — use sim.Node.Go instead",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	found, err = CheckPaths([]string{filepath.Join("testdata", "src", "good")})
	if err != nil || len(found) != 0 {
		t.Errorf("good: %v, %v", found, err)
	}
}
