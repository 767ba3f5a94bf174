package det

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// node is one service (or the client) across its incarnations.
type node struct {
	name    string
	svc     sim.Service // nil for the client
	store   *store      // its database; nil for the client
	cur     *incarnation
	num     int // incarnations so far
	faults  sim.NodeFaults
	rng     *rand.Rand         // the node's fault rolls
	restart *timer             // the pending delayed restart, or nil
	commits counts             // commits of its started incarnations so far, per order: site numbers
	visits  map[string]*counts // visits to each crash point so far, by point, per order: site numbers
	s       *sched
	rt      *Runtime
}

// incarnation is one run of a node, from a start to a crash or Stop.
type incarnation struct {
	n      *node
	num    int
	ctx    context.Context // cancelled by the crash
	cancel context.CancelFunc
	sn     *sim.Node
	db     *sql.DB      // nil for the client
	h      http.Handler // the service's; nil until its Start returns
	down   bool         // crashed or stopped
	procs  []*proc      // its live processes, request handlers included
	calls  []*call      // requests in flight to it
	torn   bool         // its processes have ended and its database is closed
	err    error        // closing the database
	// crashAfter is the site of a commit in progress after which the
	// incarnation crashes (a commit crash decided "after"), or "".
	crashAfter string
}

func (r *Runtime) newNode(name string, svc sim.Service, st *store) *node {
	return &node{name: name, svc: svc, store: st, rng: newRand(r.opt.Seed, "faults/"+name), s: r.s, rt: r}
}

// errCrashedStarting reports that the node crashed while its service was
// starting (a crash point, or Crash during the start).
var errCrashedStarting = errors.New("crashed while starting")

// start starts a new incarnation of n unless one is up: it waits for the
// last one to wind down, opens the database, records a restart (unless this
// is the first start) and calls the service's Start. It runs on the baton
// holder, which it may park.
func (r *Runtime) start(n *node) error {
	if r.stopped || r.s.stopping {
		return fmt.Errorf("start %s: %w", n.name, errStopped)
	}
	prev := n.cur
	if prev != nil {
		if !prev.down {
			return nil
		}
		if !prev.torn {
			r.s.await(r.s.cur, n.name+" to wind down", func() bool { return prev.torn })
			if n.cur != prev { // started by another process meanwhile
				return nil
			}
		}
	}
	n.num++
	inc := &incarnation{n: n, num: n.num}
	inc.ctx, inc.cancel = context.WithCancel(r.root)
	url := func(service string) string { return "http://" + service }
	if n.svc == nil { // the client: no service, no database
		inc.sn = r.simNode(n.name, nil, inc.ctx, url)
		n.cur = inc
		return nil
	}
	db, err := n.store.open(&r.s.openTx, inc)
	if err != nil {
		inc.cancel()
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	inc.db = db
	inc.sn = r.simNode(n.name, db, inc.ctx, url)
	n.cur = inc // processes started by the service's Start belong to inc
	if prev != nil {
		r.record("restart", n.name, "", "") // before the service's Start, which may reach a crash point
	}
	h, err := startService(n.svc, inc.sn)
	if err == nil && h == nil {
		err = errors.New("the service returned no handler")
	}
	if err != nil {
		if !inc.down {
			r.halt(inc)
		}
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	if inc.down {
		return fmt.Errorf("start %s: %w", n.name, errCrashedStarting)
	}
	inc.h = h
	return nil
}

func (r *Runtime) simNode(name string, db *sql.DB, ctx context.Context, url func(string) string) *sim.Node {
	sn := sim.NewNode(name, db, r, ctx, url)
	sn.SetCallTimeout(r.world.Config.CallTimeout)
	return sn
}

// startService calls the service's Start; a crash point hit during it
// (a panic with http.ErrAbortHandler) is an error.
func startService(svc sim.Service, sn *sim.Node) (h http.Handler, err error) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			err = errCrashedStarting
		}
	}()
	return svc.Start(sn)
}

// halt stops inc hard: no new request or process is admitted, its context
// is cancelled (database/sql rolls back open transactions), requests in
// flight to it are cut and its processes are aborted at their next step.
// Once they have all ended its database is closed.
//
// The contexts are cancelled at the scheduler's next step, once the
// process that crashed the node (perhaps its own, at a crash point) has
// unwound and rolled back what it had open: database/sql would otherwise
// roll it back on a goroutine of its own, beside the next process.
func (r *Runtime) halt(inc *incarnation) {
	inc.down = true
	r.s.cancels = append(r.s.cancels, inc.cancel)
	inc.cutCalls()
	for _, p := range append([]*proc(nil), inc.procs...) {
		r.s.abort(p)
	}
	if len(inc.procs) == 0 {
		inc.teardown()
	}
}

// crash halts inc and records fault (crash, crash-point) with detail and
// the order of the request it hit, if any. A restart follows after
// downtime, or never if downtime is zero (until Restart or Heal).
func (r *Runtime) crash(inc *incarnation, fault, detail, order string, downtime time.Duration) {
	r.crashAt(inc, fault, detail, order, "", downtime)
}

// crashAt is crash at a named site.
func (r *Runtime) crashAt(inc *incarnation, fault, detail, order, site string, downtime time.Duration) {
	if inc.down {
		return
	}
	r.recordAt(fault, inc.n.name, detail, order, site) // before anyone can see the crash
	r.halt(inc)
	if downtime > 0 {
		r.scheduleRestart(inc.n, downtime)
	}
}

// teardown closes inc's database once. Its processes have ended.
func (inc *incarnation) teardown() {
	if inc.torn {
		return
	}
	inc.torn = true
	inc.cancel()
	if inc.db != nil {
		inc.err = inc.db.Close()
	}
}

// cutCalls fails every request in flight to inc, as a closed connection.
func (inc *incarnation) cutCalls() {
	calls := inc.calls
	inc.calls = nil
	for _, c := range calls {
		c.idx = -1
		c.cut(inc.n.s, fmt.Errorf("connection reset: %s crashed", inc.n.name))
	}
}

// scheduleRestart restarts n after d, replacing any restart pending.
func (r *Runtime) scheduleRestart(n *node, d time.Duration) {
	n.cancelRestart()
	n.restart = r.s.addTimer(r.s.now.Add(d), nil, func() {
		n.restart = nil
		r.s.spawn(nil, "restart "+n.name, func() {
			err := r.start(n)
			if err != nil && !errors.Is(err, errCrashedStarting) && !errors.Is(err, errStopped) {
				r.record("restart-failed", n.name, err.Error(), "") // the node stays down until Restart or Heal
			}
		})
	})
}

// cancelRestart cancels the pending delayed restart, if any.
func (n *node) cancelRestart() {
	if n.restart != nil {
		n.s.removeTimer(n.restart)
		n.restart = nil
	}
}

// downtime is how long a crash caused by the node's faults lasts.
func (n *node) downtime() time.Duration {
	if n.faults.Downtime > 0 {
		return n.faults.Downtime
	}
	return DefaultDowntime
}

// CrashPoint implements sim.Runtime. Each call by an incarnation that is
// up is a visit (sim.VisitSite). Where the schedule says so, or with
// probability CrashPoints[point] of the node's faults, it crashes the
// node (recorded as crash-point), schedules
// its restart after the faults' Downtime and reports true; the caller then
// aborts. It also reports true, without a roll, to code of an incarnation
// that is down: a crashed node's code must not go on.
func (r *Runtime) CrashPoint(node, point string) bool {
	n := r.nodes[node]
	if n == nil || n.svc == nil {
		return false
	}
	inc := n.cur
	if p := r.s.cur; p != nil && p.inc != nil && p.inc.n == n {
		inc = p.inc
	}
	if inc == nil {
		return false
	}
	if inc.down {
		return true
	}
	if n.visits == nil {
		n.visits = map[string]*counts{}
	}
	visits := n.visits[point]
	if visits == nil {
		visits = new(counts)
		n.visits[point] = visits
	}
	order := r.s.cur.order()
	site := sim.VisitSite(node, point, order, visits.next(r.sites.order(order)))
	r.sites.pass(site, sim.SlotVisit)
	prob := n.faults.CrashPoints[point]
	crash := prob > 0 && n.rng.Float64() < prob
	if _, ok := r.sites.decision(site, sim.SlotVisit); ok {
		crash = true
	}
	if !crash {
		return false
	}
	r.take(sim.Decision{Site: site, Fault: sim.FaultCrashPoint}, point)
	r.crashAt(inc, "crash-point", point, "", site, n.downtime())
	return true
}

// handling is what the node's faults do to one request.
type handling int

const (
	serve       handling = iota // no fault
	failFast                    // a transient 503 before the service acts
	crashBefore                 // crash before the service acts
	crashAfter                  // crash after the service acted, before the answer leaves
)

// roll decides the fate of one request from the node's faults, drawing as
// the live runtime does.
func (n *node) roll() handling {
	f := n.faults
	switch {
	case f.ErrorRate > 0 && n.rng.Float64() < f.ErrorRate:
		return failFast
	case f.CrashRate > 0 && n.rng.Float64() < f.CrashRate:
		if n.rng.Float64() < 0.5 {
			return crashBefore
		}
		return crashAfter
	}
	return serve
}

// serveFate decides what node n does with c, the request at c.site
// (name, for order): the schedule's decision if it has one, else a roll
// of the node's faults. It records the decision; the crash itself is
// recorded where it happens.
func (r *Runtime) serveFate(n *node, c *call, name, order string) handling {
	site := c.site
	c.passes[1] = r.sites.pass(site, sim.SlotServe)
	fate := n.roll()
	if d, ok := r.sites.decision(site, sim.SlotServe); ok {
		switch {
		case d.Fault == sim.FaultError:
			fate = failFast
		case d.After:
			fate = crashAfter
		default:
			fate = crashBefore
		}
	}
	switch fate {
	case failFast:
		r.recordAt(sim.FaultError, n.name, name, order, site)
		r.take(sim.Decision{Site: site, Fault: sim.FaultError}, name)
	case crashBefore, crashAfter:
		r.take(sim.Decision{Site: site, Fault: sim.FaultCrash, After: fate == crashAfter}, name)
	}
	return fate
}

// record adds an applied fault at the current virtual time.
func (r *Runtime) record(fault, target, detail, order string) {
	r.log = append(r.log, sim.Applied{At: r.elapsed(), Fault: fault, Target: target, Detail: detail, Order: order})
}

// recordAt adds an applied fault decided at a named site.
func (r *Runtime) recordAt(fault, target, detail, order, site string) {
	r.log = append(r.log, sim.Applied{At: r.elapsed(), Fault: fault, Target: target, Detail: detail, Order: order, Site: site})
}

// beforeCommit is called by SQLite at each commit on inc's database,
// before it takes effect; a non-zero result turns the commit into a
// rollback. A crashed incarnation commits nothing. Once the service has
// started, each commit is a site of the node's commit crashes: a crash
// decided "before" happens here, and the commit is rolled back; one
// decided "after" happens once the statement that commits has returned
// (afterStatement). changed says whether the transaction changed a row:
// a commit that changes none is an idle site (sim.Pass).
func (inc *incarnation) beforeCommit(changed bool) int32 {
	if inc.down {
		return 1
	}
	if inc.h == nil {
		return 0
	}
	n, r := inc.n, inc.n.rt
	order := n.s.cur.order()
	site := sim.CommitSite(n.name, order, n.commits.next(r.sites.order(order)))
	if i := r.sites.pass(site, sim.SlotCommit); i >= 0 && !changed {
		r.sites.passed.SetIdle(i)
	}
	crash, before := n.faults.CommitFault(r.opt.Seed, site)
	if d, ok := r.sites.decision(site, sim.SlotCommit); ok {
		crash, before = true, !d.After
	}
	if !crash {
		return 0
	}
	r.take(sim.Decision{Site: site, Fault: sim.FaultCrashCommit, After: !before}, "")
	if before {
		n.rt.crashAt(inc, "crash-commit", "before the commit", "", site, n.downtime())
		return 1
	}
	inc.crashAfter = site
	return 0
}

// afterStatement crashes inc if the statement that just returned
// committed at a site decided "after".
func (inc *incarnation) afterStatement() {
	if site := inc.crashAfter; site != "" {
		inc.crashAfter = ""
		inc.n.rt.crashAt(inc, "crash-commit", "after the commit", "", site, inc.n.downtime())
	}
}

// refuses reports whether inc's database refuses statements: it crashed.
// Its code may run on until its next call to the runtime, but nothing it
// does reaches the database.
func (inc *incarnation) refuses() bool { return inc.down }
