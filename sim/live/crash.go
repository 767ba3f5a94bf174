package live

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// DefaultDowntime is how long a node crashed by its sim.NodeFaults (a crash
// rate or a crash point) stays down when the faults give no Downtime.
const DefaultDowntime = 200 * time.Millisecond

// crash stops inc hard and records fault (crash, crash-point) with detail
// and the order of the request it hit, if any.
// A restart follows after downtime, or never if downtime is zero (until
// Restart or Heal). With wait, crash returns once inc's handlers and
// processes have ended and its database is closed; without, that happens
// on a runtime goroutine, so that a handler or process of the node may
// crash it.
func (n *node) crash(inc *incarnation, fault, detail, order string, downtime time.Duration, wait bool) {
	n.crashAt(inc, fault, detail, order, "", downtime, wait)
}

// crashAt is crash at a named site.
func (n *node) crashAt(inc *incarnation, fault, detail, order, site string, downtime time.Duration, wait bool) {
	n.land(inc, nil, fault, detail, order, site, downtime, wait)
}

// decided is a crash of inc that the node's faults decided when n.heals
// was heals, without waiting: it lands unless Heal has run since (see
// Heal). decided reports whether inc is down, crashed now or before: false
// only when the crash did not land and inc goes on.
func (n *node) decided(inc *incarnation, heals uint64, fault, detail, order, site string, downtime time.Duration) bool {
	return n.land(inc, &heals, fault, detail, order, site, downtime, false) || inc.dead.Load()
}

// land is crashAt, only if Heal has not run since the crash was decided
// when heals is not nil. It reports whether the crash landed.
func (n *node) land(inc *incarnation, heals *uint64, fault, detail, order, site string, downtime time.Duration, wait bool) bool {
	if !n.markDownIf(inc, heals) {
		return false
	}
	n.rt.log.addAt(fault, n.name, detail, order, site) // before anyone can see the crash
	inc.stop()
	if downtime > 0 {
		n.scheduleRestart(downtime)
	}
	switch {
	case wait:
		inc.teardown()
	case !n.rt.spawn(inc.teardown):
		go inc.teardown() // Stop has begun and waits for inc.done
	}
	return true
}

// scheduleRestart restarts the node after d on the runtime's clock, on a
// runtime goroutine, replacing any restart already pending.
func (n *node) scheduleRestart(d time.Duration) {
	n.mu.Lock()
	n.cancelRestartLocked()
	cancel := make(chan struct{})
	n.pending = cancel
	n.mu.Unlock()
	n.rt.spawn(func() {
		t := time.NewTimer(n.rt.clock.real(d))
		defer t.Stop()
		select {
		case <-t.C:
		case <-cancel:
			return
		case <-n.rt.quit:
			return
		}
		n.mu.Lock()
		if n.pending != cancel {
			n.mu.Unlock()
			return
		}
		n.pending = nil
		n.mu.Unlock()
		err := n.start(n.rt.root)
		if err != nil && !errors.Is(err, errCrashedStarting) && !errors.Is(err, errStopped) {
			n.rt.log.add("restart-failed", n.name, err.Error(), "") // the node stays down until Restart or Heal
		}
	})
}

// cancelRestartLocked cancels the pending delayed restart, if any.
func (n *node) cancelRestartLocked() {
	if n.pending != nil {
		close(n.pending)
		n.pending = nil
	}
}

// downtimeLocked is how long a crash caused by the node's faults lasts.
func (n *node) downtimeLocked() time.Duration {
	if n.faults.Downtime > 0 {
		return n.faults.Downtime
	}
	return DefaultDowntime
}

// CrashPoint implements sim.Runtime. With probability CrashPoints[point] of
// the node's faults it crashes the node (recorded as crash-point), schedules
// its restart after the faults' Downtime and reports true; the caller then
// aborts. It also reports true, without a roll, to code still running on a
// node that is down: a crashed node's code must not go on.
func (r *Runtime) CrashPoint(node, point string) bool {
	n := r.nodes[node]
	if n == nil {
		return false
	}
	n.mu.Lock()
	inc := n.cur
	n.mu.Unlock()
	if inc == nil {
		return false
	}
	return n.crashPoint(inc, point)
}

// crashPoint is CrashPoint for code of incarnation inc (a node process's
// runs in that process, which asks over the control channel: process.go).
func (n *node) crashPoint(inc *incarnation, point string) bool {
	n.mu.Lock()
	if inc.down {
		n.mu.Unlock()
		return true
	}
	p := n.faults.CrashPoints[point]
	hit := p > 0 && n.rng.Float64() < p
	downtime, heals := n.downtimeLocked(), n.heals
	n.mu.Unlock()
	return hit && n.decided(inc, heals, "crash-point", point, "", "", downtime)
}

// fate is what the node's faults do to one request.
type fate int

const (
	serve       fate = iota // no fault
	failFast                // a transient 503 before the service acts
	crashBefore             // crash before the service acts
	crashAfter              // crash after the service acted, before the answer leaves
)

// roll decides the fate of one request from the node's faults; a crash
// lasts the downtime and was decided at the heals returned (see decided).
func (n *node) roll() (fate, time.Duration, uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f := n.faults
	switch {
	case f.ErrorRate > 0 && n.rng.Float64() < f.ErrorRate:
		return failFast, 0, n.heals
	case f.CrashRate > 0 && n.rng.Float64() < f.CrashRate:
		if n.rng.Float64() < 0.5 {
			return crashBefore, n.downtimeLocked(), n.heals
		}
		return crashAfter, n.downtimeLocked(), n.heals
	}
	return serve, 0, n.heals
}

// guard is the runtime's middleware around a service's handler, one per
// incarnation: it admits requests only while the incarnation is up, tracks
// them so that a crash waits for them to end, and applies the node's
// request faults.
type guard struct {
	n   *node
	inc *incarnation
	h   http.Handler // the service's; set before the server starts
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.n.enter(g.inc) == nil {
		panic(http.ErrAbortHandler) // crashed: cut the connection, no answer
	}
	defer g.inc.wg.Done()
	req, order := r.Method+" "+r.URL.Path, r.Header.Get(sim.OrderHeader)
	f, downtime, heals := g.n.roll()
	switch f {
	case failFast:
		g.n.rt.log.add("error", g.n.name, req, order)
		sim.WriteError(w, http.StatusServiceUnavailable, "injected_error", g.n.name+" failed transiently before acting (injected fault)")
	case crashBefore:
		if g.n.decided(g.inc, heals, "crash", "before "+req, order, "", downtime) {
			panic(http.ErrAbortHandler)
		}
		g.h.ServeHTTP(w, r) // healed meanwhile
	case crashAfter:
		held := &heldWriter{header: http.Header{}}
		g.h.ServeHTTP(held, r)
		if g.n.decided(g.inc, heals, "crash", "after "+req, order, "", downtime) {
			panic(http.ErrAbortHandler)
		}
		held.send(w) // healed while the service acted: the answer leaves
	default:
		g.h.ServeHTTP(w, r)
	}
}

// heldWriter keeps an answer in memory: it never reaches the connection.
type heldWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *heldWriter) Header() http.Header { return w.header }

// send writes the held answer to to.
func (w *heldWriter) send(to http.ResponseWriter) {
	for k, v := range w.header {
		to.Header()[k] = v
	}
	if w.status != 0 {
		to.WriteHeader(w.status)
	}
	to.Write(w.body.Bytes()) //nolint:errcheck // the caller is gone: nothing to do
}

func (w *heldWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *heldWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// Crash implements sim.Controller: it stops node hard now (recorded as
// crash) and returns once the node's handlers and processes have ended and
// its database is closed. The node restarts after downtime, or never if
// downtime is zero, until Restart or Heal. Crashing a node that is down
// does nothing. Crash must not be called by the node's own code, which
// would wait for itself: node code crashes itself with a crash point.
func (r *Runtime) Crash(node string, downtime time.Duration) error {
	n, err := r.serviceNode(node)
	if err != nil {
		return err
	}
	if r.isStopped() {
		return errStopped
	}
	n.mu.Lock()
	inc := n.cur
	n.mu.Unlock()
	if inc != nil {
		n.crash(inc, "crash", "", "", downtime, true)
	}
	return nil
}

// Restart implements sim.Controller: it starts a crashed node again on its
// own files now, cancelling its pending delayed restart. Restarting a node
// that is up does nothing. ctx bounds the wait for the crashed instance to
// wind down.
func (r *Runtime) Restart(ctx context.Context, node string) error {
	n, err := r.serviceNode(node)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.cancelRestartLocked()
	n.mu.Unlock()
	return n.start(ctx)
}

// gate is one database connection's sim.Gate for an incarnation: a
// crashed incarnation's database refuses statements, and once its service
// has started each commit is a site of the node's commit crashes.
type gate struct {
	n     *node
	inc   *incarnation
	after string // the site of a commit after which to crash, or ""
	heals uint64 // the node's heals when that crash was decided
}

// BeforeCommit implements sim.Gate: a crash decided "before" the k-th
// commit of the node happens here, and the commit is rolled back.
func (g *gate) BeforeCommit() bool {
	if g.inc.dead.Load() {
		return true
	}
	if !g.inc.serving.Load() {
		return false
	}
	n := g.n
	n.mu.Lock()
	n.commits++
	k, f, downtime, heals := n.commits, n.faults, n.downtimeLocked(), n.heals
	n.mu.Unlock()
	site := sim.CommitSite(n.name, "", k) // which request a commit serves is not known here: numbered per node
	crash, before := f.CommitFault(n.rt.opt.Seed, site)
	if !crash {
		return false
	}
	if before {
		return n.decided(g.inc, heals, "crash-commit", "before the commit", "", site, downtime)
	}
	g.after, g.heals = site, heals
	return false
}

// AfterStatement implements sim.Gate: a crash decided "after" a commit
// happens once the statement that committed has returned.
func (g *gate) AfterStatement() {
	if site := g.after; site != "" {
		g.after = ""
		n := g.n
		n.mu.Lock()
		downtime := n.downtimeLocked()
		n.mu.Unlock()
		n.decided(g.inc, g.heals, "crash-commit", "after the commit", "", site, downtime)
	}
}

// Refuses implements sim.Gate.
func (g *gate) Refuses() bool { return g.inc.dead.Load() }
