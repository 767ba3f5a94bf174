package live

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// IsNode reports whether this process was started by a live runtime as a
// node process (NodeEnv is set): it must then call ServeNode and exit.
func IsNode() bool { return os.Getenv(NodeEnv) != "" }

// ServeNode serves the node this process was started as, with the world
// build makes of Options.World, until the runtime kills it or goes away;
// it returns the process's exit status. A binary that starts worlds with
// IsolationProcess calls it first thing when IsNode (scenarios.NodeMain
// does both), or in TestMain for go test: the runtime runs its own binary
// as the nodes.
func ServeNode(build func(world []byte) (sim.World, error)) int {
	if err := serveNode(os.Stdin, os.Stdout, build); err != nil {
		fmt.Fprintf(os.Stderr, "txchaos node %s: %v\n", os.Getenv(NodeEnv), err)
		return 1
	}
	return 0
}

// exitCrashed is a node process's status when it stops at a crash point
// the runtime did not let it pass (the runtime kills it there first).
const exitCrashed = 3

// serveNode reads the node's spec from in, serves the node and writes its
// address to out, then applies the faults in reads from in until in ends.
func serveNode(in io.Reader, out io.Writer, build func([]byte) (sim.World, error)) error {
	rd := bufio.NewReader(in)
	line, err := rd.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("reading the node's spec: %w", err)
	}
	var spec nodeSpec
	if err := json.Unmarshal(line, &spec); err != nil {
		return fmt.Errorf("reading the node's spec: %w", err)
	}
	w, err := build(spec.World)
	if err != nil {
		return fmt.Errorf("building the world: %w", err)
	}
	svc := w.Services[spec.Node]
	if svc == nil {
		return fmt.Errorf("the world has no service %q", spec.Node)
	}
	var outMu sync.Mutex
	say := func(format string, args ...any) { // a line to the runtime
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newChild(ctx, spec)
	db, err := sim.OpenGated(spec.DB, func() sim.Gate { return &childGate{c: c} })
	if err != nil {
		return err
	}
	defer db.Close()
	go func() { // the runtime's messages; the end of its pipe is the runtime gone
		defer cancel()
		for {
			line, err := rd.ReadBytes('\n')
			if err != nil {
				return
			}
			var m nodeMsg
			if json.Unmarshal(line, &m) == nil && m.Faults != nil {
				c.setFaults(*m.Faults)
				say("%s%d", ackPrefix, m.Seq)
			}
		}
	}()
	url := func(service string) string {
		if u, ok := spec.URLs[service]; ok {
			return u
		}
		return "http://" + service + ".no-link.invalid"
	}
	sn := sim.NewNode(spec.Node, db, c, ctx, url)
	sn.SetCallTimeout(w.Config.CallTimeout)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	h, err := startChild(svc, sn)
	if err != nil {
		ln.Close()
		return fmt.Errorf("starting the service: %w", err)
	}
	c.serving.Store(true) // its commits are crash sites from now on
	srv := &http.Server{Handler: h, BaseContext: func(net.Listener) context.Context { return ctx }, ReadHeaderTimeout: time.Minute}
	go srv.Serve(ln)
	say("%s%s", readyPrefix, ln.Addr())
	<-ctx.Done()
	srv.Close()
	c.wait(5 * time.Second)
	return nil
}

// startChild calls the service's Start. A crash point it reaches that the
// runtime does not let pass ends the process (child.CrashPoint).
func startChild(svc sim.Service, sn *sim.Node) (http.Handler, error) {
	h, err := svc.Start(sn)
	if err == nil && h == nil {
		err = errors.New("the service returned no handler")
	}
	return h, err
}

// child is the sim.Runtime of a node process: the runtime's clock (the
// wall clock slowed down as the runtime's is), its own processes and
// random source, its requests sent through the runtime that
// started it (which decides their faults), and its crash points asked of
// that runtime.
type child struct {
	ctx   context.Context
	spec  nodeSpec
	clock clock
	ctl   *http.Client

	mu     sync.Mutex
	faults sim.NodeFaults
	rng    *rand.Rand
	trs    map[string]http.RoundTripper

	serving atomic.Bool   // the service has started: its commits are sites
	unasked atomic.Uint64 // commits since the last question about one (nodegate.go)

	wg sync.WaitGroup // processes
}

var _ sim.Runtime = (*child)(nil)

func newChild(ctx context.Context, spec nodeSpec) *child {
	stream := "rand/" + spec.Node // the first incarnation draws as in the runtime's process
	if spec.Incarnation > 1 {
		stream += "/" + strconv.Itoa(spec.Incarnation)
	}
	return &child{
		ctx: ctx, spec: spec, clock: clock{start: spec.Epoch, slowness: spec.Slowness},
		faults: spec.Faults, rng: newRand(spec.Seed, stream), trs: map[string]http.RoundTripper{},
		ctl: &http.Client{Transport: &http.Transport{Proxy: nil}},
	}
}

func (c *child) setFaults(f sim.NodeFaults) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = f
}

// Now implements sim.Runtime: the runtime's clock, which the process
// keeps from the epoch and slowness it was told (nodeSpec).
func (c *child) Now() time.Time { return c.clock.now() }

// Sleep implements sim.Runtime: d on the runtime's clock.
func (c *child) Sleep(ctx context.Context, d time.Duration) error {
	return c.clock.sleep(ctx, d)
}

// WithTimeout implements sim.Runtime: d on the runtime's clock.
func (c *child) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.clock.real(d))
}

// Rand implements sim.Runtime: the node's source, seeded by the run's
// seed, the node and its incarnation.
func (c *child) Rand(string) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rng.Float64()
}

// Go implements sim.Runtime: fn runs until the process ends.
func (c *child) Go(_, _ string, fn func(ctx context.Context)) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer recoverAbort()
		fn(c.ctx)
	}()
}

// wait waits up to d for the processes to end.
func (c *child) wait(d time.Duration) {
	done := make(chan struct{})
	go func() {
		c.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// Transport implements sim.Runtime: a request to service goes to the
// runtime's egress for the link, a new connection each, with its deadline,
// and the runtime sends it over the link.
func (c *child) Transport(from, to string) http.RoundTripper {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tr := c.trs[to]; tr != nil && from == c.spec.Node {
		return tr
	}
	addr, ok := c.spec.Egress[to]
	if from != c.spec.Node || !ok {
		return noLink{sim.Link{From: from, To: to}}
	}
	tr := deadlineTransport{laneTransport(addr, c.clock.real(dialTimeout))}
	c.trs[to] = tr
	return tr
}

// CrashPoint implements sim.Runtime: when the node's faults give point a
// chance, the runtime decides; if it crashes the node here, it kills this
// process before it answers. A process that cannot hear its answer stops
// here too: it must not go on past a crash point it was not let through.
func (c *child) CrashPoint(node, point string) bool {
	if node != c.spec.Node {
		return false
	}
	c.mu.Lock()
	p := c.faults.CrashPoints[point]
	c.mu.Unlock()
	if p <= 0 {
		return false
	}
	if _, ok := c.ask("/crashpoint", url.Values{"point": {point}}); ok {
		return false
	}
	os.Exit(exitCrashed)
	return true
}
