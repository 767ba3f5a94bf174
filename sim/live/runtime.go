// Package live is the live runtime of txchaos: every service of a sim.World
// runs on a real http.Server on 127.0.0.1 over its own SQLite file, every
// directed link goes through Toxiproxy proxies embedded in the process, and
// a crash stops a node hard (listener and connections closed, contexts
// cancelled, database handle dropped) and restarts it later on the same
// files.
//
// # Per-request faults
//
// Toxiproxy decides whether a toxic applies once per connection, and with
// HTTP keep-alive one decision would hit many requests. live never reuses a
// connection: each request opens its own, so Go's transport can never
// silently re-send a request either. Each link has three proxies ("lanes")
// to the same service, each with a permanent toxic:
//
//   - clean: no toxic;
//   - drop: a timeout toxic (timeout 0) on the upstream stream: the request
//     never reaches the service and the caller waits until its deadline;
//   - lost: a timeout toxic (timeout 0) on the downstream stream: the service
//     receives and handles the request, its answer is swallowed and the
//     caller waits until its deadline.
//
// The link's transport rolls the runtime's seeded source for every request,
// picks the lane from the link's sim.LinkFaults and records every non-clean
// decision as a sim.Applied. A partition (Down) sends every request to the
// drop lane. Latency is not a toxic: Toxiproxy's latency toxic cannot vary
// per request, so the transport waits the chosen delay (Latency ± Jitter)
// before it sends the request. Rolling per request on our own source (and
// not Toxiproxy's toxicity, drawn from the unseeded global math/rand) is
// also what makes a run's faults reproducible from the seed and recorded
// exactly.
//
// # Late, duplicated and reordered requests
//
// Toxiproxy's latency toxic holds a request's bytes, but when the caller
// hangs up its connection closes and the bytes are lost: a request cannot
// arrive after its sender gave up that way. So the link layer delivers
// such requests itself. A late request (sim.LinkFaults.Late) is read into
// memory and handed to a detached sender, a runtime goroutine that waits
// until the request's delivery time, sends it over the clean lane on a
// connection of its own, reads the whole answer and hands it to the caller
// if the caller still waits; otherwise the answer goes nowhere. The
// detached sender's connection does not close when the caller gives up,
// so the service handles the request in full, as a request that was stuck
// in the network would be. A duplicated request is sent as usual and a
// second copy by a detached sender, at once or after DuplicateDelay; the
// caller gets the first copy's answer. A reordered request waits (on its
// caller's context, as latency does) until a request sent after it over
// the link has been answered, or ReorderHold has passed. These three are
// decided per request by sim.LinkFaults.SiteFault, from (seed, fault,
// request number on the link) alone. Held counts the detached senders
// under way; Stop cancels them.
//
// # Crashes
//
// A crash (Crash, a node's CrashRate, a crash point) marks the node down,
// closes its listener and every open connection (http.Server.Close), and
// cancels the node's context: in-flight handlers and the node's processes
// see it cancelled and database/sql rolls back their open transactions.
// Once they have returned, the database handle is closed. A restart waits
// for that, listens on the same port again (so the proxies keep working;
// if the port is taken, the node moves and the proxies follow), opens the
// same file and calls the service's Start again. Node code must honour its
// context: a crash, a restart and Stop wait for it to return.
//
// A node's database is opened through a sim.Gate: once the service has
// started, each of its commits (an autocommitted statement's included) is
// a site of its commit crashes (sim.NodeFaults.CommitCrash), decided by
// (seed, node, commit number). A crash "before" turns the commit into a
// rollback inside SQLite's commit hook and crashes the node; a crash
// "after" lets it commit and crashes the node as the statement returns.
// Either way the code that committed may run on for a moment, but a
// crashed incarnation's database refuses every statement but a rollback,
// and its answer never leaves: its connections are closed.
//
// Besides sim.Applied's fault names, live records "restart-failed" (Detail:
// the error) when a delayed restart fails for another reason than a crash
// during the service's Start; the node then stays down until Restart or
// Heal.
//
// # Services as OS processes
//
// With Options.Isolation IsolationProcess each service runs in an OS
// process of its own: the runtime runs its own binary again (os.Executable)
// with NodeEnv set, and the binary serves the node (ServeNode, which
// scenarios.NodeMain calls) on the node's SQLite file, building the world
// from Options.World. The runtime keeps everything else, so the same
// faults mean the same things and are recorded the same way:
//
//   - the node's address and the guard of its request faults stay in the
//     runtime, which hands each request the guard lets through to the
//     process on a connection of its own;
//   - the node's own requests go to an egress of the runtime, one per link
//     from the node, which sends each over the link (its lane, latency,
//     late, duplicate and reorder faults and Applied decided there, the
//     detached senders of late requests and second copies run there) and
//     cuts the node's connection when the link fails it, so the node sees
//     the transport error it would have seen; each request carries its
//     caller's deadline, so that a late one arrives after it;
//   - at a crash point its faults give a chance, the node asks the runtime
//     over a control channel, which rolls, and on a crash kills the
//     process before it answers;
//   - the node's database is opened through a sim.Gate too, and while its
//     faults give its commits a chance the node asks the runtime at each
//     commit, from inside SQLite's commit hook: the runtime numbers the
//     commit and decides as for a node in its own process; to crash before
//     the commit it kills the process while the question waits (the
//     transaction never commits), to crash after it it lets the commit
//     happen and kills the process when it asks again, before its code
//     goes on (see nodegate.go);
//   - the node's clock is the real clock, its Rand a source seeded by the
//     seed, the node and its incarnation, its processes its own.
//
// A crash of any kind (a crash rate, a crash point, a commit crash, Crash
// and so the nemesis's timed kills) is SIGKILL: the process stops at once,
// its open transactions never commit (SQLite ignores their pages in its
// write-ahead log), what it committed stays in its file, and its
// connections close. The restart is a new process on the same file. The
// runtime tells a running process the node faults SetNodeFaults and Heal
// set. A process that exits by itself (a panic in its code) is recorded as
// "exited" with what it wrote, and stays down until Restart or Heal. A node
// process whose runtime goes away (its standard input ends) stops. The
// JetStream broker is not supported: its server and its clients'
// connections live in the runtime's process.
//
// # A real broker
//
// When the world's Config.Broker is sim.BrokerJetStream, the broker node
// runs an embedded NATS JetStream server (sim/jetstream) on its store
// directory Dir/broker.jetstream instead of its service, and every node
// with a link to it publishes and consumes through a JetStream client
// (Node.Broker). The link keeps its lanes, with one connection per call
// instead of per request, and the same faults mean the same things; a
// crash shuts the server down at once and restarts it on its files. Sync
// and Stop write the stream to DBPath(sim.Broker) for the checker. See
// server.go.
//
// # The clock
//
// A world's durations — call timeouts, downtimes, latencies, poll
// intervals, the quiet period after healing — are written for a machine
// that serves a request in about a millisecond or two. On a machine slower
// or busier than that, a 300 ms timeout that requests outlast would be a
// fault nobody chose, and verdicts would depend on the machine. So the
// runtime's clock runs slower than the wall clock by a slowness factor
// (Options.Slowness), measured at Start by timing requests through a proxy
// to a SQLite write, many at once (at least 1: a fast machine runs in real
// time). Now advances that many times slower, and every duration asked of
// the runtime (Sleep, WithTimeout, a crash's downtime, injected latency, a
// late request's delay, a second copy's, a reordered request's hold) lasts
// that many times longer on the wall clock: the run is the run a faster
// machine would make, only slower. A context's deadline is on the wall
// clock; a late request's caller's deadline is read onto the runtime's
// clock (clock.at) before LateMargin is added. Node processes (isolation
// process) keep the same clock, told its epoch and slowness when they
// start, and send their requests' deadlines on the wall clock, which both
// share. A JetStream broker's own timers run on the wall clock; its
// duplicate window is the world's, scaled.
//
// # Open files
//
// A request in flight holds four file descriptors (the caller's socket,
// the proxy's two, the service's) and its handler a SQLite connection.
// Start raises the soft limit on open files to the hard one and refuses,
// with a *FileLimitError, a run whose Options.Clients the limit cannot
// carry (FilesNeeded): out of descriptors, a proxy stops accepting for good
// and the run would wait out every request's timeout instead of failing.
// Runtimes running at once in one process (a sweep's parallel cells) share
// the limit: a Start that fits it but not beside the others waits for
// them to stop.
package live

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

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

// Epoch is the clock's reading when the runtime started: Applied's times
// count from it.
func (r *Runtime) Epoch() time.Time { return r.clock.start }

// Slowness is how many times slower than the wall clock the runtime's
// clock runs: Options.Slowness, or the factor measured at Start.
func (r *Runtime) Slowness() float64 { return r.clock.slowness }

// DBPath is the file of node's database, or "" for a node without one (the
// client, an unknown name).
func (r *Runtime) DBPath(node string) string {
	if node == sim.Client || r.world.Services[node] == nil {
		return ""
	}
	return filepath.Join(r.opt.Dir, node+".db")
}

// Now implements sim.Runtime: the runtime's clock, which runs Slowness
// times slower than the wall clock.
func (r *Runtime) Now() time.Time { return r.clock.now() }

// Sleep implements sim.Runtime: it waits d on the runtime's clock (d times
// Slowness of real time) or until ctx is done.
func (r *Runtime) Sleep(ctx context.Context, d time.Duration) error {
	return r.clock.sleep(ctx, d)
}

// WithTimeout implements sim.Runtime: context.WithTimeout of d on the
// runtime's clock (d times Slowness of real time).
func (r *Runtime) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.clock.real(d))
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

// Go implements sim.Runtime: it starts fn as a process of node's current
// incarnation. fn gets the node's context, cancelled when the node crashes
// or stops, and a crash or Stop waits for fn to return. A panic with
// http.ErrAbortHandler (a crash point was hit) ends the process quietly. If
// the node is down, fn is not started: a crashed node runs nothing.
func (r *Runtime) Go(node, name string, fn func(ctx context.Context)) {
	n := r.nodes[node]
	if n == nil {
		panic(fmt.Sprintf("live: Go(%q, %q): no node %q in the world", node, name, node))
	}
	inc := n.enter(nil)
	if inc == nil {
		return
	}
	go func() {
		defer inc.wg.Done()
		defer recoverAbort()
		fn(inc.ctx)
	}()
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

// url is the base URL at which from reaches service: its link's clean lane.
func (r *Runtime) url(from, service string) string {
	if k := r.links[sim.Link{From: from, To: service}]; k != nil {
		return "http://" + k.addr()
	}
	return "http://" + service + ".no-link.invalid"
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

// Held is how many requests the network holds for a later delivery (late
// requests, second copies of duplicated ones), answer included: until
// they are done, the world is not at rest.
func (r *Runtime) Held() int { return int(r.held.Load()) }

// detach runs fn, a detached sender of the network, on a runtime
// goroutine; fn's context is cancelled when Stop begins.
func (r *Runtime) detach(fn func(ctx context.Context)) bool {
	return r.spawn(func() { fn(r.net) })
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

// newToxServer is an embedded Toxiproxy server: it owns no listener, only
// the proxies created on it.
func newToxServer() *toxiproxy.ApiServer {
	return toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
}

// faultLog records the faults as they happen, timed on the runtime's clock
// from its start.
type faultLog struct {
	clock clock
	mu    sync.Mutex
	list  []sim.Applied
}

func (l *faultLog) add(fault, target, detail, order string) {
	l.addAt(fault, target, detail, order, "")
}

// addAt records a fault decided at a named site.
func (l *faultLog) addAt(fault, target, detail, order, site string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, sim.Applied{At: l.clock.now().Sub(l.clock.start), Fault: fault, Target: target, Detail: detail, Order: order, Site: site})
}

func (l *faultLog) all() []sim.Applied {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sim.Applied(nil), l.list...)
}

// newRand is a source seeded by seed and a stream name, so that each link
// and node draws its own sequence whatever the others do.
func newRand(seed int64, stream string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(stream))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}
