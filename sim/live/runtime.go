package live

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"

	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/jetstream"
)

// Options configures a live run.
type Options struct {
	// Dir holds the nodes' SQLite files, one per node: Dir/<node>.db. It is
	// created if missing.
	Dir string
	// Seed seeds every random decision of the runtime: fault rolls and each
	// node's Rand.
	Seed int64
	// Isolation is where the nodes' code runs: IsolationNone (the
	// default; "" means it too), in this process, or IsolationProcess,
	// each service in an OS process of its own.
	Isolation string
	// World describes the world to its node processes under
	// IsolationProcess: the bytes ServeNode's build function turns back
	// into the same sim.World in each of them.
	World []byte
	// Slowness is how many times slower than the wall clock the runtime's
	// clock runs, from 1 (real time) to MaxSlowness: every duration asked
	// of the runtime (Sleep, WithTimeout, downtimes, injected latency)
	// lasts that many times longer on the wall clock. 0, the default,
	// measures the machine when the runtime starts (see Runtime.Slowness).
	Slowness float64
	// Clients is how many clients will call the world at once. Start
	// raises the process's soft limit on open files to its hard limit and
	// fails with a *FileLimitError if that cannot carry them (FilesNeeded);
	// if other runtimes of the process hold too much of it, Start waits
	// for them to stop (or ctx to be done).
	Clients int
}

// Runtime runs a sim.World on real sockets. It implements sim.Runtime and
// sim.Controller.
type Runtime struct {
	world sim.World
	opt   Options
	clock clock
	tox   *toxiproxy.ApiServer
	log   *faultLog
	nodes map[string]*node   // every service and the client; fixed after Start
	links map[sim.Link]*link // fixed after Start
	js    *jetstream.Server  // the broker node's server when the world's broker is JetStream (server.go)
	procs *procs             // the node processes' runtime parts under IsolationProcess (process.go)

	root   context.Context // parent of every node's context
	cancel context.CancelFunc

	randMu sync.Mutex
	rands  map[string]*rand.Rand // each node's Rand source

	files func() // releases the open files reserved at Start

	mu      sync.Mutex // guards stopped and bg.Add
	stopped bool
	quit    chan struct{}   // closed by Stop: pending restarts give up
	net     context.Context // the detached senders' context, cancelled when Stop begins
	netStop context.CancelFunc
	held    atomic.Int64   // detached senders under way
	bg      sync.WaitGroup // runtime-owned goroutines: delayed restarts, teardowns
}

var (
	_ sim.Runtime    = (*Runtime)(nil)
	_ sim.Controller = (*Runtime)(nil)
)

// errStopped is returned by operations on a stopped runtime.
var errStopped = errors.New("live runtime is stopped")

// Start starts every service of w, each on its own http.Server, and a set of
// Toxiproxy proxies for every link of w. The client node (sim.Client) has
// no service and no database: it is the workload's view of the world. ctx
// bounds the start only; the runtime runs until Stop.
func Start(ctx context.Context, w sim.World, opt Options) (*Runtime, error) {
	if opt.Dir == "" {
		return nil, errors.New("live: Options.Dir is empty: the nodes need a directory for their databases")
	}
	if err := checkSlowness(opt.Slowness); err != nil {
		return nil, err
	}
	release, err := reserveFiles(ctx, opt.Clients)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		release()
		return nil, fmt.Errorf("live: create the database directory: %w", err)
	}
	if opt.Slowness == 0 {
		s, err := measureSlowness(ctx, opt.Dir)
		if err != nil {
			release()
			return nil, err
		}
		opt.Slowness = s
	}
	root, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := clock{start: time.Now(), slowness: opt.Slowness}
	r := &Runtime{
		world:  w,
		opt:    opt,
		clock:  c,
		tox:    newToxServer(),
		log:    &faultLog{clock: c},
		nodes:  map[string]*node{},
		links:  map[sim.Link]*link{},
		root:   root,
		cancel: cancel,
		rands:  map[string]*rand.Rand{},
		quit:   make(chan struct{}),
		files:  release,
	}
	r.net, r.netStop = context.WithCancel(root)
	if err := r.build(ctx); err != nil {
		return nil, errors.Join(err, r.Stop())
	}
	return r, nil
}

// build creates the nodes, reserves their addresses, creates the links'
// proxies and starts every node.
func (r *Runtime) build(ctx context.Context) error {
	switch r.world.Config.BrokerName() {
	case sim.BrokerLog:
	case sim.BrokerJetStream:
		if r.world.Services[sim.Broker] == nil {
			return fmt.Errorf("live: the world's broker is %s, but it has no %s node to run it on", sim.BrokerJetStream, sim.Broker)
		}
		// The window is the world's, on the runtime's clock; the server's
		// own timers run on the wall clock.
		r.js = jetstream.NewServer(jetStreamDir(r.opt.Dir), r.clock.real(r.world.Config.Dedupe()))
	default:
		return fmt.Errorf("live: world: broker %q is not one of %v", r.world.Config.Broker, sim.Brokers)
	}
	switch r.opt.Isolation {
	case "", IsolationNone:
	case IsolationProcess:
		if err := r.startProcs(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("live: isolation %q is not one of %v", r.opt.Isolation, Isolations)
	}
	for _, name := range r.world.Nodes() {
		svc := r.world.Services[name]
		if svc == nil {
			return fmt.Errorf("live: service %q is nil", name)
		}
		if name == sim.Client {
			return fmt.Errorf("live: %q is the workload's node and cannot run a service", sim.Client)
		}
		n := newNode(r, name, svc, r.DBPath(name))
		n.proc = r.procs != nil
		r.nodes[name] = n
		if name == sim.Broker && r.js != nil {
			n.js = r.js // a server node: it picks its port when it starts
			continue
		}
		// Reserve the address now so that the proxies know their upstream
		// before any node starts calling others.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("live: listen for %s: %w", name, err)
		}
		n.addr, n.first = ln.Addr().String(), ln
	}
	r.nodes[sim.Client] = newNode(r, sim.Client, nil, "")
	for name := range r.nodes {
		r.rands[name] = newRand(r.opt.Seed, "rand/"+name)
	}
	for _, l := range r.world.Links {
		to := r.nodes[l.To]
		switch {
		case r.nodes[l.From] == nil:
			return fmt.Errorf("live: link %s: no node %q in the world", l, l.From)
		case to == nil || to.svc == nil:
			return fmt.Errorf("live: link %s: no service %q in the world", l, l.To)
		case r.links[l] != nil:
			return fmt.Errorf("live: link %s is listed twice", l)
		}
		var srv *node
		if to.js != nil {
			srv = to
		}
		k, err := newLink(r.tox, l, to.addr, srv, r.opt.Seed, r.log, r.clock)
		if err != nil {
			return fmt.Errorf("live: %w", err)
		}
		k.detach, k.held = r.detach, &r.held
		r.links[l] = k
		if from := r.nodes[l.From]; from.proc {
			if k.egress, err = r.procs.egress(k); err != nil {
				return fmt.Errorf("live: link %s: egress for the node process: %w", l, err)
			}
		}
	}
	for _, name := range r.nodeNames() {
		if err := r.nodes[name].start(ctx); err != nil {
			return err
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

// Node is name's view of the world in its current (or last) incarnation:
// its database, its clients for the other services, its clock. The client
// node (sim.Client) has no database; its clients are the workload's, over
// the client's links (client->orders). Node returns nil for an unknown name.
func (r *Runtime) Node(name string) *sim.Node {
	n := r.nodes[name]
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cur == nil {
		return nil
	}
	return n.cur.node
}

// DBPath is the file of node's database, or "" for a node without one (the
// client, an unknown name).
func (r *Runtime) DBPath(node string) string {
	if node == sim.Client || r.world.Services[node] == nil {
		return ""
	}
	return filepath.Join(r.opt.Dir, node+".db")
}

// Rand implements sim.Runtime: a number in [0,1) from node's own source,
// seeded by Options.Seed and the node's name.
func (r *Runtime) Rand(node string) float64 {
	r.randMu.Lock()
	defer r.randMu.Unlock()
	src := r.rands[node]
	if src == nil {
		src = newRand(r.opt.Seed, "rand/"+node)
		r.rands[node] = src
	}
	return src.Float64()
}

// isStopped reports whether Stop has begun.
func (r *Runtime) isStopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// spawn runs fn on a runtime-owned goroutine that Stop waits for; it
// reports false, without running fn, once Stop has begun.
func (r *Runtime) spawn(fn func()) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return false
	}
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		fn()
	}()
	return true
}

// Stop stops every node (their processes and handlers end, their databases
// are closed), every proxy and every runtime goroutine. It reports the
// errors of closing the databases. Stop is idempotent.
func (r *Runtime) Stop() error {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return nil
	}
	r.stopped = true
	close(r.quit)
	r.netStop()
	r.mu.Unlock()

	// Halt every node at once, then wait for them: a node's handlers may be
	// waiting on another node.
	type halted struct {
		inc  *incarnation
		ours bool // halted here: tear it down here
	}
	var all []halted
	for _, name := range r.nodeNames() {
		n := r.nodes[name]
		n.startMu.Lock() // let a start in progress finish; no other begins
		if n.first != nil {
			n.first.Close()
			n.first = nil
		}
		n.mu.Lock()
		inc := n.cur
		n.mu.Unlock()
		n.startMu.Unlock()
		if inc != nil {
			all = append(all, halted{inc, n.halt(inc)})
		}
	}
	var errs []error
	for _, h := range all {
		if h.ours {
			h.inc.teardown()
		}
		<-h.inc.done
		errs = append(errs, h.inc.err)
	}
	r.bg.Wait()
	if r.procs != nil {
		r.procs.close()
	}
	for _, k := range r.links {
		k.close()
	}
	r.cancel()
	if r.js != nil { // the stream as the broker's files keep it
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := r.js.Dump(ctx, r.DBPath(sim.Broker)); err != nil {
			errs = append(errs, fmt.Errorf("live: write the broker's stream for the checker: %w", err))
		}
	}
	r.files()
	return errors.Join(errs...)
}

// newRand is a source seeded by seed and a stream name, so that each link
// and node draws its own sequence whatever the others do.
func newRand(seed int64, stream string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(stream))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}
