package live

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// Isolations of a live runtime's nodes (Options.Isolation).
const (
	// IsolationNone runs every node's code in the runtime's own process.
	IsolationNone = "none"
	// IsolationProcess runs each service in an OS process of its own,
	// killed with SIGKILL when it crashes (see the package doc).
	IsolationProcess = "process"
)

// Isolations lists the isolations, for help texts and validation.
var Isolations = []string{IsolationNone, IsolationProcess}

// NodeEnv is set, to the node's name, in the environment of a node
// process: IsNode reports it, and ServeNode serves the node.
const NodeEnv = "TXCHAOS_NODE"

// nodeArgs are a node process's arguments. The binary serves the node
// before it reads them (ServeNode); a test binary that does not has them
// run no test and exit, so that the runtime reports a binary that cannot
// serve nodes instead of running its tests again.
var nodeArgs = []string{"-test.run=^$"}

// nodeExecutable is the binary a node process runs: this one.
var nodeExecutable = os.Executable

// readyPrefix starts the line a node process writes on its standard
// output once it serves, followed by its address.
const readyPrefix = "txchaos-node-ready "

// startTimeout bounds a node process's start, until it serves.
const startTimeout = time.Minute

// nodeSpec is what a node process is told on the first line of its
// standard input: which node it is and how it reaches the runtime.
type nodeSpec struct {
	Node        string `json:"node"`
	Incarnation int    `json:"incarnation"`
	DB          string `json:"db"`
	Seed        int64  `json:"seed"`
	// World is Options.World, for the build function of ServeNode.
	World []byte `json:"world"`
	// Control is the base URL of the runtime's control channel.
	Control string `json:"control"`
	// URLs are the base URLs the node reaches each service at; Egress
	// the address its requests to a service go to (the runtime, which
	// sends them over the link).
	URLs   map[string]string `json:"urls"`
	Egress map[string]string `json:"egress"`
	Faults sim.NodeFaults    `json:"faults"`
	// Epoch and Slowness are the runtime's clock (see the package doc),
	// which the node process keeps too: the wall clock, slowed down by
	// Slowness from Epoch.
	Epoch    time.Time `json:"epoch"`
	Slowness float64   `json:"slowness"`
}

// nodeMsg is a later line of a node process's standard input: the node's
// faults, which the process acknowledges with a line ackPrefix Seq on its
// standard output once they apply.
type nodeMsg struct {
	Seq    int             `json:"seq"`
	Faults *sim.NodeFaults `json:"faults,omitempty"`
}

// ackPrefix starts the line a node process writes on its standard output
// once the faults of a nodeMsg apply, followed by its Seq.
const ackPrefix = "txchaos-node-faults "

// procs are the runtime's parts shared by its node processes: the binary
// they run, the control channel they ask at their crash points, and an
// egress server per link from a node process, which sends the node's
// requests over the link as the runtime sends any other.
type procs struct {
	exe     string
	control string // base URL
	servers []*http.Server
	wg      sync.WaitGroup // the servers' serve loops and handlers
}

// startProcs checks that the world can run in node processes and starts
// the control channel; the egress servers start with the links.
func (r *Runtime) startProcs() error {
	switch {
	case IsNode():
		return fmt.Errorf("live: isolation %s: this process is itself a node process (%s=%s) and cannot start a world: its binary must call ServeNode (scenarios.NodeMain) before anything else", IsolationProcess, NodeEnv, os.Getenv(NodeEnv))
	case len(r.opt.World) == 0:
		return fmt.Errorf("live: isolation %s: Options.World is empty: the node processes need it to build the world", IsolationProcess)
	case r.js != nil:
		return fmt.Errorf("live: isolation %s: broker %s is not supported: its server and its clients' connections run inside the runtime's process; run it with isolation %s", IsolationProcess, sim.BrokerJetStream, IsolationNone)
	}
	exe, err := nodeExecutable()
	if err != nil {
		return fmt.Errorf("live: isolation %s: the binary to run the nodes: %w", IsolationProcess, err)
	}
	r.procs = &procs{exe: exe}
	addr, err := r.procs.serve(http.HandlerFunc(r.serveControl))
	if err != nil {
		return fmt.Errorf("live: isolation %s: control channel: %w", IsolationProcess, err)
	}
	r.procs.control = "http://" + addr
	return nil
}

// serve serves h on a new port of 127.0.0.1 until close, and returns
// the address.
func (p *procs) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.wg.Add(1)
			defer p.wg.Done()
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	p.servers = append(p.servers, srv)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		srv.Serve(ln)
	}()
	return ln.Addr().String(), nil
}

// close stops the servers, cuts their connections and waits for their
// handlers, which end with their requests' contexts.
func (p *procs) close() {
	for _, s := range p.servers {
		s.Close()
	}
	p.wg.Wait()
}

// serveControl answers a node process's questions: at a crash point, 204
// to go on; at a commit, see serveCommit. No answer at all means the
// runtime has killed the process there.
func (r *Runtime) serveControl(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	n := r.nodes[q.Get("node")]
	if n == nil || !n.proc || (req.URL.Path != "/crashpoint" && req.URL.Path != "/commit") {
		http.Error(w, "no such node process or question", http.StatusNotFound)
		return
	}
	gen, _ := strconv.Atoi(q.Get("incarnation"))
	n.mu.Lock()
	inc := n.cur
	gone := inc == nil || inc.gen != gen || inc.down
	n.mu.Unlock()
	switch {
	case gone:
		panic(http.ErrAbortHandler) // an incarnation that is gone
	case req.URL.Path == "/commit":
		n.serveCommit(w, inc, q)
	case n.crashPoint(inc, q.Get("point")):
		panic(http.ErrAbortHandler) // crashed here
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// processFaults refuses the node faults a node process cannot apply: all
// but those the runtime applies itself (the guard's request faults,
// downtime), crash points and commit crashes (asked over the control
// channel). A fault
// added to sim.NodeFaults is refused here, by its name, until it is made
// to work across the process boundary.
func processFaults(f sim.NodeFaults) error {
	f.CrashRate, f.ErrorRate, f.Downtime, f.CrashPoints, f.CommitCrash = 0, 0, 0, nil, 0
	b, err := json.Marshal(f)
	if err != nil || string(b) == "{}" {
		return err
	}
	var rest map[string]any
	json.Unmarshal(b, &rest)
	var names []string
	for k := range rest {
		names = append(names, k)
	}
	slices.Sort(names)
	return fmt.Errorf("%s: not supported with isolation %s (a node process applies crash points and commit crashes; the runtime, request faults and downtime)", strings.Join(names, ", "), IsolationProcess)
}

// startProcess starts a new incarnation of a node as an OS process on
// the node's database file; n.startMu is held and the last incarnation
// has wound down. The runtime keeps the node's address, with the guard of
// its request faults in front of the process, as for any node.
func (n *node) startProcess(ctx context.Context, prev *incarnation) error {
	inc := &incarnation{done: make(chan struct{})}
	inc.ctx, inc.cancel = context.WithCancel(n.rt.root)
	inc.node = n.simNode(nil, inc.ctx, func(service string) string { return n.rt.url(n.name, service) })
	ln, err := n.listen()
	if err != nil {
		inc.cancel()
		return err
	}
	g := &guard{n: n, inc: inc}
	p := n.rt.procs.command(n.name)
	inc.ln, inc.proc, inc.halt = ln, p, p.kill
	inc.srv = &http.Server{
		Handler:           g,
		BaseContext:       func(net.Listener) context.Context { return inc.ctx },
		ReadHeaderTimeout: time.Minute,
	}
	n.mu.Lock()
	n.gens++
	inc.gen = n.gens
	spec := n.specLocked(inc.gen)
	n.cur = inc // its crash points find it from its first one on
	n.mu.Unlock()
	if prev != nil {
		n.rt.log.add("restart", n.name, "", "")
	}
	err = p.start(spec)
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	var addr string
	if err == nil {
		select {
		case addr = <-p.ready:
		case <-p.exited:
			if n.isDown(inc) {
				return fmt.Errorf("start %s: %w", n.name, errCrashedStarting)
			}
			err = fmt.Errorf("the node process exited before serving (%v); it said:\n%s", p.cmd.ProcessState, p.stderr)
			if !strings.Contains(p.stderr.String(), "txchaos node "+n.name+":") { // not ServeNode's own error
				err = fmt.Errorf("%w\n(a binary that starts worlds with isolation %s must serve them: call scenarios.NodeMain, or live.ServeNode, first thing in its main, or in TestMain under go test)", err, IsolationProcess)
			}
		case <-ctx.Done():
			err = fmt.Errorf("the node process did not serve: %w", ctx.Err())
		case <-timer.C:
			err = fmt.Errorf("the node process did not serve within %s; it said:\n%s", startTimeout, p.stderr)
		}
	}
	if err != nil {
		if !n.halt(inc) { // crashed meanwhile
			return fmt.Errorf("start %s: %w", n.name, errCrashedStarting)
		}
		inc.teardown()
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	g.h = forward(addr, n.rt.clock.real(dialTimeout))
	n.mu.Lock()
	if inc.down {
		n.mu.Unlock()
		return fmt.Errorf("start %s: %w", n.name, errCrashedStarting)
	}
	inc.wg.Add(2)
	n.mu.Unlock()
	go func() {
		defer inc.wg.Done()
		inc.srv.Serve(ln)
	}()
	go func() {
		defer inc.wg.Done()
		n.watch(inc)
	}()
	return nil
}

// specLocked is what the gen-th incarnation of the node is told; n.mu is
// held.
func (n *node) specLocked(gen int) nodeSpec {
	r := n.rt
	spec := nodeSpec{
		Node: n.name, Incarnation: gen, DB: n.path, Seed: r.opt.Seed, World: r.opt.World,
		Control: r.procs.control, URLs: map[string]string{}, Egress: map[string]string{}, Faults: n.faults.Clone(),
		Epoch: r.clock.start, Slowness: r.clock.slowness,
	}
	for name := range r.nodes {
		spec.URLs[name] = r.url(n.name, name)
	}
	for l, k := range r.links {
		if l.From == n.name {
			spec.Egress[l.To] = k.egress
		}
	}
	return spec
}

// watch records a node process that exits by itself, not killed by the
// runtime (its code panicked, or the race detector stopped it): the node
// is down until Restart or Heal, and the record says why. It runs as one
// of inc's processes from the moment the process serves.
func (n *node) watch(inc *incarnation) {
	<-inc.proc.exited
	if !n.markDown(inc) {
		return // killed by the runtime
	}
	n.rt.log.add("exited", n.name, fmt.Sprintf("%v: %s", inc.proc.cmd.ProcessState, inc.proc.stderr), "")
	inc.stop()
	if !n.rt.spawn(inc.teardown) {
		go inc.teardown()
	}
}

// pushLocked tells the node's running process its faults; n.mu is held.
// The function it returns waits, without n.mu, until they apply there.
func (n *node) pushLocked() (wait func()) {
	if inc := n.cur; n.proc && inc != nil && inc.proc != nil && !inc.down {
		return inc.proc.push(n.faults.Clone())
	}
	return func() {}
}
