// Package sim is the world txchaos runs patterns in: the services of a
// checkout (orders, payments, inventory, shipping, broker, rewards), their
// typed clients, and the runtime interface every node's code runs on.
//
// Service and pattern code never touches sockets, clocks, randomness or
// goroutines directly. It asks its Node, and the Node asks the Runtime, so
// that the live runtime (real sockets through Toxiproxy, sim/live) and a
// deterministic one can run the same code unchanged.
package sim

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"time"
)

// Runtime is what a runtime provides to the nodes it runs. Implementations
// must be safe for concurrent use.
type Runtime interface {
	// Now is the runtime's clock.
	Now() time.Time
	// Sleep waits d on the runtime's clock, or until ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
	// Go starts a logical process of node; it ends when fn returns or the
	// node crashes (ctx is cancelled).
	Go(node, name string, fn func(ctx context.Context))
	// Transport carries requests over the directed link from → to. It never
	// retries on its own: every retry is the caller's decision.
	Transport(from, to string) http.RoundTripper
	// CrashPoint is reached by node at the named point; it reports whether
	// the runtime has crashed the node there.
	CrashPoint(node, point string) bool
	// Rand returns a random number in [0,1) from node's seeded source.
	Rand(node string) float64
	// WithTimeout is context.WithTimeout on the runtime's clock.
	WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// ErrCrashed is returned to code running on a node that has crashed.
var ErrCrashed = errors.New("node crashed")

// Node is one service instance as its own code sees it: a name, a durable
// database, clients for the other services, and the runtime's clock,
// randomness, processes and crash points.
type Node struct {
	name string
	db   *sql.DB
	rt   Runtime
	ctx  context.Context
	url  func(service string) string

	started     time.Time
	callTimeout time.Duration
	broker      BrokerClient // nil: the log over HTTP
}

// NewNode is called by a runtime to give a started node its view of the
// world. ctx is cancelled when the node crashes or stops; url maps a service
// name to the base URL this node reaches it at.
func NewNode(name string, db *sql.DB, rt Runtime, ctx context.Context, url func(service string) string) *Node {
	return &Node{name: name, db: db, rt: rt, ctx: ctx, url: url, started: rt.Now()}
}

// Started is when this incarnation of the node started. Work an earlier
// incarnation left half-done has no driver left: a crash ended them all.
func (n *Node) Started() time.Time { return n.started }

// SetCallTimeout sets how long this node waits for one request to another
// service (DefaultCallTimeout when zero). Runtimes call it from the world's
// configuration.
func (n *Node) SetCallTimeout(d time.Duration) { n.callTimeout = d }

// SetBroker makes b this node's client for the event broker (Broker).
// Runtimes call it when the world runs another broker than the log
// (Config.Broker).
func (n *Node) SetBroker(b BrokerClient) { n.broker = b }

// CallTimeout is how long this node waits for one request to another
// service before the outcome is unknown.
func (n *Node) CallTimeout() time.Duration {
	if n.callTimeout > 0 {
		return n.callTimeout
	}
	return DefaultCallTimeout
}

// Name is the node's service name.
func (n *Node) Name() string { return n.name }

// DB is the node's durable database. Use the context-taking methods with a
// context derived from the request or process: a crash cancels it, and
// database/sql then rolls back whatever was not committed.
func (n *Node) DB() *sql.DB { return n.db }

// Context is cancelled when the node crashes or stops.
func (n *Node) Context() context.Context { return n.ctx }

// Now is the runtime's clock.
func (n *Node) Now() time.Time { return n.rt.Now() }

// Sleep waits d on the runtime's clock, or until ctx is done.
func (n *Node) Sleep(ctx context.Context, d time.Duration) error { return n.rt.Sleep(ctx, d) }

// Rand returns a random number in [0,1) from the node's seeded source.
func (n *Node) Rand() float64 { return n.rt.Rand(n.name) }

// Go starts a background process on the node (a relay, a drainer, a
// consumer). It stops when the node crashes.
func (n *Node) Go(name string, fn func(ctx context.Context)) { n.rt.Go(n.name, name, fn) }

// CrashPoint marks a named point in the node's code where a crash can be
// injected. If the runtime crashes the node here, CrashPoint does not
// return: the calling handler or process is aborted, as a real crash would.
func (n *Node) CrashPoint(point string) {
	if n.rt.CrashPoint(n.name, point) {
		panic(http.ErrAbortHandler)
	}
}

// WithTimeout is context.WithTimeout on the runtime's clock.
func (n *Node) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return n.rt.WithTimeout(ctx, d)
}

// Every runs fn every interval on the runtime's clock until ctx is done.
func (n *Node) Every(ctx context.Context, interval time.Duration, fn func(ctx context.Context)) {
	for {
		if n.Sleep(ctx, interval) != nil {
			return
		}
		fn(ctx)
	}
}

// HTTP returns a client for requests from this node to service, over the
// runtime's link. It has no timeout of its own: callers set deadlines on the
// request context.
func (n *Node) HTTP(service string) *http.Client {
	return &http.Client{Transport: n.rt.Transport(n.name, service)}
}

// URL is the base URL at which this node reaches service.
func (n *Node) URL(service string) string { return n.url(service) }
