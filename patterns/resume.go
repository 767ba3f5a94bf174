package patterns

import (
	"context"
	"sync"

	"github.com/txchaos/txchaos/sim"
)

// Keys runs a query returning one TEXT column and collects it; on an error
// it returns what it read so far.
func Keys(ctx context.Context, n *sim.Node, query string, args ...any) []string {
	rows, err := n.DB().QueryContext(ctx, query, args...)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if rows.Scan(&k) == nil {
			out = append(out, k)
		}
	}
	return out
}

// Resumer re-drives abandoned work (sagas, event streams) for a recovery
// process: each key in a process of its own, so that work stuck on an
// unreachable service does not hold up the rest, and never two processes
// for one key at once. The zero value is ready; make one per node start.
type Resumer struct {
	mu   sync.Mutex
	busy map[string]bool
}

// Resume starts drive(ctx, key) on n for each key no process of r is
// driving now.
func (r *Resumer) Resume(n *sim.Node, keys []string, drive func(ctx context.Context, key string)) {
	for _, key := range keys {
		r.mu.Lock()
		if r.busy == nil {
			r.busy = map[string]bool{}
		}
		busy := r.busy[key]
		r.busy[key] = true
		r.mu.Unlock()
		if busy {
			continue
		}
		n.Go("resume", func(ctx context.Context) {
			defer func() {
				r.mu.Lock()
				delete(r.busy, key)
				r.mu.Unlock()
			}()
			drive(ctx, key)
		})
	}
}
