package scenarios

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/txchaos/txchaos/checker"
)

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
		if err := checker.Visualize(&page, r.History, p, r.Applied); err != nil {
			return paths, err
		}
		path := filepath.Join(dir, p.File)
		if err := writeAtomic(path, page.Bytes()); err != nil {
			return paths, fmt.Errorf("history of %s: %w", p.Key, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}
