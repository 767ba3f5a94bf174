package scenarios

import (
	"context"
	"database/sql"
	"os"
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
	// Readers are read-only handles on the databases of nodes, by node,
	// for the questions asked while waiting for rest and the state read
	// then; done releases them. The det runtime's are its memory
	// databases, kept open; the live runtime's are its files (a
	// JetStream broker's stream dumped first), opened for the call.
	Readers(nodes []string) (dbs map[string]*sql.DB, done func(), err error)
	// Main runs fn, the run proper, as the runtime's main process: the
	// det runtime drives its scheduler until fn returns. fn and what it
	// starts must block only through the runtime (Sleep, requests) and
	// start concurrent work with Go on sim.Client.
	Main(ctx context.Context, fn func(ctx context.Context) error) error
	Stop() error
}

// runtimes starts a world on a runtime, by the runtime's name
// (Config.Runtime); world describes it to node processes (NodeMain).
// scratch says dir is removed when the run ends: the det runtime then
// does not write its databases there at Stop.
var runtimes = map[string]func(ctx context.Context, w sim.World, dir string, scratch bool, cfg Config, world []byte) (Runtime, error){
	"live": func(ctx context.Context, w sim.World, dir string, _ bool, cfg Config, world []byte) (Runtime, error) {
		rt, err := live.Start(ctx, w, live.Options{Dir: dir, Seed: cfg.Seed, Isolation: cfg.Isolation, World: world, Clients: cfg.Workload.Concurrency})
		if err != nil {
			return nil, err
		}
		return liveRuntime{rt}, nil
	},
	"det": func(ctx context.Context, w sim.World, dir string, scratch bool, cfg Config, _ []byte) (Runtime, error) {
		sched, err := faults.ParseSchedule(cfg.Schedule) // validated
		if err != nil {
			return nil, err
		}
		rt, err := det.Start(ctx, w, det.Options{Dir: dir, Seed: cfg.Seed, Schedule: sched.Decisions(), Scratch: scratch})
		if err != nil {
			return nil, err
		}
		return detRuntime{rt}, nil
	},
}

// detRuntime is the det runtime, whose readers are its memory databases.
type detRuntime struct{ *det.Runtime }

// Readers returns the runtime's own handles (det.Runtime.Reader): they
// stay open until Stop.
func (r detRuntime) Readers(nodes []string) (map[string]*sql.DB, func(), error) {
	dbs := map[string]*sql.DB{}
	for _, n := range nodes {
		db, err := r.Reader(n)
		if err != nil {
			return nil, nil, err
		}
		dbs[n] = db
	}
	return dbs, func() {}, nil
}

// liveRuntime is the live runtime, whose main process is the caller's
// goroutine.
type liveRuntime struct{ *live.Runtime }

// Main calls fn.
func (liveRuntime) Main(ctx context.Context, fn func(ctx context.Context) error) error {
	return fn(ctx)
}

// Readers brings the files up to date (Sync) and opens each read-only; a
// file that cannot be opened is left out, and reads as missing.
func (r liveRuntime) Readers(nodes []string) (map[string]*sql.DB, func(), error) {
	if _, err := r.Sync(); err != nil {
		return nil, nil, err
	}
	dbs := map[string]*sql.DB{}
	done := func() {
		for _, db := range dbs {
			db.Close()
		}
	}
	for _, n := range nodes {
		path := r.DBPath(n)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		if db, err := sim.OpenReadOnly(path); err == nil {
			dbs[n] = db
		}
	}
	return dbs, done, nil
}
