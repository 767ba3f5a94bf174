package main

import (
	"runtime/debug"
	"strings"
)

// version is what `txchaos --version` prints: the module's version, the
// version-control revision it was built from, and the Go toolchain, all
// from the build information the Go linker stamps into the binary.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown: the binary carries no build information"
	}
	return versionOf(bi)
}

// versionOf formats bi: "v0.3.0 · revision 1a2b3c4d5e6f (2026-12-01T10:00:00Z) · go1.26.8".
// A binary built in a checkout says "(devel)"; one built without its
// version-control information (go run, -buildvcs=false, no git) says how
// to get it.
func versionOf(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	rev := settings["vcs.revision"]
	var parts []string
	parts = append(parts, v)
	if rev == "" {
		parts = append(parts, "revision unknown (built without version-control information: `go build ./cmd/txchaos` in a git checkout stamps it; `go run` and -buildvcs=false do not)")
	} else {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		var about []string
		if t := settings["vcs.time"]; t != "" {
			about = append(about, t)
		}
		if settings["vcs.modified"] == "true" {
			about = append(about, "with uncommitted changes")
		}
		r := "revision " + rev
		if len(about) > 0 {
			r += " (" + strings.Join(about, ", ") + ")"
		}
		parts = append(parts, r)
	}
	if bi.GoVersion != "" {
		parts = append(parts, bi.GoVersion)
	}
	return strings.Join(parts, " · ")
}

// versionTemplate is cobra's --version output.
const versionTemplate = "txchaos {{.Version}}\n"
