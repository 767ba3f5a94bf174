package scenarios

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/txchaos/txchaos/checker"
)

// aside is the state a det run judges, set aside as files while the run
// ends. The state is read at rest, with the world's databases still in
// memory; the final reads and Stop come after. Held as a checker.State
// through them, a run of 100,000 orders keeps some 120 MB more live
// while its databases are still in memory too: set aside, the state is
// read again from the files once Stop has freed them.
type aside struct {
	dir string
	dbs map[string]string // by node
}

// setAside writes the databases of nodes as they stand (rt.Sync) and
// links each file into a directory of dir's, where Stop's last writes do
// not reach (they replace the files, not write into them). It returns nil
// when rt is not the det runtime, or when a database has no file to link:
// the state read at rest is kept then.
func setAside(rt Runtime, dir string, nodes []string) (*aside, error) {
	if _, ok := rt.(detRuntime); !ok {
		return nil, nil
	}
	if _, err := rt.Sync(); err != nil {
		return nil, fmt.Errorf("set the state at rest aside: %w", err)
	}
	a := &aside{dir: filepath.Join(dir, "at-rest"), dbs: map[string]string{}}
	if err := os.RemoveAll(a.dir); err != nil {
		return nil, fmt.Errorf("set the state at rest aside: %w", err)
	}
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		return nil, fmt.Errorf("set the state at rest aside: %w", err)
	}
	for _, n := range nodes {
		p := rt.DBPath(n)
		if p == "" {
			continue
		}
		dst := filepath.Join(a.dir, filepath.Base(p))
		if err := os.Link(p, dst); err != nil {
			a.remove()
			return nil, nil
		}
		a.dbs[n] = dst
	}
	return a, nil
}

// read reads the state set aside, then removes its files.
func (a *aside) read(ctx context.Context, pending []checker.Pending) (*checker.State, error) {
	defer a.remove()
	st, err := checker.ReadState(ctx, a.dbs, pending)
	if err != nil {
		return nil, fmt.Errorf("read the state at rest: %w", err)
	}
	return st, nil
}

func (a *aside) remove() { os.RemoveAll(a.dir) }
