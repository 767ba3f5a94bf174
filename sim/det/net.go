package det

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/txchaos/txchaos/sim"
)

// link is a directed link of the world: its faults and the seeded sources
// that decide each request's fate and delays. It is the link's
// http.RoundTripper.
type link struct {
	r    *Runtime
	l    sim.Link
	name string
	// What a caller waits for, by phase, for deadlock reports.
	waitNet, waitAnswer, waitLost string
	faults                        sim.LinkFaults
	rng                           *rand.Rand // fault rolls, as the live runtime's
	net                           *rand.Rand // network delays
	sent                          uint64     // requests sent so far: the last one's number
	answered                      uint64     // the highest number answered so far
	perOrder                      counts     // requests sent so far per order: site numbers
}

// lane is what the link does with one request, as the live runtime's
// lanes.
type lane int

const (
	clean lane = iota // delivered, answered
	drop              // never delivered
	lost              // delivered and handled, the answer never comes back
)

// fate is what the network does to one request.
type fate struct {
	lane  lane
	extra string        // sim.SiteLate, SiteDuplicate, SiteReorder or SiteClean, on a clean lane
	delay time.Duration // injected latency
	wait  time.Duration // late's, duplicate's delay, reorder's hold: zero for the default
	pass  int           // the index of the request's pass (sites.passed), or -1
}

// decide decides the fate of the request at site: the schedule's
// decisions where it has some, else the link's faults, drawn as the live
// runtime draws them. It records every fault it decides.
func (k *link) decide(req *http.Request, site string) fate {
	r, f := k.r, k.faults
	var ft fate
	ft.pass = r.sites.pass(site, sim.SlotNet)
	fault := ""
	switch {
	case f.Down:
		ft.lane, fault = drop, "partition"
	case f.DropRequest > 0 || f.LostResponse > 0:
		switch u := k.rng.Float64(); {
		case u < f.DropRequest:
			ft.lane, fault = drop, sim.FaultDropRequest
		case u < f.DropRequest+f.LostResponse:
			ft.lane, fault = lost, sim.FaultLostResponse
		}
	}
	if !f.Down && (f.Latency > 0 || f.Jitter > 0) {
		ft.delay = f.Latency
		if f.Jitter > 0 {
			ft.delay += time.Duration(k.rng.Int64N(2*int64(f.Jitter)+1)) - f.Jitter
		}
		ft.delay = max(ft.delay, 0)
	}
	if ft.lane == clean {
		switch ft.extra = f.SiteFault(r.opt.Seed, site); ft.extra {
		case sim.SiteLate:
			ft.wait = f.LateDelay
		case sim.SiteDuplicate:
			ft.wait = f.DuplicateDelay
		case sim.SiteReorder:
			ft.wait = f.ReorderHold
		}
		fault = ft.extra
	}
	if !f.Down {
		if d, ok := r.sites.decision(site, sim.SlotNet); ok {
			ft.lane, ft.extra, ft.wait, fault = clean, sim.SiteClean, d.Delay, d.Fault
			switch d.Fault {
			case sim.FaultDropRequest:
				ft.lane = drop
			case sim.FaultLostResponse:
				ft.lane = lost
			default:
				ft.extra = d.Fault
			}
		}
		if d, ok := r.sites.decision(site, sim.SlotDelay); ok {
			ft.delay = d.Delay
		}
	}
	detail, order := req.Method+" "+req.URL.Path, req.Header.Get(sim.OrderHeader)
	if ft.delay > 0 {
		r.recordAt(sim.FaultLatency, k.name, detail, order, site)
		r.take(sim.Decision{Site: site, Fault: sim.FaultLatency, Delay: ft.delay}, detail)
	}
	if fault != "" {
		r.recordAt(fault, k.name, detail, order, site)
		if fault != "partition" { // a partition's window is the nemesis's
			r.take(sim.Decision{Site: site, Fault: fault, Delay: ft.wait}, detail)
		}
	}
	return ft
}

// site numbers the next request over the link about order and names it.
func (k *link) site(order string) string {
	return sim.RequestSite(k.l, order, k.perOrder.next(k.r.sites.order(order)))
}

// hop is one network delay.
func (k *link) hop() time.Duration {
	if k.r.opt.NetDelay <= 0 {
		return 0
	}
	return time.Duration(k.net.Int64N(int64(k.r.opt.NetDelay)))
}

// call is one request in flight to a node's handler.
type call struct {
	caller *proc // nil for a copy nobody waits for (a duplicate)
	inc    *incarnation
	idx    int    // index in inc.calls; -1 once removed
	seq    uint64 // the request's number on its link
	site   string // the request's site; a second copy's is its CopySite
	order  string // the order it is about (sim.OrderHeader), or ""
	passes [2]int // the indices of its net and serve passes (sites.passed), or -1
	// changed: its handler changed a row of a database
	changed bool
	lost    bool
	gone    bool // the caller stopped waiting
	done    bool // the answer (or the cut) has reached the caller
	rec     *recorder
	err     error
	cancel  context.CancelFunc // the handler's request context
}

// waiting reports whether c's caller is parked waiting for c.
func (c *call) waiting() bool { return c.caller != nil && c.caller.call == c }

// cut fails c as a closed connection would: its caller hears at once.
// The handler's context ends at the scheduler's next step (see halt).
func (c *call) cut(s *sched, err error) {
	s.cancels = append(s.cancels, c.cancel)
	if c.done || c.lost {
		return
	}
	c.done, c.err = true, err
	if c.waiting() {
		s.ready(c.caller, wokeOther)
	}
}

// RoundTrip implements http.RoundTripper: it decides the request's fate by
// the link's faults, waits out the network's delay on the virtual clock,
// runs the target's handler as a process of the target's current
// incarnation and waits for its answer or the request's context. It never
// retries.
func (k *link) RoundTrip(req *http.Request) (*http.Response, error) {
	var (
		resp *http.Response
		err  error
	)
	if merr := k.r.do(req.Context(), func(p *proc) error {
		resp, err = k.roundTrip(p, req)
		return nil
	}); merr != nil {
		return nil, merr
	}
	return resp, err
}

func (k *link) roundTrip(p *proc, req *http.Request) (*http.Response, error) {
	s := k.r.s
	if p.aborted {
		panic(http.ErrAbortHandler)
	}
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("link %s: reading the request body: %w", k.name, err)
		}
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil { // never sent: nothing to decide
		return nil, fmt.Errorf("link %s: %w", k.name, err)
	}
	sent := s.now
	site := k.site(req.Header.Get(sim.OrderHeader))
	ft := k.decide(req, site)
	k.sent++
	seq := k.sent
	if ft.extra == sim.SiteLate {
		deadline, ok := ctx.Deadline()
		at := sim.LinkFaults{LateDelay: ft.wait}.LateAt(sent, deadline, ok)
		return k.late(p, ctx, req, body, seq, site, ft.pass, at)
	}
	if err := s.sleep(p, ctx, ft.delay+k.hop(), k.waitNet); err != nil {
		return nil, err // never delivered
	}
	if ft.lane == drop {
		return nil, k.blackHole(p, ctx)
	}
	if ft.extra == sim.SiteReorder {
		hold := sim.LinkFaults{ReorderHold: ft.wait}.Hold()
		if err := k.hold(p, ctx, seq, hold); err != nil {
			return nil, err // never delivered
		}
	}
	c := &call{caller: p, seq: seq, site: site, passes: [2]int{ft.pass, -1}, lost: ft.lane == lost, rec: newRecorder()}
	if err := k.deliver(c, req, body); err != nil {
		return nil, err
	}
	if ft.extra == sim.SiteDuplicate {
		dup := &call{seq: seq, site: sim.CopySite(site), passes: [2]int{-1, -1}, gone: true, rec: newRecorder()}
		if d := ft.wait - s.now.Sub(sent); d > 0 {
			k.later(s.now.Add(d), dup, req, body)
		} else {
			k.deliver(dup, req, body)
		}
	}
	defer func() {
		if !c.done { // the caller hangs up (gave up, or crashed): the handler's context ends
			c.gone = true
			c.cancel()
		}
	}()
	if c.lost {
		return nil, k.blackHole(p, ctx)
	}
	return k.await(p, ctx, c, req)
}

// await waits for c's answer or the end of ctx.
func (k *link) await(p *proc, ctx context.Context, c *call, req *http.Request) (*http.Response, error) {
	if !c.done {
		p.call, p.done, p.what = c, ctx.Done(), k.waitAnswer
		k.r.s.park(p)
	}
	if !c.done {
		return nil, ctx.Err()
	}
	if c.err != nil {
		return nil, c.err
	}
	return c.rec.response(req), nil
}

// deliver hands c's request to the target's current incarnation: its
// handler runs as a process of it, on a request whose context ends when
// the handler returns, the node crashes or (for a call its caller waits
// for, see roundTrip) the caller hangs up. It fails when the target is
// down.
func (k *link) deliver(c *call, req *http.Request, body []byte) error {
	s := k.r.s
	to := k.r.nodes[k.l.To]
	inc := to.cur
	if inc == nil || inc.down || inc.h == nil {
		k.r.sites.idle(c, req.Header.Get(sim.OrderHeader))
		err := fmt.Errorf("connection refused: %s is down", k.l.To)
		if !c.done && !c.gone {
			c.done, c.err = true, err
			if c.waiting() {
				s.ready(c.caller, wokeOther)
			}
		}
		return err
	}
	hctx, hcancel := context.WithCancel(inc.ctx)
	u := *req.URL
	sreq := &http.Request{
		Method:     req.Method,
		URL:        &u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     req.Header.Clone(),
		Body:       http.NoBody,
		Host:       u.Host,
		RemoteAddr: k.l.From + ":0",
		RequestURI: u.RequestURI(),
	}
	if len(body) > 0 {
		sreq.Body, sreq.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	}
	sreq = sreq.WithContext(hctx)
	c.inc, c.idx, c.cancel, c.order = inc, len(inc.calls), hcancel, req.Header.Get(sim.OrderHeader)
	inc.calls = append(inc.calls, c)
	h := s.spawn(inc, "", func() { k.serve(c, sreq) })
	h.serving = c
	h.nameOf = func() string { return fmt.Sprintf("%s#%d/%s %s", to.name, inc.num, sreq.Method, sreq.URL.Path) }
	return nil
}

// later delivers c at the virtual time at; meanwhile the network holds it
// (Runtime.Held counts it).
func (k *link) later(at time.Time, c *call, req *http.Request, body []byte) {
	k.r.held++
	k.r.s.addTimer(at, nil, func() {
		k.r.held--
		k.deliver(c, req, body)
	})
}

// late holds a request in the network and delivers it at the virtual time
// at, whether or not its caller still waits then: the handler's context
// does not end when the caller hangs up, and an answer nobody waits for
// goes nowhere. The caller waits for an answer as for any request.
func (k *link) late(p *proc, ctx context.Context, req *http.Request, body []byte, seq uint64, site string, pass int, at time.Time) (*http.Response, error) {
	c := &call{caller: p, seq: seq, site: site, passes: [2]int{pass, -1}, rec: newRecorder(), cancel: func() {}}
	k.later(at, c, req, body)
	defer func() {
		if !c.done { // the caller hangs up (gave up, or crashed): the answer goes nowhere
			c.gone = true
		}
	}()
	return k.await(p, ctx, c, req)
}

// hold keeps the seq-th request back until a request sent after it over
// the link has been answered, or hold has passed, or ctx is done (then it
// is never delivered).
func (k *link) hold(p *proc, ctx context.Context, seq uint64, hold time.Duration) error {
	s := k.r.s
	if p.aborted {
		panic(http.ErrAbortHandler)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p.timer = s.addTimer(s.now.Add(hold), p, nil)
	p.cond = func() bool { return k.answered > seq }
	p.done = ctx.Done()
	p.what = k.waitNet
	s.park(p)
	if p.why == wokeDone {
		return ctx.Err()
	}
	return nil
}

// blackHole waits until ctx is done, as a caller whose request or answer
// vanished does, and returns ctx's error.
func (k *link) blackHole(p *proc, ctx context.Context) error {
	s := k.r.s
	if ctx.Done() == nil {
		s.await(p, "a request lost over "+k.name+" with no deadline", func() bool { return false })
	}
	for ctx.Err() == nil {
		p.done, p.what = ctx.Done(), k.waitLost
		s.park(p)
	}
	return ctx.Err()
}

// serve is the handler process of one request: the node's request faults,
// then the service's handler; the answer travels back after a network
// delay.
func (k *link) serve(c *call, req *http.Request) {
	r, inc := k.r, c.inc
	defer func() {
		if c.idx >= 0 {
			last := len(inc.calls) - 1
			q := inc.calls[last]
			inc.calls[c.idx], q.idx = q, c.idx
			inc.calls[last] = nil
			inc.calls = inc.calls[:last]
			c.idx = -1
		}
	}()
	name, order := req.Method+" "+req.URL.Path, req.Header.Get(sim.OrderHeader)
	defer r.sites.idle(c, order)
	switch r.serveFate(inc.n, c, name, order) {
	case failFast:
		sim.WriteError(c.rec, http.StatusServiceUnavailable, "injected_error", inc.n.name+" failed transiently before acting (injected fault)")
	case crashBefore:
		r.crashAt(inc, "crash", "before "+name, order, c.site, inc.n.downtime())
		panic(http.ErrAbortHandler)
	case crashAfter:
		inc.h.ServeHTTP(newRecorder(), req)
		r.crashAt(inc, "crash", "after "+name, order, c.site, inc.n.downtime())
		panic(http.ErrAbortHandler)
	default:
		inc.h.ServeHTTP(c.rec, req)
	}
	c.cancel() // the handler has returned: its request context ends
	k.answered = max(k.answered, c.seq)
	if c.lost || c.gone || c.done {
		return
	}
	s := r.s
	deliver := func() {
		if !c.gone && !c.done {
			c.done = true
			if c.waiting() {
				s.ready(c.caller, wokeOther)
			}
		}
	}
	if d := k.hop(); d > 0 {
		s.addTimer(s.now.Add(d), nil, deliver)
	} else {
		deliver()
	}
}

// recorder is the answer a handler writes, kept in memory.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// response is the answer as the caller receives it.
func (w *recorder) response(req *http.Request) *http.Response {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	h := w.header // the handler is done with it
	h.Set("Content-Length", strconv.Itoa(w.body.Len()))
	return &http.Response{
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: int64(w.body.Len()),
		Request:       req,
	}
}

// noLink is the transport between two nodes the world does not link.
type noLink struct{ l sim.Link }

func (n noLink) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return nil, fmt.Errorf("no link %s in the world: add it to World.Links", n.l)
}
