package live

import (
	"context"
	"fmt"
	"math"
	"sync"
)

// Files a run needs. Measured peaks of open descriptors (sampled every
// 10 ms) over every pattern: at most 76 with one client, at most 1094 with
// 128 (target-state-republish; lost responses or dropped requests at 0.3
// changed little), about 8 per client. The constants take about twice that:
//   - filesBase: listeners (a node's and three per link), databases,
//     background processes' requests, the runtime's own;
//   - filesPerClient: one client's checkout in flight, its request to
//     orders and the one orders makes (four descriptors each), the SQLite
//     connections of the handlers serving them, and a retry overlapping
//     work still in flight.
const (
	filesBase      = 256
	filesPerClient = 16
)

// FilesNeeded is how many open files a live run with clients concurrent
// clients needs at most.
func FilesNeeded(clients int) uint64 {
	return filesBase + filesPerClient*uint64(max(clients, 0))
}

// FileLimitError reports that the process may not open enough files for a
// run's clients: the run would stall instead of failing.
type FileLimitError struct {
	Clients int
	Need    uint64 // FilesNeeded(Clients)
	Limit   uint64 // the process's limit on open files (RLIMIT_NOFILE)
}

func (e *FileLimitError) Error() string {
	msg := fmt.Sprintf("live: %d concurrent clients need up to %d open files (a connection per request), but this process may open %d (RLIMIT_NOFILE, its hard limit): raise the limit (ulimit -n %d)",
		e.Clients, e.Need, e.Limit, e.Need)
	if e.Limit >= filesBase+filesPerClient {
		msg += fmt.Sprintf(" or lower the concurrency to %d or fewer", (e.Limit-filesBase)/filesPerClient)
	}
	return msg
}

// fileBudget is the process's limit on open files shared by the live
// runtimes it runs at once (a sweep's parallel cells).
var fileBudget struct {
	mu       sync.Mutex
	reserved uint64
	freed    chan struct{} // closed when a reservation is released
}

// reserveFiles raises the soft limit on open files to the hard one and
// reserves FilesNeeded(clients) of it until release is called. A run the
// limit cannot carry fails at once with a *FileLimitError; one that fits
// the limit but not what other runtimes of the process hold waits until
// they release enough, or ctx is done.
func reserveFiles(ctx context.Context, clients int) (release func(), err error) {
	limit, ok := raiseFileLimit()
	if !ok || limit == math.MaxUint64 {
		return func() {}, nil // no limit known, or none at all
	}
	need := FilesNeeded(clients)
	if need > limit {
		return nil, &FileLimitError{Clients: clients, Need: need, Limit: limit}
	}
	b := &fileBudget
	for {
		b.mu.Lock()
		if b.reserved+need <= limit {
			b.reserved += need
			b.mu.Unlock()
			var once sync.Once
			return func() {
				once.Do(func() {
					b.mu.Lock()
					defer b.mu.Unlock()
					b.reserved -= need
					if b.freed != nil {
						close(b.freed)
						b.freed = nil
					}
				})
			}, nil
		}
		if b.freed == nil {
			b.freed = make(chan struct{})
		}
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, fmt.Errorf("live: waiting for other runs of this process to free open files (%d clients need up to %d of %d): %w", clients, need, limit, ctx.Err())
		}
	}
}
