// Package lint is txchaos's runtime-discipline check. Patterns and services
// must take the clock, sleeping, timers, randomness, HTTP clients,
// deadlines and goroutines from their sim.Node, never from the standard
// library directly, so that a deterministic runtime can run and replay
// them. The check is syntactic (go/parser and go/ast, no type checking): it
// resolves each file's imports, including renamed ones, and ignores
// identifiers that a local declaration shadows.
//
// It reports, in every non-test .go file it is given:
//
//   - time.Now, Since, Until, Sleep, After, AfterFunc, NewTimer, NewTicker
//     and Tick;
//   - any import of math/rand, math/rand/v2 or crypto/rand;
//   - http.DefaultClient, DefaultTransport, Get, Post, Head and PostForm,
//     and an http.Client literal without a Transport (it would use
//     http.DefaultTransport);
//   - context.WithTimeout, WithDeadline and their Cause variants;
//   - go statements;
//   - dot imports of time, net/http and context, which would hide the
//     above.
//
// A use is allowed by a comment on the same line:
//
//	start := time.Now() //txchaos:allow measuring the host's wall time
//
// The reason is required. An allow comment that allows nothing is reported
// too, so stale ones do not pile up.
//
// Known gaps: without types, method calls that start goroutines
// (sync.WaitGroup.Go, errgroup) and values of the banned kinds handed over
// from elsewhere are not seen.
package lint

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// AllowDirective is the escape-hatch comment; it must be followed by a
// reason.
const AllowDirective = "//txchaos:allow"

// Finding is one reported use.
type Finding struct {
	Pos token.Position
	// What was used: "time.Now", "import of math/rand", "go statement".
	What string
	// Use is the sim.Node alternative ("sim.Node.Now"); empty for findings
	// about the allow comments themselves, whose What is the whole message.
	Use string
}

// String is "file:line: what — use alternative instead".
func (f Finding) String() string {
	if f.Use == "" {
		return fmt.Sprintf("%s:%d: %s", f.Pos.Filename, f.Pos.Line, f.What)
	}
	return fmt.Sprintf("%s:%d: %s — use %s instead", f.Pos.Filename, f.Pos.Line, f.What, f.Use)
}

// bannedSelectors maps an import path to its banned members and their
// alternatives.
var bannedSelectors = map[string]map[string]string{
	"time": {
		"Now":       "sim.Node.Now",
		"Since":     "sim.Node.Now",
		"Until":     "sim.Node.Now",
		"Sleep":     "sim.Node.Sleep",
		"After":     "sim.Node.Sleep",
		"NewTimer":  "sim.Node.Sleep",
		"AfterFunc": "sim.Node.Go and sim.Node.Sleep",
		"NewTicker": "sim.Node.Every",
		"Tick":      "sim.Node.Every",
	},
	"net/http": {
		"DefaultClient":    "sim.Node.HTTP",
		"DefaultTransport": "sim.Node.HTTP",
		"Get":              "sim.Node.HTTP",
		"Post":             "sim.Node.HTTP",
		"Head":             "sim.Node.HTTP",
		"PostForm":         "sim.Node.HTTP",
	},
	"context": {
		"WithTimeout":       "sim.Node.WithTimeout",
		"WithDeadline":      "sim.Node.WithTimeout",
		"WithTimeoutCause":  "sim.Node.WithTimeout",
		"WithDeadlineCause": "sim.Node.WithTimeout",
	},
}

// bannedImports are packages whose mere import is a finding.
var bannedImports = map[string]string{
	"math/rand":    "sim.Node.Rand",
	"math/rand/v2": "sim.Node.Rand",
	"crypto/rand":  "sim.Node.Rand",
}

// noDotImport are packages a dot import of which would hide banned uses.
var noDotImport = map[string]string{
	"time":     "sim.Node's clock",
	"net/http": "sim.Node.HTTP",
	"context":  "sim.Node.WithTimeout",
}

// pkgName is the name an import path declares by default.
func pkgName(path string) string {
	switch path {
	case "math/rand/v2":
		return "rand"
	}
	return path[strings.LastIndex(path, "/")+1:]
}

// CheckFile checks one file. src is as for parser.ParseFile: nil to read
// filename.
func CheckFile(fset *token.FileSet, filename string, src any) ([]Finding, error) {
	f, err := parser.ParseFile(fset, filename, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	return check(fset, f), nil
}

type allow struct {
	pos    token.Position
	reason string
	used   bool
}

func check(fset *token.FileSet, f *ast.File) []Finding {
	var found []Finding
	report := func(pos token.Pos, what, use string) {
		found = append(found, Finding{Pos: fset.Position(pos), What: what, Use: use})
	}

	// The file's imports: local name → import path.
	imports := map[string]string{}
	for _, spec := range f.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		if use, ok := bannedImports[path]; ok {
			report(spec.Pos(), "import of "+path, use)
		}
		name := pkgName(path)
		if spec.Name != nil {
			name = spec.Name.Name
		}
		switch name {
		case "_":
		case ".":
			if use, ok := noDotImport[path]; ok {
				report(spec.Pos(), "dot import of "+path+" (hides its uses from this check)", use)
			}
		default:
			imports[name] = path
		}
	}

	// pkgOf is the import path x names, if x is an imported package's name
	// that no local declaration shadows. The parser resolves identifiers
	// to local declarations (Obj); package names stay unresolved.
	pkgOf := func(x ast.Expr) (string, bool) {
		id, ok := x.(*ast.Ident)
		if !ok || id.Obj != nil { // Obj: the only scope information without types
			return "", false
		}
		path, ok := imports[id.Name]
		return path, ok
	}

	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			report(n.Go, "go statement", "sim.Node.Go")
		case *ast.SelectorExpr:
			path, ok := pkgOf(n.X)
			if !ok {
				break
			}
			if use, ok := bannedSelectors[path][n.Sel.Name]; ok {
				report(n.Pos(), pkgName(path)+"."+n.Sel.Name, use)
			}
		case *ast.CompositeLit:
			sel, ok := n.Type.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Client" {
				break
			}
			if path, ok := pkgOf(sel.X); !ok || path != "net/http" {
				break
			}
			if !hasTransport(n) {
				report(n.Pos(), "http.Client without a Transport (uses http.DefaultTransport)", "sim.Node.HTTP")
			}
		}
		return true
	})

	// Allow comments, by line.
	allows := map[int]*allow{}
	var bad []Finding
	for _, group := range f.Comments {
		for _, c := range group.List {
			rest, ok := strings.CutPrefix(c.Text, AllowDirective)
			if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
				continue
			}
			pos := fset.Position(c.Slash)
			reason := strings.TrimSpace(rest)
			if reason == "" {
				bad = append(bad, Finding{Pos: pos, What: AllowDirective + " needs a reason"})
				continue
			}
			allows[pos.Line] = &allow{pos: pos, reason: reason}
		}
	}
	kept := bad
	for _, fd := range found {
		if a, ok := allows[fd.Pos.Line]; ok {
			a.used = true
			continue
		}
		kept = append(kept, fd)
	}
	for _, a := range allows {
		if !a.used {
			kept = append(kept, Finding{Pos: a.pos, What: AllowDirective + " allows nothing on this line"})
		}
	}
	sortFindings(kept)
	return kept
}

// hasTransport reports whether an http.Client literal sets its Transport
// (to anything but nil).
func hasTransport(lit *ast.CompositeLit) bool {
	for _, elt := range lit.Elts {
		kv, ok := elt.(*ast.KeyValueExpr)
		if !ok {
			return true // positional: every field is given
		}
		if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Transport" {
			v, isIdent := kv.Value.(*ast.Ident)
			return !isIdent || v.Name != "nil"
		}
	}
	return false
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i].Pos, fs[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

// Files lists the files a path stands for, as the go command reads them:
// a directory's non-test .go files, or, for "dir/...", those of dir and of
// every directory below it (except testdata, vendor and directories whose
// names start with "." or "_"). A path naming a .go file stands for
// itself.
func Files(path string) ([]string, error) {
	root, recursive := strings.CutSuffix(filepath.ToSlash(path), "/...")
	if recursive {
		root = filepath.FromSlash(root)
		if root == "" {
			root = "."
		}
	} else {
		root = path
	}
	info, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		if recursive {
			return nil, fmt.Errorf("%s: not a directory", root)
		}
		return []string{root}, nil
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p == root {
				return nil
			}
			if !recursive || name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") &&
			!strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "_") {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}

// CheckPaths checks every file the paths stand for (see Files).
func CheckPaths(paths []string) ([]Finding, error) {
	fset := token.NewFileSet()
	var all []Finding
	seen := map[string]bool{}
	for _, path := range paths {
		files, err := Files(path)
		if err != nil {
			return nil, err
		}
		for _, file := range files {
			if seen[file] {
				continue
			}
			seen[file] = true
			found, err := CheckFile(fset, file, nil)
			if err != nil {
				return nil, err
			}
			all = append(all, found...)
		}
	}
	sortFindings(all)
	return all, nil
}
