package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestScaleOutDoc: every txchaos command of docs/scale-out.md names flags
// that exist with values they take, its shard written as the engines fill
// it in (shard 2 of 4).
func TestScaleOutDoc(t *testing.T) {
	data, err := os.ReadFile("../../docs/scale-out.md")
	require.NoError(t, err)
	var blocks []string // the code blocks: sh, yaml
	for _, b := range regexp.MustCompile("(?s)```[a-z]*\n(.*?)```").FindAllStringSubmatch(string(data), -1) {
		blocks = append(blocks, b[1])
	}
	text := strings.ReplaceAll(strings.Join(blocks, "\n"), "\\\n", " ")
	vars := strings.NewReplacer("${{ matrix.shard }}", "2", `"$K/$N"`, "2/4", `"$OUT"`, "/results/shard-2", `"$s"`, "0")
	cmds := regexp.MustCompile(`txchaos (sweep|merge|report)([^\n|#]*)`).FindAllStringSubmatch(vars.Replace(text), -1)
	seen := map[string]int{}
	for _, c := range cmds {
		args := strings.Fields(c[2])
		seen[c[1]]++
		switch c[1] {
		case "sweep":
			cmd := newSweep()
			require.NoError(t, cmd.ParseFlags(args), "txchaos sweep%s", c[2])
			if sh := cmd.Flags().Lookup("shard").Value.String(); sh != "" {
				require.Equal(t, "2/4", sh, "txchaos sweep%s", c[2])
			}
		case "merge":
			require.GreaterOrEqual(t, len(args), 2, "txchaos merge%s: OUT and a directory at least", c[2])
		case "report":
			require.Len(t, args, 1, "txchaos report%s", c[2])
		}
	}
	require.GreaterOrEqual(t, seen["sweep"], 4, "the shard, the Indexed Job (new and resumed) and the matrix")
	require.GreaterOrEqual(t, seen["merge"], 3)
}
