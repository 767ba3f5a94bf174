package scenarios

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/txchaos/txchaos/checker"
	"github.com/txchaos/txchaos/results"
)

// about names the run in a line: "pattern saga · seed 7 · det runtime ·
// faults lost-response=0.2 · scenario lost-responses".
func (c Config) about() string {
	s := fmt.Sprintf("pattern %s · seed %d · %s runtime · faults %s", c.Pattern, c.Seed, c.Runtime, orNone(c.Faults))
	if c.Scenario != "" {
		s += " · scenario " + c.Scenario
	}
	return s
}

// WriteHistories writes porcupine's visualization of each partition of
// the run's history that did not linearize or could not be judged
// (Report.Linearizability) into dir, under the partition's File name
// (history-<key>.html), annotated with the faults applied during the run.
// Each file is written whole or not at all. It returns the paths written,
// none when the history linearized.
func (r *Result) WriteHistories(dir string) ([]string, error) {
	var paths []string
	for _, p := range r.Report.Linearizability {
		var page bytes.Buffer
		if err := checker.Visualize(&page, r.History, p, r.Applied, r.Config.about()); err != nil {
			return paths, err
		}
		path := filepath.Join(dir, p.File)
		if err := results.WriteFile(path, page.Bytes()); err != nil {
			return paths, fmt.Errorf("history of %s: %w", p.Key, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}
