package scenarios

import (
	"context"

	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/live"
)

// Runtime is what a run needs of a runtime: the sim.Runtime its nodes run
// on, the sim.Controller the nemesis drives, the nodes themselves (the
// client's included), where their databases are, and a way to stop.
type Runtime interface {
	sim.Runtime
	sim.Controller
	Node(name string) *sim.Node
	DBPath(node string) string
	Stop() error
}

// runtimes starts a world on a runtime, by the runtime's name (Config.Runtime).
var runtimes = map[string]func(ctx context.Context, w sim.World, dir string, seed int64) (Runtime, error){
	"live": func(ctx context.Context, w sim.World, dir string, seed int64) (Runtime, error) {
		return live.Start(ctx, w, live.Options{Dir: dir, Seed: seed})
	},
}
