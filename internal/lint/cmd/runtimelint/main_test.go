package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "src")
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   []string // substrings
		noStdout bool
	}{
		{name: "clean", args: []string{filepath.Join(src, "good")}, code: 0, noStdout: true},
		{
			name: "findings",
			args: []string{filepath.Join(src, "bad")},
			code: 1,
			stdout: []string{
				filepath.Join(src, "bad", "bad.go") + ":19: time.Now — use sim.Node.Now instead\n",
				filepath.Join(src, "bad", "dot.go") + ":3: dot import of time",
			},
		},
		{name: "no paths", args: nil, code: 2, noStdout: true},
		{name: "missing path", args: []string{filepath.Join(src, "missing")}, code: 2, noStdout: true},
		{name: "bad flag", args: []string{"-x"}, code: 2, noStdout: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			if tc.noStdout && stdout.Len() > 0 {
				t.Errorf("stdout: %s", stdout.String())
			}
		})
	}
}
