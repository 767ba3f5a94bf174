package patterns

import (
	"context"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// Backoff is a capped exponential backoff for retrying transient errors.
type Backoff struct {
	// Attempts is the most tries, the first included.
	Attempts int
	// Base is the first wait; each next wait doubles, up to Cap.
	Base, Cap time.Duration
}

// DefaultBackoff is what patterns use unless they say otherwise: five
// tries, waiting 20ms, 40ms, 80ms, 160ms between them.
var DefaultBackoff = Backoff{Attempts: 5, Base: 20 * time.Millisecond, Cap: 500 * time.Millisecond}

// Retry calls fn until it succeeds, fails with an error that is not
// transient (a business rejection is never retried: 003's non-transient
// errors), or b.Attempts tries are spent. Waits are on the node's clock.
// It returns fn's last error.
func Retry(ctx context.Context, n *sim.Node, b Backoff, fn func(ctx context.Context) error) error {
	wait := b.Base
	var err error
	for try := 1; ; try++ {
		err = fn(ctx)
		if err == nil || !sim.IsTransient(err) || try >= b.Attempts {
			return err
		}
		if n.Sleep(ctx, wait) != nil {
			return err
		}
		wait = min(2*wait, b.Cap)
	}
}
