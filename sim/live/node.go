package live

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/txchaos/txchaos/sim"
	"github.com/txchaos/txchaos/sim/jetstream"
)

// node is one service (or the client) across its incarnations.
type node struct {
	rt   *Runtime
	name string
	svc  sim.Service       // nil for the client
	path string            // database file; "" for the client
	js   *jetstream.Server // set on a server node (server.go), whose svc is not run
	proc bool              // the service runs in OS processes (process.go)

	startMu sync.Mutex   // serializes starts
	first   net.Listener // the listener reserved by Start for the first start; guarded by startMu

	mu      sync.Mutex
	addr    string       // where the node listens; kept across restarts if the port is free
	cur     *incarnation // the running or last incarnation; nil before the first start
	faults  sim.NodeFaults
	rng     *rand.Rand    // the node's fault rolls
	pending chan struct{} // closed to cancel the pending delayed restart; nil if none
	gens    int           // incarnations started in OS processes
	commits uint64        // commits of its started incarnations so far: the last one's site number
	heals   uint64        // Heal calls so far: a crash its faults decided before the last one does not land
}

// incarnation is one run of a node, from a start to a crash or Stop.
type incarnation struct {
	ctx    context.Context // cancelled by the crash
	cancel context.CancelFunc
	node   *sim.Node
	db     *sql.DB      // nil for the client
	ln     net.Listener // nil for the client
	srv    *http.Server // nil for the client

	down    bool              // crashed or stopped; guarded by node.mu
	dead    atomic.Bool       // down, for its database's gate
	serving atomic.Bool       // its service has started: its commits are crash sites
	wg      sync.WaitGroup    // handlers, processes and the serve loop
	err     error             // closing the database; set before done is closed
	done    chan struct{}     // closed when the incarnation has wound down
	halt    func()            // stops a server node's server or kills a node process; nil for other nodes
	gen     int               // its number among the node's process incarnations
	proc    *proc             // its OS process under IsolationProcess
	after   map[string]uint64 // the sites of its process's commits to crash after, with the heals when decided (nodegate.go); guarded by node.mu
}

func newNode(rt *Runtime, name string, svc sim.Service, path string) *node {
	return &node{rt: rt, name: name, svc: svc, path: path, rng: newRand(rt.opt.Seed, "faults/"+name)}
}

// errCrashedStarting reports that the node crashed while its service was
// starting (a crash point, or Crash during the start).
var errCrashedStarting = errors.New("crashed while starting")

// start starts a new incarnation of the node unless one is running: it
// waits for the last one to wind down, opens the database, calls the
// service's Start and serves its handler. Unless this is the first start,
// it records a restart before the service's Start runs.
func (n *node) start(ctx context.Context) error {
	n.startMu.Lock()
	defer n.startMu.Unlock()
	if n.rt.isStopped() {
		return fmt.Errorf("start %s: %w", n.name, errStopped)
	}
	n.mu.Lock()
	prev := n.cur
	n.mu.Unlock()
	if prev != nil {
		if !n.isDown(prev) {
			return nil
		}
		select {
		case <-prev.done:
		case <-ctx.Done():
			return fmt.Errorf("restart %s: the crashed instance has not wound down yet (its handlers or processes ignore their context): %w", n.name, ctx.Err())
		}
	}
	if n.js != nil {
		return n.startServer(ctx, prev)
	}
	if n.proc {
		return n.startProcess(ctx, prev)
	}
	inc := &incarnation{done: make(chan struct{})}
	inc.ctx, inc.cancel = context.WithCancel(n.rt.root)
	url := func(service string) string { return n.rt.url(n.name, service) }
	if n.svc == nil { // the client: no service, no database
		inc.node = n.simNode(nil, inc.ctx, url)
		n.mu.Lock()
		n.cur = inc
		n.mu.Unlock()
		return nil
	}
	ln, err := n.listen()
	if err != nil {
		inc.cancel()
		return err
	}
	db, err := sim.OpenGated(n.path, func() sim.Gate { return &gate{n: n, inc: inc} })
	if err != nil {
		ln.Close()
		inc.cancel()
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	g := &guard{n: n, inc: inc}
	inc.db, inc.ln = db, ln
	inc.srv = &http.Server{
		Handler:           g,
		BaseContext:       func(net.Listener) context.Context { return inc.ctx },
		ReadHeaderTimeout: time.Minute,
	}
	inc.node = n.simNode(db, inc.ctx, url)
	n.mu.Lock()
	n.cur = inc // processes started by the service's Start belong to inc
	n.mu.Unlock()
	if prev != nil {
		// Recorded before the service's Start, which may reach a crash point.
		n.rt.log.add("restart", n.name, "", "")
	}

	h, err := n.startService(inc.node)
	if err == nil && h == nil {
		err = errors.New("the service returned no handler")
	}
	if err != nil {
		if n.halt(inc) {
			inc.teardown()
		}
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	g.h = h
	n.mu.Lock()
	if inc.down {
		n.mu.Unlock()
		return fmt.Errorf("start %s: %w", n.name, errCrashedStarting)
	}
	inc.wg.Add(1)
	inc.serving.Store(true)
	n.mu.Unlock()
	go func() {
		defer inc.wg.Done()
		inc.srv.Serve(ln) // returns when the server is closed
	}()
	return nil
}

// simNode is the node's view of the world in one incarnation.
func (n *node) simNode(db *sql.DB, ctx context.Context, url func(string) string) *sim.Node {
	sn := sim.NewNode(n.name, db, n.rt, ctx, url)
	sn.SetCallTimeout(n.rt.world.Config.CallTimeout)
	if b := n.rt.brokerClient(sn); b != nil {
		sn.SetBroker(b)
	}
	return sn
}

// startService calls the service's Start; a crash point hit during it
// (a panic with http.ErrAbortHandler) is an error.
func (n *node) startService(sn *sim.Node) (h http.Handler, err error) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			err = errCrashedStarting
		}
	}()
	return n.svc.Start(sn)
}

// listen listens on the node's address again, so that the proxies keep
// working. If the port stays taken, it moves to a new port and points the
// proxies of every link to the node there.
func (n *node) listen() (net.Listener, error) {
	if ln := n.first; ln != nil {
		n.first = nil
		return ln, nil
	}
	n.mu.Lock()
	addr := n.addr
	n.mu.Unlock()
	var err error
	for range 20 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	ln, err2 := net.Listen("tcp", "127.0.0.1:0")
	if err2 != nil {
		return nil, fmt.Errorf("start %s: listen on %s: %w; on a new port: %w", n.name, addr, err, err2)
	}
	n.mu.Lock()
	n.addr = ln.Addr().String()
	n.mu.Unlock()
	for l, k := range n.rt.links {
		if l.To != n.name {
			continue
		}
		if err := k.retarget(ln.Addr().String()); err != nil {
			ln.Close()
			return nil, fmt.Errorf("start %s: port %s was taken, moving to %s: %w", n.name, addr, ln.Addr(), err)
		}
	}
	return ln, nil
}

// enter registers a handler or process with inc (or, if inc is nil, with
// the current incarnation) and returns it; it returns nil if that
// incarnation is down. The caller must call wg.Done on the result.
func (n *node) enter(inc *incarnation) *incarnation {
	n.mu.Lock()
	defer n.mu.Unlock()
	if inc == nil {
		inc = n.cur
	}
	if inc == nil || inc.down {
		return nil
	}
	inc.wg.Add(1)
	return inc
}

// isDown reports whether inc has crashed or stopped.
func (n *node) isDown(inc *incarnation) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return inc.down
}

// halt stops inc hard: see markDown and stop. It reports false if inc was
// down already.
func (n *node) halt(inc *incarnation) bool {
	if !n.markDown(inc) {
		return false
	}
	inc.stop()
	return true
}

// markDown marks inc down: no new request or process is admitted. It
// reports false if inc was down already.
func (n *node) markDown(inc *incarnation) bool {
	return n.markDownIf(inc, nil)
}

// markDownIf is markDown for a crash that the node's faults decided when
// n.heals was *heals: it does not land (false) if Heal has run since.
func (n *node) markDownIf(inc *incarnation, heals *uint64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if inc.down || heals != nil && *heals != n.heals {
		return false
	}
	inc.down = true
	inc.dead.Store(true)
	return true
}

// stop closes inc's listener and every open connection at once and cancels
// its context, which aborts in-flight requests and makes database/sql roll
// back their open transactions. It does not wait for anything, so code of
// the node may call it.
func (inc *incarnation) stop() {
	if inc.srv != nil {
		inc.srv.Close() // the listener and every connection; does not wait for handlers
	}
	if inc.ln != nil {
		inc.ln.Close() // in case Serve has not started
	}
	if inc.halt != nil {
		inc.halt() // a server: shut down at once, connections cut
	}
	inc.cancel()
}

// teardown waits for inc's handlers and processes (and OS process) to
// end, then closes its database. It must not run on one of those
// goroutines.
func (inc *incarnation) teardown() {
	inc.wg.Wait()
	if inc.proc != nil {
		<-inc.proc.exited
	}
	if inc.db != nil {
		inc.err = inc.db.Close()
	}
	close(inc.done)
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

// recoverAbort ends a process quietly when it was aborted at a crash point.
// Any other panic goes on.
func recoverAbort() {
	if v := recover(); v != nil && v != http.ErrAbortHandler {
		panic(v)
	}
}
