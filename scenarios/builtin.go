package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

// Builtins lists the built-in scenarios, by name. It panics if one does
// not parse: they are part of the binary and tested.
func Builtins() []Scenario {
	entries, err := fs.ReadDir(builtinFS, "builtin")
	if err != nil {
		panic(err)
	}
	var out []Scenario
	for _, e := range entries {
		file := path.Join("builtin", e.Name())
		data, err := builtinFS.ReadFile(file)
		if err != nil {
			panic(err)
		}
		s, err := Parse(file, data)
		if err != nil {
			panic("scenarios: built-in " + err.Error())
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// BuiltinNames lists the built-in scenarios' names.
func BuiltinNames() []string {
	var names []string
	for _, s := range Builtins() {
		names = append(names, s.Name)
	}
	return names
}

// Builtin is the built-in scenario of that name.
func Builtin(name string) (Scenario, error) {
	for _, s := range Builtins() {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, fmt.Errorf("scenario %q is not built in (built-in: %s)", name, strings.Join(BuiltinNames(), ", "))
}

// Find is the built-in scenario called nameOrFile or, if it names a YAML
// file (it ends in .yaml or .yml, or contains a path separator), the
// scenario in that file.
func Find(nameOrFile string) (Scenario, error) {
	if strings.HasSuffix(nameOrFile, ".yaml") || strings.HasSuffix(nameOrFile, ".yml") || strings.ContainsRune(nameOrFile, os.PathSeparator) || strings.Contains(nameOrFile, "/") {
		return Load(nameOrFile)
	}
	return Builtin(nameOrFile)
}
