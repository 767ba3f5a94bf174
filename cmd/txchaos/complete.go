package main

import (
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/patterns"
	"github.com/txchaos/txchaos/scenarios"
	"github.com/txchaos/txchaos/sim"
)

// Shell completion of flag values and arguments. Cobra's `completion`
// command writes the script (txchaos completion bash|zsh|fish|powershell);
// the script asks `txchaos __complete ARGS... PARTIAL` for candidates,
// each "value\tdescription", then a line ":N" with cobra's directive.

// addCompletions registers the value completions of every command in the
// tree under root, by flag name, so that a flag completes the same way
// wherever it appears.
func addCompletions(root *cobra.Command) {
	byFlag := map[string]cobra.CompletionFunc{
		"pattern":   completePatterns(false),
		"patterns":  completePatterns(true),
		"scenario":  completeScenarios,
		"runtime":   fixed(scenarios.Runtimes...),
		"isolation": fixed(scenarios.Isolations...),
		"payments":  completeMaturities,
		"inventory": completeMaturities,
		"shipping":  completeMaturities,
		"broker":    fixed(sim.Brokers...),
		"output":    fixed("table", "json"),
		"class":     completeClasses,
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, fn := range byFlag {
			if c.Flags().Lookup(name) != nil {
				c.RegisterFlagCompletionFunc(name, fn)
			}
		}
		if c.Flags().Lookup("faults") != nil {
			if c.Name() == "sweep" {
				c.RegisterFlagCompletionFunc("faults", completeSweepKinds)
			} else {
				c.RegisterFlagCompletionFunc("faults", completeProfile)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, c := range root.Commands() {
		switch c.Name() {
		case "explain":
			c.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				classes, dir := completeClasses(nil, nil, "")
				for _, k := range faults.Kinds() {
					classes = append(classes, cobra.CompletionWithDesc(k.Name, "fault: "+k.Summary))
				}
				classes = append(classes, cobra.CompletionWithDesc("schedule", "a det run's faults named one by one (run --schedule FILE)"))
				return classes, dir
			}
		case "check", "replay", "shrink":
			c.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return []cobra.Completion{"json"}, cobra.ShellCompDirectiveFilterFileExt
			}
		case "merge": // OUT DIR...: directories, every one
			c.ValidArgsFunction = func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return nil, cobra.ShellCompDirectiveFilterDirs
			}
		case "report":
			c.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return nil, cobra.ShellCompDirectiveFilterDirs
			}
		}
	}
}

// fixed completes one of values.
func fixed(values ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

func completeMaturities(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, m := range sim.Maturities {
		out = append(out, string(m))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func completeClasses(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, c := range checker.Classes {
		d, _ := checker.Explain(c)
		out = append(out, cobra.CompletionWithDesc(string(c), d.Summary))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completePatterns completes a pattern's name; with list, the last of a
// comma-separated list (or all).
func completePatterns(list bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		prefix := ""
		if list {
			if i := strings.LastIndex(toComplete, ","); i >= 0 {
				prefix = toComplete[:i+1]
			}
		}
		var out []cobra.Completion
		if list && prefix == "" {
			out = append(out, cobra.CompletionWithDesc("all", "every registered pattern"))
		}
		for _, p := range patterns.All() {
			if !slices.Contains(strings.Split(prefix, ","), p.Name) {
				out = append(out, cobra.CompletionWithDesc(prefix+p.Name, p.Summary))
			}
		}
		dir := cobra.ShellCompDirectiveNoFileComp
		if list {
			dir |= cobra.ShellCompDirectiveNoSpace
		}
		return out, dir
	}
}

// completeScenarios completes a built-in scenario's name, or a scenario
// file (.yaml, .yml) in the current directory.
func completeScenarios(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, s := range scenarios.Builtins() {
		out = append(out, cobra.CompletionWithDesc(s.Name, s.Summary()))
	}
	if entries, err := os.ReadDir("."); err == nil && !strings.Contains(toComplete, "/") {
		for _, e := range entries {
			if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
				out = append(out, cobra.CompletionWithDesc(n, "scenario file"))
			}
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// nodes are the nodes a fault can name: the standard world's and the
// registered patterns' extra ones.
func nodes() []string {
	var out []string
	add := func(n string) {
		if n != sim.Client && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, l := range sim.StandardLinks {
		add(l.From)
		add(l.To)
	}
	for _, p := range patterns.All() {
		for name := range p.Services {
			add(name)
		}
	}
	slices.Sort(out)
	return out
}

// links are the links a fault can name: the standard world's and the
// registered patterns' extra ones, as FROM-TO.
func links() []string {
	var out []string
	add := func(l sim.Link) {
		if s := l.From + "-" + l.To; !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, l := range sim.StandardLinks {
		add(l)
	}
	for _, p := range patterns.All() {
		for _, l := range p.Links {
			add(l)
		}
	}
	return out
}

// crashPoints are the crash points of --pattern when it is set and
// registered, else of every registered pattern.
func crashPoints(cmd *cobra.Command) []string {
	if f := cmd.Flags().Lookup("pattern"); f != nil {
		if spec, err := patterns.Lookup(f.Value.String()); err == nil {
			return spec.CrashPoints
		}
	}
	var out []string
	for _, p := range patterns.All() {
		for _, c := range p.CrashPoints {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	slices.Sort(out)
	return out
}

// completeProfile completes the last entry of a fault profile
// (NAME=ARG,...): a fault's name, then its target — a link, a node or a
// crash point, as its syntax says — then an example value.
func completeProfile(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	const dir = cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	prefix, entry := "", toComplete
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		prefix, entry = toComplete[:i+1], toComplete[i+1:]
	}
	name, arg, named := strings.Cut(entry, "=")
	var out []cobra.Completion
	if !named {
		for _, k := range faults.Kinds() {
			out = append(out, cobra.CompletionWithDesc(prefix+k.Name+"=", k.Syntax+": "+k.Summary))
		}
		return out, dir
	}
	kind, ok := kindNamed(name)
	if !ok || strings.Contains(arg, ":") {
		return nil, dir
	}
	head := prefix + name + "="
	value := "0.1"
	if strings.HasSuffix(kind.Syntax, "DURATION") {
		value = "500ms"
	}
	switch {
	case strings.HasPrefix(kind.Syntax, "[LINK:]"):
		out = append(out, cobra.CompletionWithDesc(head+value, "on every link"))
		for _, l := range links() {
			out = append(out, cobra.CompletionWithDesc(head+l+":", "on link "+l))
		}
	case strings.HasPrefix(kind.Syntax, "LINK:"):
		for _, l := range links() {
			out = append(out, cobra.CompletionWithDesc(head+l+":", "on link "+l))
		}
	case strings.HasPrefix(kind.Syntax, "NODE:"):
		if kind.Name == "kill" {
			out = append(out, cobra.CompletionWithDesc(head+faults.AnyNode+":", "a node drawn each time"))
		}
		for _, n := range nodes() {
			out = append(out, cobra.CompletionWithDesc(head+n+":", "node "+n))
		}
	case strings.HasPrefix(kind.Syntax, "POINT:"):
		for _, p := range crashPoints(cmd) {
			out = append(out, cobra.CompletionWithDesc(head+p+":", "crash point "+p))
		}
	default:
		out = append(out, cobra.CompletionWithDesc(head+value, kind.Syntax))
	}
	return out, dir
}

// completeSweepKinds completes the last of sweep's comma-separated fault
// kinds: KIND, then KIND:TARGET.
func completeSweepKinds(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	const dir = cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	prefix, entry := "", toComplete
	if i := strings.LastIndexAny(toComplete, ",+"); i >= 0 {
		prefix, entry = toComplete[:i+1], toComplete[i+1:]
	}
	var out []cobra.Completion
	for _, k := range faults.Kinds() {
		if !strings.HasPrefix(k.Name, strings.SplitN(entry, ":", 2)[0]) {
			continue
		}
		switch {
		case strings.HasPrefix(k.Syntax, "[LINK:]"):
			out = append(out, cobra.CompletionWithDesc(prefix+k.Name, k.Summary+", on every link"))
			for _, l := range links() {
				out = append(out, prefix+k.Name+":"+l)
			}
		case strings.HasPrefix(k.Syntax, "LINK:"):
			for _, l := range links() {
				out = append(out, prefix+k.Name+":"+l)
			}
		case strings.HasPrefix(k.Syntax, "NODE:"):
			if k.Name == "kill" {
				out = append(out, prefix+k.Name+":"+faults.AnyNode)
			}
			for _, n := range nodes() {
				out = append(out, prefix+k.Name+":"+n)
			}
		case strings.HasPrefix(k.Syntax, "POINT:"):
			out = append(out, cobra.CompletionWithDesc(prefix+k.Name, k.Summary+", at each of the pattern's crash points"))
			for _, p := range crashPoints(cmd) {
				out = append(out, prefix+k.Name+":"+p)
			}
		default:
			out = append(out, cobra.CompletionWithDesc(prefix+k.Name, k.Summary))
		}
	}
	return out, dir
}

func kindNamed(name string) (faults.Kind, bool) {
	for _, k := range faults.Kinds() {
		if k.Name == name {
			return k, true
		}
	}
	return faults.Kind{}, false
}
