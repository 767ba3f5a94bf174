package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/txchaos/txchaos/checker"
)

// restChecks is how many consecutive polls, restPoll apart, must find
// nothing stuck before the world counts as at rest: work still inside a
// handler or a process (a publish in flight) shows in no table.
const (
	restChecks = 3
	restPoll   = 50 * time.Millisecond
)

// awaitRest polls the world's databases until nothing is stuck (every
// order terminal, no pending work, the consumer caught up, no request
// retried on a refusal) restChecks times in a row, or quiet passes, and
// returns whether the world came to rest and the state it read then: the
// world at rest, or as it stood at the deadline.
//
// A poll asks a checker.Watch, whose questions cost what is unfinished or
// new, not the whole state; the state is read, and the stuck check run on
// it, once: at rest, to confirm, or at the deadline. Should the check find
// stuck work the Watch did not, each later poll reads the state and judges
// it whole, as the check would.
func awaitRest(ctx context.Context, rt Runtime, quiet time.Duration, nodes []string, pending []checker.Pending) (bool, *checker.State, error) {
	deadline := rt.Now().Add(quiet)
	watch, err := checker.NewWatch(pending)
	if err != nil {
		return false, nil, err
	}
	whole := false // judge each poll on the whole state
	for calm := 0; ; {
		dbs, done, err := rt.Readers(nodes)
		if err != nil {
			return false, nil, fmt.Errorf("open the databases while waiting for rest: %w", err)
		}
		var state *checker.State
		read := func() (stuck bool, err error) {
			if state, err = checker.ReadStateFrom(ctx, dbs, pending); err != nil {
				return false, fmt.Errorf("read the state while waiting for rest: %w", err)
			}
			f, judged := checker.CheckStuck(state)
			return f.Count > 0 || !judged, nil
		}
		var stuck bool
		if whole {
			stuck, err = read()
		} else {
			var found string
			found, err = watch.Unfinished(ctx, dbs)
			stuck = found != ""
		}
		calm++
		if stuck || rt.Held() > 0 { // a request still in the network changes the world when it lands
			calm = 0
		}
		atRest := err == nil && calm >= restChecks
		late := !atRest && !rt.Now().Before(deadline)
		if (atRest || late) && state == nil && err == nil {
			if stuck, err = read(); err == nil && stuck && atRest { // the Watch missed it
				whole, atRest, calm = true, false, 0
			}
		}
		done()
		switch {
		case err != nil:
			return false, nil, err
		case atRest:
			return true, state, nil
		case late:
			return false, state, nil
		}
		if err := rt.Sleep(ctx, restPoll); err != nil {
			return false, nil, err
		}
	}
}

// sealAbove is the number of orders above which a run holds the state it
// judged sealed (checker.Seal) from rest until Stop: through the final
// reads, beside the world's databases. A short run's state is held as it
// is: sealing it would cost more than it saves. (A variable for the tests,
// which seal short runs.)
var sealAbove = 4096

// sealLong seals a long run's state; it returns nil for a short run's (or
// no state).
func sealLong(s *checker.State) (*checker.SealedState, error) {
	if s == nil || len(s.Orders) <= sealAbove {
		return nil, nil
	}
	return checker.Seal(s)
}
