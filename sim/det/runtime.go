package det

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// Epoch is the virtual clock's reading when a runtime starts.
var Epoch = time.Date(2020, time.January, 1, 0, 0, 0, 0, time.UTC)

// DefaultNetDelay is the default bound of the network's one-way delay.
const DefaultNetDelay = time.Millisecond

// DefaultDowntime is how long a node crashed by its sim.NodeFaults (a crash
// rate or a crash point) stays down when the faults give no Downtime, as in
// the live runtime.
const DefaultDowntime = 200 * time.Millisecond

// Options configures a deterministic run.
type Options struct {
	// Dir holds the nodes' SQLite files, one per node: Dir/<node>.db. It is
	// created if missing.
	Dir string
	// Seed seeds every decision of the runtime: the scheduler's picks, the
	// network's delays, fault rolls and each node's Rand.
	Seed int64
	// NetDelay bounds the one-way delay of every request and answer, drawn
	// uniformly in [0, NetDelay) by the seeded source: DefaultNetDelay when
	// zero, no delay when negative.
	NetDelay time.Duration
	// Schedule is a list of faults decided at named sites (sim.Decision):
	// each is taken when the run reaches its site, until Heal. Where it
	// decides nothing, the faults the controller set decide as usual.
	Schedule []sim.Decision
	// Scratch keeps the databases in memory only, for a run whose files
	// nobody reads: Dir names them (it must be a directory no other
	// runtime of the process uses) but is not created, no file is loaded
	// from it, and neither Sync nor Stop writes to it.
	Scratch bool
}

// Runtime runs a sim.World in one process under a seeded scheduler and a
// virtual clock. It implements sim.Runtime and sim.Controller.
//
// Between calls to Main the world stands still. The runtime's methods may
// be called by its processes while a Main runs, or by one goroutine at a
// time while none runs (a call that needs to run the world, such as a
// request or Heal, then runs inside a Main of its own).
type Runtime struct {
	world sim.World
	opt   Options
	s     *sched
	nodes map[string]*node
	links map[sim.Link]*link
	rands map[string]*rand.Rand
	log   []sim.Applied
	held  int // requests the network holds for a later delivery
	sites *sites

	root   context.Context // parent of every incarnation's context
	cancel context.CancelFunc

	mainMu  sync.Mutex  // one Main at a time
	inMain  atomic.Bool // a Main is running: calls come from its processes
	stopped bool
}

var (
	_ sim.Runtime    = (*Runtime)(nil)
	_ sim.Controller = (*Runtime)(nil)
)

// errStopped is returned by operations on a stopped runtime.
var errStopped = errors.New("det runtime is stopped")

// Start builds every node of w over its SQLite file in opt.Dir and starts
// their services (in a Main). The client node (sim.Client) has no service
// and no database: it is the workload's view of the world.
func Start(ctx context.Context, w sim.World, opt Options) (*Runtime, error) {
	if opt.Dir == "" {
		return nil, errors.New("det: Options.Dir is empty: the nodes need a directory for their databases")
	}
	if b := w.Config.BrokerName(); b != sim.BrokerLog {
		return nil, fmt.Errorf("det: the world's broker is %s, which runs on the live runtime only: the det runtime runs the log broker (sim.BrokerService), whose every step it schedules and replays; a NATS server keeps goroutines and a clock of its own", b)
	}
	if !opt.Scratch {
		if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("det: create the database directory: %w", err)
		}
	}
	if opt.NetDelay == 0 {
		opt.NetDelay = DefaultNetDelay
	}
	st, err := newSites(opt.Schedule)
	if err != nil {
		return nil, fmt.Errorf("det: %w", err)
	}
	root, cancel := context.WithCancel(context.Background())
	r := &Runtime{
		world:  w,
		opt:    opt,
		s:      newSched(Epoch, newRand(opt.Seed, "sched")),
		nodes:  map[string]*node{},
		links:  map[sim.Link]*link{},
		rands:  map[string]*rand.Rand{},
		sites:  st,
		root:   root,
		cancel: cancel,
	}
	if err := r.build(); err != nil {
		cancel()
		return nil, errors.Join(err, r.closeStores())
	}
	err = r.Main(ctx, func(context.Context) error {
		for _, name := range r.nodeNames() {
			if err := r.start(r.nodes[name]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, errors.Join(err, r.Stop())
	}
	return r, nil
}

// build creates the nodes and links.
func (r *Runtime) build() error {
	for _, name := range r.world.Nodes() {
		svc := r.world.Services[name]
		if svc == nil {
			return fmt.Errorf("det: service %q is nil", name)
		}
		if name == sim.Client {
			return fmt.Errorf("det: %q is the workload's node and cannot run a service", sim.Client)
		}
		st, err := newStore(r.DBPath(name), !r.opt.Scratch)
		if err != nil {
			return fmt.Errorf("det: node %s: %w", name, err)
		}
		r.nodes[name] = r.newNode(name, svc, st)
	}
	r.nodes[sim.Client] = r.newNode(sim.Client, nil, nil)
	for _, name := range r.nodeNames() {
		r.rands[name] = newRand(r.opt.Seed, "rand/"+name)
	}
	for _, l := range r.world.Links {
		to := r.nodes[l.To]
		switch {
		case r.nodes[l.From] == nil:
			return fmt.Errorf("det: link %s: no node %q in the world", l, l.From)
		case to == nil || to.svc == nil:
			return fmt.Errorf("det: link %s: no service %q in the world", l, l.To)
		case r.links[l] != nil:
			return fmt.Errorf("det: link %s is listed twice", l)
		}
		r.links[l] = &link{
			r: r, l: l, name: l.String(),
			waitNet:    "the network (" + l.String() + ")",
			waitAnswer: "an answer over " + l.String(),
			waitLost:   "a request lost over " + l.String(),
			rng:        newRand(r.opt.Seed, "link/"+l.String()),
			net:        newRand(r.opt.Seed, "net/"+l.String()),
		}
	}
	return nil
}

// nodeNames lists every node, the client included, in a stable order.
func (r *Runtime) nodeNames() []string {
	names := make([]string, 0, len(r.nodes))
	for name := range r.nodes {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Main runs fn as the root process of the world and drives the scheduler
// until fn returns: every process of the world (handlers, relays,
// consumers, processes fn starts with Go) runs meanwhile, one at a time,
// on the virtual clock. It returns fn's error, or an error when the world
// deadlocks (no process can run and no timer is pending), a process
// panics, or ctx ends first. Called from a process of a running Main, it
// calls fn directly.
//
// Code under fn must take its clock, sleeps and deadlines from the runtime
// and start concurrent work with Go, never with a go statement; waiting on
// a channel or a sync.WaitGroup would block the whole world.
func (r *Runtime) Main(ctx context.Context, fn func(ctx context.Context) error) error {
	if r.inMain.Load() {
		return fn(ctx)
	}
	if r.stopped {
		return errStopped
	}
	return r.main(ctx, fn)
}

// main drives a Main: see Main.
func (r *Runtime) main(ctx context.Context, fn func(ctx context.Context) error) error {
	r.mainMu.Lock()
	defer r.mainMu.Unlock()
	s := r.s
	if s.failure != nil && !s.stopping {
		return s.failure
	}
	var (
		err      error
		returned bool
	)
	root := s.spawn(nil, "main", func() {
		err = fn(ctx)
		returned = true
	})
	s.main, s.host, s.halted = root, ctx, nil
	r.inMain.Store(true)
	s.drive()
	r.inMain.Store(false)
	s.main, s.host = nil, nil
	switch {
	case returned:
		return err
	case s.failure != nil:
		return s.failure
	case root.state == stDone:
		return errors.New("det: the main process ended without returning (runtime.Goexit: t.FailNow in it?)")
	case s.halted != nil:
		return fmt.Errorf("det: interrupted at %s: %w", r.elapsed(), s.halted)
	default:
		return fmt.Errorf("det: deadlock at %s: no process can run and no timer is pending; blocked: %s", r.elapsed(), s.blocked())
	}
}

// do runs fn as the baton holder: directly when a Main is running (the
// caller is one of its processes), else in a Main of its own.
func (r *Runtime) do(ctx context.Context, fn func(p *proc) error) error {
	if r.inMain.Load() {
		return fn(r.s.cur)
	}
	return r.Main(ctx, func(context.Context) error { return fn(r.s.cur) })
}

// elapsed is the virtual time since the runtime started.
func (r *Runtime) elapsed() time.Duration { return r.s.now.Sub(Epoch) }

// Steps is how many scheduling steps (picks of the next process) the
// runtime has taken so far: a measure of the work a run did.
func (r *Runtime) Steps() uint64 { return r.s.steps }

// Node is name's view of the world in its current (or last) incarnation:
// its database, its clients for the other services, its clock. Node
// returns nil for an unknown name.
func (r *Runtime) Node(name string) *sim.Node {
	n := r.nodes[name]
	if n == nil || n.cur == nil {
		return nil
	}
	return n.cur.sn
}

// Held is how many requests the network holds for a later delivery (late
// requests, second copies of duplicated ones): until they arrive, the
// world is not at rest.
func (r *Runtime) Held() int { return r.held }

// Epoch is the virtual clock's reading when the runtime started (the
// package's Epoch): Applied's times count from it.
func (r *Runtime) Epoch() time.Time { return Epoch }

// DBPath is the file of node's database, or "" for a node without one (the
// client, an unknown name). The runtime keeps the databases in memory while
// it runs: the file holds what was committed when Sync or Stop last wrote it.
func (r *Runtime) DBPath(node string) string {
	if node == sim.Client || r.world.Services[node] == nil {
		return ""
	}
	return filepath.Join(r.opt.Dir, node+".db")
}

// Reader is a handle on node's database for reading it between steps of
// the world (from a process, or while no Main runs), as the checker does
// at rest: it sees what node's incarnations committed, in memory, without
// a Sync. The runtime keeps it open until Stop; do not close it, and hold
// no transaction or rows on it across a step.
func (r *Runtime) Reader(node string) (*sql.DB, error) {
	n := r.nodes[node]
	switch {
	case r.stopped:
		return nil, errStopped
	case n == nil || n.store == nil:
		return nil, fmt.Errorf("det: node %q has no database", node)
	}
	return n.store.read()
}

// Now implements sim.Runtime: the virtual clock. Reading it takes a
// nanosecond of virtual time, so no two readings are equal: what a
// process does after another process's reading is strictly later on the
// clock (see sched.read).
func (r *Runtime) Now() time.Time { return r.s.read() }

// Sleep implements sim.Runtime: the calling process waits d of virtual
// time, or until ctx is done.
func (r *Runtime) Sleep(ctx context.Context, d time.Duration) error {
	var err error
	if merr := r.do(ctx, func(p *proc) error {
		err = r.s.sleep(p, ctx, d, "sleep")
		return nil
	}); merr != nil {
		return merr
	}
	return err
}

// WithTimeout implements sim.Runtime: a context cancelled at the virtual
// deadline, whose Err is then context.DeadlineExceeded.
func (r *Runtime) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return r.s.withTimeout(ctx, d)
}

// Rand implements sim.Runtime: a number in [0,1) from node's own source,
// seeded by Options.Seed and the node's name (as in the live runtime).
func (r *Runtime) Rand(node string) float64 {
	src := r.rands[node]
	if src == nil {
		src = newRand(r.opt.Seed, "rand/"+node)
		r.rands[node] = src
	}
	return src.Float64()
}

// Go implements sim.Runtime: it starts fn as a process of node's current
// incarnation (the caller's own, when a process of node calls it). fn gets
// the incarnation's context; a crash cancels it and aborts fn at its next
// step. A node that is down runs nothing: fn is not started.
func (r *Runtime) Go(node, name string, fn func(ctx context.Context)) {
	n := r.nodes[node]
	if n == nil {
		panic(fmt.Sprintf("det: Go(%q, %q): no node %q in the world", node, name, node))
	}
	inc := n.cur
	if p := r.s.cur; p != nil && p.inc != nil && p.inc.n == n {
		inc = p.inc
	}
	if inc == nil || inc.down || r.s.stopping {
		return
	}
	ctx := inc.ctx
	r.s.spawn(inc, fmt.Sprintf("%s#%d/%s", node, inc.num, name), func() { fn(ctx) })
}

// Transport implements sim.Runtime: the round tripper of the link from → to.
// A pair that is not a link of the world gets a transport that fails every
// request.
func (r *Runtime) Transport(from, to string) http.RoundTripper {
	if k := r.links[sim.Link{From: from, To: to}]; k != nil {
		return k
	}
	return noLink{sim.Link{From: from, To: to}}
}

// Stop ends every process (each is aborted at its next step, as a crash
// would), writes every database that changed to its file (Sync), closes
// them and reports the errors of doing so. Stop is idempotent.
func (r *Runtime) Stop() error {
	if r.stopped {
		return nil
	}
	s := r.s
	stop := func(p *proc) error {
		s.stopping = true
		for _, name := range r.nodeNames() {
			if inc := r.nodes[name].cur; inc != nil && !inc.down {
				inc.down = true
				inc.cancel()
				inc.cutCalls()
			}
			r.nodes[name].cancelRestart()
		}
		for _, q := range append([]*proc(nil), s.all...) {
			if q != p {
				s.abort(q)
			}
		}
		s.await(p, "every process to end", func() bool { return len(s.all) == 1 })
		return nil
	}
	var err error
	if r.inMain.Load() {
		err = stop(s.cur)
	} else {
		s.stopping = true
		err = r.main(context.Background(), func(context.Context) error { return stop(s.cur) })
	}
	r.stopped = true
	r.s.release()
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, name := range r.nodeNames() {
		if inc := r.nodes[name].cur; inc != nil {
			inc.teardown()
			errs = append(errs, inc.err)
		}
	}
	// Each database is written (but for a scratch run's), then freed, in
	// turn: a long run's databases are not all held while the last is
	// written.
	for _, name := range r.nodeNames() {
		if n := r.nodes[name]; n.store != nil {
			if !r.opt.Scratch {
				_, err := n.store.sync()
				errs = append(errs, err)
			}
			errs = append(errs, n.store.close())
			n.store = nil
		}
	}
	r.cancel()
	return errors.Join(errs...)
}

// Sync writes the committed state of every database that changed since the
// last Sync to its file (DBPath), and reports whether any did. Stop syncs
// too. Call it between steps of the world: from a process, or while no Main
// runs. With Options.Scratch it writes nothing.
func (r *Runtime) Sync() (changed bool, err error) {
	if r.opt.Scratch {
		return false, nil
	}
	var errs []error
	for _, name := range r.nodeNames() {
		if st := r.nodes[name].store; st != nil {
			wrote, err := st.sync()
			changed = changed || wrote
			errs = append(errs, err)
		}
	}
	return changed, errors.Join(errs...)
}

// closeStores frees every node's memory database.
func (r *Runtime) closeStores() error {
	var errs []error
	for _, name := range r.nodeNames() {
		if n := r.nodes[name]; n.store != nil {
			errs = append(errs, n.store.close())
			n.store = nil
		}
	}
	return errors.Join(errs...)
}

// newRand is a source seeded by seed and a stream name, so that each link
// and node draws its own sequence whatever the others do (the live
// runtime's streams, by the same names).
func newRand(seed int64, stream string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(stream))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}
