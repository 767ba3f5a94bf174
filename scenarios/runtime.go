package scenarios

import (
	"context"
	"time"

	"github.com/txchaos/txchaos/faults"
	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/det"
	"github.com/txchaos/txchaos/sim/live"
)

// Runtime is what a run needs of a runtime: the sim.Runtime its nodes run
// on, the sim.Controller the nemesis drives, the nodes themselves (the
// client's included), where their databases are, a way to run the run
// itself, and a way to stop.
type Runtime interface {
	sim.Runtime
	sim.Controller
	Node(name string) *sim.Node
	// Epoch is the clock's reading when the runtime started: the zero of
	// the times of Applied.
	Epoch() time.Time
	DBPath(node string) string
	// Held is how many requests the network holds for a later delivery:
	// the world is not at rest until they have arrived.
	Held() int
	// Sync brings the files at DBPath up to date with what the nodes
	// committed and reports whether any changed since the last Sync. The
	// det runtime keeps its databases in memory; the live runtime's files
	// are current but for a JetStream broker's stream, which Sync dumps,
	// and it always reports a change.
	Sync() (changed bool, err error)
	// Main runs fn, the run proper, as the runtime's main process: the
	// det runtime drives its scheduler until fn returns. fn and what it
	// starts must block only through the runtime (Sleep, requests) and
	// start concurrent work with Go on sim.Client.
	Main(ctx context.Context, fn func(ctx context.Context) error) error
	Stop() error
}

// runtimes starts a world on a runtime, by the runtime's name
// (Config.Runtime); world describes it to node processes (NodeMain).
var runtimes = map[string]func(ctx context.Context, w sim.World, dir string, cfg Config, world []byte) (Runtime, error){
	"live": func(ctx context.Context, w sim.World, dir string, cfg Config, world []byte) (Runtime, error) {
		rt, err := live.Start(ctx, w, live.Options{Dir: dir, Seed: cfg.Seed, Isolation: cfg.Isolation, World: world, Clients: cfg.Workload.Concurrency})
		if err != nil {
			return nil, err
		}
		return liveRuntime{rt}, nil
	},
	"det": func(ctx context.Context, w sim.World, dir string, cfg Config, _ []byte) (Runtime, error) {
		sched, err := faults.ParseSchedule(cfg.Schedule) // validated
		if err != nil {
			return nil, err
		}
		return det.Start(ctx, w, det.Options{Dir: dir, Seed: cfg.Seed, Schedule: sched.Decisions()})
	},
}

// liveRuntime is the live runtime, whose main process is the caller's
// goroutine.
type liveRuntime struct{ *live.Runtime }

// Main calls fn.
func (liveRuntime) Main(ctx context.Context, fn func(ctx context.Context) error) error {
	return fn(ctx)
}
